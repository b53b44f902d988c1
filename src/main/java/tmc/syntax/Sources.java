package tmc.syntax;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.diag.Diagnostics;
import tmc.diag.Span;
import tmc.syntax.Ast.Block;
import tmc.syntax.Ast.Network;
import tmc.syntax.Ast.Unit;
import tmc.syntax.Ast.Plan;

/**
 * Loads a .tm file and, transitively, the files it includes, into one module.
 * Keeps every text it read so diagnostics can quote source lines.
 */
public final class Sources {
    private final Map<String, String> texts = new LinkedHashMap<>();

    /** File name (as shown in diagnostics) to text, for every file read so far. */
    public Map<String, String> texts() {
        return texts;
    }

    /** Parses text that did not come from a file (the library API, tests). */
    public Unit parseText(String name, String text, Diagnostics diagnostics) {
        texts.put(name, text);
        Parser.ParsedFile parsed = Parser.parse(name, text, diagnostics);
        if (!parsed.includes().isEmpty()) {
            for (Parser.Include inc : parsed.includes()) {
                diagnostics.error(inc.span(), "include is only possible in a file, not in text given directly",
                        "compile the file from disk, or paste the included blocks into the text");
            }
        }
        return parsed.module();
    }

    public Unit load(Path path, Diagnostics diagnostics) {
        List<Block> blocks = new ArrayList<>();
        List<Plan> plans = new ArrayList<>();
        List<Network> networks = new ArrayList<>();
        load(path, path.toString(), null, new HashSet<>(), new HashSet<>(), blocks, plans, networks, diagnostics);
        return new Unit(blocks, plans, networks);
    }

    private void load(Path path, String shown, Span includedAt, Set<Path> active, Set<Path> done,
                      List<Block> blocks, List<Plan> plans, List<Network> networks, Diagnostics diagnostics) {
        Path key = path.toAbsolutePath().normalize();
        if (done.contains(key)) return; // included twice through different files: its definitions count once
        if (active.contains(key)) {
            diagnostics.error(includedAt, "file " + shown + " includes itself (directly or through other files)",
                    "remove one of the includes that form the cycle");
            return;
        }
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            Span where = includedAt != null ? includedAt : Span.none(shown);
            diagnostics.error(where, "file " + shown + " is not UTF-8 text", "save it as UTF-8");
            return;
        } catch (IOException e) {
            Span where = includedAt != null ? includedAt : Span.none(shown);
            diagnostics.error(where, "cannot read " + shown + ": " + describe(e), "check the path");
            return;
        }
        texts.put(shown, text);
        Parser.ParsedFile parsed = Parser.parse(shown, text, diagnostics);
        active.add(key);
        for (Parser.Include inc : parsed.includes()) {
            // Relative to the including file, and kept relative when it is, so that every file of one run is
            // named the same way in diagnostics (an absolute path here once leaked into nested includes).
            Path base = path.getParent();
            Path target;
            try {
                target = (base == null ? Path.of(inc.path()) : base.resolve(inc.path())).normalize();
            } catch (java.nio.file.InvalidPathException e) {
                diagnostics.error(inc.span(), "'" + inc.path() + "' is not a valid path: " + e.getReason());
                continue;
            }
            load(target, target.toString(), inc.span(), active, done, blocks, plans, networks, diagnostics);
        }
        active.remove(key);
        done.add(key);
        blocks.addAll(parsed.module().blocks());
        plans.addAll(parsed.module().plans());
        networks.addAll(parsed.module().networks());
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e.getMessage() != null && e.getMessage().contains("Is a directory")) return "it is a directory";
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
    }
}
