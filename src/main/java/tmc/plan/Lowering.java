package tmc.plan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Op;
import tmc.check.PlanSpec;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.diag.Diagnostic;
import tmc.diag.Span;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.ir.MmaTiling;
import tmc.target.Target;

/**
 * Lowers a block and a complete set of choices to tensor-machine kernels. Pure: the same inputs give the
 * same kernels. What the lowering cannot express comes back as a diagnostic, never as a wrong kernel.
 */
public final class Lowering {
    private Lowering() {}

    /** Kernels, or the reason the choices cannot be lowered. */
    public sealed interface Result {
        record Ok(List<Kernel> kernels) implements Result {}

        record Refused(Diagnostic why) implements Result {}
    }

    /** Shared-memory rows are padded by this many bytes so that consecutive pixels start in different banks. */
    static final int ROW_PAD_BYTES = Buffer.ROW_PAD_BYTES;

    /**
     * Registers every thread needs besides accumulators: indices, pointers, loop counters, mma fragments.
     * Calibrated against ptxas for the emitted kernels (the static check in the tests holds it to this).
     */
    static final int BASE_REGISTERS = 88;

    /** A separate plan's layer kernel keeps no accumulator across instructions, so it needs fewer. */
    static final int SEPARATE_REGISTERS = 56;

    /** Transient registers of each accumulator block beyond a warp's first (fragments, row addresses). */
    static final int EXTRA_BLOCK_REGISTERS = 32;

    /** The accumulators of one warp's block of mma tiles (2 x 4 tiles of m16n8, 4 floats per lane each). */
    static final int MMA_BLOCK_REGISTERS = 32;

    /** Extra registers when a conv recomputes its input inline: the producer's dot product is live in the tap loop. */
    static final int RECOMPUTE_REGISTERS = 48;

    // ==========================================================================================
    // Separate plans: one kernel per layer, every layer output through global memory.
    // ==========================================================================================

    /** Tile of a separate layer kernel: a strip of {@code tileH x tileW} pixels. */
    public static Result separate(TypedBlock block, String planName, int tileH, int tileW, int warps,
                                  PlanSpec.MathKind math) {
        List<Kernel> kernels = new ArrayList<>();
        for (Layer layer : Layer.of(block)) {
            int threads = warps * 32;
            List<Buffer> buffers = new ArrayList<>();
            List<Instr> body = new ArrayList<>();
            Map<String, Buffer> sources = new LinkedHashMap<>();
            Activation in = layer.mainInput();
            if (in != null) {
                Buffer inBuf = activationBuffer(in, in.name() + "_s", Space.SHARED, block.storageFor(in),
                        layer.inputHalo(), tileH, tileW, in.channels(), in.span());
                buffers.add(inBuf);
                sources.put(in.name(), inBuf);
                body.add(new Instr.Load(inBuf, in.name()));
                body.add(new Instr.Barrier());
            }
            Activation out = layer.out();
            Instr.MathPath path = mathPath(layer, math);
            if (layer.main() instanceof Op.Conv2d conv && stagesTapMajor(conv, path)
                    && tapMajorFits(conv, conv.out().channels())) {
                Buffer wb = tapMajorBuffer(conv, conv.out().channels());
                buffers.add(wb);
                body.add(body.size() - 1, new Instr.LoadWeight(wb, conv.weight().name(),
                        Instr.Channels.all(conv.out().channels()), Instr.Channels.all(wb.channels()), true));
            }
            // Each element is stored as soon as it is computed: no register or shared staging.
            Buffer dst = activationBuffer(out, out.name(), Space.GLOBAL, block.storageFor(out), 0, tileH, tileW,
                    out.channels(), out.span());
            body.add(new Instr.Compute(layer, dst, 0, Instr.Channels.all(out.channels()), sources, path));
            String name = block.name() + "_" + planName + "_L" + layer.index();
            // A tensor-core layer holds a block of up to 2 x 4 m16n8 accumulators (32 floats) per warp lane.
            int registers = SEPARATE_REGISTERS + (path == Instr.MathPath.TENSOR_CORE ? MMA_BLOCK_REGISTERS : 0);
            kernels.add(new Kernel(name, 1, tileH, tileW, threads, math, List.of(layer), buffers, body, registers));
        }
        return new Result.Ok(kernels);
    }

    // ==========================================================================================
    // Fused plans: one kernel for the whole block.
    // ==========================================================================================

    /**
     * The fused kernel for {@code target}. A streamed loop's weight slices are double-buffered with cp.async when
     * the target has it (sm_80 and later), the second copies fit the target's shared memory per block, and they
     * do not lower the blocks resident per SM; otherwise each slice has one buffer, refilled during the phases of
     * the loop that do not read it where it can be ({@link SliceRefill}), else copied at the top of every trip, as a
     * comment in the kernel says. Shared buffers never live together then share bytes ({@link SharedLifetimes}), and a
     * double-buffered loop issues its next chunk's copies after its first barrier, which saves the barrier that ended
     * each trip ({@link TripBarriers}).
     */
    public static Result fused(TypedBlock block, String planName, Choices c, Span planSpan, Target target) {
        return fused(block, planName, c, planSpan, planSpan, target);
    }

    /** {@link #fused}, with the span of the plan's 'warps' directive for what warp specialization refuses. */
    public static Result fused(TypedBlock block, String planName, Choices c, Span planSpan, Span warpsSpan, Target target) {
        if (c.specialized()) return WarpSpecialization.lower(block, planName, c, planSpan, warpsSpan, target);
        Result r = buffered(block, planName, c, planSpan, target);
        if (!(r instanceof Result.Ok ok)) return r;
        return new Result.Ok(ok.kernels().stream()
                .map(k -> ResidualStaging.apply(block,
                        TripBarriers.apply(SharedLifetimes.compact(block, SliceRefill.apply(block, k, target), target))))
                .toList());
    }

    /** The fused kernel with its weight slices double-buffered where that pays (see {@link #fused}), before {@link SharedLifetimes}. */
    private static Result buffered(TypedBlock block, String planName, Choices c, Span planSpan, Target target) {
        if (c.tileN() > 1) {
            // The weights a block stages once serve its images one after another; a stream loop's slices are staged
            // per image and chunk, synchronously. With cp.async the next image's input tile is loaded into a second
            // buffer while the current image is computed, when the second buffer fits.
            String note = "single-buffered: with tile N " + c.tileN() + ", the slices are staged for every image's chunk";
            if (target.computeCapability() >= 80) {
                Result r = fused(block, planName, c, planSpan, target, true, note);
                if (r instanceof Result.Ok ok && ok.kernels().getFirst().sharedBytes() <= target.sharedPerBlockOptIn()) {
                    return r;
                }
            }
            return fused(block, planName, c, planSpan, target, false, note);
        }
        if (target.computeCapability() < 80) {
            // cp.async (global to shared without registers) exists from compute capability 8.0 on. The note only
            // reaches the kernel when its loop stages weights.
            return fused(block, planName, c, planSpan, target, false, "single-buffered: " + target.name() + " (" + target.arch()
                    + ") has no cp.async, which needs sm_80 or later");
        }
        Result r = fused(block, planName, c, planSpan, target, true, null);
        if (!(r instanceof Result.Ok ok) || !pipelined(ok.kernels().getFirst())) return r;
        Kernel two = ok.kernels().getFirst();
        long doubled = two.sharedBytes();
        if (doubled > target.sharedPerBlockOptIn()) {
            return fused(block, planName, c, planSpan, target, false, "single-buffered: double-buffering the weight slices would "
                    + "need " + doubled + " B of shared memory per block, over the " + target.sharedPerBlockOptIn()
                    + " B of " + target.name());
        }
        // These kernels are latency-bound at 1 or 2 blocks per SM: the second copies must not cost a resident block
        // (the copies of one chunk hide less latency than another block's warps do).
        // Occupancy depends on threads, registers and shared bytes only: the same kernel with one copy per slice
        // stands for the single-buffered lowering.
        Kernel one = new Kernel(two.name(), two.tileN(), two.tileH(), two.tileW(), two.threads(), two.math(), two.layers(),
                two.buffers().stream().map(b -> b.withStages(1)).toList(), two.body(), two.registersPerThread())
                .withResidentBlocks(two.residentBlocks());
        int withTwo = Budgets.occupancy(two, target).blocksPerSm();
        int withOne = Budgets.occupancy(one, target).blocksPerSm();
        if (withTwo < withOne) {
            return fused(block, planName, c, planSpan, target, false, "single-buffered: double-buffering the weight slices ("
                    + doubled + " B of shared memory per block) would leave room for " + withTwo + " block"
                    + (withTwo == 1 ? "" : "s") + " per SM instead of " + withOne + " on " + target.name());
        }
        return r;
    }

    /** The largest N of one wgmma (m64nNk16). */
    static final int WGMMA_MAX_N = 256;

    /**
     * Why a 'math wgmma' kernel cannot run its register chains on wgmma, with a hint, or null. wgmma is issued by
     * warpgroups of 4 warps and reads B from shared memory; tmc uses it for the chain's products (see Instr.Chain),
     * whose A operands are already in registers (Instr.Chain#producerOnWgmma). Plans without a chain are refused
     * later, where the 'math' directive can be pointed at (Tmc.notEmittable).
     */
    static Result wgmmaRefusal(List<Instr> body, Choices c, Span planSpan) {
        List<Instr.Chain> chains = chains(body);
        if (chains.isEmpty()) return null;
        if (c.warps() % 4 != 0) {
            return refuse(planSpan, "wgmma is issued by warpgroups of 4 warps, and this plan has " + c.warps() + " warps",
                    "use 'warps " + (c.warps() + 3) / 4 * 4 + "', or 'math tensor_core'");
        }
        for (Instr.Chain ch : chains) {
            int out = ch.consumer().layer().out().channels();
            if (out > WGMMA_MAX_N) {
                return refuse(planSpan, "one wgmma computes at most " + WGMMA_MAX_N + " output channels, and "
                        + ch.consumer().layer().describe() + " has " + out, "use 'math tensor_core'");
            }
        }
        return null;
    }

    /** The register chains of a body, in loops and image loops too. */
    public static List<Instr.Chain> chains(List<Instr> body) {
        return Instr.flatten(body).filter(i -> i instanceof Instr.Chain).map(i -> (Instr.Chain) i).toList();
    }

    /** The weights a chain reads through wgmma descriptors: the projection's, and a pointwise producer's. */
    static List<tmc.check.Weight> wgmmaWeights(Instr.Chain ch) {
        Op.Pointwise proj = (Op.Pointwise) ch.consumer().layer().main();
        return ch.producerOnWgmma() ? List.of(((Op.Pointwise) ch.producer().layer().main()).weight(), proj.weight())
                : List.of(proj.weight());
    }

    /** An instruction with its buffers replaced as {@code map} says (the same instruction when none is). */
    static Instr withBuffers(Instr i, Map<Buffer, Buffer> map) {
        if (map.isEmpty()) return i;
        java.util.function.UnaryOperator<Buffer> b = x -> x == null ? null : map.getOrDefault(x, x);
        java.util.function.UnaryOperator<Map<String, Buffer>> m = src -> {
            Map<String, Buffer> out = new LinkedHashMap<>();
            src.forEach((k, v) -> out.put(k, b.apply(v)));
            return Map.copyOf(out);
        };
        return switch (i) {
            case Instr.Load l -> new Instr.Load(b.apply(l.dst()), l.tensor(), l.async(), l.image(), l.beforeLastTrip());
            case Instr.LoadWeight lw -> new Instr.LoadWeight(b.apply(lw.dst()), lw.weight(), lw.rows(), lw.cols(),
                    lw.tapMajor(), lw.async());
            case Instr.Compute c -> new Instr.Compute(c.layer(), b.apply(c.dst()), c.halo(), c.out(), m.apply(c.sources()),
                    c.math(), c.inlined());
            case Instr.Accumulate a -> new Instr.Accumulate(a.layer(), b.apply(a.acc()), b.apply(a.input()), a.reduce(),
                    a.math());
            case Instr.Chain ch -> new Instr.Chain((Instr.Compute) withBuffers(ch.producer(), map),
                    (Instr.Accumulate) withBuffers(ch.consumer(), map), ch.group());
            case Instr.Finish f -> new Instr.Finish(f.layer(), b.apply(f.acc()), b.apply(f.dst()), m.apply(f.sources()));
            case Instr.Store st -> new Instr.Store(b.apply(st.src()), st.tensor(), b.apply(st.staging()));
            case Instr.Loop l -> new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(),
                    l.body().stream().map(x -> withBuffers(x, map)).toList(), l.note());
            case Instr.ImageLoop il -> new Instr.ImageLoop(il.images(), il.body().stream().map(x -> withBuffers(x, map)).toList());
            case Instr.Side sd -> new Instr.Side(sd.role(), sd.firstWarp(), sd.warps(), sd.lag(),
                    sd.body().stream().map(x -> withBuffers(x, map)).toList());
            case Instr.Barrier x -> x;
            case Instr.SideBarrier x -> x;
            case Instr.AsyncCommit x -> x;
            case Instr.AsyncWait x -> x;
        };
    }

    /** Whether some buffer of the kernel is double-buffered. */
    public static boolean pipelined(Kernel k) {
        return k.buffers().stream().anyMatch(b -> b.stages() == 2);
    }

    /**
     * @param pipeline   double-buffer the streamed weight slices that can be copied 16 bytes at a time
     * @param loopNote   what the loop's comment says when it is not pipelined (null: nothing)
     */
    static Result fused(TypedBlock block, String planName, Choices c, Span planSpan, Target target, boolean pipeline,
                        String loopNote) {
        Result r = fused(block, planName, c, planSpan, pipeline, loopNote, true);
        // A chain the plan did not ask for must not make a plan too big that fits without it: its accumulators are
        // dealt by whole rows, which can cost a warp more registers than the even share of the staged path.
        if (r instanceof Result.Ok ok && ok.kernels().getFirst().registersPerThread() > target.maxRegistersPerThread()) {
            Result staged = fused(block, planName, c, planSpan, pipeline, loopNote, false);
            if (staged instanceof Result.Ok) return staged;
        }
        return r;
    }

    /** @param chainByDefault keep an unplaced in-loop chunk in registers when it can be (see Instr.Chain) */
    static Result fused(TypedBlock block, String planName, Choices c, Span planSpan, boolean pipeline, String loopNote,
                        boolean chainByDefault) {
        List<Layer> layers = Layer.of(block);
        Map<String, Integer> halo = regions(block, layers);
        int threads = c.threads();

        // Which layers run inside the stream loop, and which one reduces over the streamed dimension.
        Stream stream = null;
        if (c.streamDim() != null) {
            Long extent = block.params().get(c.streamDim());
            if (extent == null) return refuse(planSpan, "unknown stream dimension '" + c.streamDim() + "'", null);
            Object s = streamStructure(layers, extent.intValue(), c.streamChunk(), c.streamDim(), planSpan);
            if (s instanceof Result.Refused r) return r;
            stream = (Stream) s;
        }

        // 'math K for T': the unit of the layer that computes T, so far a depthwise conv's (tensor cores where it can).
        for (PlanSpec.LayerMath lm : c.layerMath().values()) {
            Layer layer = layers.stream().filter(l -> l.out().name().equals(lm.tensor())).findFirst().orElse(null);
            if (layer == null) {
                return refuse(lm.span(), "no layer ends at '" + lm.tensor() + "' (a layer is one main op and the elementwise"
                        + " ops after it: " + layers.stream().map(l -> l.out().name()).toList() + ")",
                        "name the tensor a depthwise conv's layer computes");
            }
            if (!(layer.main() instanceof Op.Conv2d cv && cv.isDepthwise())) {
                return refuse(lm.span(), "'" + lm.tensor() + "' is computed by " + layer.describe() + ": 'math " + lm.kind().keyword
                        + " for' chooses the unit of a depthwise conv only (the other layers follow the plan's 'math')",
                        "remove this line");
            }
            if (lm.kind() == PlanSpec.MathKind.CUDA_CORE) continue;
            boolean inLoop = stream != null && stream.inLoop().contains(layer.index());
            String why = depthwiseTensorCoreRefusal(cv, inLoop ? c.streamChunk() : cv.out().channels(), c, layer);
            if (why != null) {
                return refuse(lm.span(), "'" + lm.tensor() + "' cannot be computed on tensor cores: " + why,
                        "remove 'math " + lm.kind().keyword + " for " + lm.tensor() + "' (its depthwise conv then runs on CUDA cores)");
            }
        }
        // 'place W in global' for a weight: a CUDA-core conv then reads it from global memory (through L1) instead of
        // a staged copy; tensor-core layers read their weights with ldmatrix, from shared memory only.
        for (Layer layer : layers) {
            tmc.check.Weight wt = mmaWeight(layer);
            if (wt == null || !inGlobal(wt, c)) continue;
            if (fusedMathPath(layer, c, stream) == Instr.MathPath.TENSOR_CORE) {
                return refuse(c.places().get(wt.name()).span(), "weight '" + wt.name() + "' cannot stay in global memory: "
                        + "its layer (" + layer.describe() + ", line " + layer.main().span().line()
                        + ") runs on tensor cores, which read their weights from shared memory (ldmatrix)",
                        "place '" + wt.name() + "' in shared (the default), or write 'math cuda_core'");
            }
        }
        List<Buffer> buffers = new ArrayList<>();
        // Everything on chip by tensor name: staged activations and staged weights (instructions read both).
        Map<String, Buffer> onChip = new LinkedHashMap<>();
        List<Instr> body = new ArrayList<>();

        // Block inputs read by a main op are staged in shared memory with the halo their consumers need.
        for (Activation in : block.inputs()) {
            boolean readByMain = layers.stream().anyMatch(l -> l.mainInput() != null
                    && l.mainInput().name().equals(in.name()));
            PlanSpec.Placement p = c.places().get(in.name());
            boolean wantShared = readByMain || (p != null && p.space() == Space.SHARED);
            if (!wantShared) continue;
            Buffer b = activationBuffer(in, in.name() + "_s", Space.SHARED, in.dtype(), halo.getOrDefault(in.name(), 0),
                    c.tileH(), c.tileW(), in.channels(), originOf(p, in));
            buffers.add(b);
            onChip.put(in.name(), b);
            body.add(new Instr.Load(b, in.name()));
        }
        // Weights of tensor-core layers outside the stream loop are staged once, with the inputs.
        Map<String, Buffer> stagedWeights = new LinkedHashMap<>();
        for (Layer layer : layers) {
            boolean inLoopLayer = stream != null && (stream.inLoop().contains(layer.index())
                    || stream.reducer() == layer.index());
            if (inLoopLayer) continue;
            if (layer.main() instanceof Op.Conv2d conv && stagesTapMajor(conv, fusedMathPath(layer, c, stream))
                    && !recomputedInput(layer, c) && tapMajorFits(conv, conv.out().channels())
                    && !inGlobal(conv.weight(), c)) {
                Buffer wb = tapMajorBuffer(conv, conv.out().channels());
                buffers.add(wb);
                stagedWeights.put(conv.weight().name(), wb);
                body.add(new Instr.LoadWeight(wb, conv.weight().name(), Instr.Channels.all(conv.out().channels()),
                        Instr.Channels.all(wb.channels()), true));
                continue;
            }
            tmc.check.Weight wt = mmaWeight(layer);
            if (wt == null || fusedMathPath(layer, c, stream) != Instr.MathPath.TENSOR_CORE) continue;
            int rows = wt.dims().getFirst();
            int cols = (int) (wt.elements() / rows);
            Buffer wb = weightBuffer(wt, rows, cols);
            buffers.add(wb);
            stagedWeights.put(wt.name(), wb);
            body.add(new Instr.LoadWeight(wb, wt.name(), Instr.Channels.all(rows), Instr.Channels.all(cols)));
        }
        // Inside the loop, each chunk's weight slices are staged at the top of the iteration.
        List<Instr> loopWeights = new ArrayList<>();
        if (stream != null) {
            for (Layer layer : layers) {
                if (layer.main() instanceof Op.Conv2d conv && stream.inLoop().contains(layer.index())
                        && stagesTapMajor(conv, fusedMathPath(layer, c, stream))
                        && !recomputedInput(layer, c) && tapMajorFits(conv, c.streamChunk()) && !inGlobal(conv.weight(), c)) {
                    Buffer wb = tapMajorBuffer(conv, c.streamChunk());
                    loopWeights.add(new Instr.LoadWeight(wb, conv.weight().name(),
                            Instr.Channels.chunk("e0", c.streamChunk()), Instr.Channels.all(wb.channels()), true));
                    buffers.add(wb);
                    stagedWeights.put(conv.weight().name(), wb);
                    continue;
                }
                tmc.check.Weight wt = mmaWeight(layer);
                if (wt == null || fusedMathPath(layer, c, stream) != Instr.MathPath.TENSOR_CORE) continue;
                int rows = wt.dims().getFirst();
                int cols = (int) (wt.elements() / rows);
                Buffer wb;
                if (stream.inLoop().contains(layer.index())) {
                    wb = weightBuffer(wt, c.streamChunk(), cols);
                    loopWeights.add(new Instr.LoadWeight(wb, wt.name(), Instr.Channels.chunk("e0", c.streamChunk()),
                            Instr.Channels.all(cols)));
                } else if (stream.reducer() == layer.index()) {
                    wb = weightBuffer(wt, rows, c.streamChunk());
                    loopWeights.add(new Instr.LoadWeight(wb, wt.name(), Instr.Channels.all(rows),
                            Instr.Channels.chunk("e0", c.streamChunk())));
                } else {
                    continue;
                }
                buffers.add(wb);
                stagedWeights.put(wt.name(), wb);
            }
        }
        // Double buffering (cp.async): the slices of chunk e0 + chunk are copied into a second buffer while chunk e0
        // is computed. Only slices copied 16 bytes at a time qualify; the others (tap-major conv weights, odd widths)
        // stay synchronous copies into one buffer at the top of each trip, as before.
        List<Instr.LoadWeight> prefetched = new ArrayList<>();
        List<Instr.LoadWeight> synchronous = new ArrayList<>();
        if (pipeline && c.tileN() == 1 && stream != null && stream.extent() / c.streamChunk() >= 2) {
            for (Instr i : loopWeights) {
                Instr.LoadWeight lw = (Instr.LoadWeight) i;
                if (copiesAsync(block, lw, c.streamChunk())) prefetched.add(lw);
                else synchronous.add(lw);
            }
        }
        String note = loopNote;
        if (!prefetched.isEmpty()) {
            List<String> names = new ArrayList<>();
            for (Instr.LoadWeight lw : prefetched) {
                Buffer two = lw.dst().withStages(2);
                buffers.set(buffers.indexOf(lw.dst()), two);
                stagedWeights.put(lw.weight(), two);
                names.add(two.name());
            }
            note = String.join(", ", names) + " double-buffered: chunk e0 is computed from one copy while chunk e0+"
                    + c.streamChunk() + " is copied into the other (cp.async)";
            // Everything staged before the loop becomes one group of async copies, chunk 0's slices a second: the
            // wait before the first barrier lets chunk 0 stay in flight while the layers before the loop compute.
            List<Instr> pre = new ArrayList<>();
            for (Instr i : body) {
                pre.add(switch (i) {
                    case Instr.Load l when loadVectorizable(block, l) -> new Instr.Load(l.dst(), l.tensor(), true);
                    case Instr.LoadWeight lw when copiesAsync(block, lw, c.streamChunk()) ->
                            new Instr.LoadWeight(lw.dst(), lw.weight(), lw.rows(), lw.cols(), false, true);
                    default -> i;
                });
            }
            body.clear();
            body.addAll(pre);
            if (pre.stream().anyMatch(Lowering::isAsync)) body.add(new Instr.AsyncCommit());
            for (Instr.LoadWeight lw : prefetched) {
                body.add(lw.firstChunkInto(stagedWeights.get(lw.weight())));
            }
            body.add(new Instr.AsyncCommit());
            body.add(new Instr.AsyncWait(1));
            // The loop: prefetch the next chunk, then the synchronous copies, then wait for the current chunk.
            loopWeights.clear();
            for (Instr.LoadWeight lw : prefetched) loopWeights.add(lw.nextChunkInto(stagedWeights.get(lw.weight())));
            loopWeights.addAll(synchronous);
            loopWeights.add(new Instr.AsyncCommit());
            loopWeights.add(new Instr.AsyncWait(1));
        }
        onChip.putAll(stagedWeights);
        if (!body.isEmpty()) body.add(new Instr.Barrier());

        Layer last = layers.getLast();
        int registers = BASE_REGISTERS;
        // "halo recompute": the producer of such a tensor is never stored; its consumers evaluate it inline.
        Map<String, Layer> recomputed = new LinkedHashMap<>();
        for (Layer layer : layers) {
            PlanSpec.Placement p = c.places().get(layer.out().name());
            if (p == null || p.haloMode() != PlanSpec.HaloMode.RECOMPUTE) continue;
            boolean local = !(layer.main() instanceof Op.Conv2d) && !(layer.main() instanceof Op.LayerNorm);
            boolean consumersOk = block.consumers(layer.out().name()).stream().allMatch(op -> op instanceof Op.Conv2d);
            if (!local || !consumersOk || layer == last) {
                return refuse(p.span(), "'halo recompute' needs '" + layer.out().name() + "' to be produced by a "
                                + "pointwise or elementwise layer and read only by convs",
                        "use 'halo " + p.halo() + " stage'");
            }
            recomputed.put(layer.out().name(), layer);
        }
        if (!recomputed.isEmpty()) registers += RECOMPUTE_REGISTERS;
        List<Instr> loopBody = new ArrayList<>(loopWeights);
        if (!loopWeights.isEmpty()) loopBody.add(new Instr.Barrier());
        Buffer accumulator = null;
        // The in-loop layer whose chunk stays in registers, feeding the reducer's mma directly (see Instr.Chain).
        Instr.Compute chained = null;
        for (Layer layer : layers) {
            Activation out = layer.out();
            if (recomputed.containsKey(out.name())) continue;
            List<Layer> inlined = layer.inputs().stream().filter(a -> recomputed.containsKey(a.name()))
                    .map(a -> recomputed.get(a.name())).toList();
            boolean inLoop = stream != null && stream.inLoop().contains(layer.index());
            boolean isReducer = stream != null && stream.reducer() == layer.index();
            int channels = inLoop ? c.streamChunk() : out.channels();
            int r = halo.getOrDefault(out.name(), 0);
            List<Instr> target = inLoop ? loopBody : body;
            Instr.Channels outChannels = inLoop ? Instr.Channels.chunk("e0", channels) : Instr.Channels.all(channels);
            PlanSpec.Placement p = c.places().get(out.name());

            if (p != null && p.space() == Space.GLOBAL) {
                return refuse(p.span(), "a fused kernel keeps every intermediate on chip; placing '" + out.name()
                        + "' in global memory would split it into two kernels, which tmc does not do yet",
                        "place '" + out.name() + "' in shared, or use a separate plan");
            }
            if (isReducer) {
                // acc[pixel, c] += sum over the chunk of input channels; finished after the loop.
                Instr.MathPath accPath = loopMathPath(layer, c.math(), stream, c.streamChunk());
                boolean chain = chained != null;
                // On tensor cores each warp holds whole m16n8 tile blocks, which can be more than an even share; a
                // chained product needs whole rows (the warp that made a pixel's chunk accumulates its outputs).
                MmaTiling tiling = accPath != Instr.MathPath.TENSOR_CORE ? null
                        : chain ? MmaTiling.rows(c.tilePixels(), out.channels(), c.warps())
                        : MmaTiling.of(c.tilePixels(), out.channels(), c.warps());
                int perThread = tiling != null ? tiling.registers() : ceilDiv(c.tilePixels() * out.channels(), threads);
                // Each further block a warp owns is unrolled next to the first: its A and B fragments and addresses
                // are live at the same time (calibrated against ptxas on random blocks: without this, warps with
                // three or four blocks spill).
                if (tiling != null) registers += (tiling.perWarp() - 1) * EXTRA_BLOCK_REGISTERS;
                // A chain whose input is already in registers (a conv's A fragments) hoists nothing more.
                if (chain && !Instr.Chain.inputInFragments(chained)) registers += chainRegisters(chained.layer(), c.streamChunk());
                accumulator = withRegisterSize(activationBuffer(out, out.name() + "_acc", Space.REGISTERS, DType.F32,
                        0, c.tileH(), c.tileW(), out.channels(), originOf(p, out)), perThread);
                buffers.add(accumulator);
                registers += perThread;
                Buffer input = onChip.get(layer.mainInput().name());
                Instr.Accumulate acc = new Instr.Accumulate(layer, accumulator, input,
                        Instr.Channels.chunk("e0", c.streamChunk()), accPath);
                loopBody.add(chain ? new Instr.Chain(chained, acc, chainGroup(c, chained.out().count())) : acc);
                loopBody.add(new Instr.Barrier());
                Instr.Loop loop = new Instr.Loop("e0", c.streamDim(), stream.extent(), c.streamChunk(), loopBody,
                        loopWeights.isEmpty() ? null : note);
                body.add(loop);
                // The epilogue runs in place in the accumulator unless a later layer reads the result.
                boolean consumedLater = !block.consumers(out.name()).isEmpty();
                boolean shared = consumedLater || (p != null && p.space() == Space.SHARED);
                Buffer dst = shared ? outputBuffer(layer, c, threads, buffers, p, block) : accumulator;
                body.add(new Instr.Finish(layer, accumulator, dst, Map.copyOf(onChip)));
                if (dst.space() == Space.SHARED) body.add(new Instr.Barrier());
                onChip.put(out.name(), dst);
                continue;
            }
            if (layer == last || out.kind() == Activation.Kind.OUTPUT) {
                Buffer dst = outputBuffer(layer, c, threads, buffers, p, block);
                if (dst.space() == Space.REGISTERS) registers += registerCount(dst);
                target.add(new Instr.Compute(layer, dst, 0, outChannels, Map.copyOf(onChip), fusedMathPath(layer, c, stream)));
                if (dst.space() == Space.SHARED) target.add(new Instr.Barrier());
                onChip.put(out.name(), dst);
                continue;
            }
            if (inLoop && (p == null ? chainByDefault : p.space() == Space.REGISTERS)) {
                // Kept in registers when it can be (the default for an unplaced chunk), else staged in shared below.
                String why = chainRefusal(block, layers, stream, c, layer, r, onChip);
                if (why == null) {
                    Buffer frag = withRegisterSize(activationBuffer(out, out.name() + "_frag", Space.REGISTERS, out.dtype(),
                            0, c.tileH(), c.tileW(), channels, originOf(p, out)),
                            8 * chainGroup(c, channels));
                    chained = new Instr.Compute(layer, frag, 0, outChannels, Map.copyOf(onChip), Instr.MathPath.TENSOR_CORE);
                    onChip.put(out.name(), frag);
                    continue;
                }
                if (p != null) {
                    return refuse(p.span(), "'" + out.name() + "' can stay in registers only when the warp that computes a "
                            + "pixel's chunk also consumes it on tensor cores: " + why, "place '" + out.name() + "' in shared");
                }
            }
            if (!inLoop && layer.main() instanceof Op.Conv2d && (p == null ? chainByDefault : p.space() == Space.REGISTERS)) {
                // A conv before the loop whose only reader is the chained pointwise layer: each warp convolves its own
                // row tile and keeps the result as that layer's A fragments (no shared tile, no barrier).
                String why = convFragmentsRefusal(block, layers, stream, c, layer, halo, onChip, chainByDefault);
                if (why == null) {
                    Buffer frag = fragmentBuffer(out, originOf(p, out), c);
                    buffers.add(frag);
                    // All channels / 4 registers stay live through the loop, less the 8 of A fragments BASE_REGISTERS
                    // counts for the shared path's loads in flight (calibrated against ptxas, sm_80 and sm_90, C = 64
                    // and 128, 4 to 8 warps: C = 128 kept 20 to 35 registers more than the shared path).
                    registers += out.channels() / 4 - 8;
                    body.add(new Instr.Compute(layer, frag, 0, outChannels, Map.copyOf(onChip), Instr.MathPath.TENSOR_CORE));
                    onChip.put(out.name(), frag);
                    continue;
                }
                if (p != null) {
                    return refuse(p.span(), "'" + out.name() + "' can stay in registers only as the A fragments of the "
                            + "chained pointwise layer that reads it: " + why, "place '" + out.name() + "' in shared");
                }
            }
            if (p != null && p.space() == Space.REGISTERS) {
                return refuse(p.span(), "'" + out.name() + "' is read by other threads of the block ("
                                + readersOf(block, out) + "), so it cannot stay in one thread's registers on this path",
                        "place '" + out.name() + "' in shared");
            }
            Buffer dst = activationBuffer(out, out.name() + "_s", Space.SHARED, out.dtype(), r, c.tileH(), c.tileW(),
                    channels, originOf(p, out));
            buffers.add(dst);
            // Inline producers are evaluated per element, which only the CUDA-core path does.
            Instr.MathPath path = inlined.isEmpty() ? fusedMathPath(layer, c, stream) : Instr.MathPath.CUDA_CORE;
            target.add(new Instr.Compute(layer, dst, r, outChannels, Map.copyOf(onChip), path, inlined));
            target.add(new Instr.Barrier());
            onChip.put(out.name(), dst);
        }
        Activation output = last.out();
        Buffer result = onChip.get(output.name());
        body.add(new Instr.Store(result, output.name(), storeStaging(block, body, buffers, result, output, c)));
        String name = block.name() + "_" + planName;
        List<Instr> kernelBody = c.tileN() > 1 ? imageLoop(block, body, buffers, c.tileN(), pipeline) : body;
        if (c.math() == PlanSpec.MathKind.WGMMA) {
            Result why = wgmmaRefusal(kernelBody, c, planSpan);
            if (why != null) return why;
            Map<Buffer, Buffer> core = new java.util.HashMap<>();
            for (Instr.Chain ch : chains(kernelBody)) {
                for (tmc.check.Weight wt : wgmmaWeights(ch)) {
                    for (Buffer b : buffers) {
                        if (b.space() == Space.SHARED && b.tensor().equals(wt.name())) core.put(b, b.asCoreMatrices());
                    }
                }
            }
            buffers.replaceAll(b -> core.getOrDefault(b, b));
            kernelBody = kernelBody.stream().map(i -> withBuffers(i, core)).toList();
        }
        return new Result.Ok(List.of(new Kernel(name, c.tileN(), c.tileH(), c.tileW(), threads, c.math(), layers, buffers,
                kernelBody, registers).withResidentBlocks(c.residentBlocks())));
    }

    /**
     * A block that computes {@code images} images one after another: the weights staged at the top of the body (and
     * a stream loop's slices when the loop has a single trip, so that its "chunk" is the whole weight) move before
     * an {@link Instr.ImageLoop}, which runs the rest once per image and ends with a barrier (the next image writes
     * the buffers this one read last). Expects the synchronous body of {@code fused} (no cp.async).
     */
    static List<Instr> imageLoop(TypedBlock block, List<Instr> body, List<Buffer> buffers, int images, boolean prefetch) {
        List<Instr> once = new ArrayList<>();
        List<Instr> perImage = new ArrayList<>();
        for (Instr i : body) {
            switch (i) {
                case Instr.LoadWeight lw -> once.add(lw);
                case Instr.Loop l when l.trips() == 1 -> {
                    List<Instr> loopBody = new ArrayList<>();
                    boolean hoisted = false;
                    for (Instr li : l.body()) {
                        if (li instanceof Instr.LoadWeight lw) {
                            once.add(new Instr.LoadWeight(lw.dst(), lw.weight(), whole(lw.rows()), whole(lw.cols()),
                                    lw.tapMajor(), false));
                            hoisted = true;
                        } else if (hoisted && li instanceof Instr.Barrier && loopBody.isEmpty()) {
                            // the barrier after the slices' copies: the image's first barrier covers them now
                        } else {
                            loopBody.add(li);
                        }
                    }
                    perImage.add(new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), loopBody, null));
                }
                default -> perImage.add(i);
            }
        }
        if (!(perImage.getLast() instanceof Instr.Barrier)) perImage.add(new Instr.Barrier());
        // The image's input tiles and the barrier after them, at the top of the per-image body.
        int loads = 0;
        while (loads < perImage.size() && perImage.get(loads) instanceof Instr.Load) loads++;
        boolean canPrefetch = prefetch && loads > 0 && loads < perImage.size()
                && perImage.get(loads) instanceof Instr.Barrier
                && perImage.subList(0, loads).stream().allMatch(i -> loadVectorizable(block, (Instr.Load) i));
        if (canPrefetch) {
            // Two copies of each input tile: image n is computed from copy n % 2 while image n + 1 is copied into
            // the other (cp.async). The first image's tile is copied before the loop. At the top of each image:
            // issue the next image's copies, commit, wait until only they may be in flight, barrier. The barrier
            // that ends each image keeps the next image's copies out of the copy that image still read.
            List<Instr> head = new ArrayList<>();
            List<Instr> first = new ArrayList<>();
            for (Instr i : perImage.subList(0, loads)) {
                Instr.Load l = (Instr.Load) i;
                Buffer two = l.dst().withStages(2);
                buffers.set(buffers.indexOf(l.dst()), two);
                first.add(new Instr.Load(two, l.tensor(), true, Instr.Load.Image.FIRST));
                head.add(new Instr.Load(two, l.tensor(), true, Instr.Load.Image.NEXT));
            }
            head.add(new Instr.AsyncCommit());
            head.add(new Instr.AsyncWait(1));
            head.add(new Instr.Barrier());
            List<Instr> rest = new ArrayList<>(head);
            rest.addAll(perImage.subList(loads + 1, perImage.size()));
            perImage = rest;
            once.addAll(first);
            once.add(new Instr.AsyncCommit());
        }
        // Before the first image reads them, the staged weights must be visible: the per-image body has a barrier
        // before its first compute, which covers them.
        List<Instr> out = new ArrayList<>(once);
        out.add(new Instr.ImageLoop(images, perImage));
        return out;
    }

    /** A range starting at the loop variable of a single-trip loop is the whole range: no loop variable. */
    private static Instr.Channels whole(Instr.Channels ch) {
        return ch.streamed() ? new Instr.Channels(null, ch.start(), ch.count()) : ch;
    }

    /**
     * A shared buffer the store of mma accumulators can pass through (see Instr.Store#staging), or null: an
     * activation buffer of the output's 16-bit type, large enough for the tile with rows padded by 16 bytes, whose
     * last reader is the stream loop (which ends with a barrier), while the instructions after the loop (the
     * accumulator's epilogue) do not read it.
     */
    static Buffer storeStaging(TypedBlock block, List<Instr> body, List<Buffer> buffers, Buffer result, Activation output,
                               Choices c) {
        if (result.space() != Space.REGISTERS || !(body.getLast() instanceof Instr.Finish fin) || fin.dst() != result) {
            return null;
        }
        // The stream loop right before the epilogue: nothing between its last barrier and the epilogue.
        if (body.size() < 2 || !(body.get(body.size() - 2) instanceof Instr.Loop loop)) return null;
        boolean fragments = loop.body().stream().anyMatch(i -> i instanceof Instr.Chain
                || i instanceof Instr.Accumulate a && a.acc() == result && a.math() == Instr.MathPath.TENSOR_CORE);
        if (!fragments || !(loop.body().getLast() instanceof Instr.Barrier)) return null;
        DType dt = block.storageFor(output);
        if (dt.bytes != 2 || output.channels() % 8 != 0) return null;
        long need = (long) c.tilePixels() * (output.channels() + ROW_PAD_BYTES / dt.bytes) * dt.bytes;
        java.util.Set<String> readAfter = new java.util.HashSet<>();
        for (Activation a : fin.layer().epilogueInputs()) readAfter.add(a.name());
        for (Buffer b : buffers) {
            boolean activation = block.activation(b.tensor()).isPresent();
            if (b.space() == Space.SHARED && b.stages() == 1 && activation && b.dtype() == dt && b.bytes() >= need
                    && !readAfter.contains(b.tensor())) {
                return b;
            }
        }
        // Else a weight slice the loop stages afresh every trip (both copies when double-buffered): nothing reads it
        // after the loop's last barrier. Not with several images per block: their loop may run before the image loop.
        if (c.tileN() > 1) return null;
        java.util.Set<String> streamed = new java.util.HashSet<>();
        for (Instr i : loop.body()) if (i instanceof Instr.LoadWeight lw) streamed.add(lw.dst().name());
        for (Buffer b : buffers) {
            if (b.space() == Space.SHARED && streamed.contains(b.name()) && b.dtype() == dt && b.bytes() >= need) return b;
        }
        return null;
    }

    /**
     * The k16 steps per slice of a chain (Instr.Chain#group): its default ({@link Instr.Chain#sliceGroup}), or one
     * where the choices ask for narrow slices. The producer holds two m16n8 C fragments (8 floats per lane) per step.
     */
    static int chainGroup(Choices c, int chunk) {
        return c.narrowSlices() ? 1 : Instr.Chain.sliceGroup(chunk);
    }

    /**
     * Registers a chain needs besides the accumulators and {@link #BASE_REGISTERS} (which already hold one set of
     * fragments): the hoisted A fragments of a pointwise producer, about half of which ptxas keeps live at once
     * (calibrated against ptxas on the samples and random blocks; the slice itself replaces the shared-path
     * fragments).
     */
    static int chainRegisters(Layer producer, int chunk) {
        return switch (producer.main()) {
            case Op.Pointwise pw -> Instr.Chain.hoistsInput(pw.in().channels(), chunk) ? pw.in().channels() / 8 : 0;
            // The tap loop of both groups of a slice is unrolled: its A and B fragments are live together.
            case Op.Conv2d cv -> CHAIN_CONV_REGISTERS;
            case null, default -> 0;
        };
    }

    /** See {@link #chainRegisters}: calibrated on MBConv (at 128 registers ptxas spilled 4 bytes). */
    static final int CHAIN_CONV_REGISTERS = 16;

    /**
     * Why the in-loop layer {@code layer} cannot keep its chunk in registers and feed the reducer's mma directly
     * (see {@link Instr.Chain}), or null when it can.
     */
    static String chainRefusal(TypedBlock block, List<Layer> layers, Stream stream, Choices c, Layer layer, int halo,
                               Map<String, Buffer> onChip) {
        Activation out = layer.out();
        Layer reducer = layers.get(stream.reducer() - 1);
        if (reducer.mainInput() == null || !reducer.mainInput().name().equals(out.name())
                || block.consumers(out.name()).size() != 1) {
            return "it is read by " + readersOf(block, out) + ", not only by the projection that sums the chunks";
        }
        if (halo > 0) return "a conv reads it with a halo of " + halo + " (neighbouring pixels belong to other warps)";
        if (c.math() == PlanSpec.MathKind.CUDA_CORE
                || loopMathPath(reducer, c.math(), stream, c.streamChunk()) != Instr.MathPath.TENSOR_CORE) {
            return "the projection at line " + reducer.span().line() + " does not run on tensor cores here";
        }
        boolean producerOnTensorCores = switch (layer.main()) {
            case Op.Pointwise pw -> {
                Buffer in = onChip.get(pw.in().name());
                yield loopMathPath(layer, c.math(), stream, c.streamChunk()) == Instr.MathPath.TENSOR_CORE && in != null
                        && in.channels() == pw.in().channels()
                        && (in.space() == Space.SHARED || in.layout() == Buffer.Layout.A_FRAGMENTS);
            }
            case Op.Conv2d cv -> (fusedMathPath(layer, c, stream) == Instr.MathPath.TENSOR_CORE || chainsDepthwise(cv, c, layer))
                    && onChip.get(cv.in().name()) != null && onChip.get(cv.in().name()).space() == Space.SHARED;
            case null, default -> false;
        };
        if (!producerOnTensorCores) {
            return "line " + layer.span().line() + " does not compute it on tensor cores from a tile in shared memory";
        }
        if (c.streamChunk() % 16 != 0) return "the chunk of " + c.streamChunk() + " channels is not a multiple of 16";
        tmc.check.Weight w = mmaWeight(reducer);
        if (out.dtype().bytes != 2 || w == null || w.dtype() != out.dtype()) {
            return "it is " + out.dtype().keyword + " and the projection's weight " + (w == null ? "is missing"
                    : "is " + w.dtype().keyword) + " (the mma takes both as the same 16-bit type)";
        }
        int rowTiles = ceilDiv(c.tilePixels(), 16);
        if (rowTiles < c.warps()) {
            return "the tile has " + rowTiles + " row" + (rowTiles == 1 ? "" : "s") + " of 16 pixels for " + c.warps()
                    + " warps (each warp owns whole rows)";
        }
        return null;
    }

    /**
     * Why the conv of {@code layer}, before the stream loop, cannot leave its result in registers as the A fragments
     * of the chained pointwise layer that reads it ({@link Buffer.Layout#A_FRAGMENTS}), or null when it can. Each warp
     * then convolves its own row tile of 16 pixels over every group, which is the row tile it owns in the chain; the
     * tile's shared buffer, its stores, the chain's ldmatrix of it and a barrier go away.
     */
    static String convFragmentsRefusal(TypedBlock block, List<Layer> layers, Stream stream, Choices c, Layer layer,
                                       Map<String, Integer> halo, Map<String, Buffer> onChip, boolean chainByDefault) {
        Activation out = layer.out();
        if (!(layer.main() instanceof Op.Conv2d cv) || cv.groupWidth() != 8
                || mathPath(layer, c.math()) != Instr.MathPath.TENSOR_CORE) {
            return "line " + layer.span().line() + " does not compute it on tensor cores (a conv of group width 8)";
        }
        int r = halo.getOrDefault(out.name(), 0);
        if (r > 0) return "a conv reads it with a halo of " + r + " (neighbouring pixels belong to other warps)";
        Buffer in = onChip.get(cv.in().name());
        if (in == null || in.space() != Space.SHARED) return "its input '" + cv.in().name() + "' is not staged in shared memory";
        if (stream == null) return "the plan streams no channel dimension, so no chain reads it";
        List<Layer> readers = layers.stream()
                .filter(l -> l.inputs().stream().anyMatch(a -> a.name().equals(out.name()))).toList();
        Layer reader = readers.size() == 1 ? readers.getFirst() : null;
        if (reader == null || block.consumers(out.name()).size() != 1 || !(reader.main() instanceof Op.Pointwise pw)
                || !pw.in().name().equals(out.name()) || !stream.inLoop().contains(reader.index())) {
            return "it is read by " + readersOf(block, out) + ", not only as the input of a pointwise layer in the stream loop";
        }
        PlanSpec.Placement rp = c.places().get(reader.out().name());
        if (rp == null ? !chainByDefault : rp.space() != Space.REGISTERS) {
            return "'" + reader.out().name() + "', which reads it, is not kept in registers";
        }
        if (out.channels() % 16 != 0) return "it has " + out.channels() + " channels, not a multiple of 16 (one k16 step each)";
        if (out.dtype().bytes != 2 || pw.weight().dtype() != out.dtype()) {
            return "it is " + out.dtype().keyword + " and '" + pw.weight().name() + "' is " + pw.weight().dtype().keyword
                    + " (the mma takes both as the same 16-bit type)";
        }
        if (!Instr.Chain.hoistsInput(out.channels(), c.streamChunk())) {
            return "it has " + out.channels() + " channels (at most " + Instr.Chain.HOISTED_INPUT_CHANNELS
                    + " stay in registers, with a chunk of at most two groups)";
        }
        // Calibrated against ptxas (sm_80, sm_90; C = 64 and 128; 4 to 8 warps): with two groups per chunk the
        // fragments cost what the reloaded ones did; with one, the loop keeps more live and 128 registers spilled.
        // (The default group, whatever the chain's own: narrow slices under a 'resident' cap, Choices#narrowSlices,
        // take the same hoisted fragments four slices a chunk, rolled; ptxas fits ConvFirst's rows at 80 registers.)
        int group = 16 * Instr.Chain.sliceGroup(c.streamChunk());
        if (c.streamChunk() != 2 * group) {
            return "the chunk of " + c.streamChunk() + " channels is not two groups of " + group
                    + " (with fewer, the fragments would not fit the registers; 'stream " + c.streamDim() + " by "
                    + 2 * group + "' would)";
        }
        int rowTiles = ceilDiv(c.tilePixels(), 16);
        if (rowTiles != c.warps()) {
            return "the tile has " + rowTiles + " row" + (rowTiles == 1 ? "" : "s") + " of 16 pixels for " + c.warps()
                    + " warps (each warp convolves exactly one)";
        }
        Map<String, Buffer> withFragments = new LinkedHashMap<>(onChip);
        withFragments.put(out.name(), fragmentBuffer(out, out.span(), c));
        String why = chainRefusal(block, layers, stream, c, reader, halo.getOrDefault(reader.out().name(), 0), withFragments);
        return why == null ? null : "line " + reader.span().line() + " cannot keep its chunk in registers: " + why;
    }

    /** The A fragments of a 16-bit activation in registers: channels / 16 k16 steps of 4 registers per lane. */
    static Buffer fragmentBuffer(Activation a, Span origin, Choices c) {
        return new Buffer(a.name() + "_frag", a.name(), Space.REGISTERS, a.dtype(), 0, c.tilePixels(), a.channels(),
                a.channels() / 4, (long) c.tilePixels() * a.channels() * a.dtype().bytes, origin, 1, Buffer.Layout.A_FRAGMENTS);
    }

    /** Where the last layer's result goes before the store: registers unless the plan placed it in shared. */
    private static Buffer outputBuffer(Layer layer, Choices c, int threads, List<Buffer> buffers,
                                       PlanSpec.Placement p, TypedBlock block) {
        Activation out = layer.out();
        boolean consumedLater = !block.consumers(out.name()).isEmpty();
        // A layer computed on tensor cores holds its result in mma fragments, not in the per-thread element
        // mapping of register buffers: it is written to shared memory and stored from there.
        boolean onTensorCores = fusedMathPath(layer, c, null) == Instr.MathPath.TENSOR_CORE;
        Space space = consumedLater || onTensorCores || (p != null && p.space() == Space.SHARED)
                ? Space.SHARED : Space.REGISTERS;
        Buffer b = activationBuffer(out, out.name() + (space == Space.SHARED ? "_s" : "_r"), space, out.dtype(), 0,
                c.tileH(), c.tileW(), out.channels(), originOf(p, out));
        if (space == Space.REGISTERS) b = withRegisterSize(b, ceilDiv(c.tilePixels() * out.channels(), threads));
        buffers.add(b);
        return b;
    }

    private static int registerCount(Buffer b) {
        // Register buffers store their per-thread element count in rowStride (see withRegisterSize); an f16
        // value still takes a 32-bit register until it is packed for the store.
        return b.rowStride();
    }

    private static String readersOf(TypedBlock block, Activation a) {
        return String.join(", ", block.consumers(a.name()).stream()
                .map(op -> op.getClass().getSimpleName().toLowerCase() + " at line " + op.span().line()).toList());
    }

    // ---- regions: how far beyond the tile each activation must be known -----------------------

    /** Halo radius per activation: outputs need the tile; a k x k conv needs its input on tile + k/2. */
    public static Map<String, Integer> regions(TypedBlock block, List<Layer> layers) {
        Map<String, Integer> halo = new HashMap<>();
        for (int i = layers.size() - 1; i >= 0; i--) {
            Layer l = layers.get(i);
            int r = halo.getOrDefault(l.out().name(), 0);
            for (Activation in : l.inputs()) {
                boolean isMainInput = l.mainInput() != null && l.mainInput().name().equals(in.name());
                int need = r + (isMainInput ? l.inputHalo() : 0);
                halo.merge(in.name(), need, Math::max);
            }
        }
        return halo;
    }

    // ---- streaming ------------------------------------------------------------------------------

    /** The layers computed per chunk, and the pointwise layer that sums over the chunks. */
    record Stream(int extent, List<Integer> inLoop, int reducer) {}

    private static Object streamStructure(List<Layer> layers, int extent, int chunk, String dim, Span planSpan) {
        List<Integer> inLoop = new ArrayList<>();
        int reducer = -1;
        for (Layer l : layers) {
            if (reducer < 0 && l.out().channels() == extent && !(l.main() instanceof Op.Pointwise p
                    && p.in().channels() == extent)) {
                if (l.main() instanceof Op.LayerNorm) {
                    return refuse(l.span(), "cannot stream " + dim + ": the layernorm at line " + l.span().line()
                            + " needs all " + extent + " channels at once", "remove 'stream " + dim + "'");
                }
                if (l.main() instanceof Op.Conv2d conv) {
                    if (conv.in().channels() != extent || chunk % conv.groupWidth() != 0) {
                        return refuse(l.span(), "cannot stream " + dim + " by " + chunk + ": the conv at line "
                                        + l.span().line() + " has groups of " + conv.groupWidth()
                                        + " channels, which a chunk must not split",
                                "use a chunk that is a multiple of " + conv.groupWidth());
                    }
                }
                inLoop.add(l.index());
            } else if (reducer < 0 && l.main() instanceof Op.Pointwise p && p.in().channels() == extent
                    && !inLoop.isEmpty()) {
                reducer = l.index();
            } else if (reducer >= 0) {
                for (Activation a : l.inputs()) {
                    for (int idx : inLoop) {
                        if (layers.get(idx - 1).out().name().equals(a.name())) {
                            return refuse(l.span(), "cannot stream " + dim + ": line " + l.span().line()
                                    + " reads '" + a.name() + "' after the chunks are gone", "remove 'stream " + dim + "'");
                        }
                    }
                }
            }
        }
        if (inLoop.isEmpty() || reducer < 0) {
            return refuse(planSpan, "cannot stream " + dim + ": no pointwise layer sums over the " + extent
                    + " channels that the layers before it produce", "stream the expanded dimension that a "
                    + "pointwise projection reduces, or remove 'stream'");
        }
        return new Stream(extent, inLoop, reducer);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static boolean isAsync(Instr i) {
        return i instanceof Instr.Load l && l.async() || i instanceof Instr.LoadWeight lw && lw.async();
    }

    /**
     * Whether a weight slice is copied with cp.async (for double buffering and refills): 16-byte pieces, and not the
     * tap-major transposition of a depthwise weight, which is copied 2 bytes at a time.
     */
    static boolean copiesAsync(TypedBlock block, Instr.LoadWeight lw, int chunk) {
        return !lw.tapMajor() && vectorizable(block, lw, chunk);
    }

    /**
     * Whether a weight slice is copied in 16-byte pieces (what cp.async.cg copies): whole 16-byte runs in every
     * row of the slice, of the weight, and of the padded shared row, starting at a multiple of 16 bytes.
     */
    static boolean vectorizable(TypedBlock block, Instr.LoadWeight lw, int chunk) {
        tmc.check.Weight wt = block.weight(lw.weight()).orElseThrow();
        int vec = 16 / lw.dst().dtype().bytes;
        int cols = (int) (wt.elements() / wt.dims().getFirst());
        return wt.dtype() == lw.dst().dtype() && lw.cols().count() % vec == 0 && cols % vec == 0
                && lw.dst().rowStride() % vec == 0 && lw.cols().start() % vec == 0 && chunk % vec == 0;
    }

    /** Whether an activation tile is copied in 16-byte pieces: whole 16-byte runs of channels per pixel. */
    static boolean loadVectorizable(TypedBlock block, Instr.Load l) {
        Activation a = block.activation(l.tensor()).orElseThrow();
        int vec = 16 / l.dst().dtype().bytes;
        return block.storageFor(a) == l.dst().dtype() && a.channels() % vec == 0 && l.dst().rowStride() % vec == 0;
    }

    /** The unit a layer runs on when it computes all of its output channels from all of its inputs. */
    static Instr.MathPath mathPath(Layer layer, PlanSpec.MathKind math) {
        return layer.main() instanceof Op.Pointwise p ? mathPath(layer, math, p.out().channels(), p.in().channels())
                : mathPath(layer, math, 0, 0);
    }

    /**
     * The unit a layer runs on when one instruction computes {@code n} output channels from {@code k} input
     * channels (a stream chunk is either). A pointwise layer uses mma.sync m16n8k16 only when both are multiples of
     * 16: the emitter loads B fragments for two n8 tiles at a time and steps K by 16, so any remainder would be
     * left out. Pixels (M) need no multiple of 16: the emitter pads the last row tile and discards its rows.
     */
    static Instr.MathPath mathPath(Layer layer, PlanSpec.MathKind math, int n, int k) {
        if (math == PlanSpec.MathKind.CUDA_CORE) return Instr.MathPath.CUDA_CORE;
        if (layer.main() instanceof Op.Conv2d c) {
            // A group of 8 input and 8 output channels is one m16n8k8 tile per tap (16 pixels x 8 outputs x 8
            // inputs); depthwise and other widths stay on CUDA cores, but a depthwise conv may go on tensor cores
            // as a register chain's producer (chainsDepthwise) or where the plan asks ('math tensor_core for T',
            // fusedMathPath).
            boolean groupOf8 = c.groupWidth() == 8 && c.out().channels() / c.groups() == 8;
            return groupOf8 ? Instr.MathPath.TENSOR_CORE : Instr.MathPath.CUDA_CORE;
        }
        if (!(layer.main() instanceof Op.Pointwise)) return Instr.MathPath.CUDA_CORE;
        return n % 16 == 0 && k % 16 == 0 && n > 0 && k > 0 ? Instr.MathPath.TENSOR_CORE : Instr.MathPath.CUDA_CORE;
    }

    /**
     * Why a depthwise conv computing {@code channels} output channels at a time (all of them, or a stream chunk) cannot
     * run on tensor cores, or null when it can: each group of 8 channels as a group-width-8 conv whose 8x8 B per tap is
     * diagonal, one m16n8k8 per tap and row tile of 16 pixels, f32 accumulation (the products of two 16-bit values are
     * exact in f32 and the zeros add nothing). Seven of the eight products are zeros, which the tensor cores have the
     * throughput for; what decides the speed is where the result goes ({@link #chainsDepthwise}). B's one nonzero per
     * lane comes from the staged tap-major weight slice ({@link #tapMajorBuffer}) by a 32-bit load and a mask.
     */
    static String depthwiseTensorCoreRefusal(Op.Conv2d conv, int channels, Choices c, Layer layer) {
        if (!conv.isDepthwise()) return "it is not a depthwise conv";
        if (channels % 8 != 0) return "it computes " + channels + " channels at a time, not a multiple of 8 (one m16n8k8 per 8)";
        DType in = conv.in().dtype(), wt = conv.weight().dtype();
        if (in.bytes != 2 || wt != in) {
            return "its input is " + in.keyword + " and its weight " + wt.keyword + " (the mma takes both as the same 16-bit type)";
        }
        if (!tapMajorFits(conv, channels)) {
            return "its weight slice (" + tapMajorBuffer(conv, channels).bytes() + " B) is larger than the "
                    + TAP_MAJOR_LIMIT_BYTES + " B staged for a conv";
        }
        if (inGlobal(conv.weight(), c)) return "the plan keeps '" + conv.weight().name() + "' in global memory";
        if (recomputedInput(layer, c)) return "the plan recomputes its input inline (halo recompute)";
        return null;
    }

    /**
     * Whether an in-loop depthwise conv that the plan leaves to the default unit feeds a register chain on tensor
     * cores when the chain applies otherwise: there its result never goes through shared memory, which paid on the
     * H100 (MBConvDW in MBConv's 'rows' geometry 1.16x faster than the sample's 'fused'), while a tensor-core conv
     * into a shared tile lost to the register-blocked CUDA-core conv (MBConvDW 0.81x, ConvNeXt 0.92x: each tap's A
     * fragments are read again from shared memory, four times the bytes per product; docs/benchmarks.md, twentieth
     * session). 'math cuda_core for T' keeps it on CUDA cores (and out of the chain).
     */
    static boolean chainsDepthwise(Op.Conv2d conv, Choices c, Layer layer) {
        return conv.isDepthwise() && !c.layerMath().containsKey(layer.out().name())
                && depthwiseTensorCoreRefusal(conv, c.streamChunk(), c, layer) == null;
    }

    /**
     * Whether a conv's weight slice is staged tap-major ({@link Instr.LoadWeight#tapMajor}): convs on CUDA cores, and
     * depthwise convs on tensor cores (which build B from it).
     */
    static boolean stagesTapMajor(Op.Conv2d conv, Instr.MathPath path) {
        return path == Instr.MathPath.CUDA_CORE || conv.isDepthwise();
    }

    /**
     * The unit a layer of a fused kernel runs on: {@link #loopMathPath} in the stream loop, else {@link #mathPath};
     * a depthwise conv the plan moves to tensor cores ('math tensor_core for T', {@link Choices#layerMath}) runs there
     * ({@link #depthwiseTensorCoreRefusal}: the lowering refuses the plan first where it cannot).
     */
    static Instr.MathPath fusedMathPath(Layer layer, Choices c, Stream stream) {
        if (layer.main() instanceof Op.Conv2d cv && cv.isDepthwise()) {
            PlanSpec.LayerMath lm = c.layerMath().get(layer.out().name());
            return lm != null && lm.kind() != PlanSpec.MathKind.CUDA_CORE ? Instr.MathPath.TENSOR_CORE
                    : Instr.MathPath.CUDA_CORE;
        }
        boolean loopLayer = stream != null && (stream.inLoop().contains(layer.index()) || stream.reducer() == layer.index());
        return loopLayer ? loopMathPath(layer, c.math(), stream, c.streamChunk()) : mathPath(layer, c.math());
    }

    /** The unit of a pointwise layer inside the stream loop: in-loop layers make a chunk, the reducer sums one. */
    static Instr.MathPath loopMathPath(Layer layer, PlanSpec.MathKind math, Stream stream, int chunk) {
        if (!(layer.main() instanceof Op.Pointwise p)) return mathPath(layer, math);
        if (stream.inLoop().contains(layer.index())) return mathPath(layer, math, chunk, p.in().channels());
        if (stream.reducer() == layer.index()) return mathPath(layer, math, p.out().channels(), chunk);
        return mathPath(layer, math);
    }

    static Buffer activationBuffer(Activation a, String name, Space space, DType dtype, int halo, int tileH,
                                   int tileW, int channels, Span origin) {
        int pixels = (tileH + 2 * halo) * (tileW + 2 * halo);
        int padElems = ROW_PAD_BYTES / dtype.bytes;
        int stride = space == Space.SHARED ? channels + padElems : channels;
        long bytes = Buffer.align16((long) pixels * stride * dtype.bytes);
        return new Buffer(name, a.name(), space, dtype, halo, pixels, channels, stride, bytes, origin);
    }

    /**
     * A shared buffer for a weight slice of {@code rows x cols}; rows are padded so that the eight row
     * addresses of an ldmatrix fall into distinct banks (row stride in 4-byte words = 4 mod 8).
     */
    static Buffer weightBuffer(tmc.check.Weight w, int rows, int cols) {
        int words = cols * w.dtype().bytes / 4;
        int padElems = ((words % 8) == 4) ? 0 : 16 / w.dtype().bytes;
        int stride = cols + padElems;
        long bytes = Buffer.align16((long) rows * stride * w.dtype().bytes);
        return new Buffer(w.name() + "_s", w.name(), Space.SHARED, w.dtype(), 0, rows, cols, stride, bytes, w.span());
    }

    /**
     * Staged CUDA-core conv weights must leave room for the activation tiles: above this size the conv reads
     * its weights from global memory (through L1) instead.
     */
    static final long TAP_MAJOR_LIMIT_BYTES = 24 * 1024;

    static boolean tapMajorFits(Op.Conv2d conv, int channels) {
        return tapMajorBuffer(conv, channels).bytes() <= TAP_MAJOR_LIMIT_BYTES;
    }

    /** A conv weight slice of {@code channels} output channels, stored [k*k][channels * C_in/groups]. */
    static Buffer tapMajorBuffer(Op.Conv2d conv, int channels) {
        tmc.check.Weight w = conv.weight();
        int taps = conv.kernel() * conv.kernel();
        int cols = channels * conv.groupWidth();
        long bytes = Buffer.align16((long) taps * cols * w.dtype().bytes);
        return new Buffer(w.name() + "_s", w.name(), Space.SHARED, w.dtype(), 0, taps, cols, cols, bytes, w.span());
    }

    /** Whether the conv of this layer reads a tensor the plan recomputes inline (its weights stay in global). */
    private static boolean recomputedInput(Layer layer, Choices c) {
        PlanSpec.Placement p = layer.mainInput() == null ? null : c.places().get(layer.mainInput().name());
        return p != null && p.haloMode() == PlanSpec.HaloMode.RECOMPUTE;
    }

    /** Whether the plan places weight {@code w} in global memory ({@code place w in global}). */
    static boolean inGlobal(tmc.check.Weight w, Choices c) {
        PlanSpec.Placement p = c.places().get(w.name());
        return p != null && p.space() == Space.GLOBAL;
    }

    /** The weight a tensor-core layer reads as its B operand, or null. */
    static tmc.check.Weight mmaWeight(Layer layer) {
        return switch (layer.main()) {
            case Op.Pointwise p -> p.weight();
            case Op.Conv2d c -> c.weight();
            case null, default -> null;
        };
    }

    /** A register buffer: each thread holds {@code perThread} elements; bytes counts the whole block. */
    static Buffer withRegisterSize(Buffer b, int perThread) {
        return new Buffer(b.name(), b.tensor(), Space.REGISTERS, b.dtype(), b.halo(), b.pixels(), b.channels(),
                perThread, b.bytes(), b.origin());
    }

    private static Span originOf(PlanSpec.Placement p, Activation a) {
        return p != null ? p.span() : a.span();
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static Result refuse(Span span, String message, String hint) {
        return new Result.Refused(Diagnostic.error(span, message, hint));
    }
}
