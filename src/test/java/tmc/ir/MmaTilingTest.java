package tmc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How a product is dealt to warps: blocks of 2 row tiles for reuse, 1 where that evens out a sequential phase. */
class MmaTilingTest {
    /** m16n8 tiles on the busiest warp: its blocks times the tiles in a block. */
    static int busiest(MmaTiling t) {
        return t.perWarp() * t.wm() * t.wn();
    }

    @Test
    void mbConvsExpandOverItsHaloIsDealtEvenly() {
        // 6x16 halo pixels (6 row tiles) x 64 channels, 4 warps
        MmaTiling paired = MmaTiling.of(96, 64, 4);
        assertEquals(2, paired.wm());
        assertEquals(16, busiest(paired));
        MmaTiling even = MmaTiling.sequential(96, 64, 4);
        assertEquals(1, even.wm());
        assertEquals(12, busiest(even));
        assertEquals(12, even.groups());
        assertEquals(3, even.perWarp());
    }

    @Test
    void aBalancedDealKeepsItsPairs() {
        // 6x30 halo pixels (12 row tiles) x 64 channels, 7 warps: 12 blocks of 2 x 4 or 24 of 1 x 4, 16 tiles either way
        assertEquals(MmaTiling.of(180, 64, 7), MmaTiling.sequential(180, 64, 7));
        // 64 pixels, 4 warps: 2 blocks each, even already
        assertEquals(MmaTiling.of(64, 128, 4), MmaTiling.sequential(64, 128, 4));
    }

    @Test
    void theSequentialDealNeverLoadsTheBusiestWarpMoreAndCoversEveryTile() {
        for (int pixels = 16; pixels <= 400; pixels += 8) {
            for (int channels = 16; channels <= 256; channels += 16) {
                for (int warps = 1; warps <= 16; warps++) {
                    MmaTiling of = MmaTiling.of(pixels, channels, warps);
                    MmaTiling seq = MmaTiling.sequential(pixels, channels, warps);
                    String where = pixels + " px, " + channels + " ch, " + warps + " warps";
                    assertTrue(busiest(seq) <= busiest(of), where);
                    assertTrue(seq.mb() * seq.wm() >= seq.mt() && seq.nb() * seq.wn() == seq.nt(), where + ": every tile");
                    assertEquals(seq.mb() * seq.nb(), seq.groups(), where);
                    assertTrue(seq.perWarp() * warps >= seq.groups(), where + ": every block dealt");
                }
            }
        }
    }
}
