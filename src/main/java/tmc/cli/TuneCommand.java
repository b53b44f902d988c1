package tmc.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.api.Gpu;
import tmc.api.LoadedProgram;
import tmc.api.Tmc;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.plan.Choices;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;
import tmc.plan.TuningCache;
import tmc.runtime.RuntimeFailure;
import tmc.target.Target;

@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Time the planner's top candidates on the GPU and remember the fastest for auto plans.",
                "The candidates are the best-ranked of each distinct tile shape among the model's top " + Tmc.TUNED_CANDIDATES
                        + ",",
                "taken round-robin over tile sizes (pixels in powers of two), so small and large tiles are both timed.",
                "Each candidate is first checked against the CPU reference at --check-shape; the cost model's",
                "prediction and the measured time are printed side by side; the winner is stored in the tuning",
                "file (see --no-tuning) under block, parameters, target and shape class, with the measured over",
                "predicted factor of this GPU. Auto plans then use the winner (tmc compile, emit, run, verify)."})
final class TuneCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file.")
    Path file;

    @Option(names = "--plan", paramLabel = "NAME", description = "The plan to tune (default: every auto plan). A "
            + "fused plan that writes its directives is timed against the forms that keep them: one more resident "
            + "block where it leaves 'resident' free, its warps split where it leaves 'warps' free; the winner is what "
            + "it compiles to with the tuning file.")
    String planName;

    @CommandLine.Mixin
    GpuRuns.Shapes shapes;

    @Option(names = "--top", paramLabel = "K", defaultValue = "6",
            description = "Candidates to time, one per tile shape (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--reps", paramLabel = "R", defaultValue = "20", description = "Timed runs each, median (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--specialize", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also time each candidate with its warps split into a producer and a consumer side (warp "
            + "specialization) where its stream loop splits: its W warps in halves ('warps W/2 + W/2') and W producer "
            + "warps added to them ('warps W + W'), each where it fits; --no-specialize times the candidates alone "
            + "(default: ${DEFAULT-VALUE}).")
    boolean specialize;

    @Option(names = "--resident", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also time each of these compiled for one more resident block per SM ('resident B+1', the "
            + "minimum of its __launch_bounds__) where its registers are what limits it and the SM's shared memory and "
            + "threads hold one more: the register estimate is often above what the compiler needs, and where it is "
            + "not, the form spills and its time says so (default: ${DEFAULT-VALUE}).")
    boolean resident;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (top < 1 || top > Tmc.TUNED_CANDIDATES) {
            err.println("tmc: --top must be between 1 and " + Tmc.TUNED_CANDIDATES);
            return Main.USER_ERROR;
        }
        LaunchShape launch = shapes.launch();
        // The file is checked and the plans to tune are chosen before the GPU is opened: neither depends on it (the
        // target is the GPU's, taken below; the plans are planned for it directly, not through Options.arch).
        Tmc.Compilation c = Tmc.compile(file, input.options(null, launch, tuning));
        if (!c.ok()) {
            err.print(c.report());
            return Main.USER_ERROR;
        }
        List<PlanSpec> plans = c.program().plans().stream().filter(p -> planName != null
                ? p.name().equals(planName) : p.kind() == PlanSpec.Kind.AUTO).toList();
        if (plans.isEmpty()) {
            err.println("tmc: nothing to tune in " + file + (planName != null ? ": no plan '" + planName + "'"
                    : ": no auto plan (write 'plan best for <Block> { auto }' or name one with --plan)"));
            return Main.USER_ERROR;
        }
        if (plans.getFirst().kind() == PlanSpec.Kind.SEPARATE) {
            err.println("tmc: plan '" + planName + "' is separate (one kernel per layer, each sized by the planner): "
                    + "nothing to tune; name an auto or fused plan");
            return Main.USER_ERROR;
        }
        try (Gpu gpu = Gpu.open()) {
            Path tuningFile = tuning.file();
            TuningCache cache = tuningFile == null ? null : TuningCache.load(tuningFile);
            Target target = c.targets().get(gpu.arch()).orElse(null);
            if (target == null) {
                err.println("tmc: no target description for this GPU's " + gpu.arch() + "; add one (docs/planner.md)");
                return Main.USER_ERROR;
            }
            for (PlanSpec p : plans) {
                List<Double> ratios = new ArrayList<>();
                TypedBlock block = c.program().block(p.block()).orElseThrow();
                if (!(Planner.plan(block, p, target, launch, Tmc.TUNED_CANDIDATES) instanceof Planner.Planned ranked)) {
                    err.println("tmc: plan '" + p.name() + "' is refused; run tmc plan for the reason");
                    return Main.USER_ERROR;
                }
                Planner.Planned planned = diverse(ranked, top);
                planned = withForms(planned, block, p, target, launch, specialize, resident);
                out.printf(Locale.ROOT, "tuning %s plan '%s' on %s (%s) at %s: %d candidates, checked at %s, median of %d%n",
                        block.name(), p.name(), gpu.device().name(), gpu.arch(), shapes.timing, planned.top().size(),
                        shapes.check, reps);
                GpuRuns.Data data = GpuRuns.Data.of(block, shapes, 11);
                Planner.Candidate best = null;
                double bestMs = Double.MAX_VALUE;
                int i = 0;
                for (Planner.Candidate cand : planned.top()) {
                    i++;
                    Planner.Planned one = new Planner.Planned(p, target, launch, cand, planned.top(), planned.stats());
                    var why = Tmc.notEmittable(one);
                    if (why.isPresent()) {
                        out.printf(Locale.ROOT, "  [%d/%d] %-55s skipped: %s%n", i, planned.top().size(), cand.summary(),
                                why.get().message());
                        continue;
                    }
                    try (LoadedProgram loaded = gpu.load(Tmc.emit(one.program(block), file.toString()))) {
                        boolean ok = data.correct(gpu, loaded, block);
                        double predictedMs = cand.seconds() * 1e3;
                        if (!ok) {
                            out.printf(Locale.ROOT, "  [%d/%d] %-55s predicted %8.4f ms   WRONG RESULT, not timed%n", i,
                                    planned.top().size(), cand.summary(), predictedMs);
                            continue;
                        }
                        double ms = data.timeMs(gpu, loaded, block, reps);
                        // the model prices a split like the plan it splits (no term for the sides' overlap), and a
                        // 'resident' form by registers ptxas may not reach without spills: their measurements say
                        // nothing about the model's factor on this GPU
                        if (!cand.choices().specialized() && cand.choices().residentBlocks() == 0) {
                            ratios.add(ms / predictedMs);
                        }
                        out.printf(Locale.ROOT, "  [%d/%d] %-55s predicted %8.4f ms   measured %8.4f ms   x%.2f%n", i,
                                planned.top().size(), cand.summary(), predictedMs, ms, ms / predictedMs);
                        out.flush();
                        if (ms < bestMs) {
                            bestMs = ms;
                            best = cand;
                        }
                    }
                }
                if (best == null) {
                    err.println("tmc: no candidate of plan '" + p.name() + "' passed its check");
                    return Main.USER_ERROR;
                }
                out.printf(Locale.ROOT, "  winner: %s, %.4f ms (the model's choice: %s)%n", best.summary(), bestMs,
                        planned.chosen().summary());
                if (!ratios.isEmpty()) {
                    out.printf(Locale.ROOT, "  calibration: measured / predicted, median over %d unsplit candidates "
                            + "without 'resident': x%.2f%n", ratios.size(), TuningCache.median(ratios));
                    if (cache != null) {
                        TuningCache.Calibration pooled = cache.addRatios(target.name(), gpu.device().name(),
                                TuningCache.key(block, p.name(), target.name(), launch), ratios);
                        out.printf(Locale.ROOT, "  on this GPU over %d candidates of %d tuned configurations: x%.2f "
                                + "(tmc plan's calibrated times)%n", pooled.candidates(), pooled.configurations(),
                                pooled.measuredOverPredicted());
                    }
                }
                if (cache != null) {
                    cache.put(block, launch, new TuningCache.Entry(block.name(), p.name(), target.name(),
                            TuningCache.shapeClass(launch), gpu.device().name(), best.summary(), bestMs,
                            best.seconds() * 1e3, LocalDate.now().toString()));
                }
            }
            if (cache != null) {
                cache.save();
                out.println("stored in " + cache.file());
            } else {
                out.println("not stored (--no-tuning)");
            }
            return Main.OK;
        } catch (RuntimeFailure e) {
            return GpuRuns.failed(err, e);
        }
    }

    /**
     * The candidates to time, up to {@code k}: the best-ranked of each distinct tile shape, taken round-robin over
     * tile sizes (pixels per tile in powers of two: 32-63, 64-127, 128-255, ...), each size class in the model's
     * order and the classes in the order of their best candidate; the model's choice first. The model ranks variants
     * of one large tile closely together, and the measurements (docs/benchmarks.md) found smaller tiles faster than
     * its choice, so every size it found is timed before a second shape of any size.
     */
    static Planner.Planned diverse(Planner.Planned ranked, int k) {
        java.util.Map<Integer, List<Planner.Candidate>> bySize = new java.util.LinkedHashMap<>();
        java.util.Set<String> tiles = new java.util.HashSet<>();
        for (Planner.Candidate c : ranked.top()) {
            if (!tiles.add(c.choices().tileN() + "x" + c.choices().tileH() + "x" + c.choices().tileW())) continue;
            int size = 31 - Integer.numberOfLeadingZeros(c.choices().tileN() * c.choices().tilePixels());
            bySize.computeIfAbsent(size, s -> new ArrayList<>()).add(c);
        }
        List<Planner.Candidate> picked = new ArrayList<>();
        for (int round = 0; picked.size() < k; round++) {
            boolean any = false;
            for (List<Planner.Candidate> shapes : bySize.values()) {
                if (round < shapes.size() && picked.size() < k) {
                    picked.add(shapes.get(round));
                    any = true;
                }
            }
            if (!any) break;
        }
        return new Planner.Planned(ranked.spec(), ranked.target(), ranked.shape(), ranked.chosen(), picked,
                ranked.stats());
    }

    /**
     * {@code planned}'s candidates, each followed by the other forms tune times (Planner.tuneForms: warp-specialized,
     * one more resident block), each kernel timed once: a 4-warp candidate with a producer side added is the same
     * kernel as an 8-warp candidate of the same tile split in halves.
     */
    static Planner.Planned withForms(Planner.Planned planned, TypedBlock block, PlanSpec spec, Target target,
                                     LaunchShape launch, boolean specialize, boolean resident) {
        List<Planner.Candidate> out = new ArrayList<>();
        Set<Choices> seen = new HashSet<>();
        for (Planner.Candidate c : planned.top()) {
            for (Planner.Candidate form : Planner.tuneForms(c, block, spec, target, launch, specialize, resident)) {
                if (seen.add(form.choices())) out.add(form);
            }
        }
        return new Planner.Planned(planned.spec(), planned.target(), planned.shape(), planned.chosen(), out,
                planned.stats());
    }

}
