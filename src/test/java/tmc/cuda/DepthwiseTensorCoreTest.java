package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.diag.Diagnostic;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/**
 * {@code math tensor_core for T}: the depthwise conv that computes T on tensor cores, each group of 8 channels as a
 * group-width-8 conv whose B is diagonal (Lowering#depthwiseTensorCoreRefusal, KernelWriter#computeMmaDepthwise and
 * the register chain's depthwise producer). Without the line the conv stays on CUDA cores, as before.
 */
class DepthwiseTensorCoreTest {
    /** A sample with a copy of one of its plans, renamed {@code name}, with {@code extra} lines added. */
    static String withPlan(String sample, String plan, String name, String extra) throws Exception {
        String s = Files.readString(tmc.Repo.path("samples", sample));
        int i = s.indexOf("plan " + plan + " for");
        int j = s.indexOf("\n}", i) + 2;
        return s + "\n" + s.substring(i, j).replace("plan " + plan + " for", "plan " + name + " for")
                .replace("\n}", "\n" + extra + "}") + "\n";
    }

    static Tmc.Outcome compile(String text, String plan) {
        Tmc.Compilation comp = Tmc.compileText("dw.tm", text, Tmc.Options.DEFAULTS.withArch("sm_90"));
        assertTrue(comp.ok(), comp.report());
        return comp.compile(plan);
    }

    static CompiledProgram compiled(String text, String plan) {
        Tmc.Outcome o = compile(text, plan);
        assertTrue(o instanceof Tmc.Outcome.Compiled, o.toString());
        return ((Tmc.Outcome.Compiled) o).program();
    }

    /**
     * A program's kernel text from its signature on, its name {@code kernel} written K and the plan lines that comments
     * cite dropped: two plans that differ only in their names and places in the file give the same text.
     */
    static String kernelText(String source, String kernel) {
        return source.substring(source.indexOf("extern \"C\" __global__")).replace(kernel, "K").replaceAll("\\(line \\d+\\)", "");
    }

    /** The Compute of the layer that computes {@code tensor}, wherever it is in the kernel. */
    static Instr.Compute computeOf(Kernel k, String tensor) {
        return Instr.flatten(k.body()).filter(i -> i instanceof Instr.Compute c && c.layer().out().name().equals(tensor)
                || i instanceof Instr.Chain ch && ch.producer().layer().out().name().equals(tensor))
                .map(i -> i instanceof Instr.Chain ch ? ch.producer() : (Instr.Compute) i).findFirst().orElseThrow();
    }

    /** The planner's candidate for a plan of {@code text} on the H100 at the reference shape (128 x 56 x 56). */
    static tmc.plan.Planner.Candidate planned(String text, String plan) {
        Tmc.Compilation comp = Tmc.compileText("dw.tm", text, Tmc.Options.DEFAULTS.withArch("sm_90"));
        tmc.check.PlanSpec spec = comp.program().plan(plan).orElseThrow();
        tmc.check.TypedBlock block = comp.program().block(spec.block()).orElseThrow();
        tmc.target.Target h100 = tmc.target.Targets.builtin().get("sm_90").orElseThrow();
        return ((tmc.plan.Planner.Planned) tmc.plan.Planner.plan(block, spec, h100, tmc.plan.LaunchShape.REFERENCE, 1))
                .chosen();
    }

    static void assertCompiles(Path dir, CompiledProgram p) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        Path cu = dir.resolve(p.fileName());
        Files.writeString(cu, p.source());
        String arch = p.source().contains("tm_wgmma") ? "sm_90a" : "sm_90";
        for (Kernel k : p.program().kernels()) {
            Nvcc.Usage u = nvcc.compile(cu, arch).get(k.name());
            assertTrue(u.registers() <= k.registerLimit(), k.name() + ": " + u);
            assertEquals(0, u.spillAndStackBytes(), k.name() + ": " + u);
        }
    }

    static int count(String text, String part) {
        Matcher m = Pattern.compile(Pattern.quote(part)).matcher(text);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    @Test
    void mbConvDwsDepthwiseConvRunsOnTensorCoresIntoItsSharedTile(@TempDir Path dir) throws Exception {
        String text = withPlan("mbconv_dw.tm", "fused", "tc", "  math   tensor_core for h2\n");
        Kernel before = compiled(text, "fused").program().kernels().getFirst();
        assertEquals(Instr.MathPath.CUDA_CORE, computeOf(before, "h2").math(), "the default is unchanged");
        CompiledProgram tc = compiled(text, "tc");
        Kernel k = tc.program().kernels().getFirst();
        assertEquals(Instr.MathPath.TENSOR_CORE, computeOf(k, "h2").math());
        // the tap-major slice of the chunk's 64 channels (9 rows of 64), as the CUDA-core conv stages it
        assertTrue(k.buffers().stream().anyMatch(b -> b.name().equals("wd_s") && b.pixels() == 9 && b.channels() == 64),
                k.buffers().toString());
        String src = tc.source();
        // 98 pixels = 7 row tiles: items of 4 and 3 row tiles, 8 groups of 8 channels each
        assertTrue(src.contains("for (int item = warp; item < 16; item += THREADS / 32)"), src);
        assertTrue(src.contains("const int grp = item % 8, mt0 = item / 8 * 4;"), src);
        assertTrue(src.contains("if (mt0 + mi >= 7) break;  // past the last row tile"), src);
        assertTrue(src.contains("const unsigned b = tm_ld2(wrow + tap * 64) & diag;"), src);
        assertTrue(src.contains("tm_mma_k8(d[mi], arow[mi], a[0], a[1], b);"), src);
        assertTrue(src.contains("const unsigned diag = lane_col == (lane_row >> 1) ? ((lane_row & 1) ? 0xFFFF0000u : 0x0000FFFFu) : 0u;"));
        assertFalse(src.contains("float2 xs["), "no CUDA-core tap loop left");
        String summary = planned(text, "tc").summary();
        assertTrue(summary.contains("h2 on tensor_core"), summary);
        assertCompiles(dir, tc);
    }

    @Test
    void aDepthwiseConvFeedsTheProjectionFromRegisters(@TempDir Path dir) throws Exception {
        // the sample's 'rows' (MBConv's 4x28 tiles, 7 warps, whole rows of 16 pixels per warp, 'place h2 in registers'):
        // the register chain takes the depthwise conv onto tensor cores without a 'math ... for h2' line
        String text = Files.readString(tmc.Repo.path("samples", "mbconv_dw.tm"));
        CompiledProgram p = compiled(text, "rows");
        Kernel k = p.program().kernels().getFirst();
        Instr.Chain chain = Instr.flatten(k.body()).filter(i -> i instanceof Instr.Chain).map(i -> (Instr.Chain) i)
                .findFirst().orElseThrow(() -> new AssertionError("no register chain"));
        assertEquals("h2", chain.producer().layer().out().name());
        assertEquals(Instr.MathPath.TENSOR_CORE, chain.producer().math());
        String src = p.source();
        assertTrue(src.contains("tm_mma_k8(d[nj], arow, a[0], a[1], tm_ld2(wrow + tap * 64) & diag);"), src);
        assertFalse(src.contains("h2_s"), "no shared tile of h2");
        assertCompiles(dir, p);
        // the same with the line written out
        String explicit = withPlan("mbconv_dw.tm", "rows", "rows_tc", "  math   tensor_core for h2\n");
        String tc = compiled(explicit, "rows_tc").source();
        assertEquals(kernelText(src, "MBConvDW_rows"), kernelText(tc, "MBConvDW_rows_tc"));
        // 'math cuda_core for h2' keeps the conv on CUDA cores, so h2 cannot stay in registers: refused at the placement
        String cuda = withPlan("mbconv_dw.tm", "rows", "rows_cc", "  math   cuda_core for h2\n");
        Tmc.Outcome o = compile(cuda, "rows_cc");
        assertTrue(o instanceof Tmc.Outcome.Refused, o.toString());
        String m = ((Tmc.Outcome.Refused) o).why().message();
        assertTrue(m.contains("'h2' can stay in registers only when the warp that computes a pixel's chunk also consumes it"
                + " on tensor cores"), m);
        // and unplaced, the staged CUDA-core conv as before
        String unplaced = withPlan("mbconv_dw.tm", "rows", "rows_cc2", "  math   cuda_core for h2\n")
                .replace("plan rows_cc2 for MBConvDW on sm_90 {\n  tile   N 1, H 4, W 28\n  place  h1 in shared halo 1 stage\n"
                        + "  place  h2 in registers\n", "plan rows_cc2 for MBConvDW on sm_90 {\n  tile   N 1, H 4, W 28\n"
                        + "  place  h1 in shared halo 1 stage\n");
        Kernel staged = compiled(unplaced, "rows_cc2").program().kernels().getFirst();
        assertEquals(Instr.MathPath.CUDA_CORE, computeOf(staged, "h2").math());
        assertTrue(Instr.flatten(staged.body()).noneMatch(i -> i instanceof Instr.Chain));
    }

    @Test
    void convNeXtsSevenBySevenLoadsEachInputMatrixOncePerColumnTap(@TempDir Path dir) throws Exception {
        String text = withPlan("convnext.tm", "fused", "tc", "  math   tensor_core for a\n");
        CompiledProgram tc = compiled(text, "tc");
        Kernel k = tc.program().kernels().getFirst();
        assertEquals(Instr.MathPath.TENSOR_CORE, computeOf(k, "a").math());
        String src = tc.source();
        // 64 pixels = 4 row tiles = 8 segments of one 8-pixel row each: one item per group of 8 of the 96 channels,
        // 8 + 6 = 14 input rows, so 14 matrices per kx by 4 ldmatrix x4 (the last two lanes' octets repeat matrix 13)
        assertTrue(src.contains("for (int item = warp; item < 12; item += THREADS / 32)"), src);
        assertTrue(src.contains("const int m = min(4 * q + (lane >> 3), 13);"), src);
        assertTrue(src.contains("for (int q = 0; q < 4; ++q) tm_ldsm_x4(mx[q], mrow[q] + kx * X_S_STRIDE);"), src);
        assertEquals(1, count(src, "for (int kx = 0; kx < 7; ++kx)"));
        assertFalse(src.contains("for (int ky = 0; ky < 7; ++ky)"), "the tap rows are written out per kx");
        assertFalse(src.contains("past the last row tile"), "4 row tiles divide evenly");
        assertFalse(src.contains("rows past the region"), "no item reaches past the tile");
        // taps (0, 1), (2, 3), (4, 5) as m16n8k16 and (6) as m16n8k8, for each of the 4 row tiles; row tile 1 (segments
        // 2 and 3) at taps (2, kx) and (3, kx) reads input rows 4, 5 and 5, 6: matrices 4, 5, 5, 6
        assertEquals(16, count(src, ", x_s, mx["), src);
        assertEquals(3, count(src, "tm_mma(d[0], x_s, "), src);
        assertEquals(1, count(src, "tm_mma_k8(d[0], x_s, "), src);
        assertTrue(src.contains("const unsigned b1 = tm_ld2(wtap + 2016) & diag;"), "tap row 3: 3 x 7 taps of 96 channels");
        assertTrue(src.contains("tm_mma(d[1], x_s, mx[1][0], mx[1][1], mx[1][1], mx[1][2], b0, b1);"), src);
        assertTrue(src.contains("tm_mma_k8(d[3], x_s, mx[3][0], mx[3][1], b0);"), "row tile 3, tap row 6: rows 12, 13");
        assertCompiles(dir, tc);
        // bf16: the same loops on the bf16 mma (x_s selects it)
        CompiledProgram bf16 = compiled(text.replace("f16[", "bf16["), "tc");
        assertTrue(bf16.source().contains("__nv_bfloat16* x_s"), "a bf16 tile");
        assertEquals(16, count(bf16.source(), ", x_s, mx["));
        assertCompiles(dir, bf16);
        // the split and the wgmma plan take the line too
        for (String plan : List.of("specialized", "wgmma")) {
            CompiledProgram p = compiled(withPlan("convnext.tm", plan, "tc_" + plan, "  math   tensor_core for a\n"),
                    "tc_" + plan);
            assertEquals(Instr.MathPath.TENSOR_CORE, computeOf(p.program().kernels().getFirst(), "a").math(), plan);
            assertTrue(p.source().contains("& diag;"), plan);
            assertTrue(p.source().contains("tm_ldsm_x4(mx[q]"), plan);
            assertCompiles(dir, p);
        }
    }

    @Test
    void tilesWhoseItemsReachPastTheRegionClampTheRowsAndDropTheResults(@TempDir Path dir) throws Exception {
        // 5x16: 80 pixels = 5 row tiles, items of 3 (the second reaches a sixth): region rows 0-4, 2 segments per row,
        // 3 + 6 = 9 input rows of 2 segments = 18 matrices; rows past the region read input row 4 + 6 = 10
        String text = withPlan("convnext.tm", "fused", "odd", "  math   tensor_core for a\n")
                .replace("plan odd for ConvNeXt on sm_90 {\n  tile   N 1, H 8, W 8", "plan odd for ConvNeXt on sm_90 {\n  tile   N 1, H 5, W 16");
        assertTrue(text.contains("tile   N 1, H 5, W 16"), "the plan text changed");
        CompiledProgram p = compiled(text, "odd");
        String src = p.source();
        assertTrue(src.contains("const int grp = item % 12, mt0 = item / 12 * 3;"), src);
        assertTrue(src.contains("const int m = min(4 * q + (lane >> 3), 17);"), src);
        assertTrue(src.contains("mrow[q] = x_s + ((min(r0 + m / 2, 10) + 0) * X_S_W + m % 2 * 8 + (lane & 7) + 0)"), src);
        assertTrue(src.contains("if (mt0 + 2 < 5) tm_mma(d[2]"), src);
        assertTrue(src.contains("if (mt0 + mi >= 5) break;  // past the last row tile"), src);
        assertCompiles(dir, p);
        // 7x14 (MBConvDW's 'fused'): 14 pixels a row are no whole segments, so each product loads its own A
        String dw = withPlan("mbconv_dw.tm", "fused", "tc", "  math   tensor_core for h2\n");
        assertFalse(compiled(dw, "tc").source().contains("tm_ldsm_x4(mx[q]"));
    }

    /**
     * KernelWriter.InputRows against the conv's own geometry: for every tile shape it takes, each pixel of each row tile
     * at each tap row reads the matrix that holds its input row and column, a real row of the item's matrices.
     */
    @Test
    void theMatrixOfEverySegmentAndTapRowHoldsItsPixelsInputRow() {
        int checked = 0, refused = 0;
        for (int side : new int[] {8, 12, 14, 16, 24, 32, 40}) {
            for (int regionRows = 1; regionRows <= 10; regionRows++) {
                for (int k : new int[] {3, 5, 7}) {
                    int pixels = side * regionRows, mt = (pixels + 15) / 16;
                    int per = KernelWriter.depthwiseRowTilesPerItem(mt);
                    KernelWriter.InputRows rows = KernelWriter.InputRows.of(side, pixels, per, k);
                    if (rows == null) {
                        refused++;
                        assertTrue(side % 8 != 0 || (2 * per) % (side / 8) != 0
                                || (side / 8) * (2 * per / (side / 8) + k - 1) > KernelWriter.InputRows.MAX_MATRICES,
                                "refused without a reason: side " + side + ", rows " + regionRows + ", k " + k);
                        continue;
                    }
                    for (int mt0 = 0; mt0 < mt; mt0 += per) {
                        int r0 = mt0 * 16 / side;
                        assertEquals(mt0 * 16, r0 * side, "an item starts at a row");
                        for (int mi = 0; mi < per && mt0 + mi < mt; mi++) {
                            for (int seg = 2 * mi; seg <= 2 * mi + 1; seg++) {
                                for (int ky = 0; ky < k; ky++) {
                                    int m = rows.matrix(seg, ky);
                                    assertTrue(m >= 0 && m < rows.matrices(), "matrix " + m + " of " + rows.matrices());
                                    for (int i = 0; i < 8; i++) {
                                        int p = (mt0 + mi) * 16 + (seg - 2 * mi) * 8 + i;
                                        if (p >= pixels) continue;  // padding: its results are dropped
                                        assertEquals(p / side + ky, r0 + m / rows.perRow(), "input row");
                                        assertEquals(p % side, m % rows.perRow() * 8 + i, "input column before kx");
                                        assertTrue(r0 + m / rows.perRow() <= rows.lastRow(), "a row with data");
                                        checked++;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 10_000 && refused > 0, checked + " checked, " + refused + " refused");
    }

    @Test
    void theCostModelCountsTheDiagonalsZeros() throws Exception {
        String text = withPlan("convnext.tm", "fused", "tc", "  math   tensor_core for a\n");
        double cuda = planned(text, "fused").cost().kernels().getFirst().tensorFlops();
        double tc = planned(text, "tc").cost().kernels().getFirst().tensorFlops();
        // 2 x 49 taps x 96 channels per pixel on tensor cores, 8 products for each that counts
        double pixels = 128.0 * 56 * 56;
        assertEquals(8 * 2 * 49 * 96 * pixels, tc - cuda, 1e-6 * tc);
    }

    @Test
    void cudaCoreForTheConvIsThePlanWithoutTheLine() throws Exception {
        String text = withPlan("mbconv_dw.tm", "fused", "cc", "  math   cuda_core for h2\n");
        String fused = compiled(text, "fused").source();
        String cc = compiled(text, "cc").source();
        assertEquals(kernelText(fused, "MBConvDW_fused"), kernelText(cc, "MBConvDW_cc"));
    }

    @Test
    void aLayerThatIsNotADepthwiseConvIsRefusedAtTheLine() throws Exception {
        String text = withPlan("mbconv_dw.tm", "fused", "bad", "  math   tensor_core for h1\n");
        Tmc.Outcome o = compile(text, "bad");
        assertTrue(o instanceof Tmc.Outcome.Refused, o.toString());
        Diagnostic d = ((Tmc.Outcome.Refused) o).why();
        int line = (int) text.lines().takeWhile(l -> !l.contains("math   tensor_core for h1")).count() + 1;
        assertEquals(line, d.span().line());
        assertTrue(d.message().contains("'h1' is computed by L1 pointwise 64->256 -> h1"), d.message());
        assertTrue(d.message().contains("chooses the unit of a depthwise conv only"), d.message());
    }

    @Test
    void aDepthwiseWeightInGlobalCannotFeedTheTensorCores() throws Exception {
        String text = withPlan("mbconv_dw.tm", "fused", "bad", "  place  wd in global\n  math   tensor_core for h2\n");
        Diagnostic d = ((Tmc.Outcome.Refused) compile(text, "bad")).why();
        assertTrue(d.message().contains("'h2' cannot be computed on tensor cores: the plan keeps 'wd' in global memory"),
                d.message());
        assertTrue(d.hint().contains("remove 'math tensor_core for h2'"), d.hint());
    }

    @Test
    void aChunkOfChannelsThatIsNotAMultipleOfEightIsRefused() throws Exception {
        String text = withPlan("mbconv_dw.tm", "fused", "bad", "  math   tensor_core for h2\n")
                .replace("stream E by 64\n  place  h1 in shared halo 1 stage\n  place  h2 in shared\n  place  y  in registers\n"
                        + "  warps  8\n  math   tensor_core\n  math   tensor_core for h2", "stream E by 4\n  place  h1 in shared "
                        + "halo 1 stage\n  place  h2 in shared\n  place  y  in registers\n  warps  8\n  math   tensor_core\n"
                        + "  math   tensor_core for h2");
        assertTrue(text.contains("stream E by 4"), "the plan text changed");
        Tmc.Outcome o = compile(text, "bad");
        assertTrue(o instanceof Tmc.Outcome.Refused, o.toString());
        String m = ((Tmc.Outcome.Refused) o).why().message();
        assertTrue(m.contains("it computes 4 channels at a time, not a multiple of 8"), m);
    }

    @Test
    void everyRandomBlocksDepthwiseConvCompilesOnTensorCoresOrSaysWhyNot(@TempDir Path dir) throws Exception {
        int compiled = 0;
        List<String> refused = new java.util.ArrayList<>();
        try (var files = Files.list(tmc.Repo.path("test-data", "random"))) {
            for (Path f : files.filter(x -> x.toString().endsWith(".tm")).sorted().toList()) {
                String text = Files.readString(f);
                Tmc.Compilation comp = Tmc.compileText(f.getFileName().toString(), text, Tmc.Options.DEFAULTS);
                assertTrue(comp.ok(), comp.report());
                String dw = tmc.ir.Layer.of(comp.program().blocks().getFirst()).stream()
                        .filter(l -> l.main() instanceof tmc.check.Op.Conv2d cv && cv.isDepthwise())
                        .map(l -> l.out().name()).findFirst().orElse(null);
                if (dw == null) continue;
                int i = text.indexOf("plan fused for");
                int j = text.indexOf("\n}", i) + 2;
                String withTc = text + "\n" + text.substring(i, j).replace("plan fused for", "plan tc for")
                        .replace("\n}", "\n  math tensor_core for " + dw + "\n}") + "\n";
                Tmc.Outcome o = Tmc.compileText(f.getFileName().toString(), withTc, Tmc.Options.DEFAULTS).compile("tc");
                if (o instanceof Tmc.Outcome.Refused r) {
                    assertTrue(r.why().message().contains("cannot be computed on tensor cores"), f + ": " + r.why().message());
                    refused.add(f.getFileName() + ": " + r.why().message());
                    continue;
                }
                CompiledProgram p = ((Tmc.Outcome.Compiled) o).program();
                assertEquals(Instr.MathPath.TENSOR_CORE, computeOf(p.program().kernels().getFirst(), dw).math(), f.toString());
                assertTrue(p.source().contains("& diag"), f.toString());
                assertCompiles(dir, p);
                compiled++;
            }
        }
        System.out.println("random blocks, depthwise conv on tensor cores: " + compiled + " compiled; refused: " + refused);
        assertTrue(compiled >= 4, "random blocks compiled with a tensor-core depthwise conv: " + compiled);
    }
}
