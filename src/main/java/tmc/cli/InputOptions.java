package tmc.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import tmc.check.Frontend;
import tmc.diag.Renderer;
import tmc.target.Targets;

/** Options shared by every command that reads .tm files, and the code that checks them and prints diagnostics. */
public final class InputOptions {
    /** The built-in targets (tmc.target.Targets); target files next to a .tm file or --targets add more. */
    public static final Set<String> KNOWN_ARCHS = Targets.builtin().names();

    @Option(names = "--targets", paramLabel = "FILE",
            description = "Extra target definitions (JSON, see docs/planner.md), besides the built-in ones and any "
                    + "*.targets.json or targets/*.json next to the .tm file (repeatable).")
    List<Path> targetFiles = new ArrayList<>();

    /** The targets loaded by the last {@link #check}. */
    Targets targets = Targets.builtin();

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

    /** Library options for the parameters, target files and tuning choice given on the command line. */
    tmc.api.Tmc.Options options(String arch, tmc.plan.LaunchShape shape, TuningOption tuning) {
        return new tmc.api.Tmc.Options(overrides(), arch, shape, targetFiles, tuning.file());
    }

    /** Prints why and returns true when {@code --arch} names no target of {@code targets}. */
    static boolean unknownArch(String arch, Targets targets, java.io.PrintWriter err) {
        if (arch == null || targets.get(arch).isPresent()) return false;
        err.println("tmc: unknown target '" + arch + "' for --arch; targets: " + String.join(", ", targets.names()));
        return true;
    }

    /** Prints why and returns true when {@code --plan} names no plan of the file. */
    static boolean unknownPlan(String plan, Path file, List<String> plans, java.io.PrintWriter err) {
        if (plan == null || plans.contains(plan)) return false;
        err.println("tmc: " + file + " has no plan '" + plan + "'; plans: " + String.join(", ", plans));
        return true;
    }

    /** Checks a file and prints its diagnostics to {@code err}. */
    Frontend.Checked check(Path file, Map<String, Long> overrides, java.io.PrintWriter err) {
        Targets.Loaded loaded = Targets.load(file, targetFiles);
        targets = loaded.targets();
        Frontend.Checked checked = Frontend.checkFile(file, overrides, targets.names());
        checked.diagnostics().addAll(loaded.diagnostics()); // a broken target file is an error of this run
        Map<String, String> texts = new LinkedHashMap<>(checked.sources());
        texts.putAll(loaded.texts());
        Renderer renderer = new Renderer(texts);
        for (var d : checked.diagnostics().sorted()) {
            if (noWarnings && !d.isError()) continue;
            err.print(renderer.render(d));
        }
        int errors = checked.diagnostics().errorCount();
        if (errors > 0) err.println(errors + " error" + (errors == 1 ? "" : "s") + " in " + file);
        return checked;
    }
}
