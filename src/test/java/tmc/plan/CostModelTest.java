package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tmc.check.Activation;
import tmc.check.Frontend;
import tmc.check.Op;
import tmc.check.PlanSpec;
import tmc.check.Program;
import tmc.check.TypedBlock;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.target.Target;
import tmc.target.Targets;

class CostModelTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    static Program sample(String name) {
        Frontend.Checked c = Frontend.checkFile(REPO.resolve("samples").resolve(name), Map.of(), Targets.builtin().names());
        assertTrue(c.ok(), c.diagnostics().all().toString());
        return c.program();
    }

    static Target sm90() {
        return Targets.builtin().get("sm_90").orElseThrow();
    }

    /** Pixels a tiling reads when every tile is grown by halo, clipped to the image: counted pixel by pixel. */
    static long pixelsRead(int n, int h, int w, int th, int tw, int halo) {
        long count = 0;
        for (int h0 = 0; h0 < h; h0 += th) {
            for (int w0 = 0; w0 < w; w0 += tw) {
                for (int y = h0 - halo; y < h0 + th + halo; y++) {
                    for (int x = w0 - halo; x < w0 + tw + halo; x++) {
                        if (y >= 0 && y < h && x >= 0 && x < w) count++;
                    }
                }
            }
        }
        return count * n;
    }

    @Test
    void separatePlansMoveExactlyTheLayerByLayerBytes() {
        Random r = new Random(11);
        int checked = 0;
        int refusedSeparate = 0;
        for (RandomBlocks.Spec spec : RandomBlocks.sample(31337L, 24)) {
            Program p = RandomBlocks.check(spec.blockText() + "plan sep for B { separate }\n");
            TypedBlock block = RandomBlocks.block(p);
            LaunchShape shape = new LaunchShape(List.of(1, 3, 8).get(r.nextInt(3)), List.of(7, 13, 28, 30, 56).get(r.nextInt(5)),
                    List.of(7, 13, 28, 30, 56).get(r.nextInt(5)));
            Target t = Targets.builtin().all().get(r.nextInt(4));
            Planner.Outcome o = Planner.plan(block, RandomBlocks.plan(p, "sep"), t, shape, 1);
            if (!(o instanceof Planner.Planned planned)) {
                // Only a block whose conv input does not fit in shared memory even at a 2x2 tile may be refused,
                // and then the message says which budget and its limit.
                String why = ((Planner.Refused) o).why().message();
                boolean tooWide = false;
                for (Layer l : Layer.of(block)) {
                    if (l.main() instanceof Op.Conv2d cv) {
                        long side = 2 + 2L * cv.pad();
                        tooWide |= side * side * (cv.in().channels() + 8) * 2 > t.sharedPerBlockOptIn();
                    }
                }
                assertTrue(tooWide && why.contains("limit"), spec.name() + " on " + t.name() + ": " + why);
                refusedSeparate++;
                continue;
            }
            Planner.Candidate c = planned.chosen();
            List<Layer> layers = Layer.of(block);
            assertEquals(layers.size(), c.kernels().size());
            long total = 0;
            for (int i = 0; i < layers.size(); i++) {
                Layer l = layers.get(i);
                Kernel k = c.kernels().get(i);
                long blocks = (long) shape.n() * ((shape.h() + k.tileH() - 1) / k.tileH()) * ((shape.w() + k.tileW() - 1) / k.tileW());
                long bytes = 0;
                for (Activation a : l.inputs()) {
                    boolean convInput = l.main() instanceof Op.Conv2d cv && cv.in().name().equals(a.name());
                    int halo = convInput ? ((Op.Conv2d) l.main()).pad() : 0;
                    bytes += pixelsRead(shape.n(), shape.h(), shape.w(), k.tileH(), k.tileW(), halo) * a.channels()
                            * block.storageFor(a).bytes;
                }
                bytes += shape.pixels() * l.out().channels() * block.storageFor(l.out()).bytes;
                long weights = l.ops().stream().mapToLong(Op::weightBytes).sum();
                // The documented assumption: weights are read from DRAM once if they fit in half the L2.
                bytes += weights <= t.l2Bytes() / 2 ? weights : weights * blocks;
                assertEquals(bytes, c.cost().kernels().get(i).dramBytes(), spec.name() + " " + l.describe() + " at "
                        + shape + " on " + t.name() + " with tile " + k.tileH() + "x" + k.tileW());
                total += bytes;
                checked++;
            }
            assertEquals(total, c.cost().dramBytes());
        }
        assertTrue(checked > 40 && refusedSeparate <= 3, checked + " layers checked, " + refusedSeparate + " refused");
    }

    @Test
    void workedExampleConvFirstOnSm90() {
        Program p = sample("convfirst.tm");
        TypedBlock b = p.blocks().getFirst();
        LaunchShape s = LaunchShape.REFERENCE;
        // Per pixel: conv 2*9*8*64 + bias 64, expand 2*64*256 + bias + silu 2*256, project 2*256*64 + bias + residual 2*64.
        assertEquals(75456, b.flopsPerPixel());
        CostModel.Floor floor = CostModel.floor(b, sm90(), s);
        assertEquals(75456L * 128 * 56 * 56, floor.flops());
        assertEquals(2L * 128 * 56 * 56 * 64 * 2 + 76288, floor.dramBytes());
        assertEquals(40.82, floor.seconds() * 1e6, 0.01); // compute-bound at 742 TFLOP/s, as in the design notes

        Planner.Planned fused = (Planner.Planned) Planner.plan(b, p.plan("fused").orElseThrow(), sm90(), s, 1);
        CostModel.KernelCost k = fused.chosen().cost().kernels().getFirst();
        // x with its halo: 68 of 56 rows (7 tiles of 8, +1 row each side, clipped) x 62 of 56 columns (4 tiles of 16).
        assertEquals(128L * 68 * 62 * 64 * 2, k.activationBytes() - 128L * 56 * 56 * 64 * 2);
        assertEquals(128L * 68 * 62 * 64 * 2 + 128L * 56 * 56 * 64 * 2 + 76288, k.dramBytes());
        assertTrue(k.weightsInL2());
        assertEquals(3584, k.blocks());
        double roof = Math.max(Math.max(k.memorySeconds(), k.l2Seconds()), Math.max(k.sharedSeconds(), k.computeSeconds()));
        assertEquals(roof * k.quantization() / k.latencyFactor() + 3e-6, k.seconds(), 1e-12);
        assertEquals(k.dramBytes() / 3.0e12, k.memorySeconds(), 1e-15);
        // Every main op runs on tensor cores (the grouped conv as m16n8k8 over groups of 8), over 56 x 64
        // columns: the last tile of 16 overhangs the image by 8. Biases, silu and the residual on CUDA cores.
        long overhung = 128L * 56 * 64;
        assertEquals((9216 + 32768 + 32768) * overhung, k.tensorFlops());
        assertEquals((64 + 256 + 256 + 64 + 64) * overhung, k.cudaFlops());
        assertEquals("compute", k.bound());

        Planner.Planned separate = (Planner.Planned) Planner.separateBaseline(b, sm90(), s);
        assertTrue(separate.chosen().seconds() > 2 * fused.chosen().seconds(),
                "fused " + fused.chosen().seconds() + " vs separate " + separate.chosen().seconds());
    }

    @Test
    void coveredCountsTheClippedHaloRegion() {
        assertEquals(56, CostModel.covered(56, 8, 0));
        assertEquals(68, CostModel.covered(56, 8, 1));
        assertEquals(62, CostModel.covered(56, 16, 1));
        assertEquals(7, CostModel.covered(7, 16, 3));
        for (int x : List.of(5, 13, 56)) {
            for (int t : List.of(4, 6, 16)) {
                for (int r : List.of(0, 1, 3)) {
                    assertEquals(pixelsRead(1, x, 1, t, 1, r) / pixelsRead(1, 1, 1, 1, 1, 0) / (r == 0 ? 1 : 1),
                            CostModel.covered(x, t, r) * CostModel.covered(1, 1, r), x + " " + t + " " + r);
                }
            }
        }
    }

    @Test
    void recomputeCostsAnExpandPerOutputChannelTapAndGroupChannel() {
        Program p = sample("mbconv.tm");
        TypedBlock b = p.blocks().getFirst();
        LaunchShape s = new LaunchShape(2, 16, 16);
        Planner.Planned rec = (Planner.Planned) Planner.plan(b, p.plan("recompute").orElseThrow(), sm90(), s, 1);
        Kernel k = rec.chosen().kernels().getFirst();
        assertTrue(k.buffers().stream().noneMatch(buf -> buf.tensor().equals("h1")), "h1 is not stored anywhere");
        assertTrue(rec.chosen().summary().endsWith("h1 recompute"), rec.chosen().summary());
        long blocks = k.blocks(s.n(), s.h(), s.w());
        long expand = 2L * 64 * 256; // pointwise 64 -> 256
        long conv = 2L * 9 * 8 * 256; // grouped 3x3 on E
        long project = 2L * 256 * 64;
        long px = 64; // 8x8 tiles
        CostModel.KernelCost cost = rec.chosen().cost().kernels().getFirst();
        // Each of the conv's 256 output channels evaluates the 8 channels of its group of the expand (with their
        // bias and silu, 2 per channel) at each of its 9 taps, element by element on CUDA cores, as the emitted
        // kernel does: 8 times the expand of the whole tensor per tap. The projection stays on tensor cores.
        assertEquals(blocks * px * project, cost.tensorFlops());
        assertEquals(blocks * px * (conv + 512 + 256 * 9 * 8 * (2 * 64 + 2) + 128), cost.cudaFlops());
        assertEquals(256L * 9 * 8 * (2 * 64 + 2), 8 * 9 * (expand + 512));
        assertEquals(b.flopsPerPixel(), expand + 512 + conv + 512 + project + 128);
        assertTrue(k.body().stream().anyMatch(i -> i instanceof Instr.Loop));
    }
}
