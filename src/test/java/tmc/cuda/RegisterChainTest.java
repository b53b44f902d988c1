package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.check.PlanSpec;
import tmc.diag.Diagnostic;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.MmaTiling;

/**
 * The register chain (Instr.Chain): an expanded chunk that only the projection reads stays in registers, each warp
 * owning whole rows of 16 pixels, and feeds the projection's mma as A fragments. Correctness on the GPU is checked by
 * tmc verify (docs/benchmarks.md); here: when the lowering chains and when it must not, what the kernel looks like,
 * and that ptxas fits it in the plan's registers.
 */
class RegisterChainTest {

    /** A FusedMLP-like block; {@code placeH} is the plan's line for h (or empty), {@code tile} and {@code warps} its own. */
    static String mlp(String placeH, String tile, int warps, String math) {
        return """
                block B {
                  param C = 64, E = 4 * C
                  in  x  : f16[N, H, W, C]
                  w   w1 : f16[E, C]
                  w   b1 : f32[E]
                  w   w2 : f16[C, E]
                  out y  : f16[N, H, W, C]
                  h = silu(pointwise(x, w1) + b1)
                  y = pointwise(h, w2) + x
                }
                plan p for B on sm_90 {
                  tile N 1, %s
                  stream E by 64
                  %s
                  warps %d
                  math %s
                }
                """.formatted(tile, placeH, warps, math);
    }

    static Tmc.Outcome compile(String text) {
        Tmc.Compilation c = Tmc.compileText("b.tm", text, Tmc.Options.DEFAULTS);
        assertTrue(c.ok(), c.report());
        return c.compile("p");
    }

    static CompiledProgram compiled(String text) {
        return DoubleBufferingTest.program(Tmc.compileText("b.tm", text, Tmc.Options.DEFAULTS), "b.tm", "p");
    }

    static Instr.Loop loopOf(Kernel k) {
        return (Instr.Loop) k.body().stream().filter(i -> i instanceof Instr.Loop).findFirst().orElseThrow();
    }

    @Test
    void anUnplacedChunkReadOnlyByTheProjectionStaysInRegisters() {
        CompiledProgram p = compiled(mlp("", "H 8, W 16", 8, "tensor_core"));
        Kernel k = p.program().kernels().getFirst();
        Instr.Loop loop = loopOf(k);
        Instr.Chain chain = (Instr.Chain) loop.body().stream().filter(i -> i instanceof Instr.Chain).findFirst()
                .orElseThrow(() -> new AssertionError("no chain in " + loop.body()));
        assertEquals("h", chain.producer().layer().out().name());
        assertEquals(PlanSpec.Space.REGISTERS, chain.producer().dst().space());
        assertEquals("y", chain.consumer().layer().out().name());
        // No shared buffer for h, and none of the loop's instructions computes or accumulates on its own.
        assertFalse(k.buffers().stream().anyMatch(b -> b.tensor().equals("h")), k.buffers().toString());
        assertFalse(loop.body().stream().anyMatch(i -> i instanceof Instr.Compute || i instanceof Instr.Accumulate));
        // One barrier per trip: after the chunk's weights land (the next chunk's copies come after it, so no barrier
        // has to end the trip: tmc.plan.TripBarriers); the loop is followed by the barrier the epilogue needs.
        assertEquals(1, loop.body().stream().filter(i -> i instanceof Instr.Barrier).count(), loop.body().toString());
        assertTrue(k.body().get(k.body().indexOf(loop) + 1) instanceof Instr.Barrier, k.body().toString());
        String src = p.source();
        int loopStart = src.indexOf("for (int e0 = 0;");
        String loopText = src.substring(loopStart, src.indexOf("\n    // epilogue of", loopStart));
        assertEquals(2, loopText.split("__syncthreads\\(\\);", -1).length - 1, loopText);
        // 32 channels at a time: four m16n8 C fragments make the A fragments of two k16 steps.
        assertTrue(loopText.contains("hf[nj / 2][(nj % 2) * 2 + rh] = tm_pack2(h_type, v[0], v[1]);"), loopText);
        assertTrue(loopText.contains("tm_mma(y_acc[i][0][2 * nj], h_type, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3], b[0], b[1]);"),
                loopText);
        // The packing rounds to f16: the epilogue does not round first.
        assertFalse(loopText.contains("v_h = tm_round_f16(v_h);"), loopText);
        // The 64 input channels' A fragments are loaded once per chunk, outside the slice loop.
        assertTrue(loopText.indexOf("tm_ldsm_x4(af[kk], arow + kk * 16)") < loopText.indexOf("for (int sl = 0; sl < 64; sl += 32)"),
                loopText);
    }

    @Test
    void theAccumulatorIsTiledByWholeRows() {
        MmaTiling rows = MmaTiling.rows(128, 64, 8);
        assertEquals(8, rows.mt());
        assertEquals(8, rows.nt());
        assertEquals(1, rows.wm());
        assertEquals(8, rows.wn());
        assertEquals(1, rows.nb());
        assertEquals(1, rows.perWarp());
        assertEquals(32, rows.registers());
        // 14 row tiles (8x28 pixels) over 8 warps: the busiest warp owns two.
        assertEquals(2, MmaTiling.rows(224, 64, 8).perWarp());
        CompiledProgram p = compiled(mlp("place h in registers", "H 8, W 28", 8, "tensor_core"));
        assertTrue(p.source().contains("if (mb >= 14) continue;"), "row tiles beyond the last are skipped");
        assertTrue(p.source().contains("float y_acc[Y_ACC_BLOCKS_PER_WARP][1][8][4] = {};"), p.source());
    }

    @Test
    void placedInSharedItIsStagedAsBefore() {
        CompiledProgram p = compiled(mlp("place h in shared", "H 8, W 16", 8, "tensor_core"));
        Kernel k = p.program().kernels().getFirst();
        Instr.Loop loop = loopOf(k);
        assertFalse(loop.body().stream().anyMatch(i -> i instanceof Instr.Chain));
        Buffer h = k.buffers().stream().filter(b -> b.tensor().equals("h")).findFirst().orElseThrow();
        assertEquals(PlanSpec.Space.SHARED, h.space());
        // after the chunk's weights land and after h's chunk is staged (no barrier ends the trip: TripBarriers)
        assertEquals(2, loop.body().stream().filter(i -> i instanceof Instr.Barrier).count());
    }

    @Test
    void tooFewRowsForTheWarpsIsRefusedWhenPlacedAndStagedWhenNot() {
        String placed = mlp("place h in registers", "H 4, W 8", 4, "tensor_core");
        Diagnostic why = refusal(placed);
        assertTrue(why.message().contains("'h' can stay in registers only when the warp that computes a pixel's chunk "
                + "also consumes it on tensor cores: the tile has 2 rows of 16 pixels for 4 warps"), why.message());
        assertEquals("place 'h' in shared", why.hint());
        assertEquals(14, why.span().line());
        assertEquals(3, why.span().col());
        // Unplaced, the same tile stages h in shared memory instead.
        Kernel k = compiled(mlp("", "H 4, W 8", 4, "tensor_core")).program().kernels().getFirst();
        assertFalse(loopOf(k).body().stream().anyMatch(i -> i instanceof Instr.Chain));
        assertTrue(k.buffers().stream().anyMatch(b -> b.tensor().equals("h") && b.space() == PlanSpec.Space.SHARED));
    }

    @Test
    void anUnplacedChunkIsStagedWhenTheChainWouldBreakTheRegisterBudget() {
        // 6x12 pixels are 5 rows of 16 for 4 warps: by whole rows a warp holds 2 x 16 n8 tiles of accumulators
        // (~264 registers); the staged path deals 2x4 blocks evenly (~248) and fits.
        String text = """
                block B {
                  param C = 128, E = 2 * C
                  in  x  : f16[N, H, W, C]
                  w   w1 : f16[E, C]
                  w   w2 : f16[C, E]
                  out y  : f16[N, H, W, C]
                  h = relu(pointwise(x, w1))
                  y = pointwise(h, w2) + x
                }
                plan p for B on sm_90 {
                  tile N 1, H 6, W 12
                  stream E by 64
                  %s
                  warps 4
                }
                """;
        Kernel k = compiled(text.formatted("")).program().kernels().getFirst();
        assertFalse(loopOf(k).body().stream().anyMatch(i -> i instanceof Instr.Chain));
        assertEquals(248, k.registersPerThread());
        // Asked for, the chain is kept and the plan is refused with the register breakdown.
        Diagnostic why = refusal(text.formatted("place h in registers"));
        assertTrue(why.message().contains("needs ~264 registers per thread on sm_90 (limit 255)"), why.message());
    }

    @Test
    void cudaCoreMathIsRefusedForRegisters() {
        Diagnostic why = refusal(mlp("place h in registers", "H 8, W 16", 8, "cuda_core"));
        assertTrue(why.message().contains("does not run on tensor cores here"), why.message());
    }

    @Test
    void aChunkReadBeyondTheProjectionIsRefusedForRegisters() {
        String text = """
                block B {
                  param C = 64, E = 4 * C
                  in  x  : f16[N, H, W, C]
                  w   w1 : f16[E, C]
                  w   w2 : f16[C, E]
                  out y  : f16[N, H, W, C]
                  h = pointwise(x, w1)
                  g = silu(h) * h
                  y = pointwise(g, w2) + x
                }
                plan p for B on sm_90 {
                  tile N 1, H 8, W 16
                  stream E by 64
                  place h in registers
                  warps 8
                }
                """;
        Diagnostic why = refusal(text);
        assertTrue(why.message().contains("'h' can stay in registers only when") && why.message().contains("it is read by "
                + "activate at line 8, elementwise at line 8, not only by the projection that sums the chunks"), why.message());
        // g is read only by the projection, but made by an elementwise layer on CUDA cores: no C fragments to pass on.
        Diagnostic g = refusal(text.replace("place h in registers", "place g in registers"));
        assertTrue(g.message().contains("line 8 does not compute it on tensor cores from a tile in shared memory"),
                g.message());
    }

    /** An MBConv-shaped block whose k x k grouped conv (group width 8) is kept in registers for the projection. */
    static String groupedConvChain(int k) {
        return """
                block B {
                  param C = 64, E = 4 * C
                  in  x  : f16[N, H, W, C]
                  w   w1 : f16[E, C]
                  w   wd : f16[E, %d, %d, 8]
                  w   w2 : f16[C, E]
                  out y  : f16[N, H, W, C]
                  h = silu(pointwise(x, w1))
                  g = conv2d(h, wd, groups: E / 8, pad: %d)
                  y = pointwise(g, w2) + x
                }
                plan p for B on sm_90 {
                  tile N 1, H 8, W 8
                  stream E by 32
                  place g in registers
                  warps 4
                }
                """.formatted(k, k, k / 2);
    }

    @Test
    void aGroupedConvOnTensorCoresChainsIntoTheProjection() {
        CompiledProgram p = compiled(groupedConvChain(3));
        Instr.Chain chain = (Instr.Chain) loopOf(p.program().kernels().getFirst()).body().stream()
                .filter(i -> i instanceof Instr.Chain).findFirst().orElseThrow();
        assertEquals("g", chain.producer().layer().out().name());
        // One m16n8k8 per tap and group of 8 channels, two groups per 16-channel slice; the group's 9 tap B
        // fragments by two ldmatrix x4 (taps 0-7) and one x1 (tap 8) before the tap loops.
        assertTrue(p.source().contains("tm_mma_k8(d[nj], arow, a[0], a[1], (tap < 8 ? bq[tap >> 2][tap & 3] : b_last));"),
                p.source());
        assertTrue(p.source().contains("for (int q = 0; q < 2; ++q) tm_ldsm_x4(bq[q], brow + q * 32 + (lane >> 3) * 8);"),
                p.source());
        assertTrue(p.source().contains("const unsigned b_last = tm_ldsm_x1(brow + 64);"), p.source());
    }

    /**
     * A grouped conv's tap B fragments come four taps to an ldmatrix x4 and the rest by x1, for any kernel size: a 5x5
     * conv loads 6 x4 and 1 x1 before its 25 taps, and ptxas fits it without spills.
     */
    @Test
    void aFiveByFiveGroupedConvLoadsItsTapFragmentsFourAtATime(@TempDir Path dir) throws Exception {
        CompiledProgram p = compiled(groupedConvChain(5));
        assertTrue(p.source().contains("unsigned bq[6][4];"), p.source());
        assertTrue(p.source().contains("const unsigned b_last = tm_ldsm_x1(brow + 192);"), p.source());
        assertTrue(p.source().contains("(tap < 24 ? bq[tap >> 2][tap & 3] : b_last)"), p.source());
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        Path cu = dir.resolve("b.cu");
        Files.writeString(cu, p.source());
        Kernel k = p.program().kernels().getFirst();
        Nvcc.Usage u = nvcc.compile(cu, "sm_90").get(k.name());
        assertEquals(0, u.spillAndStackBytes(), k.name() + " " + u);
    }

    static Diagnostic refusal(String text) {
        return switch (compile(text)) {
            case Tmc.Outcome.Compiled p -> fail("expected a refusal, got a kernel");
            case Tmc.Outcome.Refused r -> r.why();
        };
    }

    /** ptxas fits every chained kernel of the samples' shapes in the registers the plan set, without spills. */
    @Test
    void chainedKernelsFitThePlannedRegisters(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        List<String> variants = List.of(
                mlp("", "H 8, W 16", 8, "tensor_core"),
                mlp("", "H 8, W 28", 8, "tensor_core"),
                mlp("", "H 8, W 8", 4, "tensor_core"),
                mlp("", "H 16, W 16", 8, "tensor_core"));
        int i = 0;
        for (String v : variants) {
            CompiledProgram p = compiled(v);
            Kernel k = p.program().kernels().getFirst();
            assertTrue(loopOf(k).body().stream().anyMatch(x -> x instanceof Instr.Chain), "variant " + i);
            Path cu = dir.resolve("v" + i++ + ".cu");
            Files.writeString(cu, p.source());
            Map<String, Nvcc.Usage> usage = nvcc.compile(cu, "sm_90");
            Nvcc.Usage u = usage.get(k.name());
            assertEquals(0, u.spillAndStackBytes(), k.name() + " " + u);
            assertTrue(u.registers() <= k.registerLimit(), k.name() + ": " + u.registers() + " > " + k.registerLimit());
        }
    }
}
