package tmc.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.api.Tmc;
import tmc.diag.Renderer;

@Command(name = "emit", mixinStandardHelpOptions = true,
        description = {"Plan and emit CUDA for the plans of a .tm file.",
                "For each plan writes <Block>_<plan>.cu (self-contained CUDA C++), <Block>_<plan>.json (the launch",
                "manifest: entries, parameters, grid, threads, shared memory) and a typed Java binding."})
final class EmitCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file.")
    Path file;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", description = "Output directory (default: generated/<file name>).")
    Path out;

    @Option(names = "--plan", paramLabel = "NAME", description = "Only this plan (default: all).")
    String planName;

    @Option(names = "--arch", paramLabel = "TARGET", description = "Target (default: each plan's 'on' target, else sm_90).")
    String arch;

    @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
            description = "Launch shape the planner ranks candidates for; kernels run at any shape (default: ${DEFAULT-VALUE}).",
            defaultValue = "N=128,H=56,W=56")
    Shape shape;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        var o = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Tmc.Compilation c = Tmc.compile(file, input.options(arch, shape.launch(), tuning));
        if (!c.ok()) {
            err.print(c.report());
            return Main.USER_ERROR;
        }
        // the same checks, and the same words, as tmc plan: --arch and --plan are options, not the file's fault
        if (InputOptions.unknownArch(arch, c.targets(), err) || InputOptions.unknownPlan(planName, file, c.planNames(), err)) {
            return Main.USER_ERROR;
        }
        List<String> plans = planName != null ? List.of(planName) : c.planNames();
        if (plans.isEmpty()) {
            err.println("tmc: " + file + " has no plans; write one, e.g. 'plan best for <Block> on sm_90 { auto }'");
            return Main.USER_ERROR;
        }
        Path dir = out != null ? out : Artifacts.defaultDir(file);
        return emitAll(c, plans, dir, o, err) ? Main.OK : Main.USER_ERROR;
    }

    /** Emits each plan into dir; prints the files written, or each refusal. False if any plan was refused. */
    static boolean emitAll(Tmc.Compilation c, List<String> plans, Path dir, java.io.PrintWriter out,
                           java.io.PrintWriter err) throws IOException {
        boolean ok = true;
        for (String name : plans) {
            switch (c.compile(name)) {
                case Tmc.Outcome.Refused r -> {
                    err.print(new Renderer(c.checked().sources()).render(r.why()));
                    ok = false;
                }
                case Tmc.Outcome.Compiled p -> {
                    for (Path f : Artifacts.write(p.program(), dir)) out.println("wrote " + f);
                }
            }
        }
        return ok;
    }
}
