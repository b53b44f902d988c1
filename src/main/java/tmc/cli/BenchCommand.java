package tmc.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
import tmc.diag.Renderer;
import tmc.plan.CostModel;
import tmc.plan.LaunchShape;
import tmc.runtime.RuntimeFailure;
import tmc.target.Target;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time every plan of a block on the GPU: fused against separate, in the paper's terms.",
                "Per plan: the median time, achieved FLOP/s and bytes/s (the block's flops and its minimum DRAM",
                "bytes over the time), computational efficiency (achieved over the target's peak) and the",
                "efficiency gap (time minus the ideal flops / peak). Each plan is checked against the CPU",
                "reference at --check-shape before it is timed."})
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file.")
    Path file;

    @CommandLine.Mixin
    GpuRuns.Shapes shapes;

    @Option(names = "--plan", paramLabel = "NAME", description = "Only these plans (repeatable; default: all).")
    List<String> plans = new ArrayList<>();

    @Option(names = "--reps", paramLabel = "R", defaultValue = "50", description = "Timed runs, median (default: ${DEFAULT-VALUE}).")
    int reps;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LaunchShape launch = shapes.launch();
        try (Gpu gpu = Gpu.open()) {
            Tmc.Compilation c = Tmc.compile(file, input.options(gpu.arch(), launch, tuning));
            if (!c.ok()) {
                err.print(c.report());
                return Main.USER_ERROR;
            }
            Target target = c.targets().get(gpu.arch()).orElse(null);
            if (target == null) {
                err.println("tmc: no target description for this GPU's " + gpu.arch() + "; add one (docs/planner.md)");
                return Main.USER_ERROR;
            }
            boolean ok = true;
            for (TypedBlock block : c.program().blocks()) {
                CostModel.Floor floor = CostModel.floor(block, target, launch);
                double peak = floor.computeSeconds() > 0 ? floor.flops() / floor.computeSeconds() : Double.NaN;
                out.printf(Locale.ROOT, "%s at %s on %s (%s): %.3f GFLOP, %.1f MB minimum DRAM traffic; floor %.4f ms "
                                + "(%s bound); peak %.0f TFLOP/s (%s), %.2f TB/s (target %s)%n", block.name(), shapes.timing,
                        gpu.device().name(), gpu.arch(), floor.flops() / 1e9, floor.dramBytes() / 1e6,
                        floor.seconds() * 1e3, floor.memorySeconds() >= floor.computeSeconds() ? "memory" : "compute",
                        peak / 1e12, floor.peakKey(), target.dramBytesPerSecond() / 1e12, target.name());
                out.printf(Locale.ROOT, "  %-12s %-9s %10s %12s %10s %11s %11s %9s%n", "plan", "kernels", "time ms",
                        "TFLOP/s", "GB/s", "efficiency", "gap ms", "x floor");
                GpuRuns.Data data = GpuRuns.Data.of(block, shapes, 21);
                for (PlanSpec p : c.program().plansFor(block.name())) {
                    if (!plans.isEmpty() && !plans.contains(p.name())) continue;
                    switch (c.compile(p.name())) {
                        case Tmc.Outcome.Refused r -> {
                            err.print(new Renderer(c.checked().sources()).render(r.why()));
                            ok = false;
                        }
                        case Tmc.Outcome.Compiled compiled -> {
                            try (LoadedProgram loaded = gpu.load(compiled.program())) {
                                if (!data.correct(gpu, loaded, block)) {
                                    out.printf(Locale.ROOT, "  %-12s WRONG RESULT at %s: not timed (run tmc run for details)%n",
                                            p.name(), shapes.check);
                                    ok = false;
                                    continue;
                                }
                                double ms = data.timeMs(gpu, loaded, block, reps);
                                double s = ms / 1e3;
                                double ideal = floor.computeSeconds();
                                out.printf(Locale.ROOT, "  %-12s %-9d %10.4f %12.1f %10.0f %10.1f%% %11.4f %9.1f%n", p.name(),
                                        compiled.program().manifest().kernels().size(), ms, floor.flops() / s / 1e12,
                                        floor.dramBytes() / s / 1e9, 100 * ideal / s, (s - ideal) * 1e3, s / floor.seconds());
                                out.flush();
                            }
                        }
                    }
                }
            }
            return ok ? Main.OK : Main.USER_ERROR;
        } catch (RuntimeFailure e) {
            return GpuRuns.failed(err, e);
        }
    }
}
