package tmc.ir;

import java.util.List;

/**
 * Tile instructions of the tensor machine. Every instruction is executed by the whole thread block on the
 * tile it owns: the tile of {@code tileN x tileH x tileW} output pixels at (n0, h0, w0).
 */
public sealed interface Instr {

    /** Channels {@code [start, start + count)} of a tensor; {@code loopVar} non-null means start = loopVar. */
    record Channels(String loopVar, int start, int count) {
        public static Channels all(int count) {
            return new Channels(null, 0, count);
        }

        public static Channels chunk(String loopVar, int count) {
            return new Channels(loopVar, 0, count);
        }

        public boolean streamed() {
            return loopVar != null;
        }
    }

    /**
     * global -> buffer: the tile of activation {@code tensor} grown by {@code dst.halo()}, zero outside the
     * image (that is the conv's zero padding), all channels.
     */
    record Load(Buffer dst, String tensor) implements Instr {}

    /**
     * global -> shared: rows {@code rows} and columns {@code cols} of a weight viewed as a matrix
     * [dims[0], product of the other dims] (a pointwise weight is [C_out, C_in], a conv weight [C_out, k*k*C_in/g]).
     * Streamed slices start at the loop variable. The buffer holds {@code rows.count() x cols.count()} values,
     * each row padded to {@code dst.rowStride()}.
     * {@code tapMajor} (conv weights on CUDA cores): the slice of output channels {@code rows} is stored
     * transposed as [k*k taps][channels][C_in/groups], so that the threads of a warp, which take consecutive
     * output channels, read consecutive shared-memory words at every tap.
     */
    record LoadWeight(Buffer dst, String weight, Channels rows, Channels cols, boolean tapMajor) implements Instr {
        public LoadWeight(Buffer dst, String weight, Channels rows, Channels cols) {
            this(dst, weight, rows, cols, false);
        }
    }

    /**
     * Evaluates a layer over the tile grown by {@code halo} for output channels {@code out}, reading its
     * inputs from the buffers named in {@code sources} (tensor -> buffer; a tensor missing there is read from
     * global memory), and writes buffer {@code dst}. Pixels outside the image are written as zero, because a
     * conv that reads this value must see zero padding there, not the layer applied to nothing.
     * {@code inlined} are producer layers whose outputs are not stored anywhere: they are recomputed at every
     * point where this layer reads them (the "halo recompute" strategy).
     */
    record Compute(Layer layer, Buffer dst, int halo, Channels out, java.util.Map<String, Buffer> sources,
                   MathPath math, List<Layer> inlined) implements Instr {
        public Compute {
            inlined = List.copyOf(inlined);
        }

        public Compute(Layer layer, Buffer dst, int halo, Channels out, java.util.Map<String, Buffer> sources,
                       MathPath math) {
            this(layer, dst, halo, out, sources, math, List.of());
        }
    }

    /**
     * {@code acc += main(layer)} restricted to the input channels {@code reduce}: the partial sum of a
     * pointwise layer over one chunk of its input channels. {@code acc} is a register (or shared) buffer of
     * the layer's full output channels over the tile.
     */
    record Accumulate(Layer layer, Buffer acc, Buffer input, Channels reduce, MathPath math) implements Instr {}

    /** Applies the epilogue of {@code layer} to the finished accumulator and writes {@code dst}. */
    record Finish(Layer layer, Buffer acc, Buffer dst, java.util.Map<String, Buffer> sources) implements Instr {}

    /** buffer -> global: the tile interior of {@code src} to activation {@code tensor}, masked at the edges. */
    record Store(Buffer src, String tensor) implements Instr {}

    /** {@code for var in 0 .. extent by chunk}: a streamed channel dimension. */
    record Loop(String var, String dim, int extent, int chunk, List<Instr> body) implements Instr {
        public Loop {
            body = List.copyOf(body);
        }

        public int trips() {
            return extent / chunk;
        }
    }

    /** All threads of the block wait until every earlier shared-memory write is visible. */
    record Barrier() implements Instr {}

    /** Which units run a Compute or Accumulate. */
    enum MathPath {
        CUDA_CORE, TENSOR_CORE
    }
}
