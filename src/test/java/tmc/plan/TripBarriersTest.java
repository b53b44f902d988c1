package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.api.Tmc;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/** The late-issue form of double-buffered stream loops: one barrier fewer per trip, where and only where it is safe. */
class TripBarriersTest {
    static Kernel kernel(String sample, String plan, String arch) {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", sample + ".tm"), Tmc.Options.DEFAULTS.withArch(arch));
        return c.program(plan).orElseThrow().program().kernels().getFirst();
    }

    static long barriers(Instr.Loop l) {
        return l.body().stream().filter(i -> i instanceof Instr.Barrier).count();
    }

    @Test
    void mbconvRowsWaitsMeetsThenCopiesAndNoBarrierEndsItsTrips() {
        Kernel k = kernel("mbconv", "rows", "sm_90");
        Instr.Loop l = SliceRefillTest.loop(k);
        List<Instr> b = l.body();
        assertTrue(b.get(0) instanceof Instr.AsyncWait w && w.pending() == 0, b.toString());
        assertTrue(b.get(1) instanceof Instr.Barrier, b.toString());
        int copies = 0;
        while (b.get(2 + copies) instanceof Instr.LoadWeight lw && lw.async()) copies++;
        assertEquals(3, copies, "w1, wd and w3's next chunk");
        assertTrue(b.get(2 + copies) instanceof Instr.AsyncCommit, b.toString());
        assertFalse(b.getLast() instanceof Instr.Barrier, "no barrier ends the trip");
        // after the chunk lands and after the expand is staged: two where the lowered form had three
        assertEquals(2, barriers(l));
        assertTrue(k.body().get(k.body().indexOf(l) + 1) instanceof Instr.Barrier, "the barrier after the loop");
        // no copy and no wait once the trip's work has begun
        assertTrue(b.subList(3 + copies, b.size()).stream().noneMatch(i -> i instanceof Instr.LoadWeight
                || i instanceof Instr.AsyncWait || i instanceof Instr.AsyncCommit || i instanceof Instr.Load));
        assertNull(TripBarriers.lateIssue(l), "a loop in the late-issue form is left as it is");
        // nothing between the copies before the loop and the loop reads shared memory: the first trip's wait and
        // barrier serve them, and the wait and barrier that stood before the loop are gone
        int at = k.body().indexOf(l);
        assertTrue(k.body().get(at - 1) instanceof Instr.AsyncCommit, k.body().subList(0, at).toString());
        // ConvFirst's conv reads the tile between them: its barrier stays
        Kernel cf = kernel("convfirst", "rows", "sm_90");
        int cfAt = cf.body().indexOf(SliceRefillTest.loop(cf));
        assertTrue(cf.body().subList(0, cfAt).stream().anyMatch(i -> i instanceof Instr.Barrier));
        assertTrue(cf.body().get(cfAt - 1) instanceof Instr.Compute, "the conv into the chain's A fragments");
    }

    @Test
    void theLoweredFormBecomesTheLateOneWithTheSameWork() {
        Kernel k = kernel("convfirst", "rows", "sm_90");
        Instr.Loop late = SliceRefillTest.loop(k);
        // rebuild the lowered form from the late one and check that the pass gives it back
        List<Instr> b = late.body();
        int copies = 0;
        while (b.get(2 + copies) instanceof Instr.LoadWeight) copies++;
        List<Instr> lowered = new java.util.ArrayList<>(b.subList(2, 2 + copies));
        lowered.add(new Instr.AsyncCommit());
        lowered.add(new Instr.AsyncWait(1));
        lowered.add(new Instr.Barrier());
        lowered.addAll(b.subList(3 + copies, b.size()));
        lowered.add(new Instr.Barrier());
        Instr.Loop back = TripBarriers.lateIssue(new Instr.Loop(late.var(), late.dim(), late.extent(), late.chunk(),
                lowered, late.note()));
        assertEquals(late, back);
        assertEquals(1, barriers(late), "ConvFirst's chain: one barrier per trip");
    }

    /** The trip as Lowering writes it: next chunk's copies, this chunk's plain copy, commit, wait, barrier, work, barrier. */
    static Instr.Loop lowered(Instr.Loop like, List<Instr> copies, Instr plain, List<Instr> work) {
        List<Instr> trip = new java.util.ArrayList<>(copies);
        trip.add(plain);
        trip.add(new Instr.AsyncCommit());
        trip.add(new Instr.AsyncWait(1));
        trip.add(new Instr.Barrier());
        trip.addAll(work);
        trip.add(new Instr.Barrier());
        return new Instr.Loop(like.var(), like.dim(), like.extent(), like.chunk(), trip, like.note());
    }

    @Test
    void plainCopiesMoveAfterTheFirstBarrierWhenTheFirstPhaseDoesNotReadThem() {
        // MBConvDW: the depthwise weight's tap-major slice is copied with plain stores; the expand does not read it,
        // and the barrier after the expand makes it visible to the depthwise conv
        Kernel k = kernel("mbconv_dw", "fused", "sm_90");
        Instr.Loop l = SliceRefillTest.loop(k);
        List<Instr> b = l.body();
        assertTrue(b.get(0) instanceof Instr.AsyncWait w && w.pending() == 0, b.toString());
        assertTrue(b.get(1) instanceof Instr.Barrier);
        int commit = b.indexOf(new Instr.AsyncCommit());
        Instr.LoadWeight tap = (Instr.LoadWeight) b.get(commit + 1);
        assertTrue(tap.tapMajor() && !tap.async(), tap.toString());
        assertEquals(3, barriers(l), "the expand's and the depthwise conv's, and the one that lands the chunk");
        assertFalse(b.getLast() instanceof Instr.Barrier);
        assertTrue(k.body().get(k.body().indexOf(l) + 1) instanceof Instr.Barrier);

        // The same trip, lowered, gives the form above; with the depthwise conv before the work's first barrier it
        // would read the plain copy before any barrier made it visible, so the loop keeps the lowered form.
        List<Instr> copies = b.subList(2, commit);
        List<Instr> work = b.subList(commit + 2, b.size());
        Instr.Loop back = TripBarriers.lateIssue(lowered(l, copies, tap, work));
        assertTrue(l.equals(back), "the lowered trip becomes the late-issue one");
        List<Instr> early = new java.util.ArrayList<>(work);
        early.remove(early.indexOf(new Instr.Barrier()));
        assertNull(TripBarriers.lateIssue(lowered(l, copies, tap, early)));
    }

    @Test
    void refillsSplitsAndWgmmaKeepTheLoweredForm() {
        // MBConv's narrow plan at C = 128 refills single buffers during the trip (SliceRefill)
        Tmc.Compilation c128 = Tmc.compile(Repo.path("samples", "mbconv.tm"),
                Tmc.Options.DEFAULTS.withArch("sm_90").withParams(java.util.Map.of("C", 128L)));
        Kernel narrowKernel = c128.program("narrow").orElseThrow().program().kernels().getFirst();
        Instr.Loop narrow = SliceRefillTest.loop(narrowKernel);
        assertTrue(narrow.body().stream().anyMatch(i -> i instanceof Instr.LoadWeight lw && lw.async()
                && lw.dst().stages() == 1), "the test needs refills");
        assertNull(TripBarriers.lateIssue(narrow));
        assertEquals(narrowKernel, TripBarriers.apply(narrowKernel));
        // wgmma reads shared memory through the async proxy: left alone
        Kernel wg = kernel("convfirst", "wgmma", "sm_90");
        assertTrue(SliceRefillTest.loop(wg).body().getLast() instanceof Instr.Barrier);
        assertEquals(wg, TripBarriers.apply(wg));
        // a warp-specialized loop meets at its own barriers
        Instr.Loop split = SliceRefillTest.loop(kernel("mbconv", "specialized", "sm_90"));
        assertFalse(split.sides().isEmpty());
        assertNull(TripBarriers.lateIssue(split));
    }
}
