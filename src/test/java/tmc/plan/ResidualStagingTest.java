package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.SharedRaces;

/**
 * The residual that SharedLifetimes' rearrangement left in global memory is copied by cp.async into the final store's
 * staging buffer before the stream loop, and the epilogue reads it there (ResidualStaging).
 */
class ResidualStagingTest {
    static Kernel convNeXtFused() {
        return SharedLifetimesTest.compile("convnext.tm", SharedLifetimesTest.sample("convnext.tm"), "fused").program()
                .kernels().getFirst();
    }

    static void assertInOrder(String text, String... parts) {
        int at = 0;
        for (String part : parts) {
            int i = text.indexOf(part, at);
            assertTrue(i >= 0, "'" + part + "' not found after offset " + at + " in:\n" + text);
            at = i + part.length();
        }
    }

    static int indexOf(List<Instr> body, Class<? extends Instr> kind) {
        for (int i = 0; i < body.size(); i++) if (kind.isInstance(body.get(i))) return i;
        return -1;
    }

    @Test
    void convNeXtsResidualIsCopiedIntoTheStoreStagingInTheTripBeforeTheLast() {
        Kernel k = convNeXtFused();
        List<Instr> body = k.body();
        int loop = indexOf(body, Instr.Loop.class);
        Instr.Store store = (Instr.Store) body.getLast();
        Buffer stage = store.staging();
        assertEquals("a_s", stage.name());
        // in the trip: wait, barrier, the next chunk's copies, the residual's copy (x's tile, no halo, into a_s, in
        // the trip before the last only), then the commit that closes their group
        Instr.Loop l = (Instr.Loop) body.get(loop);
        assertTrue(l.body().getFirst() instanceof Instr.AsyncWait w && w.pending() == 0);
        int copy = indexOf(l.body(), Instr.Load.class);
        assertTrue(l.body().get(copy) instanceof Instr.Load ld && ld.dst().equals(stage) && ld.tensor().equals("x")
                && ld.async() && ld.beforeLastTrip(), l.body().toString());
        assertTrue(l.body().get(copy - 1) instanceof Instr.LoadWeight && l.body().get(copy + 1) instanceof Instr.AsyncCommit);
        assertEquals(List.of(stage), List.copyOf(Instr.touched(l, List.of(stage))), "the loop touches a_s by that copy only");
        // the epilogue reads x there; the whole kernel passes the race check, the trip's copy included
        Instr.Finish fin = (Instr.Finish) body.get(indexOf(body, Instr.Finish.class));
        assertEquals(stage, fin.sources().get("x"));
        assertEquals(List.of(), SharedRaces.of(k));
        // applying it again changes nothing (the residual is no longer read from global memory)
        tmc.check.TypedBlock block = tmc.api.Tmc.compileText("convnext.tm", SharedLifetimesTest.sample("convnext.tm"),
                tmc.api.Tmc.Options.DEFAULTS).program().block("ConvNeXt").orElseThrow();
        assertSame(k, ResidualStaging.apply(block, k));
        // the emitted trip: under e0 + 64 == 384 (trip 10 of 12), before the commit
        String src = SharedLifetimesTest.compile("convnext.tm", SharedLifetimesTest.sample("convnext.tm"), "fused").source();
        String trip = src.substring(src.indexOf("for (int e0 = 0;"));
        assertInOrder(trip, "__syncthreads();", "if (e0 + 32 < 384)", "if (e0 + 64 == 384)",
                "tm_cp_async16(a_s + p * A_S_STRIDE + c, x + ", "tm_cp_async_commit();");
    }

    @Test
    void theCopyOnEveryTripWouldBeARace() {
        // The race check sees what the placement is for. Copied on every trip, the last trip's copy is issued after
        // that trip's wait, and no wait covers it before the epilogue reads a_s. Copied before the barrier that ends
        // LayerNorm's read of a_s, it overwrites what LayerNorm may still read.
        Kernel k = convNeXtFused();
        List<Instr> body = new ArrayList<>(k.body());
        int loop = indexOf(body, Instr.Loop.class);
        Instr.Loop l = (Instr.Loop) body.get(loop);
        List<Instr> trip = new ArrayList<>(l.body());
        int copy = indexOf(trip, Instr.Load.class);
        Instr.Load ld = (Instr.Load) trip.get(copy);
        trip.set(copy, new Instr.Load(ld.dst(), ld.tensor(), true));
        body.set(loop, new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        List<String> races = SharedRaces.of(k.withBody(body));
        assertFalse(races.isEmpty());
        assertTrue(races.getFirst().contains("a_s"), races.getFirst());

        List<Instr> early = new ArrayList<>(k.body());
        trip = new ArrayList<>(l.body());
        trip.remove(copy);
        early.set(loop, new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        int layerNorm = loop - 2;  // the LayerNorm, then the barrier that ends its read of a_s
        assertTrue(early.get(layerNorm) instanceof Instr.Compute c && c.sources().containsValue(ld.dst()));
        early.addAll(layerNorm, List.of(new Instr.Load(ld.dst(), ld.tensor(), true), new Instr.AsyncCommit()));
        races = SharedRaces.of(k.withBody(early));
        assertFalse(races.isEmpty());
        assertTrue(races.getFirst().contains("a_s"), races.getFirst());
    }

    @Test
    void aResidualStillStagedStaysWhereItIs() {
        // ConvFirst's 'rows' reads its residual from x_s, live to the end: nothing to copy, the kernel unchanged.
        Kernel k = SharedLifetimesTest.compile("convfirst.tm", SharedLifetimesTest.sample("convfirst.tm"), "rows").program()
                .kernels().getFirst();
        Instr.Finish fin = (Instr.Finish) k.body().get(indexOf(k.body(), Instr.Finish.class));
        assertEquals("x_s", fin.sources().get("x").name());
        assertTrue(k.body().stream().noneMatch(i -> i instanceof Instr.Load l && l.tensor().equals("x")
                && !l.dst().name().equals("x_s")), "x is loaded into x_s only");
        tmc.check.TypedBlock block = tmc.api.Tmc.compileText("convfirst.tm", SharedLifetimesTest.sample("convfirst.tm"),
                tmc.api.Tmc.Options.DEFAULTS).program().block("ConvFirst").orElseThrow();
        assertSame(k, ResidualStaging.apply(block, k));
    }
}
