package tmc.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.check.Frontend;
import tmc.check.TypedBlock;

@Command(name = "compile", mixinStandardHelpOptions = true,
        description = {"Check a .tm file and summarise each block: every tensor with its shape and dtype,",
                "and per layer the FLOPs and parameter bytes for one image at --shape."})
final class CompileCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file to compile.")
    Path file;

    @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
            description = "Launch shape for the summary (default: ${DEFAULT-VALUE}).", defaultValue = "N=1,H=56,W=56")
    Shape shape;

    @Option(names = "--block", paramLabel = "NAME", description = "Only this block (default: all).")
    String blockName;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Frontend.Checked c = input.check(file, input.overrides(), err);
        if (!c.ok()) return Main.USER_ERROR;
        boolean found = false;
        for (TypedBlock b : c.program().blocks()) {
            if (blockName != null && !blockName.equals(b.name())) continue;
            found = true;
            out.print(BlockSummary.render(b, c.program().plansFor(b.name()), shape));
        }
        if (blockName != null && !found) {
            err.println("tmc: " + file + " has no block '" + blockName + "'; blocks: "
                    + String.join(", ", c.program().blocks().stream().map(TypedBlock::name).toList()));
            return Main.USER_ERROR;
        }
        return Main.OK;
    }
}
