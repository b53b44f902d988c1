package tmc.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tmc.check.PlanSpec;
import tmc.check.Program;
import tmc.check.TypedBlock;
import tmc.diag.Renderer;
import tmc.ir.IrPrinter;
import tmc.ir.Kernel;
import tmc.plan.Budgets;
import tmc.plan.CostModel;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * The text of {@code tmc plan}: per block its floor, per plan the chosen tiles, buffers, registers,
 * occupancy, bytes, flops and predicted time, next to the separate baseline. Pure (no I/O), so that the
 * command, {@code tmc compile} and the checked-in files under generated/ print the same thing.
 */
public final class PlanReport {
    private PlanReport() {}

    /** What to report. {@code arch} null: each plan's own target, else {@link Targets#DEFAULT}. */
    /**
     * @param calibrations measured / predicted factors by target name, from tmc tune (empty: none shown; the
     *                     checked-in reports under generated/ use none, so that they do not depend on a machine)
     */
    public record Options(String arch, String planName, LaunchShape shape, boolean ir, int top,
                          Map<String, tmc.plan.TuningCache.Calibration> calibrations) {
        public Options(String arch, String planName, LaunchShape shape, boolean ir, int top) {
            this(arch, planName, shape, ir, top, Map.of());
        }
    }

    /** The report, and whether every plan could be planned (false: some plan was refused). */
    public record Result(String text, boolean ok, int plans) {}

    public static Result render(Program program, Targets targets, Options o, Map<String, String> sources) {
        StringBuilder s = new StringBuilder();
        Renderer renderer = new Renderer(sources);
        boolean ok = true;
        int plans = 0;
        for (TypedBlock block : program.blocks()) {
            List<PlanSpec> specs = program.plansFor(block.name()).stream()
                    .filter(p -> o.planName() == null || p.name().equals(o.planName())).toList();
            if (specs.isEmpty()) continue;
            s.append(blockHeader(block, o.shape()));
            Map<String, Planner.Planned> baselines = new java.util.HashMap<>();
            for (PlanSpec spec : specs) {
                plans++;
                String targetName = o.arch() != null ? o.arch() : spec.arch() != null ? spec.arch() : Targets.DEFAULT;
                Target target = targets.get(targetName).orElseThrow(); // names were checked against the registry
                s.append('\n').append(planHeader(spec, target, o.arch() != null && spec.arch() != null
                        && !spec.arch().equals(o.arch())));
                Planner.Outcome outcome = Planner.plan(block, spec, target, o.shape(), o.top());
                switch (outcome) {
                    case Planner.Refused r -> {
                        ok = false;
                        s.append("  refused:\n");
                        for (String line : renderer.render(r.why()).split("\n")) s.append("  ").append(line).append('\n');
                    }
                    case Planner.Planned p -> {
                        Planner.Planned baseline = spec.kind() == PlanSpec.Kind.SEPARATE ? null
                                : baselines.computeIfAbsent(target.name(), n -> separate(block, target, o.shape()));
                        s.append(planned(block, p, baseline, target, o));
                    }
                }
            }
            s.append('\n');
        }
        return new Result(s.toString(), ok, plans);
    }

    /** One line per plan, for tmc compile: the choice, budgets and predicted time against the baseline. */
    public static String summaryLine(TypedBlock block, Planner.Planned p, Planner.Planned baseline) {
        Planner.Candidate c = p.chosen();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "plan %s (%s) on %s: %s; shared %s, ~%d registers",
                p.spec().name(), kind(p.spec()), p.target().name(), c.summary(), Budgets.kib(c.maxShared()),
                c.maxRegisters()));
        if (c.kernels().size() == 1) s.append(", ").append(c.checks().getFirst().occupancy().blocksPerSm()).append(" blocks/SM");
        else s.append(", ").append(c.kernels().size()).append(" kernels");
        s.append(String.format(Locale.ROOT, "; predicted %s", us(c.seconds())));
        if (baseline != null) {
            s.append(String.format(Locale.ROOT, " (separate %s, %.2fx)", us(baseline.chosen().seconds()),
                    baseline.chosen().seconds() / c.seconds()));
        }
        return s.toString();
    }

    static Planner.Planned separate(TypedBlock block, Target target, LaunchShape shape) {
        return Planner.separateBaseline(block, target, shape) instanceof Planner.Planned p ? p : null;
    }

    // ---- sections --------------------------------------------------------------------------------

    static String blockHeader(TypedBlock block, LaunchShape shape) {
        long flops = block.flopsPerPixel() * shape.pixels();
        return String.format(Locale.ROOT, "block %s at %s: %.3f GFLOP; %s of inputs and outputs, %s of weights%n",
                block.name(), shape, flops / 1e9, mb(ioBytes(block, shape)), kb(block.totalWeightBytes()));
    }

    static long ioBytes(TypedBlock block, LaunchShape shape) {
        long b = 0;
        for (var a : block.inputs()) b += shape.pixels() * a.channels() * a.dtype().bytes;
        for (var a : block.outputs()) b += shape.pixels() * a.channels() * a.dtype().bytes;
        return b;
    }

    static String planHeader(PlanSpec spec, Target target, boolean overridden) {
        StringBuilder s = new StringBuilder("plan " + spec.name() + " (" + kind(spec) + ") on " + target.name());
        if (overridden) s.append(" (--arch; the plan says ").append(spec.arch()).append(')');
        s.append(": ").append(target.device()).append('\n');
        List<String> fixed = new ArrayList<>();
        spec.spans().entrySet().stream().filter(e -> !e.getKey().equals("tile"))
                .sorted(java.util.Comparator.comparingInt((Map.Entry<String, tmc.diag.Span> e) -> e.getValue().line())
                        .thenComparingInt(e -> e.getValue().col()))
                .forEach(e -> fixed.add(e.getKey()));
        if (spec.kind() == PlanSpec.Kind.FUSED) {
            s.append("  fixed: ").append(fixed.isEmpty() ? "nothing" : String.join(", ", fixed)).append('\n');
        }
        return s.toString();
    }

    static String kind(PlanSpec spec) {
        return spec.kind().name().toLowerCase(Locale.ROOT);
    }

    static String planned(TypedBlock block, Planner.Planned p, Planner.Planned baseline, Target t, Options o) {
        StringBuilder s = new StringBuilder();
        Planner.Candidate c = p.chosen();
        var st = p.stats();
        if (st.explored() > 1) {
            s.append(String.format(Locale.ROOT, "  searched %d candidates: %d lowered, %d within budget%n",
                    st.explored(), st.lowered(), st.fitting()));
        }
        if (p.top().size() > 1) s.append(topTable(p.top()));
        s.append("  chosen: ").append(c.summary()).append('\n');
        if (c.kernels().size() == 1) {
            s.append(kernelDetails(block, c.checks().getFirst(), c.cost().kernels().getFirst(), t));
        }
        s.append(kernelTable(c));
        CostModel.Floor floor = CostModel.floor(block, t, p.shape());
        s.append(String.format(Locale.ROOT, "  floor      %s = max(%s / %.0f GB/s = %s, %.3f GFLOP / %.0f TFLOP/s %s = %s)%n",
                us(floor.seconds()), mb(floor.dramBytes()), t.dramBytesPerSecond() / 1e9, us(floor.memorySeconds()),
                floor.flops() / 1e9, floor.flops() / floor.computeSeconds() / 1e12, floor.peakKey(),
                us(floor.computeSeconds())));
        s.append(String.format(Locale.ROOT, "  predicted  %s, %.1fx the floor%n", us(c.seconds()),
                c.seconds() / floor.seconds()));
        tmc.plan.TuningCache.Calibration cal = o.calibrations().get(t.name());
        if (cal != null) {
            String over = cal.configurations() > 0
                    ? String.format(Locale.ROOT, "median of %d candidates of the %d configurations tuned on %s",
                            cal.candidates(), cal.configurations(), cal.device())
                    : String.format(Locale.ROOT, "in the last tmc tune on %s, median of %d candidates", cal.device(),
                            cal.candidates());
            s.append(String.format(Locale.ROOT, "  calibrated %s (x%.2f: measured / predicted %s)%n",
                    us(c.seconds() * cal.measuredOverPredicted()), cal.measuredOverPredicted(), over));
        }
        if (baseline != null) {
            Planner.Candidate b = baseline.chosen();
            s.append(String.format(Locale.ROOT, "  separate   %s in %d kernels (%s; %s DRAM)%n", us(b.seconds()),
                    b.kernels().size(), b.summary(), mb(b.cost().dramBytes())));
            s.append(String.format(Locale.ROOT, "  fused vs separate: %s vs %s = %.2fx%n", us(c.seconds()),
                    us(b.seconds()), b.seconds() / c.seconds()));
        }
        if (o.ir()) {
            s.append("  ir:\n");
            for (String line : IrPrinter.print(c.kernels()).split("\n")) s.append("    ").append(line).append('\n');
        }
        return s.toString();
    }

    static String topTable(List<Planner.Candidate> top) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "  %3s  %-48s %9s %5s %7s %10s %9s %10s  %s%n",
                "#", "candidate", "shared", "regs", "blk/SM", "DRAM", "GFLOP", "time", "bound"));
        for (int i = 0; i < top.size(); i++) {
            Planner.Candidate c = top.get(i);
            CostModel.KernelCost k = worst(c);
            s.append(String.format(Locale.ROOT, "  %3d  %-48s %9s %5d %7d %10s %9.3f %10s  %s%n", i + 1, c.summary(),
                    Budgets.kib(c.maxShared()), c.maxRegisters(), c.checks().getFirst().occupancy().blocksPerSm(),
                    mb(c.cost().dramBytes()), c.cost().flops() / 1e9, us(c.seconds()), k.bound()));
        }
        return s.toString();
    }

    private static CostModel.KernelCost worst(Planner.Candidate c) {
        return c.cost().kernels().stream().max(java.util.Comparator.comparingDouble(CostModel.KernelCost::seconds))
                .orElseThrow();
    }

    static String kernelDetails(TypedBlock block, Budgets.Check check, CostModel.KernelCost k, Target t) {
        Kernel kernel = check.kernel();
        StringBuilder s = new StringBuilder();
        s.append("  kernel ").append(kernel.name()).append('\n');
        s.append(String.format(Locale.ROOT, "    grid       (N/%d, H/%d, W/%d) = %d blocks of %d threads (%d warps%s)%n",
                kernel.tileN(), kernel.tileH(), kernel.tileW(), k.blocks(), kernel.threads(), kernel.warps(), kernel.sidesSummary()));
        s.append(String.format(Locale.ROOT, "    shared     %d B = %s per block%s; limit %s%s%n", check.sharedBytes(),
                Budgets.kib(check.sharedBytes()), check.sharedBytes() > t.sharedPerBlockDefault() ? " (needs the opt-in above "
                        + Budgets.kib(t.sharedPerBlockDefault()) + ")" : "", Budgets.kib(t.sharedPerBlockOptIn()),
                kernel.sharesSharedMemory() ? "; buffers never live at the same time share bytes" : ""));
        for (String line : Budgets.sharedBreakdown(kernel, t)) {
            if (!line.startsWith("total")) s.append("      ").append(line).append('\n');
        }
        s.append(String.format(Locale.ROOT, "    registers  ~%d per thread (estimate; limit %d)%s%n", check.registers(),
                t.maxRegistersPerThread(), !kernel.residentFixed() ? "" : String.format(Locale.ROOT,
                        "; 'resident %d' holds the compiler to %d%s", kernel.residentBlocks(), kernel.registerLimit(),
                        kernel.registerLimit() < check.registers() ? " (below the estimate: it may spill)" : "")));
        for (String line : Budgets.registerBreakdown(kernel, t)) {
            if (!line.startsWith("total")) s.append("      ").append(line).append('\n');
        }
        s.append(String.format(Locale.ROOT, "    occupancy  %d blocks per SM (limited by %s) = %d warps; %.2f waves "
                        + "(quantization x%.3f, latency x%.2f)%n", check.occupancy().blocksPerSm(),
                check.occupancy().limitedBy(), check.occupancy().residentWarps(kernel.warps()), k.waves(), k.quantization(),
                1 / k.latencyFactor()));
        int more = Budgets.oneMoreBlock(check, t);
        if (more > 0) {
            // the estimate is often above what the compiler needs: say what one more block would ask of it
            s.append(String.format(Locale.ROOT, "               shared memory and threads hold %d: 'resident %d' would "
                    + "hold the compiler to %d registers (tmc tune times that form%s)%n", more, more,
                    kernel.withResidentBlocks(more).registerLimit(), Planner.narrowableChain(kernel)
                            ? ", and it with the chain's slices 16 channels wide" : ""));
        }
        s.append(String.format(Locale.ROOT, "    DRAM       %s planned = activations %s (minimum %s, halo re-reads %s) + weights %s %s%n",
                mb(k.dramBytes()), mb(k.activationBytes()), mb(k.activationBytesMin()), mb(k.haloBytes()),
                kb(k.weightBytes()), k.weightsInL2() ? "read once (they fit in L2)" : "read by every block (too big for L2)"));
        s.append(String.format(Locale.ROOT, "    L2         %s (the DRAM traffic, plus the weights once per block)%n",
                mb(k.l2Bytes())));
        s.append(String.format(Locale.ROOT, "    shared     %s read and written (each operand once per instruction)%n",
                mb(k.sharedBytes())));
        s.append(String.format(Locale.ROOT, "    flops      %.3f GFLOP planned (tensor core %.3f, CUDA core %.3f); minimum %.3f%n",
                k.flops() / 1e9, k.tensorFlops() / 1e9, k.cudaFlops() / 1e9, k.flopsMin() / 1e9));
        s.append(String.format(Locale.ROOT, "    intensity  %.1f flop per DRAM byte%n", k.intensity()));
        s.append(String.format(Locale.ROOT, "    time       DRAM %s | L2 %s | shared %s | tensor %s + CUDA core %s = %s%n",
                us(k.memorySeconds()), us(k.l2Seconds()), us(k.sharedSeconds()), us(k.tensorSeconds()),
                us(k.cudaSeconds()), us(k.computeSeconds())));
        s.append(String.format(Locale.ROOT, "               %s bound: %s x %.3f / %.2f + %s launch = %s%n", k.bound(),
                us(k.roofSeconds()), k.quantization(), k.latencyFactor(), us(k.launchSeconds()), us(k.seconds())));
        return s.toString();
    }

    static String kernelTable(Planner.Candidate c) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "  %-28s %7s %4s %9s %5s %6s %10s %10s %9s %7s %-13s %10s%n", "kernel", "blocks",
                "thr", "shared", "regs", "blk/SM", "DRAM", "L2", "GFLOP", "flop/B", "bound", "time"));
        for (int i = 0; i < c.kernels().size(); i++) {
            Kernel kn = c.kernels().get(i);
            Budgets.Check ch = c.checks().get(i);
            CostModel.KernelCost k = c.cost().kernels().get(i);
            s.append(String.format(Locale.ROOT, "  %-28s %7d %4d %9s %5d %6d %10s %10s %9.3f %7.1f %-13s %10s%n",
                    kn.name(), k.blocks(), kn.threads(), Budgets.kib(ch.sharedBytes()), ch.registers(),
                    ch.occupancy().blocksPerSm(), mb(k.dramBytes()), mb(k.l2Bytes()), k.flops() / 1e9, k.intensity(),
                    k.bound(), us(k.seconds())));
        }
        if (c.kernels().size() > 1) {
            s.append(String.format(Locale.ROOT, "  %-28s %7s %4s %9s %5s %6s %10s %10s %9.3f %7s %-13s %10s%n", "total", "", "",
                    "", "", "", mb(c.cost().dramBytes()), "", c.cost().flops() / 1e9, "", "", us(c.seconds())));
        }
        return s.toString();
    }

    static String us(double seconds) {
        return String.format(Locale.ROOT, "%.1f us", seconds * 1e6);
    }

    static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    static String kb(long bytes) {
        return bytes + " B";
    }
}
