package tmc.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import tmc.check.Frontend;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check .tm files: syntax, names, shapes, dtypes, plans and networks.",
                "Prints every error with its position and exits 1 if any file has an error."})
final class CheckCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "The .tm files to check.")
    List<Path> files;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Map<String, Long> overrides = input.overrides();
        boolean allOk = true;
        for (Path f : files) {
            Frontend.Checked c = input.check(f, overrides, err);
            if (c.ok()) {
                out.println(f + ": ok (" + count(c.program().blocks().size(), "block") + ", "
                        + count(c.program().plans().size(), "plan")
                        + (c.program().networks().isEmpty() ? "" : ", " + count(c.program().networks().size(), "network"))
                        + ")");
            }
            allOk &= c.ok();
        }
        return allOk ? Main.OK : Main.USER_ERROR;
    }

    static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
