package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tmc.Repo;

/** The command line: exit codes, help and version, compile's summary, and what users see on mistakes. */
class MainTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        // compile writes into generated/<name> by default: keep the checked-in files out of the tests' way.
        if (args.length > 0 && args[0].equals("compile") && !java.util.Arrays.asList(args).contains("-o")) {
            String[] withOut = java.util.Arrays.copyOf(args, args.length + 2);
            withOut[args.length] = "-o";
            withOut[args.length + 1] = tempDir().toString();
            args = withOut;
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("tmc-compile-");
            d.toFile().deleteOnExit();
            return d;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void compileWritesEachPlansProgramIntoTheOutputDirectory() throws Exception {
        Path dir = tempDir();
        Result r = run("compile", "-o", dir.toString(), sample("convfirst.tm"));
        assertEquals(0, r.code(), r.err());
        for (String plan : List.of("fused", "layerwise", "best")) {
            for (String ext : List.of(".cu", ".json")) {
                Path f = dir.resolve("ConvFirst_" + plan + ext);
                assertTrue(Files.isRegularFile(f), f + "\n" + r.out());
                assertTrue(r.out().contains("wrote " + f), r.out());
            }
        }
        // At the default shape, compile reproduces the checked-in generated/convfirst byte for byte (up to the
        // source path, which the emitted comments quote as given on the command line).
        assertEquals(Files.readString(Repo.path("generated", "convfirst", "ConvFirst_best.cu")),
                Files.readString(dir.resolve("ConvFirst_best.cu")).replace(sample("convfirst.tm"), "samples/convfirst.tm"));
        Result none = run("compile", "--no-emit", "-o", dir.resolve("none").toString(), sample("convfirst.tm"));
        assertEquals(0, none.code(), none.err());
        assertTrue(!Files.exists(dir.resolve("none")), "--no-emit writes nothing");
    }

    static String sample(String name) {
        return Repo.path("samples", name).toString();
    }

    /** No Java stack trace or exception class name ever reaches the user on a user error. */
    static void assertNoStackTrace(String text) {
        assertFalse(text.contains("\tat ") || text.contains("Exception") || text.contains("internal error"), text);
    }

    // ---- version and help ------------------------------------------------------------------

    @Test
    void version() throws IOException {
        Result r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("tmc " + Version.VERSION + "\n"), r.out());
        // Version.VERSION is kept equal to the pom's project version.
        String pom = Files.readString(Repo.path("pom.xml"));
        Matcher m = Pattern.compile("<artifactId>tmc</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find());
        assertEquals(m.group(1), Version.VERSION);
    }

    @Test
    void everyCommandPrintsTheVersion() {
        for (String cmd : List.of("check", "compile", "plan", "emit", "run", "verify", "bench", "tune", "analyze",
                "doctor", "smoke", "regen")) {
            Result r = run(cmd, "-V");
            assertEquals(0, r.code(), cmd);
            assertTrue(r.out().startsWith("tmc " + Version.VERSION + "\n"), cmd + ": " + r.out());
        }
    }

    @Test
    void onlyCommandsThatPlanOfferNoTuning() {
        for (String cmd : List.of("check", "analyze")) {
            assertFalse(run(cmd, "--help").out().contains("--no-tuning"), cmd);
            assertTrue(run(cmd, "--no-tuning", sample("convfirst.tm")).err().contains("Unknown option: '--no-tuning'"), cmd);
        }
        for (String cmd : List.of("compile", "plan", "emit", "run", "verify", "bench", "tune")) {
            assertTrue(run(cmd, "--help").out().contains("--no-tuning"), cmd);
        }
    }

    @Test
    void tuneRefusesASeparatePlanBeforeLookingForAGpu() {
        Result r = run("tune", sample("convfirst.tm"), "--plan", "layerwise");
        assertEquals(Main.USER_ERROR, r.code());
        assertTrue(r.err().startsWith("tmc: plan 'layerwise' is separate (one kernel per layer"), r.err());
        assertTrue(run("tune", "--help").out().replace("\n", " ").replaceAll(" +", " ").contains("A fused plan that writes its directives is timed against"));
    }

    @Test
    void mistakesNameTheCommandToAskForHelp() {
        Result unknown = run("frob", "x.tm");
        assertEquals(Main.USER_ERROR, unknown.code());
        assertTrue(unknown.err().startsWith("tmc: unknown command 'frob'; commands: check, compile, plan,"), unknown.err());
        Result option = run("check", "--frob", "x.tm");
        assertEquals(Main.USER_ERROR, option.code());
        assertTrue(option.err().contains("Run 'tmc check --help' for usage."), option.err());
    }

    /**
     * Descriptions are wrapped by the help formatter, not at the source's line breaks: no line of a command's
     * description (after its summary line) is cut short before the paragraph ends.
     */
    @Test
    void commandDescriptionsAreWrappedAsParagraphs() {
        for (String cmd : List.of("check", "compile", "plan", "emit", "run", "verify", "bench", "tune", "analyze",
                "doctor", "smoke", "regen")) {
            List<String> lines = run(cmd, "--help").out().lines().toList();
            int first = 0;
            while (lines.get(first).startsWith("Usage:") || lines.get(first).startsWith(" ")) first++;
            int end = first;
            while (end < lines.size() && !lines.get(end).startsWith(" ")) end++;
            // lines[first] begins the summary; the prose paragraph follows it
            List<String> description = lines.subList(first, end);
            for (int i = 0; i + 1 < description.size(); i++) {
                String line = description.get(i);
                boolean paragraphEnds = line.endsWith(".") || line.endsWith(")") || line.endsWith(":");
                assertTrue(paragraphEnds || line.length() >= 60, cmd + " --help, a ragged line: '" + line + "'");
                assertTrue(line.length() <= 80, cmd + " --help, over 80 columns: '" + line + "'");
            }
        }
    }

    @Test
    void helpOfTmc() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {})) {
            Result r = run(args);
            assertEquals(0, r.code(), String.join(" ", args));
            assertTrue(r.out().contains("Usage: tmc"), r.out());
            assertTrue(r.out().contains("check") && r.out().contains("compile"), "lists the commands: " + r.out());
            assertTrue(r.out().contains("Exit status"), r.out());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"check", "compile"})
    void helpOfEachCommand(String command) {
        Result r = run(command, "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Usage: tmc " + command), r.out());
        assertTrue(r.out().contains("--param"), r.out());
        if (command.equals("compile")) assertTrue(r.out().contains("--shape"), r.out());
        assertEquals(r.out(), run("help", command).out(), "'tmc help " + command + "' prints the same");
    }

    @Test
    void unknownCommandOrOptionIsAUserError() {
        Result r = run("chek", sample("convfirst.tm"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("check"), "suggests the command: " + r.err());
        assertNoStackTrace(r.err());
        Result o = run("check", "--frobnicate", sample("convfirst.tm"));
        assertEquals(1, o.code());
        assertTrue(o.err().contains("--frobnicate"), o.err());
        assertNoStackTrace(o.err());
    }

    // ---- check ---------------------------------------------------------------------------------

    @Test
    void checkAllSamplesExitsZero() {
        List<String> args = new ArrayList<>(List.of("check"));
        for (Path p : Repo.samples()) args.add(p.toString());
        Result r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "no warnings in the samples");
        for (Path p : Repo.samples()) assertTrue(r.out().contains(p + ": ok ("), r.out());
        assertTrue(r.out().contains("convfirst.tm: ok (1 block, 6 plans)"), r.out());
    }

    @Test
    void checkWithOneBadFileExitsOneAndStillChecksTheOthers() {
        Result r = run("check", sample("convfirst.tm"), Repo.path("test-data", "bad", "unknown_name.tm").toString());
        assertEquals(1, r.code());
        assertTrue(r.out().contains("convfirst.tm: ok"), r.out());
        assertTrue(r.err().contains("unknown_name.tm:6:17: error: unknown name 'z'"), r.err());
    }

    @Test
    void allErrorsOfAFileInOneRunWithSourceAndCaret() {
        Result r = run("check", Repo.path("test-data", "bad", "many_block_errors.tm").toString());
        assertEquals(1, r.code());
        long headlines = r.err().lines().filter(l -> l.contains(": error: ")).count();
        assertEquals(4, headlines, r.err());
        assertTrue(r.err().contains("4 errors in "), r.err());
        // The source line, and a caret under the 'f8' of line 6 (column 12).
        assertTrue(r.err().contains(" 6 |   w   q  : f8[C]\n   |            ^^\n"), r.err());
        assertTrue(r.err().contains("  hint: use f16, bf16 or f32"), r.err());
    }

    @Test
    void nonexistentFile(@TempDir Path dir) {
        Path nope = dir.resolve("nope.tm");
        Result r = run("check", nope.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("cannot read " + nope), r.err());
        assertNoStackTrace(r.err());
        Result c = run("compile", nope.toString());
        assertEquals(1, c.code());
        assertTrue(c.err().contains("cannot read " + nope), c.err());
    }

    @Test
    void directoryInsteadOfFile(@TempDir Path dir) {
        Result r = run("check", dir.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("cannot read " + dir), r.err());
        assertNoStackTrace(r.err());
    }

    @Test
    void paramOptions() {
        Result ok = run("check", "--param", "C=128", sample("convfirst.tm"));
        assertEquals(0, ok.code(), ok.err());
        Result notInt = run("check", "--param", "C=abc", sample("convfirst.tm"));
        assertEquals(1, notInt.code());
        assertTrue(notInt.err().contains("--param C=abc: the value must be an integer"), notInt.err());
        assertNoStackTrace(notInt.err());
        Result unknown = run("check", "-p", "Z=4", sample("convfirst.tm"));
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().contains("--param: error: parameter 'Z' is not defined by any block"), unknown.err());
    }

    // ---- compile -------------------------------------------------------------------------------

    @Test
    void compilePrintsEveryTensorAndTheFlopsAtTheShape() {
        Result r = run("compile", "--shape", "N=2,H=9,W=9", sample("convfirst.tm"));
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("block ConvFirst"), out);
        assertTrue(out.contains("params   C=64, E=256, GW=8"), out);
        for (String tensor : List.of("x", "wc", "bc", "w1", "b1", "w2", "b2", "a", "h", "y")) {
            assertTrue(Pattern.compile("(?m)^  " + tensor + " +(in|w|named|out) ").matcher(out).find(),
                    "tensor " + tensor + " missing from\n" + out);
        }
        // x: 9 x 9 pixels x 64 channels x 2 bytes per image.
        assertTrue(Pattern.compile("(?m)^  x +in +\\[N, H, W, 64\\] +f16 +" + (9 * 9 * 64 * 2) + "$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^  h +named +\\[N, H, W, 256\\] +f16 +" + (9 * 9 * 256 * 2) + "$").matcher(out).find(), out);
        // FLOPs, computed here from the block's definition: per pixel, then for one image and for N = 2.
        long c = 64;
        long e = 256;
        long perPixel = 2 * 9 * 8 * c + c + 2 * c * e + e + e + 2 * e * c + c + c;
        long perImage = perPixel * 9 * 9;
        assertTrue(out.contains(String.format(Locale.ROOT, "%.3f GFLOP", 2 * perImage / 1e9)), out);
        Matcher total = Pattern.compile("(?m)^ +total +([0-9.]+) +(\\d+)$").matcher(out);
        assertTrue(total.find(), out);
        assertEquals(perImage / 1e6, Double.parseDouble(total.group(1)), 0.0005, "total MFLOP per image");
        long weightBytes = 64 * 9 * 8 * 2 + 64 * 4 + 2 * (256 * 64 * 2) + 256 * 4 + 64 * 4;
        assertEquals(weightBytes, Long.parseLong(total.group(2)), "parameter bytes");
        // The conv2d row: 2 * 9 * 8 * 64 flops per pixel over 81 pixels.
        Matcher conv = Pattern.compile("(?m)^  14 +conv2d 3x3 gw 8 64->64 +t\\d+ +([0-9.]+) +(\\d+)$").matcher(out);
        assertTrue(conv.find(), out);
        assertEquals(2.0 * 9 * 8 * 64 * 81 / 1e6, Double.parseDouble(conv.group(1)), 0.0005);
        assertEquals(64 * 9 * 8 * 2, Long.parseLong(conv.group(2)));
        assertTrue(out.contains("plans    fused (fused on sm_90), rows (fused on sm_90), wgmma (fused on sm_90), specialized (fused on sm_90), layerwise (separate), best (auto on sm_90)"), out);
    }

    @Test
    void compileAtTheDefaultShapeAndWithAnOverride() {
        Result r = run("compile", "--param", "C=32", sample("fusedmlp.tm"));
        assertEquals(0, r.code(), r.err());
        // FusedMLP with C = 32, E = 128 at the default N=128, H=56, W=56 (the planner's reference shape).
        long c = 32;
        long e = 128;
        long perPixel = 2 * c * e + e + e + 2 * e * c + c;
        assertTrue(r.out().contains("at N=128,H=56,W=56: " + String.format(Locale.ROOT, "%.3f GFLOP", perPixel * 128 * 56 * 56 / 1e9)),
                r.out());
    }

    @Test
    void compileOneBlockByName() {
        Result none = run("compile", "--block", "Nope", sample("convfirst.tm"));
        assertEquals(1, none.code());
        assertTrue(none.err().contains("has no block 'Nope'; blocks: ConvFirst"), none.err());
        Result one = run("compile", "--block", "ConvFirst", sample("convfirst.tm"));
        assertEquals(0, one.code());
    }

    @Test
    void compileOfABadFileExitsOne() {
        Result r = run("compile", Repo.path("test-data", "bad", "wrong_pad.tm").toString());
        assertEquals(1, r.code());
        assertEquals("", r.out());
        assertTrue(r.err().contains("wrong_pad.tm:6:26: error: conv2d pad 2"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"N=0,H=9,W=9", "N=2,H=x,W=9", "N=2,Q=9", "N=2,N=3", "N2", "H=-4", "W=99999999999"})
    void badShapeIsAUserErrorWithAClearMessage(String shape) {
        Result r = run("compile", "--shape", shape, sample("convfirst.tm"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("tmc: "), r.err());
        assertTrue(r.err().contains("--shape"), r.err());
        assertNoStackTrace(r.err());
        assertEquals("", r.out());
    }

    @Test
    void badShapeMessagesSayWhatIsWrong() {
        assertTrue(run("compile", "--shape", "N=0,H=9,W=9", sample("convfirst.tm")).err().contains("N must be positive"));
        assertTrue(run("compile", "--shape", "N=2,H=x", sample("convfirst.tm")).err().contains("'x' is not an integer"));
        assertTrue(run("compile", "--shape", "N=2,N=3", sample("convfirst.tm")).err().contains("N is given twice"));
        // A partial shape is refused, not completed from some default (plan's N=128 and run's N=1 differ).
        assertTrue(run("plan", "--shape", "H=56", sample("convfirst.tm")).err()
                .contains("--shape needs N, H and W; N and W are missing"));
    }

    // ---- internal errors -----------------------------------------------------------------------

    @Test
    void internalErrorExitsTwoAndAsksForABugReportWithoutAStackTrace() throws IOException {
        StringWriter err = new StringWriter();
        int code = Main.internalError(new IllegalStateException("unhandled op"), new PrintWriter(err, true));
        assertEquals(Main.INTERNAL_ERROR, code);
        String text = err.toString();
        assertTrue(text.startsWith("tmc: internal error: IllegalStateException: unhandled op\n"), text);
        assertTrue(text.contains("This is a bug in tmc") && text.contains("report"), text);
        assertFalse(text.contains("\tat "), "no stack trace on the terminal: " + text);
        // The details go to a file that the message names.
        Matcher m = Pattern.compile("Details are in (\\S+)\\.\\n").matcher(text);
        assertTrue(m.find(), text);
        Path log = Path.of(m.group(1));
        try {
            String details = Files.readString(log);
            assertTrue(details.contains("IllegalStateException: unhandled op"), details);
            assertTrue(details.contains("\tat "), "the file keeps the stack trace");
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
