package tmc.plan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tmc.check.Activation;
import tmc.check.TypedBlock;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/**
 * A residual read from global memory in the final epilogue, copied ahead into the shared buffer the store passes
 * through.
 *
 * <p>{@link SharedLifetimes} may drop a staged input before the stream loop to fit one more block per SM; the final
 * epilogue then reads the residual from global memory (L2), its latency exposed at the end of every tile (ConvNeXt:
 * 2 % slower, ninth session). Where the final store passes through a shared buffer S (Instr.Store#staging) that
 * nothing touches from a barrier before the loop until the epilogue, the residual's tile (no halo) is copied into S by
 * cp.async in the trip before the last, with the last chunk's copies (whose wait and barrier in the last trip complete
 * it), and the epilogue reads it there; with a single trip, right before the loop. S must have the residual's layout
 * (its type, channels and padded rows, the tile's pixels): each accumulator pair's thread then reads the residual at
 * the very elements it later writes its result to, so the store needs no barrier in between. No shared bytes are
 * added: S is live across the loop already, for the store. Measured on the H100 (ConvNeXt 'fused'): issued before the
 * loop, where the first trip waited for it, 1.014x with two other changes (twenty-second session); in the trip before
 * the last, 1.039x with them (twenty-third).
 */
final class ResidualStaging {
    private ResidualStaging() {}

    /** {@code k} with its global residual read through the store's staging buffer where that qualifies; else {@code k}. */
    static Kernel apply(TypedBlock block, Kernel k) {
        List<Instr> body = new ArrayList<>(k.body());
        int loop = SharedLifetimes.indexOfLoop(body);
        // Only where the first trip waits for every copy: then the residual has landed at its barrier.
        if (loop < 0 || !(body.get(loop) instanceof Instr.Loop l) || !l.sides().isEmpty()
                || !(l.body().getFirst() instanceof Instr.AsyncWait w) || w.pending() != 0) {
            return k;
        }
        int finAt = -1;
        Instr.Store store = null;
        for (int i = loop + 1; i < body.size(); i++) {
            if (body.get(i) instanceof Instr.Finish && finAt < 0) finAt = i;
            if (body.get(i) instanceof Instr.Store st && st.staging() != null) store = st;
        }
        if (finAt < 0 || store == null || !(body.get(finAt) instanceof Instr.Finish fin) || !store.src().equals(fin.dst())) return k;
        Buffer stage = store.staging();
        Activation residual = globalResidual(block, fin);
        if (residual == null || stage.stages() != 1 || stage.halo() != 0 || stage.layout() != Buffer.Layout.ROWS
                || stage.dtype() != block.storageFor(residual) || stage.channels() != residual.channels()
                || stage.rowStride() != residual.channels() + Buffer.ROW_PAD_BYTES / stage.dtype().bytes
                || stage.pixels() != k.tilePixels()) {
            return k;
        }
        // Idle from a barrier before the loop to the epilogue: the loop does not touch it (nor a buffer sharing its
        // bytes), and a barrier follows its last use before the loop.
        for (Buffer b : Instr.touched(l, k.buffers())) {
            if (b.equals(stage) || b.space() == stage.space() && k.overlapInShared(b, stage)) return k;
        }
        int lastUse = -1;
        for (int i = 0; i < loop; i++) if (!Instr.touched(body.get(i), List.of(stage)).isEmpty()) lastUse = i;
        boolean fenced = false;
        for (int i = lastUse + 1; i < loop; i++) fenced |= body.get(i) instanceof Instr.Barrier;
        if (!fenced) return k;
        Map<String, Buffer> sources = new HashMap<>(fin.sources());
        sources.put(residual.name(), stage);
        body.set(finAt, new Instr.Finish(fin.layer(), fin.acc(), fin.dst(), Map.copyOf(sources)));
        int commit = l.body().indexOf(new Instr.AsyncCommit());
        if (l.trips() >= 2 && commit > 0) {
            // In the trip before the last, with the last chunk's copies: the copy lands while that trip computes
            // (issued before the loop, it held up the first trip's wait: 1.014x against 1.025x, 22nd session).
            List<Instr> trip = new ArrayList<>(l.body());
            trip.add(commit, new Instr.Load(stage, residual.name(), true, Instr.Load.Image.THIS, true));
            body.set(loop, new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        } else {
            body.addAll(loop, List.of(new Instr.Load(stage, residual.name(), true), new Instr.AsyncCommit()));
        }
        return k.withBody(body);
    }

    /** A block input the epilogue reads from global memory other than as its main input: a residual; or null. */
    private static Activation globalResidual(TypedBlock block, Instr.Finish fin) {
        Activation main = fin.layer().mainInput();
        for (Activation a : fin.layer().epilogueInputs()) {
            boolean input = block.inputs().stream().anyMatch(in -> in.name().equals(a.name()));
            if (input && !fin.sources().containsKey(a.name()) && (main == null || !main.name().equals(a.name()))) return a;
        }
        return null;
    }
}
