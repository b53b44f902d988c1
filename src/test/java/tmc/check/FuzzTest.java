package tmc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.Token;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.Repo;
import tmc.cli.BlockSummary;
import tmc.cli.InputOptions;
import tmc.cli.Main;
import tmc.cli.Shape;
import tmc.diag.Diagnostic;
import tmc.diag.Renderer;
import tmc.syntax.gen.TmLexer;

/**
 * Mutates every sample many times (seeded, so a failure reproduces) and checks each mutant. Whatever the
 * input, checking must not throw; every diagnostic must point inside the text; a mutant without errors must
 * yield a program whose blocks can be summarised. A sample of mutants also goes through the command line,
 * which must exit 0 or 1, never 2.
 */
class FuzzTest {
    static final int MUTANTS_PER_SAMPLE = 2_000;
    static final long SEED = 0x7e45_0c0d_e5L;
    static final int MAX_ERRORS_PER_MISTAKE = 10;

    enum Mutation { DELETE, DUPLICATE, SWAP, SWAP_ADJACENT, RANDOM_BYTE, TRUNCATE, REPLACE_IDENT, REPLACE_NUMBER, SEVERAL }

    /** A token of the sample: its text and where it starts and ends in the text (end exclusive). */
    record Tok(int type, String text, int start, int end) {}

    @Test
    void mutantsNeverCrashAndAlwaysPointInsideTheText(@TempDir Path tmp) throws IOException {
        long cpu0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        int total = 0;
        int valid = 0;
        int throughCli = 0;
        Map<Mutation, Integer> counts = new EnumMap<>(Mutation.class);
        List<Path> samples = Repo.samples();
        for (int s = 0; s < samples.size(); s++) {
            String text = Repo.read(samples.get(s));
            List<Tok> tokens = tokens(text);
            List<String> names = tokens.stream().filter(t -> t.type() == TmLexer.ID).map(Tok::text).distinct().toList();
            Random rnd = new Random(SEED + s);
            for (int i = 0; i < MUTANTS_PER_SAMPLE; i++) {
                Mutation m = Mutation.values()[rnd.nextInt(Mutation.values().length)];
                String mutant = mutate(m, text, tokens, names, rnd);
                counts.merge(m, 1, Integer::sum);
                String name = "mutant-" + s + "-" + i + ".tm";
                String context = samples.get(s).getFileName() + " mutant " + i + " (" + m + "):\n" + mutant;
                Frontend.Checked checked;
                try {
                    checked = Frontend.checkText(name, mutant, Map.of(), InputOptions.KNOWN_ARCHS);
                } catch (Throwable e) {
                    throw new AssertionError("checking threw " + e + " on " + context, e);
                }
                assertPositions(name, mutant, checked, context);
                // One mistake should read as one or a few errors, not as a cascade down the file.
                if (m != Mutation.SEVERAL) {
                    assertTrue(checked.diagnostics().errorCount() <= MAX_ERRORS_PER_MISTAKE, "cascade of "
                            + checked.diagnostics().errorCount() + " errors:\n" + new Renderer(checked.sources())
                            .renderAll(checked.diagnostics().sorted()) + "in " + context);
                }
                if (checked.ok()) {
                    valid++;
                    assertValidProgram(checked, context);
                }
                // Every 100th mutant also runs through the CLI from a file: exit 0 or 1 to match, never 2.
                // (Skipped for the rare mutant that a file cannot hold as UTF-8, or that grew an include,
                // which only a file may have.)
                if (i % 100 == 0 && StandardCharsets.UTF_8.newEncoder().canEncode(mutant) && !mutant.contains("include")) {
                    throughCli++;
                    Path f = tmp.resolve(name);
                    Files.writeString(f, mutant);
                    StringWriter out = new StringWriter();
                    StringWriter err = new StringWriter();
                    int code = Main.run(new String[] {"check", f.toString()}, new PrintWriter(out), new PrintWriter(err));
                    assertEquals(checked.ok() ? Main.OK : Main.USER_ERROR, code, context + "\nstderr:\n" + err);
                    assertFalse(err.toString().contains("internal error"), context + "\n" + err);
                }
                total++;
            }
        }
        assertTrue(total >= 10_000, "only " + total + " mutants");
        for (Mutation m : Mutation.values()) assertTrue(counts.getOrDefault(m, 0) > 500, "too few " + m + ": " + counts);
        // Both outcomes must be exercised, or the mutations are too weak (or too strong) to test anything.
        assertTrue(valid > 100 && valid < total - 1_000, "valid mutants: " + valid + " of " + total);
        assertTrue(throughCli >= 80, "CLI runs: " + throughCli);
        long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0;
        System.out.printf("fuzz: %d mutants (%d valid), %d through the CLI, %.1f s (%.1f s CPU), %s%n", total, valid,
                throughCli, (System.nanoTime() - wall0) / 1e9, cpu / 1e9, counts);
    }

    /** Every diagnostic points at a real position of the text it came from, and renders with a caret. */
    private static void assertPositions(String name, String text, Frontend.Checked checked, String context) {
        String[] lines = text.split("\r?\n", -1);
        Renderer renderer = new Renderer(checked.sources());
        for (Diagnostic d : checked.diagnostics().all()) {
            var sp = d.span();
            String where = d.headline() + "\nin " + context;
            assertEquals(name, sp.file(), where);
            assertTrue(sp.line() >= 1 && sp.line() <= lines.length, "line out of range: " + where);
            // One past the end of the line is where a missing token goes.
            assertTrue(sp.col() >= 1 && sp.col() <= lines[sp.line() - 1].length() + 1, "column out of range: " + where);
            assertFalse(d.message().isBlank(), where);
            String rendered = renderer.render(d);
            assertTrue(rendered.contains("^"), "no caret: " + rendered + "\nin " + context);
        }
    }

    /** A program without errors is complete enough for the later phases: summaries render, plans have blocks. */
    private static void assertValidProgram(Frontend.Checked checked, String context) {
        Program p = checked.program();
        assertNotNull(p, context);
        for (TypedBlock b : p.blocks()) {
            assertFalse(b.ops().isEmpty(), context);
            for (Activation o : b.outputs()) {
                assertTrue(b.producer(o.name()).isPresent(), "output " + o.name() + " has no producer in " + context);
            }
            String summary = BlockSummary.render(b, p.plansFor(b.name()), new Shape(2, 9, 9));
            assertTrue(summary.contains("block " + b.name()), context);
        }
        for (PlanSpec plan : p.plans()) {
            if (p.block(plan.block()).isEmpty()) fail("plan " + plan.name() + " for a block that did not check: " + context);
        }
    }

    static List<Tok> tokens(String text) {
        TmLexer lexer = new TmLexer(CharStreams.fromString(text));
        lexer.removeErrorListeners();
        List<Tok> out = new ArrayList<>();
        for (Token t = lexer.nextToken(); t.getType() != Token.EOF; t = lexer.nextToken()) {
            if (t.getChannel() == Token.DEFAULT_CHANNEL) {
                out.add(new Tok(t.getType(), t.getText(), t.getStartIndex(), t.getStopIndex() + 1));
            }
        }
        return out;
    }

    private static final String[] IDENTS = {"x", "y", "C", "E", "N", "H", "W", "f16", "bf16", "f32", "f8", "conv2d",
            "pointwise", "silu", "layernorm", "groups", "pad", "stride", "halo", "shared", "registers", "global", "load",
            "stage", "recompute", "sm_90", "sm_75", "tile", "place", "stream", "warps", "math", "wgmma", "in", "out", "w",
            "param", "block", "plan", "for", "on", "by", "separate", "auto", "include", "_", "zz9"};

    private static final String[] NUMBERS = {"0", "1", "2", "3", "7", "8", "-1", "1.5", "1e-6", "999999999999",
            "99999999999999999999", "2147483648", "64", "33", "0.0"};

    static String mutate(Mutation m, String text, List<Tok> toks, List<String> names, Random rnd) {
        Tok a = toks.get(rnd.nextInt(toks.size()));
        return switch (m) {
            case DELETE -> text.substring(0, a.start()) + text.substring(a.end());
            case DUPLICATE -> text.substring(0, a.end()) + " " + a.text() + text.substring(a.end());
            case SWAP -> swap(text, a, toks.get(rnd.nextInt(toks.size())));
            case SWAP_ADJACENT -> {
                int i = rnd.nextInt(toks.size() - 1);
                yield swap(text, toks.get(i), toks.get(i + 1));
            }
            case RANDOM_BYTE -> {
                int at = rnd.nextInt(text.length() + 1);
                yield text.substring(0, at) + randomChar(rnd) + text.substring(at);
            }
            case TRUNCATE -> text.substring(0, rnd.nextInt(text.length()));
            case REPLACE_IDENT -> {
                List<Tok> ids = toks.stream().filter(t -> t.type() == TmLexer.ID).toList();
                Tok id = ids.get(rnd.nextInt(ids.size()));
                String with = rnd.nextBoolean() ? names.get(rnd.nextInt(names.size())) : IDENTS[rnd.nextInt(IDENTS.length)];
                yield text.substring(0, id.start()) + with + text.substring(id.end());
            }
            case REPLACE_NUMBER -> {
                List<Tok> nums = toks.stream().filter(t -> t.type() == TmLexer.INT || t.type() == TmLexer.FLOAT).toList();
                Tok n = nums.get(rnd.nextInt(nums.size()));
                yield text.substring(0, n.start()) + NUMBERS[rnd.nextInt(NUMBERS.length)] + text.substring(n.end());
            }
            case SEVERAL -> {
                String t = text;
                int k = 2 + rnd.nextInt(3);
                for (int j = 0; j < k; j++) {
                    List<Tok> now = tokens(t);
                    if (now.size() < 2) break;
                    Mutation inner = Mutation.values()[rnd.nextInt(Mutation.SEVERAL.ordinal())];
                    if (inner == Mutation.TRUNCATE) inner = Mutation.DELETE; // keep the rest for the others
                    if (inner == Mutation.REPLACE_NUMBER && now.stream().noneMatch(x -> x.type() == TmLexer.INT)) {
                        inner = Mutation.DELETE;
                    }
                    if (inner == Mutation.REPLACE_IDENT && now.stream().noneMatch(x -> x.type() == TmLexer.ID)) {
                        inner = Mutation.DELETE;
                    }
                    t = mutate(inner, t, now, names, rnd);
                }
                yield t;
            }
        };
    }

    private static String swap(String text, Tok a, Tok b) {
        if (a.start() == b.start()) return text;
        Tok first = a.start() < b.start() ? a : b;
        Tok second = first == a ? b : a;
        return text.substring(0, first.start()) + second.text() + text.substring(first.end(), second.start())
                + first.text() + text.substring(second.end());
    }

    /** Mostly printable ASCII, some control characters, quotes, NUL and characters outside ASCII. */
    private static String randomChar(Random rnd) {
        int kind = rnd.nextInt(10);
        if (kind < 6) return String.valueOf((char) (32 + rnd.nextInt(95)));
        if (kind == 6) return String.valueOf((char) rnd.nextInt(32));
        if (kind == 7) return new String[] {"\"", "\\", "/*", "//", "\r", "\t", "{", "}"}[rnd.nextInt(8)];
        if (kind == 8) return "\u0000";
        return new String[] {"é", "λ", "\u00a0", "\u2028", "\ufeff", "😀", "\ud800"}[rnd.nextInt(7)];
    }
}
