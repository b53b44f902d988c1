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
