package tmc.ir;

import java.util.List;
import tmc.check.DType;
import tmc.check.PlanSpec.Space;
import tmc.diag.Span;

/**
 * Storage a kernel declares for one tensor (or one chunk of it).
 *
 * <p>Activation buffers hold a tile of {@code (tileH + 2 halo) x (tileW + 2 halo)} pixels of {@code channels}
 * channels, pixel-major (channels contiguous), each pixel row padded to {@code rowStride} elements so that
 * neighbouring pixels fall into different shared-memory banks. Weight buffers hold {@code rows x channels}.
 *
 * @param name      name in the emitted code, e.g. {@code x_s}
 * @param tensor    the block tensor it holds (activation or weight name)
 * @param halo      halo radius around the tile (0 for weights and for tile-sized buffers)
 * @param pixels    number of pixels (activations) or rows (weights) held
 * @param channels  channels per pixel held at once (a stream chunk when the tensor is streamed)
 * @param rowStride elements between consecutive pixels (channels plus bank padding)
 * @param bytes     total size, with padding and alignment to 16 bytes; for a double-buffered weight slice,
 *                  both copies ({@code stages * stageBytes()})
 * @param origin    the .tm line that caused it (the tensor's declaration or the plan's place directive)
 * @param stages    1, or 2 for a streamed weight slice that is double-buffered: the chunk being computed is read
 *                  from one copy while the next chunk is copied into the other (cp.async)
 * @param layout    how a weight slice's rows and columns are arranged (activations are always {@link Layout#ROWS})
 */
public record Buffer(String name, String tensor, Space space, DType dtype, int halo, int pixels, int channels,
                     int rowStride, long bytes, Span origin, int stages, Layout layout) {
    public Buffer {
        if (stages < 1 || stages > 2) throw new IllegalArgumentException("stages " + stages);
        if (bytes % stages != 0) throw new IllegalArgumentException("bytes " + bytes + " not " + stages + " equal copies");
        if (layout == Layout.CORE_MATRICES && (pixels % 8 != 0 || channels % 8 != 0 || rowStride != channels)) {
            throw new IllegalArgumentException(name + ": core matrices need whole 8x8 blocks and no row padding");
        }
        if (layout == Layout.A_FRAGMENTS && (space != Space.REGISTERS || channels % 16 != 0 || dtype.bytes != 2)) {
            throw new IllegalArgumentException(name + ": A fragments are registers of a 16-bit tensor, 16 channels per k16 step");
        }
    }

    public Buffer(String name, String tensor, Space space, DType dtype, int halo, int pixels, int channels,
                  int rowStride, long bytes, Span origin) {
        this(name, tensor, space, dtype, halo, pixels, channels, rowStride, bytes, origin, 1, Layout.ROWS);
    }

    /**
     * ROWS: row r, column c at {@code r * rowStride + c} (rows padded against bank conflicts; ldmatrix reads them).
     * CORE_MATRICES: the operand layout wgmma reads through a shared-memory descriptor without swizzling: the slice
     * is cut into 8x8 blocks ("core matrices", 8 rows of 16 bytes, 128 contiguous bytes each), the blocks of one
     * 8-row band stored one after another along the columns, the bands one after another. Row r, column c is at
     * {@code ((r / 8) * (channels / 8) + c / 8) * 64 + (r % 8) * 8 + c % 8} elements (for 16-bit types).
     * A_FRAGMENTS (registers only): a 16-bit activation held as the mma A fragments of the warp's row tile of 16
     * pixels, {@code channels / 16} k16 steps of 4 registers per lane, each two packed values (see
     * Instr.Compute: a tensor-core conv that feeds a chained pointwise layer without passing through shared memory).
     */
    public enum Layout {
        ROWS, CORE_MATRICES, A_FRAGMENTS
    }

    /** Shared-memory rows are padded by this many bytes so that consecutive pixels start in different banks. */
    public static final int ROW_PAD_BYTES = 16;

    public static long align16(long bytes) {
        return (bytes + 15) / 16 * 16;
    }

    /** Bytes of one copy (all of {@link #bytes()} unless double-buffered); a multiple of 16. */
    public long stageBytes() {
        return bytes / stages;
    }

    /** This buffer with {@code n} copies of its single-copy size. */
    public Buffer withStages(int n) {
        return new Buffer(name, tensor, space, dtype, halo, pixels, channels, rowStride, stageBytes() * n, origin, n, layout);
    }

    /** This weight slice in the core-matrix layout wgmma reads (no row padding; the same number of copies). */
    public Buffer asCoreMatrices() {
        long copy = align16((long) pixels * channels * dtype.bytes);
        return new Buffer(name, tensor, space, dtype, halo, pixels, channels, channels, copy * stages, origin, stages,
                Layout.CORE_MATRICES);
    }

    public List<Integer> shape() {
        return List.of(pixels, channels);
    }
}
