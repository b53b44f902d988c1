package tmc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.cli.InputOptions;
import tmc.diag.Diagnostic;

/** include "file": relative to the including file, each file once, cycles and missing files reported. */
class IncludesTest {
    static final String LIB = """
            block Lib {
              param C = 8
              in  x : f16[N, H, W, C]
              w   p : f16[C, C]
              out y : f16[N, H, W, C]
              y = pointwise(x, p)
            }
            """;

    static Frontend.Checked check(Path file) {
        return Frontend.checkFile(file, Map.of(), InputOptions.KNOWN_ARCHS);
    }

    static List<String> errors(Frontend.Checked c) {
        return c.diagnostics().sorted().stream().filter(Diagnostic::isError).map(Diagnostic::headline).toList();
    }

    @Test
    void includedBlocksAreVisibleToPlans(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("lib"));
        Files.writeString(dir.resolve("lib/lib.tm"), LIB);
        Path main = Files.writeString(dir.resolve("main.tm"), """
                include "lib/lib.tm"
                plan fast for Lib on sm_80 { warps 4 }
                """);
        Frontend.Checked c = check(main);
        assertEquals(List.of(), c.diagnostics().all());
        assertEquals(List.of("Lib"), c.program().blocks().stream().map(TypedBlock::name).toList());
        assertEquals("Lib", c.program().plan("fast").orElseThrow().block());
        assertEquals(2, c.sources().size(), "both texts are kept for diagnostics");
    }

    @Test
    void aFileIncludedTwiceCountsOnce(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("lib.tm"), LIB);
        Files.writeString(dir.resolve("a.tm"), "include \"lib.tm\"\nplan pa for Lib { separate }\n");
        Files.writeString(dir.resolve("b.tm"), "include \"lib.tm\"\nplan pb for Lib { auto }\n");
        Path main = Files.writeString(dir.resolve("main.tm"), "include \"a.tm\"\ninclude \"b.tm\"\n");
        Frontend.Checked c = check(main);
        assertEquals(List.of(), errors(c), "no 'block Lib is already defined'");
        assertEquals(1, c.program().blocks().size());
        assertEquals(List.of("pa", "pb"), c.program().plans().stream().map(PlanSpec::name).toList());
    }

    @Test
    void errorsInAnIncludedFileNameThatFile(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/bad.tm"), LIB.replace("pointwise(x, p)", "pointwise(x, q)"));
        Path main = Files.writeString(dir.resolve("main.tm"), "include \"sub/bad.tm\"\n");
        Frontend.Checked c = check(main);
        assertEquals(List.of(dir.resolve("sub/bad.tm") + ":6:20: error: unknown name 'q'"), errors(c));
    }

    @Test
    void missingAndCyclicIncludes(@TempDir Path dir) throws IOException {
        Path missing = Files.writeString(dir.resolve("m.tm"), "\n  include \"nope.tm\"\n");
        assertEquals(List.of(missing + ":2:11: error: cannot read " + dir.resolve("nope.tm") + ": no such file"),
                errors(check(missing)));

        Files.writeString(dir.resolve("a.tm"), "include \"b.tm\"\n");
        Path b = Files.writeString(dir.resolve("b.tm"), "include \"a.tm\"\n");
        List<String> cycle = errors(check(dir.resolve("a.tm")));
        assertEquals(List.of(b + ":1:9: error: file " + dir.resolve("a.tm")
                + " includes itself (directly or through other files)"), cycle);
    }

    @Test
    void includeInTextGivenDirectlyIsAnError() {
        Frontend.Checked c = Frontend.checkText("t.tm", "include \"x.tm\"\n", Map.of(), InputOptions.KNOWN_ARCHS);
        assertEquals(List.of("t.tm:1:9: error: include is only possible in a file, not in text given directly"),
                errors(c));
    }

    /**
     * Files are named in diagnostics the way the user named the top file: relative stays relative, also for
     * files that included files include (they once came out as absolute paths).
     */
    @Test
    void nestedIncludesKeepRelativeNames() throws IOException {
        Path cwd = Path.of("").toAbsolutePath();
        Path dir = Files.createTempDirectory(Files.createDirectories(cwd.resolve("target")), "includes-");
        try {
            Files.createDirectories(dir.resolve("one/two"));
            Files.writeString(dir.resolve("one/two/leaf.tm"), "plan p for Nowhere { auto }\n");
            Files.writeString(dir.resolve("one/mid.tm"), "include \"two/leaf.tm\"\n");
            Files.writeString(dir.resolve("top.tm"), "include \"one/mid.tm\"\n");
            Path top = cwd.relativize(dir.resolve("top.tm"));
            assertTrue(!top.isAbsolute());
            Frontend.Checked c = check(top);
            Path leaf = cwd.relativize(dir.resolve("one/two/leaf.tm"));
            assertEquals(List.of(leaf + ":1:12: error: plan 'p' is for unknown block 'Nowhere'"), errors(c));
            assertTrue(c.sources().keySet().stream().noneMatch(name -> Path.of(name).isAbsolute()), c.sources().keySet().toString());
        } finally {
            try (var files = Files.walk(dir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
            }
        }
    }
}
