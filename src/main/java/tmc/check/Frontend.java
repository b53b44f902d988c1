package tmc.check;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import tmc.diag.Diagnostics;
import tmc.syntax.Ast;
import tmc.syntax.Sources;

/** Source text to a checked program: parse (with includes), then check. The entry point of every command. */
public final class Frontend {
    private Frontend() {}

    /** The outcome of checking: the program (blocks and plans that passed), every diagnostic, and the texts read. */
    public record Checked(Program program, Diagnostics diagnostics, Map<String, String> sources) {
        public boolean ok() {
            return !diagnostics.hasErrors();
        }
    }

    public static Checked checkFile(Path file, Map<String, Long> overrides, Set<String> archs) {
        Diagnostics diagnostics = new Diagnostics();
        Sources sources = new Sources();
        Ast.Unit module = sources.load(file, diagnostics);
        Program program = Checker.check(module, overrides, archs, diagnostics);
        return new Checked(program, diagnostics, sources.texts());
    }

    public static Checked checkText(String name, String text, Map<String, Long> overrides, Set<String> archs) {
        Diagnostics diagnostics = new Diagnostics();
        Sources sources = new Sources();
        Ast.Unit module = sources.parseText(name, text, diagnostics);
        Program program = Checker.check(module, overrides, archs, diagnostics);
        return new Checked(program, diagnostics, sources.texts());
    }
}
