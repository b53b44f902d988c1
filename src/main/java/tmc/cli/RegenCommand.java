package tmc.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Rewrites generated/ from the samples (bin/regen). Hidden: a maintenance command, not a user one. */
@Command(name = "regen", hidden = true, mixinStandardHelpOptions = true,
        description = "Regenerate the checked-in files under generated/ from samples/: every plan of every sample at N=128,H=56,W=56, its program and plan.txt (bin/regen runs it; the tests check generated/ is fresh).")
final class RegenCommand implements Callable<Integer> {
    @Option(names = "--root", paramLabel = "DIR", description = "Repository root (default: the current directory).")
    Path root = Path.of("");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        Path r = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(r.resolve("samples"))) {
            err.println("tmc regen: " + r + " has no samples/ directory; run it from the repository root or pass --root");
            return Main.USER_ERROR;
        }
        int written = 0;
        int same = 0;
        for (Map.Entry<Path, String> e : Generated.render(r).entrySet()) {
            Path f = r.resolve(e.getKey());
            try {
                if (Files.isRegularFile(f) && Files.readString(f, StandardCharsets.UTF_8).equals(e.getValue())) {
                    same++;
                    continue;
                }
                Files.createDirectories(f.getParent());
                Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
                Files.writeString(tmp, e.getValue(), StandardCharsets.UTF_8);
                Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                out.println("wrote " + e.getKey());
                written++;
            } catch (IOException ex) {
                err.println("tmc regen: cannot write " + f + ": " + ex.getMessage());
                return Main.USER_ERROR;
            }
        }
        out.println(written + " file" + (written == 1 ? "" : "s") + " written, " + same + " unchanged");
        return Main.OK;
    }
}
