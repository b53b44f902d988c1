package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.api.Tmc;

/**
 * A register chain that a trip computes first gets its producer's bias for the whole chunk loaded before the trip's
 * wait and barrier (KernelWriter.loadBiasAhead); a chain after another phase, or with rolled slices, loads it per
 * slice as before.
 */
class ChainBiasAheadTest {
    static String trip(String src) {
        return src.substring(src.indexOf("for (int e0 = 0;"));
    }

    @Test
    void convFirstsChainLoadsTheChunksBiasBeforeTheBarrier() {
        String src = DoubleBufferingTest.compile("convfirst.tm", "rows", Tmc.Options.DEFAULTS).source();
        DoubleBufferingTest.assertInOrder(trip(src), "float2 b1_ahead[2][4];",
                "b1_ahead[s][nj] = tm_f32x2(b1 + e0 + s * 32 + nj * 8 + 2 * lane_col);",
                "tm_cp_async_wait<0>();  // chunk e0 has landed", "__syncthreads();", "float d[4][4];",
                "const float2 b = b1_ahead[sl / 32][nj];", "tm_mma(d[2 * nj]");
        assertFalse(src.contains("tm_f32x2(b1 + e0 + sl + nj * 8"), "no load of b1 after the barrier");
    }

    @Test
    void aChainAfterAnotherPhaseLoadsItsBiasPerSlice() {
        // MBConv's 'rows': the expand phase and a barrier come between the trip's barrier and the chain (bias bd).
        String src = DoubleBufferingTest.compile("mbconv.tm", "rows", Tmc.Options.DEFAULTS).source();
        assertFalse(src.contains("_ahead"), "nothing loaded ahead");
        assertTrue(src.contains("const float2 b = tm_f32x2(bd + e0 + sl + nj * 8 + 2 * lane_col);"), src);
    }

    @Test
    void rolledSlicesLoadTheirBiasPerSlice() {
        // An MLP streaming E by 128: four slices of 32 per chunk, rolled (the array would be indexed at run time).
        String text = RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core").replace("stream E by 64", "stream E by 128");
        String src = RegisterChainTest.compiled(text).source();
        assertTrue(src.contains("for (int sl = 0; sl < 128; sl += 32)"), src);
        assertFalse(src.contains("_ahead"), "nothing loaded ahead");
        assertTrue(src.contains("const float2 b = tm_f32x2(b1 + e0 + sl + nj * 8 + 2 * lane_col);"), src);
    }
}
