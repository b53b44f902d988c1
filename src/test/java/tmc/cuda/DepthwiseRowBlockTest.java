package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;

/**
 * The register-blocked depthwise conv's row block (KernelWriter.depthwiseRowBlock): each thread computes a block of
 * 4 to 8 pixels of a row, the block that computes the fewest columns past the row's end, the larger on a tie.
 */
class DepthwiseRowBlockTest {
    static int waste(int side, int rb) {
        return (side + rb - 1) / rb * rb - side;
    }

    @Test
    void theBlockDropsTheFewestColumnsAndIsTheLargestSuchBlock() {
        assertEquals(7, KernelWriter.depthwiseRowBlock(14));
        assertEquals(7, KernelWriter.depthwiseRowBlock(28));
        assertEquals(8, KernelWriter.depthwiseRowBlock(8));
        assertEquals(8, KernelWriter.depthwiseRowBlock(16));
        assertEquals(8, KernelWriter.depthwiseRowBlock(56));
        assertEquals(6, KernelWriter.depthwiseRowBlock(18));
        assertEquals(2, KernelWriter.depthwiseRowBlock(2), "a short row is one block");
        for (int side = 5; side <= 64; side++) {
            int rb = KernelWriter.depthwiseRowBlock(side);
            assertTrue(rb >= KernelWriter.DEPTHWISE_ROW_BLOCK_MIN && rb <= KernelWriter.DEPTHWISE_ROW_BLOCK_MAX, side + ": " + rb);
            for (int other = KernelWriter.DEPTHWISE_ROW_BLOCK_MIN; other <= KernelWriter.DEPTHWISE_ROW_BLOCK_MAX; other++) {
                assertTrue(waste(side, rb) < waste(side, other) || waste(side, rb) == waste(side, other) && rb >= other,
                        side + ": block " + rb + " against " + other);
            }
        }
    }

    @Test
    void theSamplesKernelsUseIt() {
        // MBConvDW's fused plan tiles 7x14: two blocks of 7 per row, no column computed and dropped.
        CompiledProgram dw = DoubleBufferingTest.compile("mbconv_dw.tm", "fused", Tmc.Options.DEFAULTS);
        assertTrue(dw.source().contains("const int c0 = 2 * cp, x0 = seg * 7;  // channels c0, c0 + 1 of pixels x0 .. x0 + 6"),
                "7-pixel blocks");
        assertTrue(dw.source().contains("float2 xs[9];"), "7 + 3 - 1 inputs per block row");
        // ConvNeXt's 8x8 tile: one block of 8 per row, 8 + 7 - 1 inputs per tap row.
        CompiledProgram cn = DoubleBufferingTest.compile("convnext.tm", "fused", Tmc.Options.DEFAULTS);
        assertTrue(cn.source().contains("x0 = seg * 8;"), "8-pixel blocks");
        assertTrue(cn.source().contains("float2 xs[14];"));
    }
}
