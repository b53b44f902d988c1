package tmc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tmc.Repo;
import tmc.cli.InputOptions;
import tmc.cli.Main;
import tmc.diag.Diagnostic;
import tmc.diag.Renderer;

/**
 * Runs every file of test-data/bad/ against test-data/bad/expected.tsv. Each row names a file, the exact
 * position of one error ({@code line:col}, or {@code other.tm:line:col} when the error sits in a file it
 * includes) and a fragment of the message. A file must produce exactly the errors listed for it: one
 * missing is a lost diagnostic, one more is a cascade.
 */
class BadFilesTest {
    static final Path DIR = Repo.path("test-data", "bad");

    record Expected(String file, int line, int col, String fragment) {
        @Override
        public String toString() {
            return file + ":" + line + ":" + col + " '" + fragment + "'";
        }
    }

    private static Map<String, List<Expected>> manifest;

    @BeforeAll
    static void readManifest() throws IOException {
        manifest = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(DIR.resolve("expected.tsv"))) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] cols = line.split("\t");
            if (cols.length != 3) fail("expected.tsv:" + lineNo + ": needs 3 tab-separated columns: " + line);
            String[] pos = cols[1].split(":");
            String where = pos.length == 3 ? pos[0] : cols[0];
            int l = Integer.parseInt(pos[pos.length - 2]);
            int c = Integer.parseInt(pos[pos.length - 1]);
            manifest.computeIfAbsent(cols[0], k -> new ArrayList<>()).add(new Expected(where, l, c, cols[2]));
        }
    }

    static Stream<String> badFiles() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tm")).sorted().toList().stream();
        }
    }

    @Test
    void manifestAndDirectoryAgree() throws IOException {
        Set<String> files = new TreeSet<>(badFiles().toList());
        assertTrue(files.size() >= 40, "test-data/bad/ should hold at least 40 files, has " + files.size());
        assertEquals(files, new TreeSet<>(manifest.keySet()),
                "every bad file needs rows in expected.tsv, and every row a file");
        long multi = manifest.values().stream().filter(rows -> rows.size() >= 3).count();
        assertTrue(multi >= 3, "a few files should carry several errors, to show one run reports them all");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void reportsExactlyTheExpectedErrors(String name) {
        Frontend.Checked checked = Frontend.checkFile(DIR.resolve(name), Map.of(), InputOptions.KNOWN_ARCHS);
        List<Diagnostic> errors = checked.diagnostics().sorted().stream().filter(Diagnostic::isError).toList();
        assertFalse(errors.isEmpty(), name + " produced no error");
        List<Expected> expected = manifest.get(name);
        for (Expected e : expected) {
            boolean found = errors.stream().anyMatch(d -> fileName(d).equals(e.file()) && d.span().line() == e.line()
                    && d.span().col() == e.col() && d.message().contains(e.fragment()));
            assertTrue(found, name + ": expected " + e + "\n  got:\n" + headlines(errors));
        }
        long distinct = expected.stream().map(e -> e.file() + ":" + e.line() + ":" + e.col()).distinct().count();
        assertEquals(distinct, errors.size(), name + ": unexpected extra errors\n" + headlines(errors));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void renderingQuotesTheLineWithACaretUnderTheCulprit(String name) {
        Frontend.Checked checked = Frontend.checkFile(DIR.resolve(name), Map.of(), InputOptions.KNOWN_ARCHS);
        Renderer renderer = new Renderer(checked.sources());
        for (Diagnostic d : checked.diagnostics().all()) {
            String out = renderer.render(d);
            String[] lines = out.split("\n");
            assertTrue(lines[0].matches(".+:\\d+:\\d+: (error|warning): .+"), "headline: " + lines[0]);
            String text = checked.sources().get(d.span().file());
            String source = text.split("\r?\n", -1)[d.span().line() - 1];
            String gutter = " " + d.span().line() + " | ";
            // A tab counts as one column, so it is shown as one space to keep the caret under the culprit.
            assertEquals(gutter + source.replace('\t', ' '), lines[1], "second line quotes the source line");
            String caretLine = lines[2];
            int bar = caretLine.indexOf("| ");
            assertEquals(gutter.length() - 2, bar, "caret line has the same gutter: " + out);
            String marks = caretLine.substring(bar + 2);
            assertEquals(d.span().col() - 1, marks.indexOf('^'), "caret under column " + d.span().col() + ":\n" + out);
            assertTrue(marks.strip().chars().allMatch(c -> c == '^'), out);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void cliExitsOneWithThePositions(String name) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"check", DIR.resolve(name).toString()}, new PrintWriter(out),
                new PrintWriter(err));
        assertEquals(Main.USER_ERROR, code, name + ":\n" + err);
        String e = err.toString();
        assertFalse(e.contains("internal error") || e.contains("Exception"), e);
        for (Expected x : manifest.get(name)) {
            assertTrue(e.contains(x.file() + ":" + x.line() + ":" + x.col() + ": error: "), "missing " + x + " in\n" + e);
        }
        int n = (int) manifest.get(name).stream().map(x -> x.file() + ":" + x.line() + ":" + x.col()).distinct().count();
        assertTrue(e.contains(n + " error" + (n == 1 ? "" : "s") + " in "), e);
        assertEquals("", out.toString(), "nothing on stdout for a file with errors");
    }

    private static String fileName(Diagnostic d) {
        return Path.of(d.span().file()).getFileName().toString();
    }

    private static String headlines(List<Diagnostic> ds) {
        StringBuilder s = new StringBuilder();
        for (Diagnostic d : ds) s.append("    ").append(d.headline()).append('\n');
        return s.toString();
    }
}
