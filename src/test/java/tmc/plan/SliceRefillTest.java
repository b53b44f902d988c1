package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.check.PlanSpec.Space;
import tmc.cuda.CudaEmitter;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.TmProgram;

/**
 * Single-buffered weight slices refilled during the phases of the stream loop that do not read them (SliceRefill).
 * The soundness check re-derives, from the emitted IR alone, that no refill shares an interval between barriers with
 * a read of its buffer (over two trips, since the last phase's refills are read in the next trip), that every barrier
 * after a refill is preceded by a wait for all copies, and that every slice the loop reads is refilled once per trip.
 */
class SliceRefillTest {
    static CompiledProgram compile(String file, String text, String plan, Tmc.Options options) {
        Tmc.Compilation c = Tmc.compileText(file, text, options);
        assertTrue(c.ok(), c.report());
        return switch (c.compile(plan)) {
            case Tmc.Outcome.Compiled p -> p.program();
            case Tmc.Outcome.Refused r -> throw new AssertionError(plan + ": " + r.why().headline());
        };
    }

    static Kernel narrowAtC128() {
        Tmc.Options o = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));
        return compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "narrow", o).program().kernels().getFirst();
    }

    static Instr.Loop loop(Kernel k) {
        return (Instr.Loop) k.body().stream().filter(i -> i instanceof Instr.Loop).findFirst().orElseThrow();
    }

    static boolean isRefill(Instr i) {
        return i instanceof Instr.LoadWeight lw && lw.streamed() != null && lw.streamed().start() > 0 && lw.dst().stages() == 1;
    }

    @Test
    void mbConvsExpandSliceIsRefilledDuringTheConvAndTheConvsSlicesDuringTheExpand() {
        Kernel k = narrowAtC128();
        List<Instr> trip = loop(k).body();
        // phase 1 (expand), wait, barrier, refill w1_s, commit, phase 2 (chain), wait, barrier, refill wd_s and w3_s, commit
        assertTrue(trip.getFirst() instanceof Instr.Compute c && c.dst().name().equals("h1_s"), trip.getFirst().toString());
        List<String> refilledAfter = new ArrayList<>();
        int barriers = 0;
        for (Instr i : trip) {
            if (i instanceof Instr.Barrier) barriers++;
            if (isRefill(i)) refilledAfter.add(((Instr.LoadWeight) i).dst().name() + "@" + barriers);
        }
        assertEquals(List.of("w1_s@1", "wd_s@2", "w3_s@2"), refilledAfter);
        assertEquals(2, barriers, "the same two barriers per trip as before");
        // chunk 0's slices are copied before the loop, and waited for before the barrier in front of it
        int at = k.body().indexOf(loop(k));
        assertTrue(k.body().get(at - 1) instanceof Instr.Barrier);
        assertTrue(k.body().get(at - 2) instanceof Instr.AsyncWait w && w.pending() == 0);
        long chunk0 = k.body().subList(0, at).stream()
                .filter(i -> i instanceof Instr.LoadWeight lw && lw.async() && lw.streamed() == null).count();
        assertEquals(3, chunk0);
        assertFalse(Lowering.pipelined(k), "no second copies: the refills cost no shared memory");
        assertSound(k, "narrow C=128");
    }

    @Test
    void theKernelSaysWhatItDoes() {
        Tmc.Options o = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));
        String cu = compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "narrow", o).source();
        assertTrue(cu.contains("refill for chunk e0+64"), "the refill's comment");
        assertTrue(cu.contains("if (e0 + 64 < 512) {"), "no refill past the last chunk");
        assertTrue(cu.contains("tm_cp_async16(w1_s + row * 136 + col, w1 + (size_t)(e0 + 64 + row) * 128"), "w1's refill");
        assertFalse(cu.contains("const int stage ="), "a single buffer has no stage");
    }

    @Test
    void aLoopOfOnePhaseKeepsItsCopiesAtTheTop() {
        // ConvFirst's chain reads both slices in its only phase: there is no phase for a refill to land in.
        assertTrue(singleBufferedLoopsWithoutRefills("convfirst.tm") > 0, "no single-buffered ConvFirst kernel: the test checked nothing");
    }

    /** Asserts that no single-buffered stream loop of a sample's kernels has refills; returns how many there are. */
    static int singleBufferedLoopsWithoutRefills(String file) {
        return singleBufferedLoopsWithoutRefills(file, SharedLifetimesTest.sample(file));
    }

    /** The same for the plans of {@code text}, a sample's text with plans of a test's own. */
    static int singleBufferedLoopsWithoutRefills(String file, String text) {
        Tmc.Compilation c = Tmc.compileText(file, text, Tmc.Options.DEFAULTS);
        int checked = 0;
        for (Tmc.Outcome o : c.compileAll()) {
            if (!(o instanceof Tmc.Outcome.Compiled p)) continue;
            for (Kernel k : p.program().program().kernels()) {
                if (Lowering.pipelined(k) || k.body().stream().noneMatch(i -> i instanceof Instr.Loop)) continue;
                assertTrue(Instr.flatten(k.body()).noneMatch(SliceRefillTest::isRefill), k.name());
                checked++;
            }
        }
        return checked;
    }

    /** narrow at C=128 as the lowering made it before SliceRefill: the three copies at the top of every trip. */
    static Kernel unrefilled(Kernel k) {
        List<Instr> body = new ArrayList<>();
        for (Instr i : k.body()) {
            if (i instanceof Instr.LoadWeight || i instanceof Instr.AsyncCommit || i instanceof Instr.AsyncWait) continue;
            body.add(i);
        }
        List<Instr> trip = new ArrayList<>();
        for (Instr i : loop(k).body()) {
            if (isRefill(i)) {
                Instr.LoadWeight lw = (Instr.LoadWeight) i;
                trip.add(new Instr.LoadWeight(lw.dst(), lw.weight(), chunk0(lw.rows()), chunk0(lw.cols()), false, false));
            }
        }
        trip.add(new Instr.Barrier());
        for (Instr i : loop(k).body()) {
            if (!isRefill(i) && !(i instanceof Instr.AsyncCommit) && !(i instanceof Instr.AsyncWait)) trip.add(i);
        }
        Instr.Loop l = loop(k);
        String why = l.note().lines().findFirst().orElseThrow();  // the single-buffered note; the refill's line follows it
        body.set(body.indexOf(l), new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, why));
        return new Kernel(k.name(), k.tileN(), k.tileH(), k.tileW(), k.threads(), k.math(), k.layers(), k.buffers(), body,
                k.registersPerThread());
    }

    /** The current chunk of a range the refill reads one chunk ahead. */
    static Instr.Channels chunk0(Instr.Channels ch) {
        return ch.streamed() ? new Instr.Channels(ch.loopVar(), 0, ch.count()) : ch;
    }

    @Test
    void theLoweringsLoopIsWhatTheRefillsMakeOfTheUnrefilledOne() {
        Kernel k = narrowAtC128();
        Tmc.Options o = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));
        tmc.check.TypedBlock block = compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "narrow", o).program().block();
        Kernel again = SliceRefill.apply(block, unrefilled(k), SharedLifetimesTest.H100);
        assertEquals(k.body(), again.body());
    }

    @Test
    void aSliceReadInTheFirstAndTheLastPhaseLeavesTheLoopAsItWas() {
        Kernel k = narrowAtC128();
        Tmc.Options o = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));
        tmc.check.TypedBlock block = compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "narrow", o).program().block();
        Kernel before = unrefilled(k);
        // the expand (reads w1_s) once more in the last phase, before the trip's last barrier
        List<Instr> trip = new ArrayList<>(loop(before).body());
        Instr expand = trip.stream().filter(i -> i instanceof Instr.Compute).findFirst().orElseThrow();
        trip.add(trip.size() - 1, expand);
        Kernel w1InFirstAndLast = withTrip(before, trip);
        assertTrue(SliceRefill.apply(block, w1InFirstAndLast, SharedLifetimesTest.H100) == w1InFirstAndLast);
    }

    @Test
    void tapMajorDepthwiseWeightsKeepTheirCopiesAtTheTop() {
        // MBConvDW's depthwise weights are transposed on the way in (2 bytes at a time, no cp.async): 14x14 tiles
        // streaming E by 128 keep one copy of each slice (double-buffering would not fit) and copy them at the top of
        // every trip.
        String text = SharedLifetimesTest.sample("mbconv_dw.tm") + """

                plan single for MBConvDW on sm_90 {
                  tile N 1, H 14, W 14
                  place h1 in shared halo 1 stage
                  place h2 in shared
                  stream E by 128
                  warps 8
                }
                """;
        assertTrue(singleBufferedLoopsWithoutRefills("mbconv_dw.tm", text) > 0,
                "no single-buffered MBConvDW kernel: the test checked nothing");
    }

    @Test
    void everySampleAndRandomKernelWithRefillsIsSound() {
        int refilled = 0;
        for (String arch : List.of("sm_80", "sm_86", "sm_90")) {
            for (String file : List.of("convfirst.tm", "mbconv.tm", "mbconv_dw.tm", "convnext.tm", "fusedmlp.tm")) {
                refilled += assertSoundWhereRefilled(Tmc.compileText(file, SharedLifetimesTest.sample(file),
                        Tmc.Options.DEFAULTS.withArch(arch)), arch + " " + file);
            }
        }
        for (RandomBlocks.Spec spec : RandomBlocks.sample(13, 40)) {
            String text = spec.blockText() + "plan best for B on sm_90 { auto }\n"
                    + "plan fused for B on sm_90 {\n  tile N 1, H 8, W 8\n  stream E by " + spec.c() + "\n  warps 4\n}\n";
            refilled += assertSoundWhereRefilled(Tmc.compileText(spec.name() + ".tm", text, Tmc.Options.DEFAULTS), spec.name());
        }
        assertTrue(refilled > 3, "too few kernels with refills for the check to mean anything: " + refilled);
    }

    @Test
    void theWriterRefusesARefillBetweenTheSameBarriersAsARead() {
        Tmc.Options o = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));
        CompiledProgram p = compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "narrow", o);
        Kernel k = p.program().kernels().getFirst();
        // Move w1_s's refill (and its commit) in front of the barrier that ends the expand, which reads w1_s.
        List<Instr> trip = new ArrayList<>(loop(k).body());
        int refill = indexOf(trip, i -> isRefill(i) && ((Instr.LoadWeight) i).dst().name().equals("w1_s"));
        Instr moved = trip.remove(refill);
        trip.add(1, moved);
        Kernel broken = withTrip(k, trip);
        assertThrows(AssertionError.class, () -> assertSound(broken, "mutated"), "the test's own check must see it");
        TmProgram program = new TmProgram(p.program().block(), p.program().plan(), p.program().arch(), List.of(broken));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaEmitter.emit(program, "mbconv.tm", "test"));
        assertTrue(e.getMessage().contains("w1_s is refilled and read between the same barriers"), e.getMessage());
        // and without the wait in front of a barrier
        List<Instr> noWait = new ArrayList<>(loop(k).body());
        noWait.remove(indexOf(noWait, i -> i instanceof Instr.AsyncWait));
        TmProgram unwaited = new TmProgram(p.program().block(), p.program().plan(), p.program().arch(), List.of(withTrip(k, noWait)));
        e = assertThrows(IllegalStateException.class, () -> CudaEmitter.emit(unwaited, "mbconv.tm", "test"));
        assertTrue(e.getMessage().contains("without a wait"), e.getMessage());
    }

    static int indexOf(List<Instr> body, java.util.function.Predicate<Instr> p) {
        for (int i = 0; i < body.size(); i++) if (p.test(body.get(i))) return i;
        throw new AssertionError("no such instruction");
    }

    static Kernel withTrip(Kernel k, List<Instr> trip) {
        Instr.Loop l = loop(k);
        List<Instr> body = new ArrayList<>(k.body());
        body.set(body.indexOf(l), new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        return k.withBody(body);
    }

    static int assertSoundWhereRefilled(Tmc.Compilation c, String where) {
        assertTrue(c.ok(), c.report());
        int refilled = 0;
        for (Tmc.Outcome o : c.compileAll()) {
            if (!(o instanceof Tmc.Outcome.Compiled compiled)) continue;
            for (Kernel k : compiled.program().program().kernels()) {
                if (Instr.flatten(k.body()).noneMatch(SliceRefillTest::isRefill)) continue;
                refilled++;
                assertSound(k, where + " " + k.name());
            }
        }
        return refilled;
    }

    /**
     * Independently of SliceRefill: walk two trips of the loop; between two barriers, no buffer is both refilled and
     * named by another instruction; a barrier that follows a cp.async refill is preceded by a wait for every copy; every shared
     * slice the trip reads is refilled exactly once per trip; the loop's first barrier is not preceded by a refill
     * that its first phase reads (covered by the two-trip walk).
     */
    static void assertSound(Kernel k, String where) {
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        List<Instr> trip = loop(k).body();
        assertTrue(trip.stream().anyMatch(i -> i instanceof Instr.Barrier), where + ": a trip without a barrier");
        List<Instr> two = new ArrayList<>(trip);
        two.addAll(trip);
        Set<Buffer> refilled = new HashSet<>(), named = new HashSet<>();
        boolean async = false;
        Instr previous = null;
        for (Instr i : two) {
            if (i instanceof Instr.Barrier) {
                if (async) {
                    assertTrue(previous instanceof Instr.AsyncWait w && w.pending() == 0, where + ": a barrier after a refill without a wait");
                }
                refilled.clear();
                named.clear();
                async = false;
            } else if (isRefill(i)) {
                refilled.add(((Instr.LoadWeight) i).dst());
                async |= ((Instr.LoadWeight) i).async();
            } else {
                for (Buffer b : shared) if (mentions(i, b)) named.add(b);
            }
            Set<Buffer> both = new HashSet<>(refilled);
            both.retainAll(named);
            assertTrue(both.isEmpty(), where + ": " + both + " refilled and used between the same barriers");
            previous = i;
        }
        Set<String> slices = new HashSet<>(), refills = new HashSet<>();
        for (Instr i : trip) {
            if (isRefill(i)) assertTrue(refills.add(((Instr.LoadWeight) i).dst().name()), where + ": refilled twice");
        }
        for (Instr i : k.body()) {
            if (i instanceof Instr.LoadWeight lw && lw.streamed() == null && lw.dst().stages() == 1 && weightSliceOfLoop(lw, trip)) {
                slices.add(lw.dst().name());
            }
        }
        assertEquals(slices, refills, where + ": the slices copied before the loop are the slices refilled in it");
    }

    /** Whether a weight copy before the loop fills a buffer that the loop refills or reads a streamed slice of. */
    private static boolean weightSliceOfLoop(Instr.LoadWeight lw, List<Instr> trip) {
        return trip.stream().anyMatch(i -> i instanceof Instr.LoadWeight r && r.dst().equals(lw.dst()));
    }

    /**
     * Whether an instruction names buffer b, written out here rather than taken from Instr.touched: its destination, the
     * sources of its layers' inputs, a staging buffer, or a staged weight (a buffer holding a weight its layers multiply by).
     */
    private static boolean mentions(Instr i, Buffer b) {
        return switch (i) {
            case Instr.Load l -> l.dst().equals(b);
            case Instr.LoadWeight lw -> lw.dst().equals(b);
            case Instr.Compute c -> c.dst().equals(b) || reads(c.layer(), c.sources(), b)
                    || c.inlined().stream().anyMatch(l -> reads(l, c.sources(), b));
            case Instr.Accumulate a -> a.acc().equals(b) || b.equals(a.input()) || reads(a.layer(), Map.of(), b);
            case Instr.Chain ch -> mentions(ch.producer(), b) || mentions(ch.consumer(), b);
            case Instr.Finish f -> f.acc().equals(b) || f.dst().equals(b) || reads(f.layer(), f.sources(), b);
            case Instr.Store s -> s.src().equals(b) || b.equals(s.staging());
            default -> false;
        };
    }

    /** Whether layer reads b: one of its input activations from b (through sources), or its weight staged in b. */
    private static boolean reads(tmc.ir.Layer layer, Map<String, Buffer> sources, Buffer b) {
        return layer.inputs().stream().anyMatch(a -> b.equals(sources.get(a.name())))
                || layer.ops().stream().anyMatch(op -> op instanceof tmc.check.Op.Pointwise p && p.weight().name().equals(b.tensor())
                        || op instanceof tmc.check.Op.Conv2d c && c.weight().name().equals(b.tensor()));
    }
}
