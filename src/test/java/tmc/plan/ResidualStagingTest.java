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
    void convNeXtsResidualIsCopiedIntoTheStoreStagingBeforeTheLoop() {
        Kernel k = convNeXtFused();
        List<Instr> body = k.body();
        int loop = indexOf(body, Instr.Loop.class);
        Instr.Store store = (Instr.Store) body.getLast();
        Buffer stage = store.staging();
        assertEquals("a_s", stage.name());
        // right before the loop: the copy of x's tile (no halo) into a_s, in a group of its own...
        assertTrue(body.get(loop - 2) instanceof Instr.Load l && l.dst().equals(stage) && l.tensor().equals("x") && l.async(),
                body.get(loop - 2).toString());
        assertTrue(body.get(loop - 1) instanceof Instr.AsyncCommit);
        // ...after the barrier that ends LayerNorm's read of a_s, and waited for at the first trip
        assertTrue(body.get(loop - 3) instanceof Instr.Barrier);
        assertTrue(body.get(loop - 4) instanceof Instr.Compute c && c.sources().containsValue(stage), body.get(loop - 4).toString());
        Instr.Loop l = (Instr.Loop) body.get(loop);
        assertTrue(l.body().getFirst() instanceof Instr.AsyncWait w && w.pending() == 0);
        assertTrue(Instr.touched(l, List.of(stage)).isEmpty(), "the loop leaves a_s alone");
        // the epilogue reads x there; the whole kernel passes the race check
        Instr.Finish fin = (Instr.Finish) body.get(indexOf(body, Instr.Finish.class));
        assertEquals(stage, fin.sources().get("x"));
        assertEquals(List.of(), SharedRaces.of(k));
        // applying it again changes nothing (the residual is no longer read from global memory)
        tmc.check.TypedBlock block = tmc.api.Tmc.compileText("convnext.tm", SharedLifetimesTest.sample("convnext.tm"),
                tmc.api.Tmc.Options.DEFAULTS).program().block("ConvNeXt").orElseThrow();
        assertSame(k, ResidualStaging.apply(block, k));
        // the emitted kernel: the copy after LayerNorm's barrier, before the loop; the epilogue reads a_s
        String src = SharedLifetimesTest.compile("convnext.tm", SharedLifetimesTest.sample("convnext.tm"), "fused").source();
        assertInOrder(src, "// L2 layernorm", "__syncthreads();", "tm_cp_async16(a_s + p * A_S_STRIDE + c, x + ",
                "tm_cp_async_commit();", "for (int e0 = 0;", "tm_f32x2(&a_s[((ly + 0) * A_S_W + lx + 0) * A_S_STRIDE + oc])");
    }

    @Test
    void theCopyBeforeLayerNormsReadWouldBeARace() {
        // The race check sees the ordering ResidualStaging relies on: the same copy issued before the barrier that
        // ends LayerNorm's read of a_s overwrites a_s while LayerNorm may still read it.
        Kernel k = convNeXtFused();
        List<Instr> body = new ArrayList<>(k.body());
        int loop = indexOf(body, Instr.Loop.class);
        Instr load = body.remove(loop - 2);
        Instr commit = body.remove(loop - 2);
        int layerNorm = loop - 4;
        assertTrue(body.get(layerNorm) instanceof Instr.Compute);
        body.addAll(layerNorm, List.of(load, commit));
        List<String> races = SharedRaces.of(k.withBody(body));
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
