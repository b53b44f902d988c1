package tmc.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import tmc.check.Frontend;
import tmc.diag.Renderer;

/** Options shared by every command that reads .tm files, and the code that checks them and prints diagnostics. */
public final class InputOptions {
    /** Targets a plan may name; the planner's target table extends this. */
    public static final Set<String> KNOWN_ARCHS = Set.of("sm_80", "sm_86", "sm_89", "sm_90");

    @Option(names = {"-p", "--param"}, paramLabel = "NAME=VALUE",
            description = "Override a block parameter, e.g. --param C=128 (repeatable).")
    Map<String, String> params = new LinkedHashMap<>();

    @Option(names = "--no-warnings", description = "Do not print warnings.")
    boolean noWarnings;

    Map<String, Long> overrides() {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : params.entrySet()) {
            try {
                out.put(e.getKey(), Long.parseLong(e.getValue().trim()));
            } catch (NumberFormatException ex) {
                throw new CommandLine.ParameterException(new CommandLine(new Main()),
                        "--param " + e.getKey() + "=" + e.getValue() + ": the value must be an integer");
            }
        }
        return out;
    }

    /** Checks a file and prints its diagnostics to {@code err}. */
    Frontend.Checked check(Path file, Map<String, Long> overrides, java.io.PrintWriter err) {
        Frontend.Checked checked = Frontend.checkFile(file, overrides, KNOWN_ARCHS);
        Renderer renderer = new Renderer(checked.sources());
        for (var d : checked.diagnostics().sorted()) {
            if (noWarnings && !d.isError()) continue;
            err.print(renderer.render(d));
        }
        int errors = checked.diagnostics().errorCount();
        if (errors > 0) err.println(errors + " error" + (errors == 1 ? "" : "s") + " in " + file);
        return checked;
    }
}
