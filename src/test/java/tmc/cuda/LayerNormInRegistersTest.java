package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;

/**
 * LayerNorm with a few neighbouring lanes per pixel, each holding its channels in registers (KernelWriter.layerNorm):
 * where it applies, how many lanes share a pixel, and the warp-per-pixel fallback. Correctness on the GPU: tmc verify
 * (ConvNeXt's samples and random blocks).
 */
class LayerNormInRegistersTest {

    static String layerNormOf(String src) {
        int at = src.indexOf("// L2 layernorm");
        return src.substring(at, src.indexOf("__syncthreads();", at));
    }

    @Test
    void convNeXtsTileGivesTwoLanesAPixelAndOneShufflePerSum() {
        String ln = layerNormOf(DoubleBufferingTest.compile("convnext.tm", "fused", Tmc.Options.DEFAULTS).source());
        assertTrue(ln.contains("// 2 neighbouring lanes per pixel, 48 channels each held in registers"), ln);
        assertTrue(ln.contains("const int p = tid / 2;"), "64 pixels x 2 lanes = 128 threads: one round, no loop\n" + ln);
        assertTrue(ln.contains("float v[48];"), ln);
        assertEquals(2, ln.split("__shfl_xor_sync\\(0xffffffffu, [sq], 1\\)", -1).length - 1, ln);
        assertFalse(ln.contains("tm_warp_sum"), ln);
        // 16-byte loads of the input tile and stores of the output tile
        assertTrue(ln.contains("*reinterpret_cast<const uint4*>(row + j)"), ln);
        assertTrue(ln.contains("*reinterpret_cast<uint4*>(n_s + p * N_S_STRIDE + cb + j) = o;"), ln);
        // gamma and beta by channel pairs (the pair's first channel is even: cb, j and u are), one load each
        DoubleBufferingTest.assertInOrder(ln, "const float2 ln_g = tm_f32x2(g_g + cb + j + u), ln_b = tm_f32x2(beta + cb + j + u);",
                "(v[j + u] - mean) * rstd * ln_g.x + ln_b.x", "(v[j + u + 1] - mean) * rstd * ln_g.y + ln_b.y");
        assertFalse(ln.contains("g_g[oc]"), ln);
        assertFalse(ln.contains("const int oc"), "nothing after the normalization reads a channel\n" + ln);
    }

    @Test
    void aVectorAfterTheNormalizationReadsItsChannel() {
        // n = layernorm(...) * gamma: the layer's next op reads gamma at the channel, so oc is declared for it
        String ln = layerNormOf(convNeXt("n = layernorm(a, g, beta, eps: 1e-6)", "n = layernorm(a, g, beta, eps: 1e-6) * gamma")
                .source());
        DoubleBufferingTest.assertInOrder(ln, "const int oc = cb + j + u;", "gamma[oc]", "const int oc = cb + j + u + 1;",
                "gamma[oc]");
    }

    @Test
    void moreLanesPerPixelWhenOneLaneWouldHoldTooManyChannels() {
        // 8x16 = 128 pixels for 128 threads: one lane each would hold 96 channels (over 64), so two lanes a pixel, two rounds.
        String ln = layerNormOf(convNeXt("tile   N 1, H 8, W 8", "tile   N 1, H 8, W 16").source());
        assertTrue(ln.contains("// 2 neighbouring lanes per pixel, 48 channels each"), ln);
        assertTrue(ln.contains("for (int p = tid / 2; p < 128; p += THREADS / 2)"), ln);
        // 4x8 = 32 pixels for 128 threads: four lanes a pixel, 24 channels each, two shuffles per sum
        String four = layerNormOf(smallTile(96).source());
        assertTrue(four.contains("// 4 neighbouring lanes per pixel, 24 channels each"), four);
        assertTrue(four.contains("s += __shfl_xor_sync(0xffffffffu, s, 2);"), four);
    }

    /** ConvNeXt with C channels on 4x8 tiles (h staged: 4 warps cannot each own whole 16-pixel rows of 32 pixels). */
    static CompiledProgram smallTile(int c) {
        return convNeXt("tile   N 1, H 8, W 8", "tile   N 1, H 4, W 8", "place  h in registers", "place  h in shared",
                "param C = 96", "param C = " + c);
    }

    static CompiledProgram convNeXt(String... fromTo) {
        String text = DoubleBufferingTest.sampleText("convnext.tm");
        for (int i = 0; i < fromTo.length; i += 2) text = text.replace(fromTo[i], fromTo[i + 1]);
        return DoubleBufferingTest.program(Tmc.compileText("convnext.tm", text, Tmc.Options.DEFAULTS), "convnext.tm", "fused");
    }

    @Test
    void channelsThatDoNotSplitIntoSixteenBytePiecesKeepOneWarpPerPixel() {
        // C = 80 on 4x8 tiles: four lanes would hold 20 channels each, not whole 16-byte pieces.
        String ln = layerNormOf(smallTile(80).source());
        assertTrue(ln.contains("tm_warp_sum"), ln);
        assertFalse(ln.contains("neighbouring lanes"), ln);
    }

    @Test
    void theVariantsCompileWithoutSpills() throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found: the emitted variants are not compiled here");
        Path dir = Files.createTempDirectory("tmc-ln");
        Map<String, CompiledProgram> variants = Map.of("t8x16", convNeXt("tile   N 1, H 8, W 8", "tile   N 1, H 8, W 16"),
                "t4x8", smallTile(96), "t4x8_c80", smallTile(80));
        for (Map.Entry<String, CompiledProgram> v : variants.entrySet()) {
            CompiledProgram p = v.getValue();
            Path src = dir.resolve(v.getKey() + ".cu");
            Files.writeString(src, p.source());
            Map<String, Nvcc.Usage> report = nvcc.compile(src, p.manifest().arch());
            for (Nvcc.Usage u : report.values()) {
                assertEquals(0, u.spillStores() + u.spillLoads(), v.getKey() + ": " + u);
                assertEquals(0, u.stackFrame(), v.getKey() + ": " + u);
            }
        }
    }
}
