package tmc.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.diag.Renderer;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;
import tmc.target.Target;
import tmc.target.Targets;

@Command(name = "compile", mixinStandardHelpOptions = true,
        description = {"Check, plan and emit a .tm file (CUDA, manifests and bindings into generated/<name>).",
                "Summarises each block: every tensor with its shape and dtype, and per layer the FLOPs and",
                "parameter bytes for one image at --shape. Then plans each plan (one line each: choice, budgets,",
                "predicted time at --shape; 'tmc plan' gives the details) and writes each plan's program into",
                "generated/<file name> (or -o DIR; --no-emit writes nothing). A refused plan is an error."})
final class CompileCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file to compile.")
    Path file;

    @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
            description = "Launch shape of the summary and of the planner's ranking; the kernels run at any shape "
                    + "(default: ${DEFAULT-VALUE}, as tmc plan, tmc emit and bin/regen).", defaultValue = "N=128,H=56,W=56")
    Shape shape;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR",
            description = "Where the CUDA, manifests and bindings go (default: generated/<file name>).")
    Path outDir;

    @Option(names = "--no-emit", description = "Check and plan only; write nothing.")
    boolean noEmit;

    @Option(names = "--block", paramLabel = "NAME", description = "Only this block (default: all).")
    String blockName;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws java.io.IOException {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Frontend.Checked c = input.check(file, input.overrides(), err);
        if (!c.ok()) return Main.USER_ERROR;
        boolean found = false;
        for (TypedBlock b : c.program().blocks()) {
            if (blockName != null && !blockName.equals(b.name())) continue;
            found = true;
            out.print(BlockSummary.render(b, c.program().plansFor(b.name()), shape));
            plan(b, c, out, err);
        }
        if (blockName != null && !found) {
            err.println("tmc: " + file + " has no block '" + blockName + "'; blocks: "
                    + String.join(", ", c.program().blocks().stream().map(TypedBlock::name).toList()));
            return Main.USER_ERROR;
        }
        if (c.program().blocks().isEmpty()) {
            err.println("tmc: " + file + " has no blocks: nothing to compile");
            return Main.USER_ERROR;
        }
        if (!refused.isEmpty()) {
            err.println("tmc: nothing written: " + refused.size() + (refused.size() == 1 ? " plan was" : " plans were")
                    + " refused (" + String.join(", ", refused) + "); fix " + (refused.size() == 1 ? "it" : "them")
                    + ", or write the others with tmc emit --plan NAME");
            return Main.USER_ERROR;
        }
        if (!noEmit) {
            for (Map.Entry<String, tmc.ir.TmProgram> p : planned.entrySet()) {
                for (Path f : Artifacts.write(tmc.api.Tmc.emit(p.getValue(), file.toString()), dir())) {
                    out.println("wrote " + f);
                }
            }
        }
        return Main.OK;
    }

    /** The names of the plans {@link #plan} refused. */
    private final java.util.List<String> refused = new java.util.ArrayList<>();

    /** Programs planned by {@link #plan}, by plan name, emitted once every plan has been planned. */
    private final Map<String, tmc.ir.TmProgram> planned = new java.util.LinkedHashMap<>();

    private Path dir() {
        return outDir != null ? outDir : Artifacts.defaultDir(file);
    }

    /** Plans each plan of the block on its target at --shape; prints one line each, or the refusal (kept in refused). */
    private void plan(TypedBlock b, Frontend.Checked c, java.io.PrintWriter out, java.io.PrintWriter err) {
        LaunchShape launch = shape.launch();
        java.util.Map<String, Planner.Planned> baselines = new java.util.HashMap<>();
        for (PlanSpec p : c.program().plansFor(b.name())) {
            Target t = input.targets.get(p.arch() != null ? p.arch() : Targets.DEFAULT).orElseThrow();
            switch (Planner.plan(b, p, t, launch, tmc.api.Tmc.TUNED_CANDIDATES)) {
                case Planner.Refused r -> {
                    refused.add(p.name());
                    err.print(new Renderer(c.sources()).render(r.why()));
                }
                case Planner.Planned modelChoice -> {
                    Planner.Planned pl = tmc.api.Tmc.tuned(modelChoice, b, input.options(null, launch, tuning));
                    var why = tmc.api.Tmc.notEmittable(pl);
                    if (why.isPresent() && !noEmit) {
                        refused.add(p.name());
                        err.print(new Renderer(c.sources()).render(why.get()));
                    } else {
                        planned.put(p.name(), pl.program(b));
                    }
                    Planner.Planned base = p.kind() == PlanSpec.Kind.SEPARATE ? null
                            : baselines.computeIfAbsent(t.name(), n -> PlanReport.separate(b, t, launch));
                    out.println("  " + PlanReport.summaryLine(b, pl, base));
                }
            }
        }
        if (!c.program().plansFor(b.name()).isEmpty()) out.println();
    }
}
