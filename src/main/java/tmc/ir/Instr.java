package tmc.ir;

import java.util.List;

/**
 * Tile instructions of the tensor machine. Every instruction is executed by the whole thread block on the
 * tile it owns: the tile of {@code tileN x tileH x tileW} output pixels at (n0, h0, w0).
 */
public sealed interface Instr {

    /**
     * Every instruction of {@code body} in program order, depth first: a {@link Loop} or {@link ImageLoop} is followed
     * by the instructions of its body (a {@link Chain}'s halves are not listed apart). For the questions "which
     * instructions are there" that do not care how often they run.
     */
    static java.util.stream.Stream<Instr> flatten(List<Instr> body) {
        return body.stream().flatMap(i -> switch (i) {
            case Loop l -> java.util.stream.Stream.concat(java.util.stream.Stream.of(i), flatten(l.body()));
            case Side sd -> java.util.stream.Stream.concat(java.util.stream.Stream.of(i), flatten(sd.body()));
            case ImageLoop il -> java.util.stream.Stream.concat(java.util.stream.Stream.of(i), flatten(il.body()));
            default -> java.util.stream.Stream.of(i);
        });
    }

    /** The names of the buffers that hold weight slices in {@code body}: the destinations of its weight loads. */
    static java.util.Set<String> weightSlices(List<Instr> body) {
        return flatten(body).filter(i -> i instanceof LoadWeight).map(i -> ((LoadWeight) i).dst().name())
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /**
     * The buffers among {@code among} that an instruction reads or writes (for a loop, its whole body): its
     * destination, the buffers its sources name, and the buffers holding its layers' weights. The question shared-memory
     * reuse (which buffers may share bytes) and slice refills (which phase reads a slice) both ask.
     */
    static java.util.Set<Buffer> touched(Instr instr, List<Buffer> among) {
        java.util.Set<Buffer> used = new java.util.LinkedHashSet<>();
        switch (instr) {
            case Load l -> used.add(l.dst());
            case LoadWeight lw -> used.add(lw.dst());
            case Compute c -> {
                used.add(c.dst());
                read(c.layer(), c.sources(), among, used);
                for (Layer in : c.inlined()) read(in, c.sources(), among, used);
            }
            case Accumulate a -> {
                used.add(a.acc());
                if (a.input() != null) used.add(a.input());
                read(a.layer(), java.util.Map.of(), among, used);
            }
            case Chain ch -> {
                used.addAll(touched(ch.producer(), among));
                used.addAll(touched(ch.consumer(), among));
            }
            case Finish f -> {
                used.add(f.acc());
                used.add(f.dst());
                read(f.layer(), f.sources(), among, used);
            }
            case Store s -> {
                used.add(s.src());
                if (s.staging() != null) used.add(s.staging());
            }
            case Loop l -> l.body().forEach(i -> used.addAll(touched(i, among)));
            case ImageLoop il -> il.body().forEach(i -> used.addAll(touched(i, among)));
            case Side sd -> sd.body().forEach(i -> used.addAll(touched(i, among)));
            case Barrier b -> { }
            case SideBarrier b -> { }
            case AsyncCommit a -> { }
            case AsyncWait w -> { }
        }
        used.retainAll(among);
        return used;
    }

    /** Adds the buffers among {@code among} that layer reads: its activations through {@code sources}, its staged weights. */
    private static void read(Layer layer, java.util.Map<String, Buffer> sources, List<Buffer> among, java.util.Set<Buffer> used) {
        for (tmc.check.Activation a : layer.inputs()) {
            Buffer b = sources.get(a.name());
            if (b != null) used.add(b);
        }
        java.util.Set<String> weights = new java.util.HashSet<>();
        for (tmc.check.Op op : layer.ops()) {
            switch (op) {
                case tmc.check.Op.Conv2d c -> weights.add(c.weight().name());
                case tmc.check.Op.Pointwise p -> weights.add(p.weight().name());
                default -> { }
            }
        }
        for (Buffer b : among) {
            if (weights.contains(b.tensor())) used.add(b);
        }
    }

    /**
     * Channels {@code [start, start + count)} of a tensor; {@code loopVar} non-null means the range starts at
     * {@code loopVar + start} ({@code start} is then 0 for the current chunk, or the chunk width for the next one,
     * which a double-buffered loop prefetches).
     */
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

        /** The chunk after this one: {@code loopVar + start + count}. */
        public Channels next() {
            return new Channels(loopVar, start + count, count);
        }

        /** Chunk 0 of a streamed range, as copied before the loop (no loop variable); an unstreamed range as it is. */
        public Channels first() {
            return streamed() ? new Channels(null, 0, count) : this;
        }
    }

    /**
     * global -> buffer: the tile of activation {@code tensor} grown by {@code dst.halo()}, zero outside the
     * image (that is the conv's zero padding), all channels. {@code async}: with cp.async (16 bytes per copy,
     * zeros as plain stores), complete only after an {@link AsyncWait} and a {@link Barrier}.
     * {@code beforeLastTrip} (in a stream loop): issued only in the trip before the last, for the epilogue after the
     * loop; the last trip's wait for every copy and its barrier complete it (tmc.plan.ResidualStaging).
     */
    record Load(Buffer dst, String tensor, boolean async, Image image, boolean beforeLastTrip) implements Instr {
        public Load(Buffer dst, String tensor) {
            this(dst, tensor, false, Image.THIS, false);
        }

        public Load(Buffer dst, String tensor, boolean async) {
            this(dst, tensor, async, Image.THIS, false);
        }

        public Load(Buffer dst, String tensor, boolean async, Image image) {
            this(dst, tensor, async, image, false);
        }

        /**
         * Which image of a tile-N block the load is for. THIS: image n, into the buffer (the current copy when
         * {@code dst} has two). FIRST: the block's first image, into copy 0, before the {@link ImageLoop}. NEXT:
         * image n + 1 (if the block has it), into the other copy, while image n is computed.
         */
        public enum Image {
            THIS, FIRST, NEXT
        }
    }

    /**
     * global -> shared: rows {@code rows} and columns {@code cols} of a weight viewed as a matrix
     * [dims[0], product of the other dims] (a pointwise weight is [C_out, C_in], a conv weight [C_out, k*k*C_in/g]).
     * Streamed slices start at the loop variable. The buffer holds {@code rows.count() x cols.count()} values,
     * each row padded to {@code dst.rowStride()}.
     * {@code tapMajor} (conv weights on CUDA cores): the slice of output channels {@code rows} is stored
     * transposed as [k*k taps][channels][C_in/groups], so that the threads of a warp, which take consecutive
     * output channels, read consecutive shared-memory words at every tap.
     * {@code async}: with cp.async, complete only after an {@link AsyncWait} and a {@link Barrier}. When
     * {@code dst} has two stages, the copy holding chunk {@code e0} is {@code (e0 / chunk) % 2}: a slice of the
     * chunk after the current one goes to the copy the current chunk is not read from.
     */
    record LoadWeight(Buffer dst, String weight, Channels rows, Channels cols, boolean tapMajor, boolean async)
            implements Instr {
        public LoadWeight(Buffer dst, String weight, Channels rows, Channels cols) {
            this(dst, weight, rows, cols, false, false);
        }

        public LoadWeight(Buffer dst, String weight, Channels rows, Channels cols, boolean tapMajor) {
            this(dst, weight, rows, cols, tapMajor, false);
        }

        /** The streamed range of the slice (rows or columns), or null when neither is streamed. */
        public Channels streamed() {
            return rows.streamed() ? rows : cols.streamed() ? cols : null;
        }

        /** A cp.async copy of chunk 0 of this slice into {@code dst}, before the loop. */
        public LoadWeight firstChunkInto(Buffer dst) {
            return new LoadWeight(dst, weight, rows.first(), cols.first(), false, true);
        }

        /** Chunk 0 of this slice before the loop, copied as this one is (plain loads and stores for a tap-major slice). */
        public LoadWeight firstChunk() {
            return new LoadWeight(dst, weight, rows.first(), cols.first(), tapMajor, async);
        }

        /** The chunk after this one into the same buffer, copied as this one is; the writer skips it past the last chunk. */
        public LoadWeight nextChunk() {
            return new LoadWeight(dst, weight, rows.streamed() ? rows.next() : rows, cols.streamed() ? cols.next() : cols,
                    tapMajor, async);
        }

        /**
         * A cp.async copy of the chunk after this one into {@code dst}: a prefetch into the other copy of a double
         * buffer, or a refill of a single one; the writer skips it past the last chunk.
         */
        public LoadWeight nextChunkInto(Buffer dst) {
            return new LoadWeight(dst, weight, rows.streamed() ? rows.next() : rows, cols.streamed() ? cols.next() : cols,
                    false, true);
        }
    }

    /**
     * Evaluates a layer over the tile grown by {@code halo} for output channels {@code out}, reading its
     * inputs from the buffers named in {@code sources} (tensor -> buffer; a tensor missing there is read from
     * global memory), and writes buffer {@code dst}. Pixels outside the image are written as zero, because a
     * conv that reads this value must see zero padding there, not the layer applied to nothing; a {@code dst} of
     * {@link Buffer.Layout#A_FRAGMENTS}, which only the chained pointwise layer reads, may hold anything there (those
     * rows are never stored).
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

    /**
     * A producer and the accumulation that reads it, with the producer's chunk kept in registers: each warp computes
     * whole 16-pixel row tiles of the producer ({@code producer.dst()} is a register buffer of mma fragments, never
     * declared), 16 channels at a time, and feeds each slice's C fragments (two m16n8 tiles) to the consumer's mma as
     * the A fragment of one k16 step. No shared buffer and no barrier between the two products. The accumulator is
     * tiled by whole rows ({@link MmaTiling#rows}), so that the same warp owns both ends of every pixel.
     */
    record Chain(Compute producer, Accumulate consumer, int group) implements Instr {
        /**
         * @param group k16 steps of the projection per slice of the producer: 2 (32 channels, {@link #sliceGroup}) or
         *              1 (16 channels: eight fewer accumulators live, for a kernel whose 'resident' count holds it to
         *              fewer registers than the planner estimated; tmc.plan.Planner#moreResident)
         */
        public Chain {
            int chunk = producer.out().count();
            if (group != 1 && (group != 2 || chunk % 32 != 0)) {
                throw new IllegalArgumentException("chain slice group " + group + " for a chunk of " + chunk);
            }
        }

        /** Producer channels per slice. */
        public int sliceWidth() {
            return 16 * group;
        }

        /**
         * Input channels up to which a pointwise producer keeps its A fragments (the warp's 16 pixels, every input
         * channel) in registers for the whole chunk; wider inputs reload them from shared memory for each slice.
         */
        public static final int HOISTED_INPUT_CHANNELS = 128;

        /**
         * k16 steps the chain takes per group: 2 (32 channels, four independent mma chains for the producer) when the
         * chunk allows, else 1. Wider groups give the producer's products more independent work at the same time.
         */
        public static int sliceGroup(int chunk) {
            return chunk % 32 == 0 ? 2 : 1;
        }

        /**
         * Whether a pointwise producer's A fragments stay in registers for the chunk: when its input is narrow enough
         * and the chunk is at most two groups (fully unrolled). A longer chunk loops over its groups, and the
         * fragments live through the loop would cost more registers than reloading them per group.
         */
        public static boolean hoistsInput(int inputChannels, int chunk) {
            return inputChannels <= HOISTED_INPUT_CHANNELS && chunk <= 2 * 16 * sliceGroup(chunk);
        }

        /**
         * Whether, under 'math wgmma', the producer's product runs on wgmma too: a pointwise producer does; a grouped
         * conv producer is block-diagonal and stays on mma.sync m16n8k8 (the projection runs on wgmma either way).
         */
        public boolean producerOnWgmma() {
            return producer.layer().main() instanceof tmc.check.Op.Pointwise;
        }

        /**
         * Whether {@code producer} (the chain's pointwise producer) reads its input as A fragments already in registers
         * ({@link Buffer.Layout#A_FRAGMENTS}, a conv's result) rather than from a shared tile.
         */
        public static boolean inputInFragments(Compute producer) {
            if (!(producer.layer().main() instanceof tmc.check.Op.Pointwise pw)) return false;
            Buffer in = producer.sources().get(pw.in().name());
            return in != null && in.layout() == Buffer.Layout.A_FRAGMENTS;
        }
    }

    /** Applies the epilogue of {@code layer} to the finished accumulator and writes {@code dst}. */
    record Finish(Layer layer, Buffer acc, Buffer dst, java.util.Map<String, Buffer> sources) implements Instr {}

    /** buffer -> global: the tile interior of {@code src} to activation {@code tensor}, masked at the edges. */
    record Store(Buffer src, String tensor, Buffer staging) implements Instr {
        /**
         * {@code staging}, when not null, is a shared buffer that no later instruction reads: mma accumulator
         * fragments are written there first, so that the global store can write whole 16-byte pieces of pixel rows
         * (a fragment holds 2 adjacent channels of 8 pixels: direct stores fill only half of each 32-byte sector).
         */
        public Store(Buffer src, String tensor) {
            this(src, tensor, null);
        }
    }

    /**
     * {@code for var in 0 .. extent by chunk}: a streamed channel dimension. {@code note}, when not null, says
     * how its weight slices are buffered (written as a comment above the emitted loop).
     */
    record Loop(String var, String dim, int extent, int chunk, List<Instr> body, String note) implements Instr {
        public Loop {
            body = List.copyOf(body);
        }

        public Loop(String var, String dim, int extent, int chunk, List<Instr> body) {
            this(var, dim, extent, chunk, body, null);
        }

        public int trips() {
            return extent / chunk;
        }

        /** The sides of a warp-specialized loop (see {@link Side}), in body order; empty for a loop all warps run. */
        public List<Side> sides() {
            return body.stream().filter(i -> i instanceof Side).map(i -> (Side) i).toList();
        }

        /** Trips beyond {@link #trips()}: the largest lag of its sides (0 without sides). */
        public int lag() {
            return sides().stream().mapToInt(Side::lag).max().orElse(0);
        }
    }

    /**
     * {@code for img in 0 .. images}: the block's images {@code blockIdx.z * images + img}, one after another (a plan's
     * {@code tile N} above 1). What comes before the loop (the weights) is staged once and serves every image.
     */
    record ImageLoop(int images, List<Instr> body) implements Instr {
        public ImageLoop {
            body = List.copyOf(body);
        }
    }

    /** All threads of the block wait until every earlier shared-memory write is visible. */
    record Barrier() implements Instr {}

    /**
     * Warp specialization: warps {@code firstWarp .. firstWarp + warps - 1} of the block run {@code body}, the others
     * skip it. Inside a stream loop the sides run side by side on different chunks: the loop makes
     * {@code trips() + lag} trips, and a side with lag {@code d} works on chunk {@code trip - d} (none in the trips
     * where that is outside the stream). The buffers it accumulates into are its own (only its threads hold them).
     *
     * @param role what the side does
     */
    record Side(Role role, int firstWarp, int warps, int lag, List<Instr> body) implements Instr {
        public Side {
            body = List.copyOf(body);
        }

        /** The producer stages each chunk; the consumer uses it and holds the accumulators. */
        public enum Role {
            PRODUCER, CONSUMER;

            /** "producer", "consumer": as the IR and the emitted comments name it. */
            @Override
            public String toString() {
                return name().toLowerCase(java.util.Locale.ROOT);
            }
        }

        public int threads() {
            return warps * 32;
        }
    }

    /**
     * The warps of one {@link Side} wait for each other (a named barrier, {@code bar.sync id, threads}): what they
     * wrote to shared memory before it is visible to all of them. The rest of the block does not take part.
     */
    record SideBarrier(int id, int threads) implements Instr {}

    /**
     * Closes the group of asynchronous copies this thread issued since the previous commit (cp.async.commit_group;
     * a group may be empty).
     */
    record AsyncCommit() implements Instr {}

    /**
     * This thread waits until at most {@code pending} of its committed copy groups are still in flight
     * (cp.async.wait_group): the older ones have landed in shared memory. Other threads see them only after
     * the next {@link Barrier}.
     */
    record AsyncWait(int pending) implements Instr {}

    /** Which units run a Compute or Accumulate. */
    enum MathPath {
        CUDA_CORE, TENSOR_CORE
    }
}
