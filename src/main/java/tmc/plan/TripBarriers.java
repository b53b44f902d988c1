package tmc.plan;

import java.util.ArrayList;
import java.util.List;
import tmc.check.PlanSpec;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/**
 * One barrier fewer in every trip of a double-buffered stream loop: the next chunk's copies are issued after the
 * trip's first barrier instead of before it, so the barrier that ended each trip has nothing left to protect and
 * moves out of the loop, after its last trip.
 *
 * <p>As lowered, trip j issues chunk j+1's copies into the copy trip j-1 read, waits for chunk j, meets the others at
 * barrier [A], computes, and ends at barrier [Z], which keeps those copies out of the copy until every thread has
 * finished trip j-1. Issued after [A] instead, the copies need no [Z]: no thread passes [A] of trip j before every
 * thread has finished trip j-1. At the top of the trip only chunk j's copies can be in flight then, so the wait is for
 * all of them. Every other write of a trip already comes after [A] (the layers' staged tiles: a thread writes them
 * in trip j+1 only after [A] of trip j+1, when every thread has finished reading them in trip j). What follows the
 * loop (the epilogue, a store through a buffer the loop read) gets the barrier [Z] gave the last trip. A wait and a
 * barrier right before the loop go too: the first trip's wait for every copy and barrier cover what they guarded.
 *
 * <p>MBConv's trip then has two barriers instead of three, MBConvDW's three instead of four, ConvFirst's and
 * ConvNeXt's chain one instead of two. Loops that refill single buffers ({@link SliceRefill}), loops whose first phase
 * reads a slice copied with plain stores, warp-specialized loops and wgmma kernels (whose products read shared memory
 * through the async proxy) keep the lowered form.
 */
final class TripBarriers {
    private TripBarriers() {}

    /** {@code k} with its double-buffered stream loops in the late-issue form where they qualify; else {@code k}. */
    static Kernel apply(Kernel k) {
        if (k.math() == PlanSpec.MathKind.WGMMA) return k;
        List<Instr> body = k.body();
        List<Instr> out = new ArrayList<>();
        boolean changed = false;
        for (int i = 0; i < body.size(); i++) {
            Instr.Loop late = body.get(i) instanceof Instr.Loop l ? lateIssue(l) : null;
            if (late == null) {
                out.add(body.get(i));
                continue;
            }
            // A wait and a barrier right before the loop guard nothing the first trip's own wait for every copy and
            // barrier do not: no instruction reads shared memory in between.
            int n = out.size();
            if (n >= 2 && out.get(n - 1) instanceof Instr.Barrier && out.get(n - 2) instanceof Instr.AsyncWait) {
                out.remove(n - 1);
                out.remove(n - 2);
            }
            out.add(late);
            if (!(i + 1 < body.size() && body.get(i + 1) instanceof Instr.Barrier)) out.add(new Instr.Barrier());
            changed = true;
        }
        if (!changed) return k;
        return k.withBody(out);
    }

    /**
     * The loop with its next chunk's copies after its first barrier and without its last barrier, or null when its
     * trip is not: copies of the next chunk, plain copies of this chunk, commit, wait for all but one group, barrier,
     * work without copies, barrier; or when the work reads a plain copy before a barrier of its own. The plain copies
     * (tap-major depthwise slices, MBConvDW) move after the first barrier with the others: the slice they overwrite
     * was last read in the previous trip, and the barrier between the work's first phase and the phase that reads
     * them makes them visible.
     */
    static Instr.Loop lateIssue(Instr.Loop l) {
        if (!l.sides().isEmpty()) return null;
        List<Instr> b = l.body();
        int copies = 0;
        while (copies < b.size() && isNextChunkCopy(b.get(copies))) copies++;
        int plain = copies;
        while (plain < b.size() && b.get(plain) instanceof Instr.LoadWeight lw && !lw.async()) plain++;
        if (copies == 0 || b.size() < plain + 4) return null;
        if (!(b.get(plain) instanceof Instr.AsyncCommit)
                || !(b.get(plain + 1) instanceof Instr.AsyncWait w && w.pending() == 1)
                || !(b.get(plain + 2) instanceof Instr.Barrier)
                || !(b.getLast() instanceof Instr.Barrier)) {
            return null;
        }
        List<Instr> work = b.subList(plain + 3, b.size() - 1);
        for (Instr i : work) {
            if (i instanceof Instr.LoadWeight || i instanceof Instr.Load || i instanceof Instr.AsyncCommit
                    || i instanceof Instr.AsyncWait) {
                return null;
            }
        }
        List<Buffer> plainSlices = b.subList(copies, plain).stream().map(i -> ((Instr.LoadWeight) i).dst()).toList();
        for (Instr i : work) {
            if (i instanceof Instr.Barrier) break;
            if (Instr.touched(i, plainSlices).stream().anyMatch(plainSlices::contains)) return null;
        }
        List<Instr> trip = new ArrayList<>();
        trip.add(new Instr.AsyncWait(0));
        trip.add(new Instr.Barrier());
        trip.addAll(b.subList(0, copies));
        trip.add(new Instr.AsyncCommit());
        trip.addAll(b.subList(copies, plain));
        trip.addAll(work);
        return new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note());
    }

    /** A cp.async copy of the next chunk of a streamed weight slice (into the copy the current chunk does not use). */
    private static boolean isNextChunkCopy(Instr i) {
        return i instanceof Instr.LoadWeight lw && lw.async() && !lw.tapMajor() && lw.streamed() != null
                && lw.streamed().start() > 0 && lw.dst().stages() == 2;
    }
}
