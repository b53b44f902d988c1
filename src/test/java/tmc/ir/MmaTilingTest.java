package tmc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How a product is cut into mma blocks and dealt to the warps. */
class MmaTilingTest {
    /** Every m16n8 tile is in exactly one block, and the warps together hold every block. */
    static void assertCovers(MmaTiling t, int warps) {
        assertEquals((t.pixels() + 15) / 16, t.mt());
        assertEquals(t.channels() / 8, t.nt());
        assertEquals(t.nt(), t.nb() * t.wn(), "blocks cover the channels");
        assertTrue(t.mb() * t.wm() >= t.mt() && (t.mb() - 1) * t.wm() < t.mt(), "blocks cover the rows, none empty");
        assertEquals(t.mb() * t.nb(), t.groups());
        assertEquals((t.groups() + warps - 1) / warps, t.perWarp());
    }

    @Test
    void blocksPairRowTilesWhenEveryWarpStillGetsOne() {
        MmaTiling t = MmaTiling.of(96, 64, 4);  // MBConv's expand over 6x16 halo pixels, a chunk of 64
        assertCovers(t, 4);
        assertEquals(2, t.wm());
        assertEquals(4, t.wn());
        assertEquals(6, t.groups());
        assertEquals(2, t.perWarp());
        assertThrows(IllegalArgumentException.class, () -> MmaTiling.of(96, 40, 4));
    }

    @Test
    void aStagedProductDealsSingleRowTilesWhereThatShortensTheBusiestWarp() {
        // 6 pairs on 4 warps: 2, 2, 1, 1 blocks of 2x4 (64 cycles per k16 on the busiest) against 12 single rows,
        // 3 each (60): single rows
        MmaTiling narrow = MmaTiling.sequential(96, 64, 4);
        assertCovers(narrow, 4);
        assertEquals(1, narrow.wm());
        assertEquals(12, narrow.groups());
        assertEquals(3, narrow.perWarp());
        assertEquals(60, narrow.busiestWarpCost());
        assertEquals(64, MmaTiling.of(96, 64, 4).busiestWarpCost());

        // 9x16 pixels, 128 channels, 8 warps: 20 pairs (3 on the busiest, 96) against 36 singles (5, 100): pairs
        MmaTiling best = MmaTiling.sequential(144, 128, 8);
        assertEquals(MmaTiling.of(144, 128, 8), best);
        assertEquals(2, best.wm());
        assertEquals(96, best.busiestWarpCost());

        // already single rows: unchanged
        MmaTiling one = MmaTiling.of(16, 64, 4);
        assertEquals(1, one.wm());
        assertEquals(one, MmaTiling.sequential(16, 64, 4));
    }

    @Test
    void theEmittedExpandOfMBConvNarrowDealsSingleRows() throws java.io.IOException {
        // generated/ is kept fresh by GeneratedFreshnessTest: this is what the emitter writes for 'narrow' (C=64)
        String cu = java.nio.file.Files.readString(tmc.Repo.path("generated", "mbconv", "MBConv_narrow.cu"));
        assertTrue(cu.contains("for (int grp = warp; grp < 12; grp += THREADS / 32"), "12 single-row blocks");
        assertTrue(cu.contains("float d[1][4][4];"), cu);
        assertTrue(cu.contains("// 12 blocks of 16 pixels x 32 channels, dealt 3 per warp (blocks of 32 pixels would deal "
                + "2 to 2 warps, 1 to 2: the busiest warp sets the time to the barrier)"), "the deal is explained");
    }

    @Test
    void theDealNeverLengthensTheBusiestWarp() {
        for (int pixels = 16; pixels <= 512; pixels += 8) {
            for (int channels : new int[] {16, 32, 64, 96, 128, 256}) {
                for (int warps : new int[] {1, 2, 4, 7, 8, 16}) {
                    MmaTiling of = MmaTiling.of(pixels, channels, warps);
                    MmaTiling seq = MmaTiling.sequential(pixels, channels, warps);
                    assertCovers(seq, warps);
                    assertTrue(seq.busiestWarpCost() <= of.busiestWarpCost(), pixels + " " + channels + " " + warps);
                }
            }
        }
    }
}
