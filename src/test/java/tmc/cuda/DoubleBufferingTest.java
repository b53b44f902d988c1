package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.cli.Generated;
import tmc.cli.Main;
import tmc.ir.Buffer;
import tmc.ir.Kernel;
import tmc.plan.Budgets;
import tmc.plan.LaunchShape;
import tmc.plan.Lowering;
import tmc.target.Targets;

/**
 * cp.async double buffering of the streamed weight slices: the emitted loop prefetches chunk e0+chunk while
 * chunk e0 is computed, with the wait and barrier in the right places; every place that reports a kernel's shared
 * memory agrees with what the kernel lays out; near the shared-memory limit, or where the second copies would
 * cost a resident block, or on a target without cp.async, the loop falls back to single buffering and says so.
 */
class DoubleBufferingTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    static CompiledProgram compile(String sample, String plan, Tmc.Options options) {
        return program(Tmc.compile(REPO.resolve("samples").resolve(sample), options), sample, plan);
    }

    /** Plan {@code plan} of the compilation of {@code file}, compiled; a check error or a refusal fails the test. */
    static CompiledProgram program(Tmc.Compilation c, String file, String plan) {
        assertTrue(c.ok(), c.report());
        return switch (c.compile(plan)) {
            case Tmc.Outcome.Compiled p -> p.program();
            case Tmc.Outcome.Refused r -> throw new AssertionError(file + " " + plan + ": " + r.why().headline());
        };
    }

    /**
     * A sample with its expanded chunk h staged in shared memory instead of kept in registers (the layout before the
     * register chain): the shared sizes these tests reason about are those of that layout.
     */
    static CompiledProgram compileWithHInShared(String sample, String plan, Tmc.Options options) {
        return compileWithHInShared(sample, plan, options, Map.of());
    }

    /** The text of {@code samples/<sample>}. */
    static String sampleText(String sample) {
        try {
            return Files.readString(REPO.resolve("samples").resolve(sample));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The same, with further text replacements (e.g. a plan's stream chunk as it was when a test was written). */
    static CompiledProgram compileWithHInShared(String sample, String plan, Tmc.Options options,
                                                Map<String, String> replacements) {
        String text = sampleText(sample);
        String staged = text.replaceAll("place  h in registers[^\n]*", "place  h in shared");
        assertNotEquals(text, staged, sample + " no longer places h in registers");
        // A conv's result kept as h's A fragments needs h in registers: it goes back to shared with h.
        staged = staged.replaceAll("place  a in registers[^\n]*", "place  a in shared");
        for (Map.Entry<String, String> r : replacements.entrySet()) {
            String before = staged;
            staged = staged.replaceAll(r.getKey(), r.getValue());
            assertNotEquals(before, staged, sample + " no longer has " + r.getKey());
        }
        return program(Tmc.compileText(sample, staged, options), sample, plan);
    }

    /** The text of the kernel's stream loop: from its for to the matching closing brace. */
    static String loopOf(String source) {
        int start = source.indexOf("for (int e0 = 0;");
        assertTrue(start >= 0, "no stream loop");
        int depth = 0;
        for (int i = source.indexOf('{', start); i < source.length(); i++) {
            if (source.charAt(i) == '{') depth++;
            if (source.charAt(i) == '}' && --depth == 0) return source.substring(start, i + 1);
        }
        throw new AssertionError("unbalanced loop");
    }

    @Test
    void convFirstFusedPrefetchesTheNextChunkAndWaitsBeforeUse() {
        CompiledProgram p = compile("convfirst.tm", "fused", Tmc.Options.DEFAULTS);
        String src = p.source();
        Kernel k = p.program().kernels().getFirst();
        assertTrue(Lowering.pipelined(k));
        for (String w : List.of("w1_s", "w2_s")) {
            Buffer b = k.buffers().stream().filter(x -> x.name().equals(w)).findFirst().orElseThrow();
            assertEquals(2, b.stages(), w);
            assertEquals(2 * 9216, b.bytes(), w);
        }

        // Before the loop: the tile and wc in one group, chunk 0 of w1 and w2 in a second; wait for the first.
        String pre = src.substring(src.indexOf("extern __shared__"), src.indexOf("for (int e0 = 0;"));
        assertTrue(pre.contains("tm_cp_async16(x_s + p * X_S_STRIDE + c, x + "), pre);
        assertTrue(pre.contains("*reinterpret_cast<uint4*>(x_s + p * X_S_STRIDE + c) = make_uint4(0u, 0u, 0u, 0u);"),
                "zero padding outside the image stays a plain store: " + pre);
        assertTrue(pre.contains("tm_cp_async16(w1_s_buf + row * 72 + col, w1 + (size_t)(0 + row) * 64 + 0 + col);"), pre);
        assertInOrder(pre, "tm_cp_async16(wc_s", "tm_cp_async_commit();", "tm_cp_async16(w1_s_buf", "tm_cp_async16(w2_s_buf",
                "tm_cp_async_commit();\n    tm_cp_async_wait<1>();", "__syncthreads();", "tm_mma_k8(");

        // In the loop (the late-issue form, tmc.plan.TripBarriers): select the copy of chunk e0; wait for chunk e0
        // (the only copies in flight); barrier; prefetch chunk e0+64 into the other copy unless it is the last;
        // commit; only then compute. No barrier ends the trip (a __syncwarp for ptxas does); one follows the loop.
        String loop = loopOf(src);
        assertInOrder(loop,
                "const int stage = (e0 / 64) & 1;",
                "__half* const w1_s = w1_s_buf + stage * W1_S_COPY;",
                "__half* const w2_s = w2_s_buf + stage * W2_S_COPY;",
                "tm_cp_async_wait<0>();",
                "__syncthreads();",
                "// prefetch chunk e0+64 while computing chunk e0",
                "if (e0 + 64 < 256) {",
                "tm_cp_async16((w1_s_buf + (stage ^ 1) * W1_S_COPY) + row * 72 + col, w1 + (size_t)(e0 + 64 + row) * 64 + 0 + col);",
                "tm_cp_async16((w2_s_buf + (stage ^ 1) * W2_S_COPY) + row * 72 + col, w2 + (size_t)(0 + row) * 256 + e0 + 64 + col);",
                "tm_cp_async_commit();",
                "tm_ldsm_x4(b, brow");
        int firstCompute = loop.indexOf("tm_ldsm_x4");
        assertTrue(loop.indexOf("tm_cp_async_wait<0>();") < firstCompute);
        assertFalse(loop.substring(firstCompute).contains("tm_cp_async16("), "no copy after the first compute of a trip");
        assertEquals(1, loop.split("__syncthreads\\(\\);", -1).length - 1, "one barrier per trip: " + loop);
        assertTrue(loop.replaceAll("\\s+", " ").matches(".*__syncwarp\\(\\); // [^}]*}$"), "the trip ends with a __syncwarp");
        String after = src.substring(src.indexOf(loop) + loop.length());
        assertTrue(after.stripLeading().startsWith("__syncthreads();"), "a barrier right after the loop: " + after);
        // No synchronous weight copies are left in the loop.
        assertFalse(loop.contains("*reinterpret_cast<uint4*>(w1_s"), loop);
        assertFalse(loop.contains("*reinterpret_cast<uint4*>(w2_s"), loop);
    }

    static void assertInOrder(String text, String... parts) {
        int at = 0;
        for (String part : parts) {
            int i = text.indexOf(part, at);
            if (i < 0) fail("'" + part + "' not found after offset " + at + " in:\n" + text);
            at = i + part.length();
        }
    }

    static final Pattern SMEM = Pattern.compile("reinterpret_cast<[^>]+>\\(smem \\+ (\\d+)\\);  // [^\\n]*?(\\d+) B(?: \\(line \\d+\\))?(?:, over [^\\n]+)?\\n");

    @Test
    void everyReportOfSharedMemoryAgreesWithTheEmittedLayout() {
        for (String arch : List.of("sm_80", "sm_86", "sm_90")) {
            for (Path sample : Generated.samples(REPO)) {
                Tmc.Compilation c = Tmc.compile(sample, Tmc.Options.DEFAULTS.withArch(arch));
                assertTrue(c.ok(), c.report());
                for (Tmc.Outcome o : c.compileAll()) {
                    if (!(o instanceof Tmc.Outcome.Compiled compiled)) continue;
                    CompiledProgram p = compiled.program();
                    for (Kernel k : p.program().kernels()) {
                        String where = arch + " " + k.name();
                        Manifest.KernelEntry entry = p.manifest().kernels().stream()
                                .filter(e -> e.entry().equals(k.name())).findFirst().orElseThrow();
                        assertEquals(k.sharedBytes(), entry.dynamicSharedBytes(), where + ": manifest");
                        assertEquals(k.sharedBytes(), Budgets.check(k, Targets.builtin().get(arch).orElseThrow())
                                .sharedBytes(), where + ": budget check");
                        // The kernel's own layout: offsets and sizes of the buffers carved out of smem.
                        String body = kernelSource(p.source(), k.name());
                        long end = 0;
                        Matcher m = SMEM.matcher(body);
                        while (m.find()) end = Math.max(end, Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)));
                        assertEquals(k.sharedBytes(), end, where + ": emitted buffers");
                        assertTrue(body.contains(k.sharedBytes() + " B shared"), where + ": header");
                        // (a warp-specialized kernel's second copy is its handed-over chunk's, not a prefetch)
                        if (Lowering.pipelined(k) && k.sides().isEmpty()) {
                            long doubled = k.buffers().stream().filter(b -> b.stages() == 2).mapToLong(Buffer::stageBytes).sum();
                            assertTrue(doubled > 0, where);
                            assertTrue(body.contains("tm_cp_async_wait<1>();")
                                    || body.contains("tm_cp_async_wait<0>();  // chunk e0 has landed"), where);
                        }
                    }
                }
            }
        }
    }

    /** The text of one kernel, from its comment header to the next one (or the end). */
    static String kernelSource(String source, String name) {
        int start = source.indexOf("// Kernel " + name + "\n");
        assertTrue(start >= 0, name);
        int next = source.indexOf("// Kernel ", start + 1);
        return next < 0 ? source.substring(start) : source.substring(start, next);
    }

    @Test
    void tmcPlanReportsTheDoubledSliceSizes() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"plan", REPO.resolve("samples/convfirst.tm").toString(), "--arch", "sm_90",
                "--plan", "fused", "--ir"}, new PrintWriter(out), new PrintWriter(err));
        assertEquals(0, code, err.toString());
        String o = out.toString();
        // 53568 B single-buffered (x 25920, wc 9216, w1 9216, w2 9216; a and h stay in registers), plus a second
        // 9216 B copy of each of the w1 and w2 slices.
        assertTrue(o.contains("shared     72000 B = 70.3 KB per block"), o);
        assertTrue(o.contains("w1_s     w1 weight slice 64 x 64 twice, row stride 72      18432 B"), o);
        assertTrue(o.contains("prefetch   w1_s (the other copy), unless past the last chunk <- w1[e0+64 : e0+128, 0 : 64]"), o);
        assertTrue(o.contains("wait       (until at most 1 group is in flight)"), o);
    }

    @Test
    void nearTheSharedLimitTheLoopFallsBackToSingleBuffering() {
        // sm_86 allows 101376 B per block: ConvFirst's fused plan with h in shared needs 90432 B with one copy of each slice and
        // 108864 B with two. The plan is still accepted, single-buffered.
        CompiledProgram p = compileWithHInShared("convfirst.tm", "fused", Tmc.Options.DEFAULTS.withArch("sm_86"));
        Kernel k = p.program().kernels().getFirst();
        assertFalse(Lowering.pipelined(k));
        assertEquals(90432, k.sharedBytes());
        assertEquals(90432, p.manifest().kernels().getFirst().dynamicSharedBytes());
        String kernel = kernelSource(p.source(), k.name());
        assertTrue(kernel.contains("// single-buffered: double-buffering the weight slices would need 108864 B of shared "
                + "memory per block, over the 101376 B of sm_86"), kernel);
        // One copy of each slice, refilled during the phase that does not read it (tmc.plan.SliceRefill): w1 feeds
        // the first phase (h into shared), w2 the second (the accumulation).
        assertFalse(kernel.contains("const int stage ="), "no second copy to choose");
        assertTrue(kernel.contains("refill for chunk e0+64"), kernel);
        assertTrue(kernel.contains("tm_cp_async16(w1_s + row * 72 + col, w1 + (size_t)(e0 + 64 + row) * 64"), kernel);
    }

    @Test
    void doubleBufferingThatWouldCostAResidentBlockIsNotUsed() {
        // ConvNeXt's fused plan with h in shared holds 2 blocks per SM on sm_90 with one copy (113152 B); with two (140288 B) only 1.
        // (with the chunk of 64 the sample had then; by 32 both copies fit at 2 blocks per SM)
        CompiledProgram p = compileWithHInShared("convnext.tm", "fused", Tmc.Options.DEFAULTS,
                Map.of("stream E by 32[^\n]*", "stream E by 64"));
        Kernel k = p.program().kernels().getFirst();
        assertFalse(Lowering.pipelined(k));
        assertEquals(113152, k.sharedBytes());
        assertEquals(2, Budgets.occupancy(k, Targets.builtin().get("sm_90").orElseThrow()).blocksPerSm());
        assertTrue(p.source().contains("// single-buffered: double-buffering the weight slices (140288 B of shared memory "
                + "per block) would leave room for 1 block per SM instead of 2 on sm_90"), p.source());
    }

    @Test
    void aTargetWithoutCpAsyncStagesSynchronously(@TempDir Path dir) throws IOException {
        Path targets = dir.resolve("old.targets.json");
        Files.writeString(targets, tmc.target.TargetsTest.rtx4090("old").replace("\"arch\": \"sm_89\"", "\"arch\": \"sm_75\""));
        Tmc.Options options = new Tmc.Options(Map.of(), "old", LaunchShape.REFERENCE, List.of(targets), null);
        CompiledProgram p = compile("fusedmlp.tm", "fused", options);
        Kernel k = p.program().kernels().getFirst();
        assertFalse(Lowering.pipelined(k));
        String kernel = kernelSource(p.source(), k.name());
        assertTrue(kernel.contains("// single-buffered: old (sm_75) has no cp.async, which needs sm_80 or later"), kernel);
        assertFalse(kernel.contains("tm_cp_async"), kernel);
    }
}
