package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.plan.Budgets;
import tmc.target.Targets;

/**
 * 'tile N' above 1 in a fused plan: a block computes its images one after another, with the weights staged once
 * before them. Correctness on the GPU: tmc verify (FusedMLP's 'images' plan, N in 1, 3, 32: blocks with fewer
 * images than 4 included).
 */
class ImageLoopTest {

    static CompiledProgram images() {
        return DoubleBufferingTest.compile("fusedmlp.tm", "images", Tmc.Options.DEFAULTS);
    }

    @Test
    void weightsAreStagedOnceBeforeTheImages() {
        Kernel k = images().program().kernels().getFirst();
        assertEquals(4, k.tileN());
        // 'stream E by E': one chunk, the whole hidden width (256 at C = 64).
        Instr.Loop chunkLoop = (Instr.Loop) ((Instr.ImageLoop) k.body().getLast()).body().stream()
                .filter(i -> i instanceof Instr.Loop).findFirst().orElseThrow();
        assertEquals(256, chunkLoop.chunk());
        assertEquals(1, chunkLoop.trips());
        List<Instr> body = k.body();
        assertTrue(body.getLast() instanceof Instr.ImageLoop, body.toString());
        List<Instr> before = body.subList(0, body.size() - 1);
        List<Instr.LoadWeight> weights = before.stream().filter(i -> i instanceof Instr.LoadWeight)
                .map(i -> (Instr.LoadWeight) i).toList();
        assertEquals(List.of("w1", "w2"), weights.stream().map(Instr.LoadWeight::weight).toList());
        // The whole hidden width is one chunk: its slices moved before the images, with no loop variable.
        assertTrue(weights.stream().allMatch(lw -> !lw.rows().streamed() && !lw.cols().streamed()));
        // The first image's tile is copied (cp.async) before the loop, into copy 0 of a double buffer.
        Instr.Load first = before.stream().filter(i -> i instanceof Instr.Load).map(i -> (Instr.Load) i).findFirst()
                .orElseThrow();
        assertEquals(Instr.Load.Image.FIRST, first.image());
        assertTrue(first.async());
        assertEquals(2, first.dst().stages());
        assertTrue(before.getLast() instanceof Instr.AsyncCommit, before.toString());
        Instr.ImageLoop il = (Instr.ImageLoop) body.getLast();
        assertEquals(4, il.images());
        // Each image: the next image's tile into the other copy, commit, wait for this one's, barrier.
        assertTrue(il.body().getFirst() instanceof Instr.Load l && l.tensor().equals("x")
                && l.image() == Instr.Load.Image.NEXT, il.body().toString());
        assertTrue(il.body().get(1) instanceof Instr.AsyncCommit);
        assertTrue(il.body().get(2) instanceof Instr.AsyncWait w && w.pending() == 1);
        assertTrue(il.body().get(3) instanceof Instr.Barrier);
        assertTrue(il.body().getLast() instanceof Instr.Barrier, "the next image must not overwrite what this one reads");
        Instr.Loop loop = (Instr.Loop) il.body().stream().filter(i -> i instanceof Instr.Loop).findFirst().orElseThrow();
        assertFalse(loop.body().stream().anyMatch(i -> i instanceof Instr.LoadWeight));
    }

    @Test
    void theKernelLoopsOverItsImagesAndTheGridCoversTheBatch() {
        CompiledProgram p = images();
        String src = p.source();
        assertFalse(src.contains("const int n = blockIdx.z;"), src);
        assertTrue(src.contains("for (int img = 0; img < 4; ++img) {"), src);
        assertTrue(src.contains("const int n = blockIdx.z * 4 + img;"), src);
        assertTrue(src.contains("if (n >= N) break;"), src);
        assertTrue(src.contains("__half* const x_s = x_s_buf + (img & 1) * X_S_COPY;"), src);
        assertTrue(src.contains("if (img + 1 < 4 && n + 1 < N) {"), src);
        assertTrue(src.contains("tm_cp_async16((x_s_buf + ((img + 1) & 1) * X_S_COPY) + p * X_S_STRIDE + c, "
                + "x + ((size_t)((n + 1) * H + gh) * W + gw) * 64 + c);"), src);
        // The accumulators start at zero for every image.
        int loop = src.indexOf("for (int img = 0;");
        assertTrue(src.indexOf("float y_acc[Y_ACC_BLOCKS_PER_WARP]") > loop, src);
        assertEquals("ceil(N / 4)", p.manifest().kernels().getFirst().grid().z());
        // 56 / 16 = 4 columns and 56 / 14 = 4 rows of tiles, 128 / 4 = 32 groups of images.
        assertEquals(4 * 4 * 32, p.program().kernels().getFirst().blocks(128, 56, 56));
    }

    @Test
    void fourteenWarpsGetTheRegistersOfSixteen() {
        Kernel k = images().program().kernels().getFirst();
        assertEquals(14, k.warps());
        // The fullest of the SM's 4 sub-partitions holds 4 of the 14 warps: 16K / (4 x 32) = 128 registers.
        assertEquals(128, k.registerLimit());
        Kernel heavier = new Kernel(k.name(), k.tileN(), k.tileH(), k.tileW(), k.threads(), k.math(), k.layers(),
                k.buffers(), k.body(), 136);
        Budgets.Check c = Budgets.check(heavier, Targets.builtin().get("sm_90").orElseThrow());
        assertFalse(c.fits(), "136 registers x 32 x 16 warps' worth = 69632 > 65536");
        // refused on its estimate; its occupancy is the one __launch_bounds__ would hold it to (128 registers)
        assertEquals(1, c.occupancy().blocksPerSm());
    }

    @Test
    void whenTwoCopiesOfTheTileDoNotFitItIsLoadedAtTheTopOfEachImage() {
        // sm_86 allows 99 KB per block: one 8x32 tile of 64 channels (36 KB) fits with the weights (72.7 KB in
        // all), a second copy does not (109.6 KB).
        String text = """
                block B {
                  param C = 64, E = 2 * C
                  in  x  : f16[N, H, W, C]
                  w   w1 : f16[E, C]
                  w   w2 : f16[C, E]
                  out y  : f16[N, H, W, C]
                  h = relu(pointwise(x, w1))
                  y = pointwise(h, w2) + x
                }
                plan p for B on sm_86 {
                  tile N 2, H 8, W 32
                  stream E by E
                  warps 16
                }
                """;
        Kernel k = RegisterChainTest.compiled(text).program().kernels().getFirst();
        Instr.ImageLoop il = (Instr.ImageLoop) k.body().getLast();
        assertTrue(il.body().getFirst() instanceof Instr.Load l && l.image() == Instr.Load.Image.THIS && !l.async(),
                il.body().toString());
        assertTrue(k.buffers().stream().allMatch(b -> b.stages() == 1));
        assertTrue(k.sharedBytes() <= 101376, "fits sm_86: " + k.sharedBytes());
    }
}
