package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
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
 * Warp specialization ({@code warps P + C}, WarpSpecialization): the stream loop split into a producer side that stages
 * chunk j and a consumer side that uses chunk j-1. The soundness check replays the trips from the IR alone: within a
 * trip no side touches bytes the other writes, every chunk the consumer reads is the one the producer wrote for that
 * chunk with no write in between, and each side refills its slices only after its own barrier, for the chunk it
 * computes next.
 */
class WarpSpecializationTest {
    static final Tmc.Options C128 = Tmc.Options.DEFAULTS.withParams(Map.of("C", 128L));

    static CompiledProgram specialized(Tmc.Options o) {
        return SliceRefillTest.compile("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), "specialized", o);
    }

    static Tmc.Outcome outcome(String file, String text, String plan, Tmc.Options o) {
        Tmc.Compilation c = Tmc.compileText(file, text, o);
        assertTrue(c.ok(), c.report());
        return c.compile(plan);
    }

    @Test
    void mbConvsLoopIsSplitIntoAnExpandSideAndAConvAndProjectSide() {
        Kernel k = specialized(C128).program().kernels().getFirst();
        // the same plan unsplit: its 4 warps alone
        String unsplitText = SharedLifetimesTest.sample("mbconv.tm").replace(
                "warps  4 + 4                    // 4 producer warps + 4 consumer warps", "warps  4");
        assertNotEquals(SharedLifetimesTest.sample("mbconv.tm"), unsplitText);
        Kernel unsplit = SliceRefillTest.compile("mbconv.tm", unsplitText, "specialized", C128).program().kernels().getFirst();
        assertEquals(128, unsplit.threads());
        assertEquals(256, k.threads(), "4 producer + 4 consumer warps");
        Instr.Loop loop = SliceRefillTest.loop(k);
        assertEquals(1, loop.lag());
        assertEquals(8, loop.trips());
        Map<Instr.Side.Role, Instr.Side> sides = WarpSpecialization.sides(k);
        Instr.Side producer = sides.get(Instr.Side.Role.PRODUCER), consumer = sides.get(Instr.Side.Role.CONSUMER);
        assertEquals(List.of(0, 4, 0), List.of(producer.firstWarp(), producer.warps(), producer.lag()));
        assertEquals(List.of(4, 4, 1), List.of(consumer.firstWarp(), consumer.warps(), consumer.lag()));
        assertTrue(producer.body().getFirst() instanceof Instr.Compute c && c.dst().name().equals("h1_s"));
        assertTrue(consumer.body().getFirst() instanceof Instr.Chain);
        assertEquals(List.of("w1_s"), refilled(producer));
        assertEquals(List.of("wd_s", "w3_s"), refilled(consumer));
        // two copies of h1's tile and nothing else: the shared bytes of the unsplit plan plus one copy
        Buffer h1 = k.buffers().stream().filter(b -> b.name().equals("h1_s")).findFirst().orElseThrow();
        assertEquals(2, h1.stages());
        assertEquals(unsplit.sharedBytes() + h1.stageBytes(), k.sharedBytes());
        assertEquals(1, k.buffers().stream().filter(b -> b.stages() == 2).count());
        // 2 blocks of 256 threads per SM: 128 registers a thread
        assertEquals(2, k.minBlocksPerSm());
        assertEquals(128, k.registerLimit());
        // the accumulators' epilogue is the consumer's
        assertTrue(k.body().stream().anyMatch(i -> i instanceof Instr.Side sd && sd.role() == Instr.Side.Role.CONSUMER
                && sd.body().getFirst() instanceof Instr.Finish));
        assertSound(k, "C=128");
        assertSound(specialized(Tmc.Options.DEFAULTS).program().kernels().getFirst(), "C=64");
    }

    @Test
    void mbConvDwsExpandAndDepthwiseConvAreTheProducersAndItsTapMajorSliceIsCopiedPlainly() {
        String text = SharedLifetimesTest.sample("mbconv_dw.tm") + """

                plan split for MBConvDW on sm_90 {
                  tile N 1, H 7, W 14
                  place h1 in shared halo 1 stage
                  place h2 in shared
                  stream E by 64
                  warps 4 + 4
                }

                plan chained for MBConvDW on sm_90 {
                  tile N 1, H 7, W 14
                  place h1 in shared halo 1 stage
                  stream E by 64
                  warps 4 + 4
                }
                """;
        Kernel k = ((Tmc.Outcome.Compiled) outcome("mbconv_dw.tm", text, "split", Tmc.Options.DEFAULTS)).program()
                .program().kernels().getFirst();
        Instr.Side producer = WarpSpecialization.sides(k).get(Instr.Side.Role.PRODUCER);
        assertEquals(List.of("h1_s", "h2_s"), producer.body().stream().filter(i -> i instanceof Instr.Compute)
                .map(i -> ((Instr.Compute) i).dst().name()).toList());
        // its own barrier between the expand and the depthwise conv, and another before its refills
        assertEquals(2, producer.body().stream().filter(i -> i instanceof Instr.SideBarrier).count());
        Instr.LoadWeight wd = producer.body().stream().filter(i -> i instanceof Instr.LoadWeight lw && lw.dst().name().equals("wd_s"))
                .map(i -> (Instr.LoadWeight) i).findFirst().orElseThrow();
        assertTrue(wd.tapMajor() && !wd.async(), "the depthwise slice is transposed on the way in, without cp.async");
        assertEquals(2, k.buffers().stream().filter(b -> b.name().equals("h2_s")).findFirst().orElseThrow().stages(),
                "the chunk that crosses is the depthwise conv's output");
        assertEquals(1, k.buffers().stream().filter(b -> b.name().equals("h1_s")).findFirst().orElseThrow().stages(),
                "h1 stays within the producer");
        assertSound(k, "MBConvDW");
        // h2 unplaced: the consumer's register chain takes the depthwise conv (on tensor cores) and the projection
        Kernel chained = ((Tmc.Outcome.Compiled) outcome("mbconv_dw.tm", text, "chained", Tmc.Options.DEFAULTS)).program()
                .program().kernels().getFirst();
        Map<Instr.Side.Role, Instr.Side> sides = WarpSpecialization.sides(chained);
        assertEquals(List.of("h1_s"), sides.get(Instr.Side.Role.PRODUCER).body().stream()
                .filter(i -> i instanceof Instr.Compute).map(i -> ((Instr.Compute) i).dst().name()).toList());
        assertTrue(sides.get(Instr.Side.Role.CONSUMER).body().getFirst() instanceof Instr.Chain ch
                && ch.producer().layer().out().name().equals("h2") && ch.producer().math() == Instr.MathPath.TENSOR_CORE);
        assertSound(chained, "MBConvDW chained");
    }

    @Test
    void everySamplesSpecializedPlanIsSound() {
        int checked = 0;
        // the channel counts of the benchmark's configurations
        Map<String, List<Long>> configs = Map.of("convfirst.tm", List.of(64L, 128L), "mbconv.tm", List.of(64L, 128L),
                "mbconv_dw.tm", List.of(64L), "convnext.tm", List.of(96L));
        for (Map.Entry<String, List<Long>> e : configs.entrySet()) {
            String file = e.getKey();
            for (long c : e.getValue()) {
                for (String arch : List.of("sm_80", "sm_90")) {
                    Tmc.Outcome o = outcome(file, SharedLifetimesTest.sample(file), "specialized",
                            Tmc.Options.DEFAULTS.withArch(arch).withParams(Map.of("C", c)));
                    assertTrue(o instanceof Tmc.Outcome.Compiled, file + " C=" + c + " " + arch + ": " + o);
                    assertSound(((Tmc.Outcome.Compiled) o).program().program().kernels().getFirst(), file + " C=" + c);
                    checked++;
                }
            }
        }
        assertEquals(12, checked);
    }

    @Test
    void sidesOfDifferentSizesDealTheirOwnWork() {
        String text = SharedLifetimesTest.sample("mbconv.tm") + """

                plan twofour for MBConv on sm_90 {
                  tile N 1, H 4, W 14
                  place h1 in shared halo 1 stage
                  stream E by 64
                  warps 2 + 4
                }
                """;
        CompiledProgram p = ((Tmc.Outcome.Compiled) outcome("mbconv.tm", text, "twofour", Tmc.Options.DEFAULTS)).program();
        Kernel k = p.program().kernels().getFirst();
        assertEquals(192, k.threads());
        assertEquals(List.of(0, 2, 2, 4), List.of(WarpSpecialization.sides(k).get(Instr.Side.Role.PRODUCER).firstWarp(),
                WarpSpecialization.sides(k).get(Instr.Side.Role.PRODUCER).warps(), WarpSpecialization.sides(k).get(Instr.Side.Role.CONSUMER).firstWarp(),
                WarpSpecialization.sides(k).get(Instr.Side.Role.CONSUMER).warps()));
        assertSound(k, "2 + 4");
        String cu = p.source();
        assertTrue(cu.contains("if (warp < 2) {"), "the producer's branch");
        assertTrue(cu.contains("6 blocks of 32 pixels x 32 channels, dealt 3 per warp"), "the expand over the producer's 2 warps");
        assertTrue(cu.contains("const int mb = (warp - 2) + i * (THREADS / 32);"), "the consumer's rows from its first warp");
        assertTrue(cu.contains("asm volatile(\"bar.sync 1, 64;\" ::: \"memory\");"), "the producer's 64 threads");
        assertTrue(cu.contains("if ((threadIdx.x - 64) < 126) {")
                && cu.contains("const int row0 = (threadIdx.x - 64) / 9, col = ((threadIdx.x - 64) % 9) * 8;"),
                "the consumer's refill, numbered from its first thread");
    }

    /**
     * Random blocks of the four families, split 4 + 4 with the chain where it applies and with 'h' staged: each plan
     * either lowers to a sound kernel that the writer emits, or is refused with a diagnostic (at the warps directive when
     * the split is the reason); never an exception.
     */
    @Test
    void randomBlocksSplitSoundlyOrAreRefused() {
        int lowered = 0, refusedAtSplit = 0;
        for (RandomBlocks.Spec spec : RandomBlocks.sample(29, 40)) {
            String text = spec.blockText();
            String plans = "plan ws for B on sm_90 {\n  tile N 1, H 8, W 8\n  stream E by " + spec.c() + "\n  warps 4 + 4\n}\n";
            boolean hasH = text.contains("\n  h = ");
            if (hasH) {
                plans += "plan wsh for B on sm_90 {\n  tile N 1, H 8, W 8\n  stream E by " + spec.c()
                        + "\n  place h in shared\n  warps 4 + 4\n}\n";
            }
            Tmc.Compilation c = Tmc.compileText(spec.name() + ".tm", text + plans, Tmc.Options.DEFAULTS);
            assertTrue(c.ok(), spec.name() + ": " + c.report());
            for (String plan : hasH ? List.of("ws", "wsh") : List.of("ws")) {
                String where = spec.name() + " " + plan;
                switch (c.compile(plan)) {
                    case Tmc.Outcome.Compiled p -> {
                        Kernel k = p.program().program().kernels().getFirst();
                        assertEquals(256, k.threads(), where);
                        assertSound(k, where);
                        assertTrue(p.program().source().contains("asm volatile(\"barrier.sync 0;\""), where);
                        lowered++;
                    }
                    case Tmc.Outcome.Refused r -> {
                        assertTrue(r.why().span() != null && !r.why().message().isBlank(), where);
                        if (r.why().message().startsWith("warps 4 + 4: ")) refusedAtSplit++;
                    }
                }
            }
        }
        assertTrue(lowered >= 10, "too few random blocks split for the check to mean anything: " + lowered);
        assertTrue(refusedAtSplit >= 5, "the chains of ConvFirst, ConvNeXt and FusedMLP blocks are refused: " + refusedAtSplit);
    }

    /**
     * tmc tune times the warp-specialized forms of the model's candidates by default (Planner.specialized: halves and a
     * producer side added): every one of them over the first 40 candidates of each sample's auto plan, at
     * C = 64 and 128, is sound by the trip replay (sides of 2, 4 and 8 warps among them).
     */
    @Test
    void everySplitTuneTimesIsSound() {
        int splits = 0;
        java.util.Set<Integer> producerWarps = new java.util.TreeSet<>();
        for (String sample : List.of("mbconv.tm", "mbconv_dw.tm", "convfirst.tm", "convnext.tm")) {
            for (long c : new long[]{64, 128}) {
                Tmc.Compilation comp = Tmc.compile(tmc.Repo.path("samples", sample),
                        Tmc.Options.DEFAULTS.withParams(Map.of("C", c)));
                var spec = comp.program().plan("best").orElseThrow();
                var block = comp.program().block(spec.block()).orElseThrow();
                var target = comp.targets().get("sm_90").orElseThrow();
                var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
                for (Planner.Candidate cand : planned.top().subList(0, Math.min(40, planned.top().size()))) {
                    for (Planner.Candidate split : Planner.specialized(cand, block, spec, target, LaunchShape.REFERENCE)) {
                        Kernel k = split.kernels().getFirst();
                        assertSound(k, sample + " C=" + c + " " + split.summary());
                        producerWarps.add(split.choices().producerWarps());
                        splits++;
                    }
                }
            }
        }
        assertTrue(splits >= 40, "splits checked: " + splits);
        assertTrue(producerWarps.containsAll(List.of(2, 4, 8)), "sides of 2, 4 and 8 warps: " + producerWarps);
    }

    static List<String> refilled(Instr.Side sd) {
        return sd.body().stream().filter(i -> i instanceof Instr.LoadWeight lw && lw.streamed() != null
                && lw.streamed().start() > 0).map(i -> ((Instr.LoadWeight) i).dst().name()).toList();
    }

    /** The buffers an instruction writes. */
    static Set<Buffer> writes(Instr i) {
        Set<Buffer> out = new HashSet<>();
        switch (i) {
            case Instr.Compute c -> out.add(c.dst());
            case Instr.Accumulate a -> out.add(a.acc());
            case Instr.Chain ch -> {
                out.add(ch.producer().dst());
                out.add(ch.consumer().acc());
            }
            case Instr.LoadWeight lw -> out.add(lw.dst());
            case Instr.Finish f -> out.add(f.dst());
            default -> { }
        }
        return out;
    }

    record Access(Buffer buffer, int copy) {}

    /** See the class comment. */
    static void assertSound(Kernel k, String what) {
        Instr.Loop loop = SliceRefillTest.loop(k);
        List<Instr.Side> sides = loop.sides();
        assertEquals(2, sides.size(), what);
        assertTrue(loop.body().getLast() instanceof Instr.Barrier, what + ": the trip ends with the block barrier");
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        Map<Access, String> lastWrite = new HashMap<>();  // "side:chunk" of the last write of a copy
        Map<Buffer, Instr.Side> registerOwner = new HashMap<>();
        for (int trip = 0; trip < loop.trips() + loop.lag(); trip++) {
            Map<Access, Instr.Side> writtenThisTrip = new HashMap<>();
            Map<Access, Instr.Side> touchedThisTrip = new HashMap<>();
            for (Instr.Side sd : sides) {
                int chunk = trip - sd.lag();
                if (chunk < 0 || chunk >= loop.trips()) continue;
                boolean ownBarrier = false;
                Set<Buffer> readSinceBarrier = new HashSet<>();
                for (Instr i : sd.body()) {
                    assertFalse(Instr.flatten(List.of(i)).anyMatch(x -> x instanceof Instr.Barrier),
                            what + ": a block barrier inside the " + sd.role());
                    if (i instanceof Instr.SideBarrier) {
                        ownBarrier = true;
                        readSinceBarrier.clear();
                        continue;
                    }
                    boolean refill = i instanceof Instr.LoadWeight lw && lw.streamed() != null && lw.streamed().start() > 0;
                    if (refill) {
                        Buffer b = ((Instr.LoadWeight) i).dst();
                        assertTrue(ownBarrier, what + ": " + b.name() + " refilled before the " + sd.role() + "'s barrier");
                        assertFalse(readSinceBarrier.contains(b), what + ": " + b.name() + " refilled while it is read");
                        if (chunk + 1 >= loop.trips()) continue;  // the writer skips it past the last chunk
                    }
                    Set<Buffer> w = writes(i);
                    for (Buffer b : Instr.touched(i, k.buffers())) {
                        if (b.space() == Space.REGISTERS) {
                            Instr.Side owner = registerOwner.putIfAbsent(b, sd);
                            assertTrue(owner == null || owner == sd, what + ": both sides hold " + b.name());
                            continue;
                        }
                        if (!shared.contains(b)) continue;
                        Access a = new Access(b, b.stages() == 2 ? chunk % 2 : 0);
                        Instr.Side other = w.contains(b) ? touchedThisTrip.get(a) : writtenThisTrip.get(a);
                        assertTrue(other == null || other == sd, what + ": trip " + trip + ", the " + sd.role() + " and the "
                                + (other == null ? "" : other.role()) + " both touch copy " + a.copy() + " of " + b.name());
                        touchedThisTrip.put(a, sd);
                        if (w.contains(b)) {
                            writtenThisTrip.put(a, sd);
                            lastWrite.put(a, sd.role() + ":" + (refill ? chunk + 1 : chunk));
                        } else {
                            readSinceBarrier.add(b);
                            if (b.stages() == 2) {
                                // the chunk that crosses: written for this very chunk by the other side, in an earlier trip
                                String last = lastWrite.get(a);
                                assertTrue(last != null && last.equals("producer:" + chunk) && sd.role() != Instr.Side.Role.PRODUCER,
                                        what + ": the " + sd.role() + " reads copy " + a.copy() + " of " + b.name()
                                                + " for chunk " + chunk + ", last written " + last);
                            }
                        }
                    }
                }
            }
        }
        // outside the sides no instruction but a store touches registers: every register buffer's per-thread layout
        // is the consumer's (the kernel was lowered for its warps), and the writer stores an owned buffer on its side
        for (Instr i : k.body()) {
            if (i instanceof Instr.Side || i instanceof Instr.Loop || i instanceof Instr.Store) continue;
            for (Buffer b : Instr.touched(i, k.buffers())) {
                assertFalse(b.space() == Space.REGISTERS, what + ": " + b.name() + " is used by every warp, outside the sides");
            }
        }
    }

    @Test
    void theCheckSeesAReadOfTheCopyBeingWritten() {
        Kernel k = specialized(C128).program().kernels().getFirst();
        // the consumer on the chunk the producer is writing: lag 0
        List<Instr> trip = new ArrayList<>();
        for (Instr i : SliceRefillTest.loop(k).body()) {
            trip.add(i instanceof Instr.Side sd && sd.lag() == 1
                    ? new Instr.Side(sd.role(), sd.firstWarp(), sd.warps(), 0, sd.body()) : i);
        }
        Kernel broken = SliceRefillTest.withTrip(k, trip);
        AssertionError e = assertThrows(AssertionError.class, () -> assertSound(broken, "lag 0"));
        assertTrue(e.getMessage().contains("both touch copy"), e.getMessage());
    }

    @Test
    void theWriterRefusesABlockBarrierInsideASide() {
        CompiledProgram p = specialized(C128);
        Kernel k = p.program().kernels().getFirst();
        List<Instr> trip = new ArrayList<>();
        for (Instr i : SliceRefillTest.loop(k).body()) {
            if (i instanceof Instr.Side sd && sd.role() == Instr.Side.Role.PRODUCER) {
                List<Instr> body = new ArrayList<>(sd.body());
                body.add(1, new Instr.Barrier());
                i = new Instr.Side(sd.role(), sd.firstWarp(), sd.warps(), sd.lag(), body);
            }
            trip.add(i);
        }
        Kernel broken = SliceRefillTest.withTrip(k, trip);
        assertThrows(AssertionError.class, () -> assertSound(broken, "mutated"), "the test's own check must see it");
        TmProgram program = new TmProgram(p.program().block(), p.program().plan(), p.program().arch(), List.of(broken));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaEmitter.emit(program, "mbconv.tm", "test"));
        assertTrue(e.getMessage().contains("a block barrier inside the producer side"), e.getMessage());
    }

    @Test
    void theKernelSaysWhatItDoes() {
        String cu = specialized(C128).source();
        assertTrue(cu.contains("256 threads (8 warps: 4 producer + 4 consumer)"), "the header");
        assertTrue(cu.contains("__launch_bounds__(256, 2)"), "2 blocks per SM");
        assertTrue(cu.contains("if (warp < 4) {") && cu.contains("} else {"), "one branch per side");
        assertEquals(2, count(cu, "for (int trip = 0; trip < 9; ++trip)"), "each side's own loop: 8 chunks + 1 trip");
        assertTrue(cu.contains("const int e0 = trip * 64;") && cu.contains("const int e0 = (trip - 1) * 64;"));
        assertTrue(cu.contains("__half* const h1_s = h1_s_buf + (trip & 1) * H1_S_COPY;"));
        assertTrue(cu.contains("__half* const h1_s = h1_s_buf + ((trip - 1) & 1) * H1_S_COPY;"));
        assertTrue(cu.contains("asm volatile(\"bar.sync 1, 128;\" ::: \"memory\");"), "the producer's barrier");
        assertTrue(cu.contains("asm volatile(\"bar.sync 2, 128;\" ::: \"memory\");"), "the consumer's barrier");
        assertEquals(2, count(cu, "asm volatile(\"barrier.sync 0;\" ::: \"memory\");"), "the trip's end, once per side");
        // inside the consumer the refills and the row tiles count from its first thread and warp
        assertTrue(cu.contains("if ((threadIdx.x - 128) < 126) {")
                && cu.contains("const int row0 = (threadIdx.x - 128) / 9, col = ((threadIdx.x - 128) % 9) * 8;"), "wd's refill");
        assertTrue(cu.contains("const int mb = (warp - 4) + i * (THREADS / 32);"), "the consumer's row tiles");
        assertTrue(cu.contains("#pragma unroll 1\n                        for (int sl = 0; sl < 64; sl += 32)"),
                "the consumer's sub-slices rolled");
        assertTrue(cu.contains("if (warp >= 4) {"), "the epilogue and the fragments' store on the consumer warps");
    }

    static int count(String s, String what) {
        int n = 0;
        for (int at = s.indexOf(what); at >= 0; at = s.indexOf(what, at + 1)) n++;
        return n;
    }

    @Test
    void plansItCannotSplitAreRefusedAtTheWarpsDirective() {
        record Case(String file, String plan, String message) {}
        String wgmma = SharedLifetimesTest.sample("mbconv.tm") + """

                plan split for MBConv on sm_90 {
                  tile N 1, H 8, W 8
                  stream E by 32
                  warps 4 + 4
                  math wgmma
                }
                plan nostream for MBConv on sm_90 {
                  tile N 1, H 4, W 14
                  warps 4 + 4
                }
                """;
        Tmc.Outcome w = outcome("mbconv.tm", wgmma, "split", Tmc.Options.DEFAULTS);
        String msg = ((Tmc.Outcome.Refused) w).why().message();
        assertTrue(msg.startsWith("warps 4 + 4: ") && msg.contains("wgmma needs whole warpgroups"), msg);
        assertTrue(((Tmc.Outcome.Refused) w).why().hint().contains("'warps 8' without the split"));
        // a split plan that leaves the stream out gets one from the search, and keeps its split
        Tmc.Outcome searched = outcome("mbconv.tm", wgmma, "nostream", Tmc.Options.DEFAULTS);
        Kernel k = ((Tmc.Outcome.Compiled) searched).program().program().kernels().getFirst();
        assertEquals(256, k.threads());
        assertEquals(2, WarpSpecialization.sides(k).size());
        // ConvFirst's chain is its loop's only phase, and 'a' lives in every warp's registers
        String convfirst = SharedLifetimesTest.sample("convfirst.tm") + """

                plan split for ConvFirst on sm_90 {
                  tile N 1, H 8, W 16
                  place a in shared
                  stream E by 64
                  warps 4 + 4
                }
                """;
        Tmc.Outcome o = outcome("convfirst.tm", convfirst, "split", Tmc.Options.DEFAULTS);
        Tmc.Outcome.Refused r = (Tmc.Outcome.Refused) o;
        assertTrue(r.why().message().contains("is one phase"), r.why().message());
        int line = (int) convfirst.lines().takeWhile(l -> !l.contains("warps 4 + 4")).count() + 1;
        assertEquals(line, r.why().span().line(), "at the warps directive");
    }

    @Test
    void aTargetWithoutCpAsyncRefusesTheSplit(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path targets = dir.resolve("old.targets.json");
        java.nio.file.Files.writeString(targets, tmc.target.TargetsTest.rtx4090("old")
                .replace("\"arch\": \"sm_89\"", "\"arch\": \"sm_75\""));
        Tmc.Options options = new Tmc.Options(Map.of(), "old", LaunchShape.REFERENCE, List.of(targets), null);
        Tmc.Compilation c = Tmc.compile(SharedLifetimesTest.REPO.resolve("samples/mbconv.tm"), options);
        assertTrue(c.ok(), c.report());
        Tmc.Outcome old = c.compile("specialized");
        assertTrue(old instanceof Tmc.Outcome.Refused r && r.why().message().contains("each side refills its weight "
                + "slices with cp.async, which old does not have (sm_80 or later)"), old.toString());
    }

    @Test
    void theSearchNeverSplitsWarps() {
        Tmc.Compilation c = Tmc.compileText("mbconv.tm", SharedLifetimesTest.sample("mbconv.tm"), C128);
        Tmc.Outcome best = c.compile("best");
        Kernel k = ((Tmc.Outcome.Compiled) best).program().program().kernels().getFirst();
        assertTrue(WarpSpecialization.sides(k).isEmpty(), "auto does not choose warp specialization (not yet measured)");
    }
}
