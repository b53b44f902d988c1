package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCommandTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    record Run(int code, String out, String err) {}

    static Run tmc(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    static String sample(String name) {
        return REPO.resolve("samples").resolve(name).toString();
    }

    @Test
    void plansEverySampleWithTheChoiceBudgetsAndPrediction() {
        Run r = tmc("plan", sample("convfirst.tm"), "--arch", "sm_90", "--ir");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("plan fused (fused) on sm_90"), r.out());
        assertTrue(r.out().contains("chosen: tile 8x16, stream E by 64, 8 warps, tensor_core"), r.out());
        // x with its halo 10x18 and the three staged weights, the two streamed slices (w1, w2) twice:
        // double-buffered (2 x 9216 B more than one copy each); a and h stay in registers.
        assertTrue(r.out().contains("shared     72000 B = 70.3 KB per block"), r.out());
        assertTrue(r.out().contains("a_frag   a tile 8x16, 64 ch, mma A fragments of each warp's 16 pixels / 256 threads"
                + "    16 per thread   (line 22)"), r.out());
        assertTrue(r.out().contains("plan best (auto) on sm_90"), r.out());
        assertTrue(r.out().contains("fused vs separate:"), r.out());
        assertTrue(r.out().contains("kernel ConvFirst_layerwise_L3"), r.out());
        // The IR: loop structure indented under its header.
        assertTrue(r.out().contains("        for e0 in 0 .. 256 by 64   (E, 4 trips)\n          # w1_s, w2_s double-buffered: "),
                r.out());
        assertTrue(r.out().contains("\n          prefetch   w1_s (the other copy), unless past the last chunk <- w1[e0+64 : e0+128, 0 : 64]\n"),
                r.out());
        assertTrue(r.out().contains("          chain (h stays in registers, 32 channels at a time, each warp whole rows of 16 pixels)\n"
                + "            compute    h_frag[8x16, e0 : e0+64] = silu(pointwise(a_frag, w1_s) + b1)"), r.out());
        for (String s : new String[] {"mbconv.tm", "mbconv_dw.tm", "convnext.tm", "fusedmlp.tm"}) {
            Run each = tmc("plan", sample(s), "--top", "2");
            assertEquals(0, each.code(), s + ": " + each.err() + each.out());
        }
    }

    @Test
    void anOverBudgetPlanIsRefusedAtItsTileWithTheBreakdown(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("big.tm");
        Files.writeString(f, Files.readString(Path.of(sample("convfirst.tm")))
                .replace("tile   N 1, H 8, W 16 ", "tile   N 1, H 32, W 32")
                .replaceAll("place  a in registers[^\n]*", "place  a in shared"));
        Run r = tmc("plan", f.toString(), "--arch", "sm_86", "--plan", "fused");
        assertEquals(1, r.code());
        String out = r.out();
        assertTrue(out.contains(f + ":20:15: error: plan 'fused' needs 333.6 KB (341568 B) of shared memory per block on "
                + "sm_86 (limit 99.0 KB = 101376 B)"), out);
        assertTrue(out.contains("x_s      x tile 34x34 (halo 1), 64 ch, row stride 72      166464 B  162.6 KB   (line 21)"), out);
        assertTrue(out.contains("a_s      a tile 32x32, 64 ch, row stride 72               147456 B  144.0 KB   (line 22)"), out);
        assertTrue(out.contains("hint: 'tile H 4' instead of 'tile H 32' fits"), out);
        assertTrue(r.err().contains("refused"), r.err());

        // tmc compile plans too, and fails on the same plan.
        Run c = tmc("compile", "--no-emit", f.toString());
        assertEquals(1, c.code());
        assertTrue(c.err().contains(":20:15: error: plan 'fused' needs"), c.err());
        assertTrue(c.out().contains("plan best (auto) on sm_90: tile"), c.out());
        // and says, last, that it wrote nothing and which plan stopped it
        Run written = tmc("compile", "-o", dir.resolve("out").toString(), f.toString());
        assertEquals(1, written.code());
        assertTrue(written.err().strip().endsWith("tmc: nothing written: 1 plan was refused (fused); fix it, or write the "
                + "others with tmc emit --plan NAME"), written.err());
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void aTileTooLargeOnBothSidesIsBlamedAsAWhole(@TempDir Path dir) throws IOException {
        // 'rows' fixes 7 warps: no single side of a 64x64 tile fits when relaxed alone, the tile as a whole does
        Path f = dir.resolve("big.tm");
        String text = Files.readString(Path.of(sample("convfirst.tm")));
        int rows = text.indexOf("plan rows for ConvFirst");
        int tile = text.indexOf("tile   N 1, H ", rows);
        Files.writeString(f, text.substring(0, tile) + text.substring(tile).replaceFirst("tile   N 1, H \\d+, W \\d+",
                "tile   N 1, H 64, W 64"));
        Run r = tmc("plan", f.toString(), "--plan", "rows");
        assertEquals(1, r.code());
        assertTrue(r.out().matches("(?s).*big\\.tm:\\d+:15: error: plan 'rows' needs .* of shared memory per block on sm_90.*"),
                r.out());
        assertTrue(r.out().matches("(?s).*hint: 'tile H \\d+, W \\d+' instead of 'tile H 64, W 64' fits.*"), r.out());
        assertFalse(r.out().contains("no single fixed directive is to blame"), r.out());
    }

    @Test
    void emitChecksItsOptionsOnceAndBlamesTheOption(@TempDir Path dir) {
        Run arch = tmc("emit", sample("convfirst.tm"), "--arch", "sm90", "-o", dir.toString());
        assertEquals(1, arch.code());
        assertEquals("tmc: unknown target 'sm90' for --arch; targets: ", arch.err().lines().findFirst().orElseThrow()
                .replaceAll("targets: .*", "targets: "));
        assertEquals(1, arch.err().lines().count(), arch.err());
        Run plan = tmc("emit", sample("convfirst.tm"), "--plan", "fusd", "-o", dir.toString());
        assertEquals(1, plan.code());
        assertTrue(plan.err().startsWith("tmc: " + sample("convfirst.tm") + " has no plan 'fusd'; plans: fused,"), plan.err());
    }

    @Test
    void compilingAFileWithoutBlocksSaysSo(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("empty.tm");
        Files.writeString(f, "// nothing yet\n");
        Run r = tmc("compile", "-o", dir.resolve("out").toString(), f.toString());
        assertEquals(1, r.code());
        assertEquals("tmc: " + f + " has no blocks: nothing to compile", r.err().strip());
    }

    @Test
    void compilePrintsOnePlanLinePerPlan() {
        Run r = tmc("compile", "--no-emit", sample("mbconv.tm"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("plan recompute (fused) on sm_90: tile 8x8, stream E by 32, 4 warps, tensor_core, h1 "
                + "recompute; shared "), r.out());
        assertTrue(r.out().contains("plan fused (fused) on sm_90: tile 8x8, stream E by 32, 4 warps, tensor_core, h1 "
                + "staged; shared "), r.out());
        assertTrue(r.out().contains("plan layerwise (separate) on sm_90: tile"), r.out());
        assertTrue(r.out().contains("(separate "), r.out());
    }

    @Test
    void badOptionsAreUserErrors() {
        Run r = tmc("plan", sample("convfirst.tm"), "--arch", "sm_70");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown target 'sm_70' for --arch; targets: sm_80, sm_86, sm_89, sm_90"), r.err());
        r = tmc("plan", sample("convfirst.tm"), "--plan", "nope");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has no plan 'nope'; plans: fused, rows, wgmma, specialized, layerwise, best"), r.err());
        r = tmc("plan", sample("convfirst.tm"), "--top", "0");
        assertEquals(1, r.code());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void targetFilesAddTargetsForCheckPlanAndCompile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("my.targets.json"), tmc.target.TargetsTest.rtx4090("rtx4090"));
        Path f = dir.resolve("mlp.tm");
        Files.writeString(f, Files.readString(Path.of(sample("fusedmlp.tm"))).replace("on sm_90 { auto }", "on rtx4090 { auto }"));
        Run r = tmc("plan", f.toString(), "--plan", "best");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("plan best (auto) on rtx4090: GeForce RTX 4090"), r.out());
        assertEquals(0, tmc("check", f.toString()).code());

        Path other = dir.resolve("elsewhere");
        Files.createDirectories(other);
        Files.move(dir.resolve("my.targets.json"), other.resolve("gpus.json"));
        Run missing = tmc("check", f.toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("unknown target 'rtx4090'"), missing.err());
        assertEquals(0, tmc("check", f.toString(), "--targets", other.resolve("gpus.json").toString()).code());

        Files.writeString(other.resolve("gpus.json"), "{ broken");
        Run broken = tmc("check", f.toString(), "--targets", other.resolve("gpus.json").toString());
        assertEquals(1, broken.code());
        assertTrue(broken.err().contains("gpus.json:1:"), broken.err());
        assertTrue(broken.err().contains("not valid JSON"), broken.err());
    }

    @Test
    void aKernelHeldByItsRegisterEstimateSaysWhatOneMoreBlockWouldAsk() {
        // ConvFirst's auto choice at the reference shape: 8x8 tiles of 4 warps, ~128 registers, 4 blocks per SM
        Run r = tmc("plan", sample("convfirst.tm"), "--arch", "sm_90", "--plan", "best");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("occupancy  4 blocks per SM (limited by registers)"), r.out());
        assertTrue(r.out().contains("shared memory and threads hold 5: 'resident 5' would hold the compiler to 96 "
                + "registers (tmc tune times that form, and it with the chain's slices 16 channels wide)"), r.out());
        // ConvFirst's 'rows' at C=128 is held by shared memory too: no such line
        Run rows = tmc("plan", sample("convfirst.tm"), "--arch", "sm_90", "--plan", "rows", "-p", "C=128");
        assertEquals(0, rows.code(), rows.err());
        assertFalse(rows.out().contains("would hold the compiler"), rows.out());
    }
}

