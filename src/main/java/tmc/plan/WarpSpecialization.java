package tmc.plan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.check.PlanSpec;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.diag.Diagnostic;
import tmc.diag.Span;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.target.Target;

/**
 * Warp specialization ({@code warps P + C}): the block's warps split into a producer side that makes chunk j of the
 * staged intermediate while a consumer side uses chunk j-1.
 *
 * <p>A fused kernel's stream loop is phases with a barrier between them (MBConv: the expand into {@code h1_s}, then
 * the grouped conv and the projection from it). Every warp waits at each barrier for the slowest one, and while a
 * phase's last warps finish, the others idle. Here the first P warps run every phase but the last on chunk j (with a
 * barrier of their own between them), the last into one of two copies of the chunk it stages, and the other C warps
 * run the last phase on chunk j-1 from the other copy; one block barrier per trip hands a copy over. Each side refills
 * its own weight slices (cp.async) after a barrier of its own warps (a named barrier), and they land before the block
 * barrier. The loop makes one trip more than it has chunks: the producer idles in the last, the consumer in the first.
 *
 * <p>Who touches what, trip j: the producer writes copy j % 2 and reads its slices (chunk j, copied before the loop or
 * refilled in trip j-1 after its own barrier); the consumer reads copy (j-1) % 2, written in trip j-1 and visible
 * after that trip's block barrier, and its slices (chunk j-1, refilled in trip j-1 as well: the consumer refills for
 * the chunk it computes next). Copy j % 2 was last read by the consumer in trip j-1, before the block barrier that
 * ended it. So the only shared state crossing the sides is the intermediate, and one block barrier per trip orders it.
 *
 * <p>The accumulators belong to the consumer warps: they finish the block's output after the loop. The registers are
 * those of the consumer (its chain's sub-slices run in a rolled loop, {@link #ROLLED_CHAIN_SAVING}; a consumer
 * without a chain, {@link #STAGED_CONSUMER_SAVING}); the producer needs fewer. Measured by hand on an H200
 * (docs/benchmarks.md, eleventh session): MBConv 128, 14, 128 'narrow' with 4 + 4 warps at 2 blocks per SM 1.08x
 * faster than the same kernel on 4 warps, and 0.83x at 1 block per SM.
 */
final class WarpSpecialization {
    private WarpSpecialization() {}

    /** Named barriers of the two sides (barrier 0 is the block's __syncthreads). */
    static final int PRODUCER_BARRIER = 1, CONSUMER_BARRIER = 2;

    /**
     * Registers the consumer saves with its chain's sub-slices in a rolled loop, against the estimate of the unsplit
     * kernel. Calibrated against ptxas (nvcc 13.0): MBConv 'specialized' uses 107 and 128 registers at C = 64 and 128
     * on sm_90 (109 and 128 on sm_80), for estimates of 96 and 128; the hand-written forms of the eleventh session 102
     * and 127.
     */
    static final int ROLLED_CHAIN_SAVING = 40;

    /**
     * Registers a consumer that accumulates from a staged chunk (no chain) saves against the estimate of the unsplit
     * kernel, which counts the staged product's fragments live next to the accumulators: the consumer never runs that
     * product. Calibrated against ptxas (nvcc 13.0, sm_90) at 2 blocks of 256 threads per SM: ConvFirst (8x16 tiles,
     * C = 64) and ConvNeXt with 'h' staged and 4 + 4 warps come to 128 and 123 registers without spills, for estimates
     * of 128 (without the limit, 152 and 124); MBConvDW 128. Never below Lowering.BASE_REGISTERS.
     */
    static final int STAGED_CONSUMER_SAVING = 56;

    /** The warp-specialized fused kernel of {@code c}, or why it cannot be. */
    static Lowering.Result lower(TypedBlock block, String planName, Choices c, Span planSpan, Span warpsSpan,
                                 Target target) {
        String split = "warps " + c.warpsText();
        String unsplit = "'warps " + c.warps() + "' without the split";
        String hint = "use " + unsplit;
        if (target.computeCapability() < 80) {
            return refuse(warpsSpan, split + ": each side refills its weight slices with cp.async, which "
                    + target.name() + " does not have (sm_80 or later)", hint);
        }
        if (c.tileN() > 1) {
            return refuse(warpsSpan, split + ": warp specialization needs one image per block (tile N 1)", hint);
        }
        if (c.math() == PlanSpec.MathKind.WGMMA) {
            return refuse(warpsSpan, split + ": wgmma needs whole warpgroups on one product; warp specialization runs "
                            + "on mma.sync",
                    "use 'math tensor_core', or " + unsplit);
        }
        if (c.streamDim() == null) {
            return refuse(warpsSpan, split + ": warp specialization splits a stream loop (one side makes chunk j while "
                    + "the other uses chunk j-1), and this plan has none", "add a 'stream' directive, or " + unsplit);
        }
        Choices consumers = new Choices(1, c.tileH(), c.tileW(), c.consumerWarps(), c.math(), c.streamDim(),
                c.streamChunk(), c.places(), 0, 0, c.narrowSlices(), c.layerMath());
        Lowering.Result r = Lowering.fused(block, planName, consumers, planSpan, target, false, null);
        if (!(r instanceof Lowering.Result.Ok ok)) return r;
        return switch (split(block, ok.kernels().getFirst(), c.producerWarps(), c.consumerWarps())) {
            case Split.Refused no -> refuse(warpsSpan, split + ": " + no.why(), hint);
            case Split.Done done ->
                    new Lowering.Result.Ok(List.of(SharedLifetimes.compact(block,
                            done.kernel().withResidentBlocks(c.residentBlocks()), target)));
        };
    }

    /** The split kernel, or why the kernel's shape does not allow one. */
    sealed interface Split {
        record Done(Kernel kernel) implements Split {}

        record Refused(String why) implements Split {}
    }

    private static Split no(String why) {
        return new Split.Refused(why);
    }

    /**
     * {@code k} (lowered for the consumer's warps, its loop's slices copied at the top of each trip) with its stream
     * loop split into a producer and a consumer side, or why its shape does not allow that.
     */
    static Split split(TypedBlock block, Kernel k, int producerWarps, int consumerWarps) {
        List<Instr> body = k.body();
        int loopAt = -1;
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i) instanceof Instr.Loop) loopAt = i;  // tile N 1 (lower): no image loop around it
        }
        if (loopAt < 0) return no("the plan has no stream loop");
        for (Instr i : body.subList(0, loopAt)) {
            if (i instanceof Instr.Compute c && c.dst().space() == Space.REGISTERS) {
                return no("'" + c.dst().tensor() + "' is made before the loop in each warp's registers, and "
                        + "only the consumer warps could hold it");
            }
        }
        Instr.Loop loop = (Instr.Loop) body.get(loopAt);
        LoopPhases trip0 = LoopPhases.of(loop).orElse(null);
        if (trip0 == null) return no("its stream loop is not the copies of the chunk's slices and phases between barriers");
        List<List<Instr>> phases = trip0.phases();
        for (List<Instr> phase : phases) {
            for (Instr i : phase) {
                if (!(i instanceof Instr.Compute || i instanceof Instr.Accumulate || i instanceof Instr.Chain)) {
                    return no("its stream loop has a step warp specialization does not split ("
                            + i.getClass().getSimpleName() + ")");
                }
            }
        }
        if (phases.size() < 2) {
            return no("its stream loop is one phase (no barrier inside a trip), and warp specialization needs at least "
                    + "two: the producer's, which stage a chunk in shared memory, and the consumer's, which uses it");
        }
        // The producer runs every phase but the last, with its own barrier between them; the consumer the last.
        List<Instr> make = new ArrayList<>();
        for (List<Instr> phase : phases.subList(0, phases.size() - 1)) {
            if (!make.isEmpty()) make.add(new Instr.SideBarrier(PRODUCER_BARRIER, producerWarps * 32));
            make.addAll(phase);
        }
        List<Instr> use = phases.getLast();
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        List<Buffer> all = k.buffers();

        // The producer's phases only compute into shared memory; the consumer's holds the accumulators.
        Set<Buffer> made = new LinkedHashSet<>();
        for (Instr i : make) {
            if (i instanceof Instr.SideBarrier) continue;
            if (!(i instanceof Instr.Compute c) || c.dst().space() != Space.SHARED) {
                return no("a phase of its stream loop before the last does more than compute into shared memory");
            }
            made.add(c.dst());
        }
        Set<Buffer> written = new LinkedHashSet<>();  // by the consumer's phase
        Set<Buffer> usedByConsumer = new LinkedHashSet<>();
        for (Instr i : use) {
            usedByConsumer.addAll(Instr.touched(i, all));
            switch (i) {
                case Instr.Compute c -> written.add(c.dst());
                case Instr.Accumulate a -> written.add(a.acc());
                case Instr.Chain ch -> {
                    written.add(ch.producer().dst());
                    written.add(ch.consumer().acc());
                }
                default -> { }
            }
        }
        Set<Buffer> usedByProducer = new LinkedHashSet<>();
        for (Instr i : make) usedByProducer.addAll(Instr.touched(i, all));
        for (Buffer b : written) {
            if (b.space() == Space.SHARED) {
                return no("the last phase of its stream loop writes " + b.name() + " in shared memory; only the chunk "
                        + "the phases before it stage may cross between the sides");
            }
            if (usedByProducer.contains(b)) return no("both sides would use " + b.name());
        }
        List<Buffer> handoff = made.stream().filter(usedByConsumer::contains).toList();
        if (handoff.size() != 1 || block.activation(handoff.getFirst().tensor()).isEmpty()) {
            return no("the last phase of its stream loop must read exactly one chunk that the phases before it "
                    + "stage");
        }
        Buffer staged = handoff.getFirst();

        // Each side's slices, read by that side only: copied with cp.async where they can be (16 bytes at a time), else
        // (a depthwise conv's tap-major slice) with plain loads and stores, which the block barrier makes visible too.
        List<Instr.LoadWeight> producerSlices = new ArrayList<>(), consumerSlices = new ArrayList<>();
        for (Instr.LoadWeight lw : trip0.copies()) {
            boolean p = usedByProducer.contains(lw.dst()), c = usedByConsumer.contains(lw.dst());
            if (p && c) {
                return no("both sides would read the slice of " + lw.weight() + " (" + lw.dst().name() + ")");
            }
            (p ? producerSlices : consumerSlices).add(Lowering.copiesAsync(block, lw, loop.chunk())
                    ? new Instr.LoadWeight(lw.dst(), lw.weight(), lw.rows(), lw.cols(), false, true) : lw);
        }

        // After the loop, whatever touches registers runs on the consumer warps: the accumulators are theirs, and a
        // register buffer's per-thread layout was sized for their threads (the kernel was lowered for them). The store
        // of such a buffer is theirs too (the writer knows its owner); shared-memory work stays on every thread.
        List<Instr> after = new ArrayList<>();
        for (Instr i : body.subList(loopAt + 1, body.size())) {
            boolean registers = Instr.touched(i, all).stream().anyMatch(b -> b.space() == Space.REGISTERS);
            if (i instanceof Instr.Store || i instanceof Instr.Barrier || !registers) {
                after.add(i);
            } else if (i instanceof Instr.Finish || i instanceof Instr.Compute) {
                after.add(new Instr.Side(Instr.Side.Role.CONSUMER, producerWarps, consumerWarps, 0, List.of(i)));
            } else {
                return no("after its stream loop, " + i.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)
                        + " uses registers, which only the consumer warps hold");
            }
        }

        // Before the loop: chunk 0 of every slice, landed at the barrier before the loop.
        List<Instr> out = new ArrayList<>(body.subList(0, loopAt));
        List<Instr> chunk0 = new ArrayList<>();
        for (Instr.LoadWeight lw : producerSlices) chunk0.add(lw.firstChunk());
        for (Instr.LoadWeight lw : consumerSlices) chunk0.add(lw.firstChunk());
        if (chunk0.stream().anyMatch(i -> ((Instr.LoadWeight) i).async())) {
            chunk0.add(new Instr.AsyncCommit());
            chunk0.add(new Instr.AsyncWait(0));
        }
        if (!out.isEmpty() && out.getLast() instanceof Instr.Barrier) {
            out.addAll(out.size() - 1, chunk0);
        } else {
            out.addAll(chunk0);
            out.add(new Instr.Barrier());
        }
        Instr.Side producer = new Instr.Side(Instr.Side.Role.PRODUCER, 0, producerWarps, 0,
                side(make, producerSlices, PRODUCER_BARRIER, producerWarps));
        Instr.Side consumer = new Instr.Side(Instr.Side.Role.CONSUMER, producerWarps, consumerWarps, 1,
                side(use, consumerSlices, CONSUMER_BARRIER, consumerWarps));
        List<Instr> trip = new ArrayList<>(List.of(producer, consumer));
        if (chunk0.stream().anyMatch(i -> i instanceof Instr.LoadWeight lw && lw.async())) {
            trip.add(new Instr.AsyncWait(0));
        }
        trip.add(new Instr.Barrier());
        String note = "warp-specialized: warps 0-" + (producerWarps - 1) + " make chunk trip of " + staged.tensor()
                + " into one copy of " + staged.name() + " while warps " + producerWarps + "-"
                + (producerWarps + consumerWarps - 1) + " use chunk trip-1 from the other;\neach side refills its own "
                + "slices after a barrier of its own warps, landing before the block's barrier that ends the trip";
        out.add(new Instr.Loop(loop.var(), loop.dim(), loop.extent(), loop.chunk(), trip, note));
        out.addAll(after);

        // Two copies of the staged chunk: one written while the other is read.
        Map<Buffer, Buffer> doubled = new HashMap<>();
        doubled.put(staged, staged.withStages(2));
        List<Instr> finalBody = out.stream().map(i -> Lowering.withBuffers(i, doubled)).toList();
        List<Buffer> buffers = k.buffers().stream().map(b -> doubled.getOrDefault(b, b)).toList();
        boolean chain = use.stream().anyMatch(i -> i instanceof Instr.Chain);
        // never below what every fused kernel needs for indices, pointers and fragments (ConvFirst's 4x14 tiles at
        // C = 64 would come to 64 and spilled there)
        int registers = Math.max(Lowering.BASE_REGISTERS,
                k.registersPerThread() - (chain ? ROLLED_CHAIN_SAVING : STAGED_CONSUMER_SAVING));
        int threads = (producerWarps + consumerWarps) * 32;
        return new Split.Done(new Kernel(k.name(), 1, k.tileH(), k.tileW(), threads, k.math(), k.layers(), buffers,
                finalBody, registers));
    }

    /** A side's trip: its phases, then (if it has slices) its own barrier and the refills for its next chunk. */
    private static List<Instr> side(List<Instr> phase, List<Instr.LoadWeight> slices, int barrier, int warps) {
        List<Instr> out = new ArrayList<>(phase);
        if (slices.isEmpty()) return out;
        out.add(new Instr.SideBarrier(barrier, warps * 32));
        for (Instr.LoadWeight lw : slices) out.add(lw.nextChunk());
        if (slices.stream().anyMatch(Instr.LoadWeight::async)) out.add(new Instr.AsyncCommit());
        return out;
    }

    private static Lowering.Result refuse(Span span, String message, String hint) {
        return new Lowering.Result.Refused(Diagnostic.error(span, message, hint));
    }

    /** For the tests: the sides of a kernel's stream loop, by role. */
    static Map<Instr.Side.Role, Instr.Side> sides(Kernel k) {
        Map<Instr.Side.Role, Instr.Side> out = new LinkedHashMap<>();
        for (Instr.Side s : k.sides()) out.put(s.role(), s);
        return out;
    }
}
