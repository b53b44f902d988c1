package tmc.ir;

/**
 * How a matrix product of {@code pixels x channels} is cut for mma.sync: {@code mt x nt} m16n8 tiles (the last
 * row tile padded); each warp owns blocks of {@code wm x wn} tiles, so one A fragment serves wn products and one
 * B fragment wm; the {@code mb * nb} blocks are dealt to the warps round-robin, {@code perWarp} each at most.
 * The lowering counts registers with it; the emitter writes the loops with it.
 */
public record MmaTiling(int pixels, int channels, int mt, int nt, int wm, int wn, int mb, int nb, int groups,
                        int perWarp) {
    public static MmaTiling of(int pixels, int channels, int warps) {
        // B fragments are loaded for two n8 tiles at once: a remainder would silently be left out.
        if (channels <= 0 || channels % 16 != 0) {
            throw new IllegalArgumentException("mma tiles need output channels in multiples of 16, not " + channels);
        }
        int mt = (pixels + 15) / 16;
        int nt = channels / 8;
        int wn = nt % 4 == 0 ? 4 : 2;
        int nb = nt / wn;
        // Two row tiles per block when that still gives every warp a block.
        int wm = ((mt + 1) / 2) * nb >= warps ? 2 : 1;
        int mb = (mt + wm - 1) / wm;
        int groups = mb * nb;
        return new MmaTiling(pixels, channels, mt, nt, wm, wn, mb, nb, groups, (groups + warps - 1) / warps);
    }

    /**
     * {@link #of}, for blocks a warp computes one after another (a staged product written to shared memory, its
     * accumulators dead after each block), with one row tile per block instead of two when that shortens the busiest
     * warp: every warp waits for it at the barrier after the product. A block of wm x wn tiles costs, per k16 step,
     * wm x wn mma (2 cycles of the SM's tensor pipe each) and wm + wn / 2 ldmatrix.x4 (512 B, 4 cycles of shared
     * bandwidth each), so halving wm saves mma but not ldmatrix in proportion. MBConv's expand over 6x16 halo
     * pixels with 4 warps: blocks of 2x4 tiles dealt 2, 2, 1, 1 cost the busiest warp 2 x 32 = 64; blocks of 1x4
     * dealt 3 each, 3 x 20 = 60 (measured 1.026x faster, H200). At 9x16 pixels with 8 warps 3 x 32 = 96 against
     * 5 x 20 = 100, and the pairs stay (dealing single rows there measured 0.967x). An accumulator keeps every block
     * of its warp live, each costing registers, so {@link #of} itself does not trade reuse for balance.
     */
    public static MmaTiling sequential(int pixels, int channels, int warps) {
        MmaTiling t = of(pixels, channels, warps);
        if (t.wm() == 1) return t;
        int groups = t.mt() * t.nb();
        MmaTiling single = new MmaTiling(pixels, channels, t.mt(), t.nt(), 1, t.wn(), t.mt(), t.nb(), groups,
                (groups + warps - 1) / warps);
        return single.busiestWarpCost() < t.busiestWarpCost() ? single : t;
    }

    /** Issue cost of the busiest warp per k16 step, in cycles: its blocks' mma (2 each) and ldmatrix.x4 (4 each). */
    int busiestWarpCost() {
        return perWarp * (2 * wm * wn + 4 * (wm + wn / 2));
    }

    /**
     * Whole rows: each warp owns 16-pixel row tiles with every n8 tile of {@code channels} (one block of 1 x nt per
     * row tile, dealt round-robin). A chained product needs it: the warp that computes a row tile of the producer,
     * all of the chunk's channels, is the one that accumulates those pixels' outputs (see Instr.Chain).
     */
    public static MmaTiling rows(int pixels, int channels, int warps) {
        if (channels <= 0 || channels % 16 != 0) {
            throw new IllegalArgumentException("mma tiles need output channels in multiples of 16, not " + channels);
        }
        int mt = (pixels + 15) / 16;
        int nt = channels / 8;
        return new MmaTiling(pixels, channels, mt, nt, 1, nt, mt, 1, mt, (mt + warps - 1) / warps);
    }

    /** Accumulator registers per thread: every tile of every block the thread's warp owns, 4 floats each. */
    public int registers() {
        return perWarp * wm * wn * 4;
    }
}
