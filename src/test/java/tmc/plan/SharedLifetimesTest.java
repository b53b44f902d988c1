package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.check.PlanSpec.Space;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * Shared buffers that are never live at the same time share bytes when that adds a block per SM (SharedLifetimes).
 * The soundness check re-derives, independently of the allocator, which buffers every instruction touches and asserts
 * that no two buffers with overlapping bytes are touched between the same two barriers or across a barrier-free gap.
 */
class SharedLifetimesTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));
    static final Target H100 = Targets.builtin().get("sm_90").orElseThrow();

    static String sample(String name) {
        try {
            return Files.readString(REPO.resolve("samples").resolve(name));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static CompiledProgram compile(String file, String text, String plan) {
        Tmc.Compilation c = Tmc.compileText(file, text, Tmc.Options.DEFAULTS);
        assertTrue(c.ok(), c.report());
        return switch (c.compile(plan)) {
            case Tmc.Outcome.Compiled p -> p.program();
            case Tmc.Outcome.Refused r -> throw new AssertionError(plan + ": " + r.why().headline());
        };
    }

    /** The same kernel with every shared buffer in bytes of its own. */
    static Kernel unshared(Kernel k) {
        return new Kernel(k.name(), k.tileN(), k.tileH(), k.tileW(), k.threads(), k.math(), k.layers(), k.buffers(),
                k.body(), k.registersPerThread());
    }

    @Test
    void convNeXtsFusedKernelFitsAThirdBlockPerSm() {
        Kernel k = compile("convnext.tm", sample("convnext.tm"), "fused").program().kernels().getFirst();
        assertTrue(k.sharesSharedMemory());
        assertEquals(2, Budgets.occupancy(unshared(k), H100).blocksPerSm());
        assertEquals(3, Budgets.occupancy(k, H100).blocksPerSm());
        // The staged input tile and the conv weights die with the conv: the weight slices and n take their bytes.
        Map<String, Buffer> byName = new java.util.HashMap<>();
        for (Buffer b : k.buffers()) byName.put(b.name(), b);
        assertTrue(k.overlapInShared(byName.get("x_s"), byName.get("w1_s")));
        assertTrue(k.overlapInShared(byName.get("x_s"), byName.get("n_s")));
        assertFalse(k.overlapInShared(byName.get("a_s"), byName.get("n_s")), "LayerNorm reads a and writes n");
        assertTrue(k.sharedBytes() < unshared(k).sharedBytes());
    }

    @Test
    void theRearrangedBodyCopiesChunkZeroAfterTheConvAndTakesTheResidualOffTheStagedInput() {
        CompiledProgram p = compile("convnext.tm", sample("convnext.tm"), "fused");
        String src = p.source();
        int conv = src.indexOf("// L1 conv2d 7x7 depthwise");
        int chunk0 = src.indexOf("// stage w1[0 : 0+32, 0 : 0+96] -> w1_s copy 0");
        int layerNorm = src.indexOf("// L2 layernorm");
        assertTrue(conv > 0 && chunk0 > conv && layerNorm > chunk0, "chunk 0's slices between the conv and the LayerNorm");
        assertTrue(src.substring(conv, chunk0).contains("__syncthreads();"), "a barrier ends the conv before x_s is overwritten");
        assertTrue(src.contains("tm_cp_async_wait<0>();  // every copy has landed"), src);
        // The residual no longer comes from x_s (its bytes went to the slices and n): under the mask, from the
        // store's staging buffer, where ResidualStaging copied it (ResidualStagingTest).
        String epilogue = src.substring(src.indexOf("// epilogue of L4"));
        int inside = epilogue.indexOf("if (inside) {");
        int residual = epilogue.indexOf("tm_f32x2(&a_s[((ly + 0) * A_S_W + lx + 0) * A_S_STRIDE + oc])");
        assertTrue(inside >= 0 && residual > inside, epilogue);
        assertFalse(epilogue.contains("x_s["), epilogue);
    }

    @Test
    void tmcPlanSaysWhichBuffersShareBytes() {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code = tmc.cli.Main.run(new String[] {"plan", REPO.resolve("samples/convnext.tm").toString(), "--arch", "sm_90",
                "--plan", "fused", "--ir"}, new java.io.PrintWriter(out), new java.io.PrintWriter(err));
        assertEquals(0, code, err.toString());
        String o = out.toString();
        assertTrue(o.contains("limit 227.0 KB; buffers never live at the same time share bytes"), o);
        // the budget breakdown and the IR give each buffer's byte offset: x_s and the w1 slices both start at 0
        assertTrue(o.matches("(?s).*x_s +x tile 14x14 \\(halo 3\\).*\\(line \\d+\\) at byte 0\n.*"), o);
        assertTrue(o.matches("(?s).*w1_s +w1 weight slice 32 x 96 twice.*\\(line \\d+\\) at byte 0\n.*"), o);
        assertTrue(o.contains("buffers (@ byte offset: buffers never live at the same time share bytes)"), o);
    }

    @Test
    void aKernelThatGainsNoBlockKeepsItsLayout() {
        // ConvFirst's fused kernel fits 2 blocks per SM by its registers already: nothing to gain, nothing moved.
        Kernel k = compile("convfirst.tm", sample("convfirst.tm"), "fused").program().kernels().getFirst();
        assertFalse(k.sharesSharedMemory());
        assertTrue(k.body().stream().anyMatch(i -> i instanceof Instr.AsyncWait w && w.pending() == 1));
    }

    static Buffer tile(String name, long bytes) {
        return new Buffer(name, name.substring(0, name.indexOf('_')), Space.SHARED, tmc.check.DType.F16, 0, 64, 64, 72,
                bytes, tmc.diag.Span.none("test"));
    }

    @Test
    void firstFitPutsABufferOverOneThatDiedBeforeABarrier() {
        Buffer x = tile("x_s", 4096), w = tile("w_s", 2048), y = tile("y_s", 4096);
        // x loaded, barrier, w loaded, y stored: y and w may go over x (dead at the barrier), not over each other
        List<Instr> body = List.of(new Instr.Load(x, "x"), new Instr.Barrier(), new Instr.Load(w, "w"), new Instr.Store(y, "y"));
        Map<String, Long> at = SharedLifetimes.allocate(List.of(x, w, y), body);
        assertEquals(0L, at.get("x_s"));
        long w0 = at.get("w_s"), y0 = at.get("y_s");
        assertTrue(w0 + 2048 <= y0 || y0 + 4096 <= w0, "w_s and y_s are live together: " + at);
        assertEquals(6144L, Math.max(w0 + 2048, y0 + 4096), "w_s and y_s fill x_s's bytes and no more: " + at);
        // without the barrier nothing may share: three buffers one after another
        List<Instr> noBarrier = List.of(new Instr.Load(x, "x"), new Instr.Load(w, "w"), new Instr.Store(y, "y"));
        Map<String, Long> apart = SharedLifetimes.allocate(List.of(x, w, y), noBarrier);
        long end = 0;
        for (Buffer b : List.of(x, w, y)) end = Math.max(end, apart.get(b.name()) + b.bytes());
        assertEquals(4096 + 2048 + 4096, end, apart.toString());
    }

    @Test
    void buffersMayShareOnlyWithABarrierBetweenTheirLifetimes() {
        List<Integer> barriers = List.of(3, 7);
        assertTrue(SharedLifetimes.mayShare(new int[] {0, 2}, new int[] {4, 9}, barriers));
        assertTrue(SharedLifetimes.mayShare(new int[] {4, 9}, new int[] {0, 2}, barriers));
        assertFalse(SharedLifetimes.mayShare(new int[] {0, 4}, new int[] {5, 6}, barriers), "no barrier between 4 and 5");
        assertFalse(SharedLifetimes.mayShare(new int[] {0, 4}, new int[] {4, 6}, barriers), "one instruction uses both");
        assertFalse(SharedLifetimes.mayShare(new int[] {0, 5}, new int[] {2, 9}, barriers), "overlapping");
        assertFalse(SharedLifetimes.mayShare(null, new int[] {2, 9}, barriers), "an unused buffer has no lifetime");
    }

    @Test
    void everySampleKernelThatSharesBytesIsSound() {
        int sharing = 0;
        for (String arch : List.of("sm_80", "sm_86", "sm_90")) {
            for (String file : List.of("convfirst.tm", "mbconv.tm", "mbconv_dw.tm", "convnext.tm", "fusedmlp.tm")) {
                sharing += assertSoundWhereShared(Tmc.compileText(file, sample(file), Tmc.Options.DEFAULTS.withArch(arch)),
                        arch + " " + file);
            }
        }
        assertTrue(sharing > 0, "no sample kernel shares shared memory");
    }

    @Test
    void randomBlocksThatShareBytesAreSound() {
        int sharing = 0;
        for (RandomBlocks.Spec spec : RandomBlocks.sample(11, 40)) {
            String text = spec.blockText() + "plan best for B on sm_90 { auto }\n"
                    + "plan fused for B on sm_90 {\n  tile N 1, H 8, W 8\n  stream E by " + spec.c() + "\n  warps 4\n}\n";
            sharing += assertSoundWhereShared(Tmc.compileText(spec.name() + ".tm", text, Tmc.Options.DEFAULTS), spec.name());
        }
        assertTrue(sharing > 0, "no random kernel shares shared memory: the check above checked nothing");
    }

    /** {@link #assertSound} on every kernel of every compiled plan whose buffers share bytes; returns how many there were. */
    static int assertSoundWhereShared(Tmc.Compilation c, String where) {
        assertTrue(c.ok(), c.report());
        int sharing = 0;
        for (Tmc.Outcome o : c.compileAll()) {
            if (!(o instanceof Tmc.Outcome.Compiled compiled)) continue;
            for (Kernel k : compiled.program().program().kernels()) {
                if (!k.sharesSharedMemory()) continue;
                sharing++;
                assertSound(k, where + " " + k.name());
            }
        }
        return sharing;
    }

    /**
     * Independently of SharedLifetimes: split the top-level body at its barriers into epochs, note the epochs in which
     * each shared buffer is named by an instruction (a loop is one epoch with everything in it), and require that two
     * buffers whose bytes overlap never share an epoch and that between the epochs of one and of the other lies at
     * least one barrier (an epoch boundary), which the split guarantees.
     */
    static void assertSound(Kernel k, String where) {
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        Map<Buffer, java.util.Set<Integer>> epochs = new java.util.HashMap<>();
        int epoch = 0;
        for (Instr i : k.body()) {
            if (i instanceof Instr.Barrier) {
                epoch++;
                continue;
            }
            for (Buffer b : named(i, shared)) epochs.computeIfAbsent(b, x -> new java.util.TreeSet<>()).add(epoch);
        }
        for (int x = 0; x < shared.size(); x++) {
            for (int y = x + 1; y < shared.size(); y++) {
                Buffer a = shared.get(x), b = shared.get(y);
                if (!k.overlapInShared(a, b)) continue;
                java.util.Set<Integer> ea = epochs.getOrDefault(a, java.util.Set.of());
                java.util.Set<Integer> eb = epochs.getOrDefault(b, java.util.Set.of());
                assertFalse(ea.isEmpty() || eb.isEmpty(), where + ": " + a.name() + " / " + b.name() + " unused but shared");
                int aLast = java.util.Collections.max(ea), bFirst = java.util.Collections.min(eb);
                int bLast = java.util.Collections.max(eb), aFirst = java.util.Collections.min(ea);
                assertTrue(aLast < bFirst || bLast < aFirst, where + ": " + a.name() + " and " + b.name()
                        + " share bytes and are used between the same barriers: " + ea + " " + eb);
            }
        }
    }

    /** The shared buffers an instruction names, reading every tensor of its sources a layer reads (weights by tensor). */
    static List<Buffer> named(Instr i, List<Buffer> shared) {
        List<Buffer> out = new ArrayList<>();
        switch (i) {
            case Instr.Loop l -> l.body().forEach(x -> out.addAll(named(x, shared)));
            case Instr.Chain ch -> {
                out.addAll(named(ch.producer(), shared));
                out.addAll(named(ch.consumer(), shared));
            }
            default -> {
                for (Buffer b : shared) {
                    if (mentions(i, b)) out.add(b);
                }
            }
        }
        return out;
    }

    /** Whether the instruction's record text names the buffer or reads its tensor: deliberately blunt. */
    static boolean mentions(Instr i, Buffer b) {
        return switch (i) {
            case Instr.Load l -> l.dst().equals(b);
            case Instr.LoadWeight lw -> lw.dst().equals(b);
            case Instr.Store s -> b.equals(s.src()) || b.equals(s.staging());
            case Instr.Compute c -> c.dst().equals(b) || readsTensor(c.layer(), c.inlined(), b, c.sources());
            case Instr.Finish f -> f.dst().equals(b) || f.acc().equals(b) || readsTensor(f.layer(), List.of(), b, f.sources());
            case Instr.Accumulate a -> a.acc().equals(b) || b.equals(a.input()) || readsTensor(a.layer(), List.of(), b, Map.of());
            default -> false;
        };
    }

    static boolean readsTensor(tmc.ir.Layer layer, List<tmc.ir.Layer> inlined, Buffer b, Map<String, Buffer> sources) {
        List<tmc.ir.Layer> all = new ArrayList<>(inlined);
        all.add(layer);
        for (tmc.ir.Layer l : all) {
            for (tmc.check.Op op : l.ops()) {
                // weights: by tensor name in the op; activations: only through the sources the instruction was given
                if (b.tensor().equals(weightOf(op))) return true;
                for (tmc.check.Activation a : op.reads()) {
                    if (b.equals(sources.get(a.name()))) return true;
                }
            }
        }
        return false;
    }

    static String weightOf(tmc.check.Op op) {
        return switch (op) {
            case tmc.check.Op.Conv2d c -> c.weight().name();
            case tmc.check.Op.Pointwise p -> p.weight().name();
            default -> null;
        };
    }

    @Test
    void onlyABodyWithADoubleBufferedLoopAndABarrierAfterTheDyingBuffersIsRearranged() {
        tmc.check.TypedBlock block = RandomBlocks.block(RandomBlocks.check(sample("convfirst.tm")));
        for (Kernel k : compile("convfirst.tm", sample("convfirst.tm"), "layerwise").program().kernels()) {
            assertNull(SharedLifetimes.rearranged(block, k), k.name());
        }
        // ConvFirst's fused kernel has the loop, and with the residual from global memory x_s and wc_s would die with
        // the conv; but the conv writes registers and no barrier follows it before the loop, so there is no point where
        // chunk 0 could be copied over them: not rearranged.
        Kernel fused = compile("convfirst.tm", sample("convfirst.tm"), "fused").program().kernels().getFirst();
        assertNull(SharedLifetimes.rearranged(block, fused));
        // ConvNeXt's fused kernel comes out rearranged (theRearrangedBody... above), and that is not rearranged again:
        // chunk 0 is no longer copied with the input tile.
        tmc.check.TypedBlock convNeXt = RandomBlocks.block(RandomBlocks.check(sample("convnext.tm")));
        Kernel done = compile("convnext.tm", sample("convnext.tm"), "fused").program().kernels().getFirst();
        assertTrue(done.sharesSharedMemory());
        assertNull(SharedLifetimes.rearranged(convNeXt, done));
    }
}
