package tmc.plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.target.Target;

/**
 * Single-buffered weight slices refilled during the phase of the stream loop that does not read them.
 *
 * <p>A stream loop whose slices are not double-buffered (the second copies would cost a block per SM) copied every
 * chunk's slices at the top of the trip and waited for them at the barrier before the first layer: a full trip to L2
 * per chunk that no warp of the block could hide. The loop's body is phases separated by barriers (MBConv: the expand
 * into h1_s, then the grouped conv and the projection), and each slice is usually read in some of them only: w1 by the
 * expand, wd and w3 by the conv and the projection. Such a slice can be copied for the next chunk right after the
 * barrier that ends its last reader in this trip, with cp.async, and land while the phases that do not read it compute.
 * Every barrier of the loop is preceded by a wait for all of this thread's copies, so a copy issued in one phase is
 * visible from the next barrier on; it is issued only after the barrier that ended the last read of the chunk it
 * overwrites. This needs no extra shared memory. A slice read both in the first and in the last phase has no phase to
 * land in; a kernel with one leaves the loop as it was (so does a loop of one phase). So does a slice that cp.async
 * cannot copy (the depthwise weights transposed to tap-major order, 2 bytes at a time): copied with plain loads and
 * stores in the middle of a phase, it held registers across that phase's products (MBConvDW's fused kernel spilled on
 * sm_80).
 *
 * <p>Measured on the H100 (docs/benchmarks.md, tenth session): MBConv at C=128, N=128, 14x14 ('narrow', 4x14 tiles,
 * E by 64) 1.10x faster.
 */
final class SliceRefill {
    private SliceRefill() {}

    /** {@code k} with its single-buffered slices refilled during the phases that do not read them, or {@code k}. */
    static Kernel apply(TypedBlock block, Kernel k, Target target) {
        if (target.computeCapability() < 80 || k.tileN() != 1 || Lowering.pipelined(k)) return k;
        List<Instr> body = k.body();
        int loopAt = -1;
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i) instanceof Instr.Loop) {
                if (loopAt >= 0) return k;
                loopAt = i;
            }
        }
        if (loopAt < 0) return k;
        Instr.Loop loop = (Instr.Loop) body.get(loopAt);

        // [slice copies of chunk e0] barrier [phase 1] barrier ... [phase m] barrier
        LoopPhases trip0 = LoopPhases.of(loop).orElse(null);
        if (trip0 == null || trip0.copies().isEmpty()) return k;
        List<List<Instr>> phases = trip0.phases();
        int m = phases.size();
        if (m < 2) return k;

        // Each slice's last reader; a slice read in the first and the last phase has nowhere to land.
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        Map<Instr.LoadWeight, Integer> refillAfter = new LinkedHashMap<>();
        for (Instr.LoadWeight lw : trip0.copies()) {
            int first = -1, last = -1;
            for (int p = 0; p < m; p++) {
                for (Instr x : phases.get(p)) {
                    if (Instr.touched(x, shared).contains(lw.dst())) {
                        if (first < 0) first = p;
                        last = p;
                    }
                }
            }
            if (first < 0 || (first == 0 && last == m - 1) || !Lowering.copiesAsync(block, lw, loop.chunk())) return k;
            refillAfter.put(lw, last);
        }

        // Before the loop: chunk 0's slices, landed at the barrier that precedes the loop.
        List<Instr> chunk0 = new ArrayList<>();
        for (Instr.LoadWeight lw : refillAfter.keySet()) chunk0.add(lw.firstChunkInto(lw.dst()));
        chunk0.add(new Instr.AsyncCommit());
        chunk0.add(new Instr.AsyncWait(0));
        List<Instr> out = new ArrayList<>(body.subList(0, loopAt));
        if (!out.isEmpty() && out.getLast() instanceof Instr.Barrier) {
            out.addAll(out.size() - 1, chunk0);
        } else {
            out.addAll(chunk0);
            out.add(new Instr.Barrier());
        }

        // The trip: phase p, wait, barrier, then the next chunk's slices whose last reader was phase p.
        List<Instr> trip = new ArrayList<>();
        for (int p = 0; p < m; p++) {
            trip.addAll(phases.get(p));
            trip.add(new Instr.AsyncWait(0));
            trip.add(new Instr.Barrier());
            boolean refilled = false;
            for (Map.Entry<Instr.LoadWeight, Integer> e : refillAfter.entrySet()) {
                if (e.getValue() != p) continue;
                trip.add(e.getKey().nextChunkInto(e.getKey().dst()));
                refilled = true;
            }
            if (refilled) trip.add(new Instr.AsyncCommit());
        }
        String note = (loop.note() == null ? "" : loop.note() + "\n")
                + "each slice is copied for the next chunk right after the barrier that ends its last read in this one,"
                + " landing while the phases that do not read it compute";
        out.add(new Instr.Loop(loop.var(), loop.dim(), loop.extent(), loop.chunk(), trip, note));
        out.addAll(body.subList(loopAt + 1, body.size()));
        return k.withBody(out);
    }
}
