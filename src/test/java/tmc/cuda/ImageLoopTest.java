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
        assertEquals(List.of("w1", "w2"), before.stream().map(i -> ((Instr.LoadWeight) i).weight()).toList());
        // The whole hidden width is one chunk: its slices moved before the images, with no loop variable.
        assertTrue(before.stream().allMatch(i -> !((Instr.LoadWeight) i).rows().streamed()
                && !((Instr.LoadWeight) i).cols().streamed()));
        Instr.ImageLoop il = (Instr.ImageLoop) body.getLast();
        assertEquals(4, il.images());
        assertTrue(il.body().getFirst() instanceof Instr.Load l && l.tensor().equals("x"), il.body().toString());
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
        assertEquals(0, c.occupancy().blocksPerSm());
    }
}
