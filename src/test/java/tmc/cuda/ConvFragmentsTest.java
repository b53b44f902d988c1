package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.diag.Diagnostic;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/**
 * A tensor-core conv whose result stays in registers as the A fragments of the chained pointwise layer that reads it
 * (Buffer.Layout.A_FRAGMENTS): ConvFirst's a. When the lowering does it, when it refuses and why, what the kernel
 * looks like; nvcc's resource check of every sample plan is EmittedKernelsTest's, correctness on the GPU tmc verify's
 * (docs/benchmarks.md).
 */
class ConvFragmentsTest {

    static String convFirst() {
        return DoubleBufferingTest.sampleText("convfirst.tm");
    }

    /** The sample's fused plan with {@code from} replaced by {@code to} (which must change it). */
    static String fusedWith(String from, String to) {
        String text = convFirst();
        String changed = text.replaceFirst(from, to);
        assertNotEquals(text, changed, from);
        return changed;
    }

    static Tmc.Outcome compile(String text, String plan) {
        Tmc.Compilation c = Tmc.compileText("convfirst.tm", text, Tmc.Options.DEFAULTS);
        assertTrue(c.ok(), c.report());
        return c.compile(plan);
    }

    static Diagnostic refusal(String text) {
        return switch (compile(text, "fused")) {
            case Tmc.Outcome.Compiled p -> throw new AssertionError("expected a refusal, got " + p.program().name());
            case Tmc.Outcome.Refused r -> r.why();
        };
    }

    @Test
    void convFirstsFusedPlanKeepsAAsTheChainsAFragments() {
        CompiledProgram p = DoubleBufferingTest.compile("convfirst.tm", "fused", Tmc.Options.DEFAULTS);
        Kernel k = p.program().kernels().getFirst();
        Buffer frag = k.buffers().stream().filter(b -> b.tensor().equals("a")).findFirst().orElseThrow();
        assertEquals("a_frag", frag.name());
        assertEquals(Buffer.Layout.A_FRAGMENTS, frag.layout());
        assertEquals(16, frag.rowStride(), "64 channels: 4 k16 steps of 4 registers");
        assertEquals(1, k.buffers().stream().filter(b -> b.tensor().equals("a")).count(), "no shared tile of a");
        // The conv is not followed by a barrier: nothing it writes is shared.
        int conv = -1;
        for (int i = 0; i < k.body().size(); i++) {
            if (k.body().get(i) instanceof Instr.Compute c && c.dst() == frag) conv = i;
        }
        assertTrue(conv >= 0, k.body().toString());
        assertFalse(k.body().get(conv + 1) instanceof Instr.Barrier, k.body().get(conv + 1).toString());
        assertEquals(128, k.registersPerThread(), "2 blocks of 256 threads per SM, as with a in shared");

        String src = p.source();
        assertTrue(src.contains("unsigned a_frag[4][4];  // a: the A fragments of the warp's 16 pixels"), src);
        // Two groups per ldmatrix x4 (input rows) and x2 (weights), two m16n8k8 per tap.
        assertTrue(src.contains("tm_ldsm_x4(a, arow + (ky * X_S_W + kx) * X_S_STRIDE + j * 16);"), src);
        assertTrue(src.contains("tm_ldsm_x2(b, brow + j * 16 * 72 + (ky * 3 + kx) * 8);"), src);
        assertTrue(src.contains("tm_mma_k8(d[1], a_type, a[2], a[3], b[1]);"), src);
        assertTrue(src.contains("a_frag[j][half * 2 + rh] = tm_pack2(a_type, v[0], v[1]);"), src);
        // The chain reads the fragments instead of loading a tile.
        assertTrue(src.contains("tm_mma(d[2 * nj], arow, a_frag[kk][0], a_frag[kk][1], a_frag[kk][2], a_frag[kk][3], b[0], b[1]);"),
                src);
        assertFalse(src.contains("a_s"), src);
        assertFalse(src.contains("tm_ldsm_x4(af[kk]"), src);
    }

    @Test
    void unplacedItIsTheDefaultWhereItFitsAndInSharedOtherwise() {
        // The rows plan does not place a: 4x28 pixels are 7 row tiles for its 7 warps.
        CompiledProgram rows = DoubleBufferingTest.compile("convfirst.tm", "rows", Tmc.Options.DEFAULTS);
        assertTrue(rows.program().kernels().getFirst().buffers().stream().anyMatch(b -> b.name().equals("a_frag")));
        // Unplaced with 16 row tiles for 8 warps: a goes to shared, no error.
        String big = fusedWith("  place  a in registers[^\n]*\n", "").replace("tile   N 1, H 8, W 16 ", "tile   N 1, H 8, W 32");
        Tmc.Outcome o = compile(big, "fused");
        assertTrue(o instanceof Tmc.Outcome.Compiled, o.toString());
        Kernel k = ((Tmc.Outcome.Compiled) o).program().program().kernels().getFirst();
        assertTrue(k.buffers().stream().anyMatch(b -> b.name().equals("a_s")), k.buffers().toString());
    }

    @Test
    void placedInRegistersWhereItCannotBeIsRefusedWithTheReasonAndTheFix() {
        Diagnostic tile = refusal(convFirst().replace("tile   N 1, H 8, W 16 ", "tile   N 1, H 8, W 32"));
        assertEquals(List.of(22, 3), List.of(tile.span().line(), tile.span().col()));
        assertEquals("'a' can stay in registers only as the A fragments of the chained pointwise layer that reads it: "
                + "the tile has 16 rows of 16 pixels for 8 warps (each warp convolves exactly one)", tile.message());
        assertEquals("place 'a' in shared", tile.hint());

        Diagnostic chunk = refusal(fusedWith("stream E by 64", "stream E by 32"));
        assertTrue(chunk.message().endsWith("the chunk of 32 channels is not two groups of 32 (with fewer, the fragments "
                + "would not fit the registers; 'stream E by 64' would)"), chunk.message());

        Diagnostic h = refusal(fusedWith("place  h in registers", "place  h in shared"));
        assertTrue(h.message().endsWith("'h', which reads it, is not kept in registers"), h.message());

        Diagnostic cudaCores = refusal(fusedWith("math   tensor_core", "math   cuda_core"));
        assertTrue(cudaCores.message().endsWith("line 14 does not compute it on tensor cores (a conv of group width 8)"),
                cudaCores.message());
    }

    @Test
    void theBiasAfterTheChainsProductStartsItsAccumulators() {
        String src = DoubleBufferingTest.compile("convfirst.tm", "fused", Tmc.Options.DEFAULTS).source();
        String chain = src.substring(src.indexOf("float d[4][4];"), src.indexOf("y_acc += the slice"));
        // (the chunk's b1 is loaded before the trip's barrier: ChainBiasAheadTest)
        DoubleBufferingTest.assertInOrder(chain, "const float2 b = b1_ahead[sl / 32][nj];",
                "d[nj][0] = b.x; d[nj][1] = b.y; d[nj][2] = b.x; d[nj][3] = b.y;", "tm_mma(d[2 * nj]",
                "float v_t4[2] = {v_t3[0], v_t3[1]};  // b1 started the accumulators", "tm_silu(v_t4[0])");
        assertFalse(chain.contains("const int oc"), "nothing in h's epilogue reads a channel any more");
        // Not when another op comes between the sum and the bias: the accumulators start at zero, the epilogue adds b1.
        String scaled = RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core")
                .replace("h = silu(pointwise(x, w1) + b1)", "h = silu(pointwise(x, w1) * 2 + b1)");
        String other = RegisterChainTest.compiled(scaled).source();
        assertTrue(other.contains("float d[4][4] = {};"), other);
        assertTrue(other.contains("const float2 b1_oc = tm_f32x2(b1 + oc);"), other);
    }

    @Test
    void theBiasAfterAStagedProductStartsItsAccumulatorsAndHaloPixelsStayZero() {
        // MBConv's expand over the tile and its halo ring, staged in shared memory for the grouped conv.
        String src = DoubleBufferingTest.compile("mbconv.tm", "rows", Tmc.Options.DEFAULTS).source();
        String expand = src.substring(src.indexOf("// L1 pointwise"), src.indexOf("// L2 conv2d"));
        DoubleBufferingTest.assertInOrder(expand, "float d[2][4][4];",
                "const float2 b = tm_f32x2(b1 + e0 + nb * 32 + ni * 8 + 2 * lane_col);",
                "d[mi][ni][0] = b.x; d[mi][ni][1] = b.y; d[mi][ni][2] = b.x; d[mi][ni][3] = b.y;", "tm_mma(d[mi]",
                "if (inside) {", "float v_t2[2] = {v_t1[0], v_t1[1]};  // b1 started the accumulators",
                "*reinterpret_cast<__half2*>(&h1_s[p * H1_S_STRIDE + c0]) = __floats2half2_rn(v[0], v[1]);");
        // outside the image v stays {0, 0} (the conv's zero padding), though the accumulators started at b1
        assertTrue(expand.contains("float v[2] = {0.0f, 0.0f};"), expand);
        assertFalse(expand.contains("b1_oc"), expand);
        // The separate kernels too: the projection's b3 (then the residual) starts its accumulators.
        String layerwise = DoubleBufferingTest.compile("mbconv.tm", "layerwise", Tmc.Options.DEFAULTS).source();
        assertTrue(layerwise.contains("const float2 b = tm_f32x2(b3 + nb * "), "the projection's b3 is right after its sum");
    }

    @Test
    void epiloguesReadBothChannelsOfAPairWithOneLoad() {
        String src = DoubleBufferingTest.compile("convfirst.tm", "fused", Tmc.Options.DEFAULTS).source();
        // a's bias, y's bias and the residual: one 8-byte or 4-byte load per pair of channels.
        assertTrue(src.contains("const float2 bc_oc = tm_f32x2(bc + oc);"), src);
        assertTrue(src.contains("float v_a[2] = {v_t1[0] + bc_oc.x, v_t1[1] + bc_oc.y};"), src);
        // y's accumulators start at zero: started at b2 (live from before the loop) it timed 2 % slower on the H100.
        assertTrue(src.contains("const float2 b2_oc = tm_f32x2(b2 + oc);"), src);
        assertTrue(src.contains("const float2 x_oc = tm_f32x2(&x_s[((ly + 1) * X_S_W + lx + 1) * X_S_STRIDE + oc]);"), src);
        // y is rounded once, by the store's pack to f16 (in place, the epilogue keeps f32).
        assertFalse(src.contains("v_y[1] = tm_round_f16(v_y[1]);"), src);
        assertTrue(src.contains("*reinterpret_cast<__half2*>(&y_acc_stage[p * 72 + c0]) = __floats2half2_rn(v[0], v[1]);"), src);
        // The bias is read outside the inside mask (one load for both rows), the residual inside it.
        DoubleBufferingTest.assertInOrder(src.substring(src.indexOf("// epilogue of L3")), "const float2 b2_oc = tm_f32x2(b2 + oc);",
                "if (inside) {", "const float2 x_oc");
        assertFalse(src.contains("tm_f32(b1[oc])"), src);
        assertFalse(src.contains("b1_oc"), "h's bias is not added in its epilogue: it started the accumulators");
        assertTrue(src.contains("__device__ __forceinline__ float2 tm_f32x2(const float* p)"), "the prelude's f32 pair");
    }
}
