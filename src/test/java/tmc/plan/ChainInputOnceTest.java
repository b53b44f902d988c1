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
 * A register chain whose pointwise input the stream loop never writes reads that input's A fragments in the first
 * trip only and keeps them for the others (ChainInputOnce).
 */
class ChainInputOnceTest {
    static Instr.Loop loopOf(Kernel k) {
        return (Instr.Loop) k.body().get(ResidualStagingTest.indexOf(k.body(), Instr.Loop.class));
    }

    static Instr.Chain chainOf(Instr.Loop l) {
        return (Instr.Chain) l.body().get(ResidualStagingTest.indexOf(l.body(), Instr.Chain.class));
    }

    /** {@code k} with its loop's chain marked (or not) and {@code extra} appended to the trip. */
    static Kernel withChain(Kernel k, boolean once, Instr... extra) {
        List<Instr> body = new ArrayList<>(k.body());
        int at = ResidualStagingTest.indexOf(body, Instr.Loop.class);
        Instr.Loop l = (Instr.Loop) body.get(at);
        List<Instr> trip = new ArrayList<>();
        for (Instr i : l.body()) {
            trip.add(i instanceof Instr.Chain ch ? new Instr.Chain(ch.producer(), ch.consumer(), ch.group(), once) : i);
        }
        trip.addAll(List.of(extra));
        body.set(at, new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        return k.withBody(body);
    }

    static Buffer buffer(Kernel k, String name) {
        return k.buffers().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void convNeXtsMlpReadsLayerNormsFragmentsInTheFirstTripOnly() {
        Kernel k = ResidualStagingTest.convNeXtFused();
        Instr.Chain ch = chainOf(loopOf(k));
        assertTrue(ch.inputOnce(), "n_s is written before the loop and only read in it");
        assertEquals(List.of(), SharedRaces.of(k));
        assertSame(k, ChainInputOnce.apply(k), "applying it again changes nothing");
        // the emitted kernel: the fragments declared before the loop, read under e0 == 0 and nowhere else
        String src = SharedLifetimesTest.compile("convnext.tm", SharedLifetimesTest.sample("convnext.tm"), "fused").source();
        int loop = src.indexOf("for (int e0 = 0;");
        ResidualStagingTest.assertInOrder(src, "unsigned af_n_s[6][4];", "for (int e0 = 0;", "__syncthreads();",
                "if (e0 == 0) {", "tm_ldsm_x4(af_n_s[kk], arow + kk * 16);", "tm_mma(d[2 * nj], arow, af_n_s[kk][0]");
        assertTrue(src.indexOf("unsigned af_n_s") < loop);
        assertEquals(1, count(src, "tm_ldsm_x4(af_n_s"), "one read of n_s's fragments in the kernel");
        assertFalse(src.contains("unsigned af["), "no per-trip copy of them");
        // the plan's IR says so
        assertTrue(tmc.ir.IrPrinter.print(k).contains("its input's A fragments read in the first trip and kept"),
                tmc.ir.IrPrinter.print(k));
    }

    @Test
    void aChainWhoseInputTheLoopWritesKeepsReadingItEveryTrip() {
        Kernel k = ResidualStagingTest.convNeXtFused();
        Buffer n = buffer(k, "n_s");
        // the trip overwrites n_s after the chain: the fragments would go stale, so they are not kept
        Kernel written = withChain(k, false, new Instr.Barrier(), new Instr.Load(n, "x"));
        assertFalse(chainOf(loopOf(ChainInputOnce.apply(written))).inputOnce());
        // nor where the loop writes a buffer that shares n_s's bytes (w1_s ends where n_s begins: no overlap; x_s does)
        Buffer xs = buffer(k, "x_s");
        assertTrue(k.overlapInShared(xs, n), "x_s and n_s share bytes in ConvNeXt's fused kernel");
        Kernel aliased = withChain(k, false, new Instr.Barrier(), new Instr.Load(xs, "x"));
        assertFalse(chainOf(loopOf(ChainInputOnce.apply(aliased))).inputOnce());
        // and the unmarked kernel is ConvNeXt's chain as it was lowered before: every trip reads n_s
        Kernel plain = withChain(k, false);
        assertTrue(ChainInputOnce.apply(plain) != plain && chainOf(loopOf(ChainInputOnce.apply(plain))).inputOnce());
    }

    @Test
    void theRaceCheckStillSeesTheFirstTripsRead() {
        // Marked by hand where the pass would refuse it: a write of n_s at the end of the trip, with no barrier after
        // the chain's read, races with the first trip's read (and with no later one: they read registers).
        Kernel k = ResidualStagingTest.convNeXtFused();
        Kernel bad = withChain(k, true, new Instr.Load(buffer(k, "n_s"), "x"));
        List<String> races = SharedRaces.of(bad);
        assertFalse(races.isEmpty());
        assertTrue(races.stream().allMatch(r -> r.contains("n_s")), races.toString());
        assertTrue(races.stream().anyMatch(r -> r.contains("trip 0")), races.toString());
        assertFalse(races.stream().anyMatch(r -> r.contains("Chain (E trip 1")), races.toString());
    }

    @Test
    void onlyPointwiseChainsOnMmaSyncWithOneRowTileAWarp() {
        // MBConv's 'rows' chain has a conv producer (its input is recomputed every trip); the wgmma plan reads A a
        // warpgroup at a time; both keep the lowered form
        Kernel rows = SharedLifetimesTest.compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "rows").program()
                .kernels().getFirst();
        assertFalse(chainOf(loopOf(rows)).inputOnce());
        Kernel wg = SharedLifetimesTest.compile("convnext.tm", SharedLifetimesTest.sample("convnext.tm"), "wgmma").program()
                .kernels().getFirst();
        assertFalse(chainOf(loopOf(wg)).inputOnce());
        // FusedMLP's input tile lands by the first trip's wait and barrier, and the loop never writes it: kept
        Kernel mlp = SharedLifetimesTest.compile("fusedmlp.tm", SharedLifetimesTest.sample("fusedmlp.tm"), "fused").program()
                .kernels().getFirst();
        assertTrue(chainOf(loopOf(mlp)).inputOnce());
        assertEquals(List.of(), SharedRaces.of(mlp));
    }

    static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) n++;
        return n;
    }
}
