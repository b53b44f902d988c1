package tmc.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Plan a .tm file for a target: tiles, budgets and predicted time of each plan.",
                "For each plan: the chosen tiles, buffers, registers, occupancy, DRAM bytes, flops and",
                "predicted time, next to the separate (one kernel per layer) baseline. A plan whose fixed",
                "choices break a budget of the target is refused with the breakdown (exit 1).",
                "The cost model: docs/cost-model.md; the planner: docs/planner.md."})
final class PlanCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file to plan.")
    Path file;

    @Option(names = "--arch", paramLabel = "TARGET",
            description = "Plan for this target (default: each plan's 'on' target, else sm_90).")
    String arch;

    @Option(names = "--plan", paramLabel = "NAME", description = "Only this plan (default: all).")
    String planName;

    @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
            description = "Launch shape the prediction is for (default: ${DEFAULT-VALUE}).",
            defaultValue = "N=128,H=56,W=56")
    Shape shape;

    @Option(names = "--ir", description = "Also print the tensor-machine IR of each chosen program.")
    boolean ir;

    @Option(names = "--top", paramLabel = "K", description = "Candidates listed for searched plans (default: ${DEFAULT-VALUE}).",
            defaultValue = "" + Planner.DEFAULT_TOP)
    int top;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** tmc tune's measured / predicted factors, unless --no-tuning. */
    private java.util.Map<String, tmc.plan.TuningCache.Calibration> calibrations() {
        java.nio.file.Path file = tuning.file();
        return file == null ? java.util.Map.of() : tmc.plan.TuningCache.load(file).calibrationsByTarget();
    }

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (top < 1) {
            err.println("tmc: --top must be at least 1");
            return Main.USER_ERROR;
        }
        Frontend.Checked c = input.check(file, input.overrides(), err);
        if (!c.ok()) return Main.USER_ERROR;
        if (InputOptions.unknownArch(arch, input.targets, err)
                || InputOptions.unknownPlan(planName, file, c.program().plans().stream().map(PlanSpec::name).toList(), err)) {
            return Main.USER_ERROR;
        }
        if (c.program().plans().isEmpty()) {
            err.println("tmc: " + file + " has no plans; write one, e.g. 'plan best for <Block> on sm_90 { auto }'");
            return Main.USER_ERROR;
        }
        PlanReport.Result r = PlanReport.render(c.program(), input.targets,
                new PlanReport.Options(arch, planName, shape.launch(), ir, top,
                        calibrations()),
                c.sources());
        out.print(r.text());
        if (!r.ok()) {
            err.println("tmc: some plans of " + file + " were refused (see above)");
            return Main.USER_ERROR;
        }
        return Main.OK;
    }
}
