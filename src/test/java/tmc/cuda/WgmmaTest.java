package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.check.PlanSpec;
import tmc.diag.Diagnostic;
import tmc.ir.Buffer;
import tmc.ir.Kernel;

/**
 * 'math wgmma': the register chain's products on wgmma (sm_90a). The results on the GPU are checked by tmc verify and
 * the sanitizers (scripts/gpu/wgmma.sh, docs/benchmarks.md); here: which weights move to the core-matrix layout and how
 * they are staged and described, the synchronization the emitter writes, the arch the program asks for, the plans it
 * refuses, and that ptxas compiles the kernel without spilling or serializing its wgmma.
 */
class WgmmaTest {

    static CompiledProgram wgmma(String placeH, String tile, int warps) {
        return RegisterChainTest.compiled(RegisterChainTest.mlp(placeH, tile, warps, "wgmma"));
    }

    @Test
    void theChainsWeightsAreStagedAsCoreMatricesAndReadThroughDescriptors() {
        CompiledProgram p = wgmma("", "H 8, W 16", 8);
        Kernel k = p.program().kernels().getFirst();
        assertTrue(k.usesWgmma());
        assertEquals("sm_90a", p.manifest().arch());
        assertEquals("sm_90a", p.program().compileArch());
        for (String w : new String[] {"w1", "w2"}) {
            Buffer b = k.buffers().stream().filter(x -> x.tensor().equals(w)).findFirst().orElseThrow();
            assertEquals(Buffer.Layout.CORE_MATRICES, b.layout(), w);
            assertEquals(64, b.pixels(), w);
            assertEquals(b.channels(), b.rowStride(), w + ": no row padding");
            assertEquals(2L * 64 * 64 * 2, b.bytes(), w + ": two unpadded copies of 64x64 f16");
        }
        // The same plan on mma.sync pads every weight row by 16 bytes.
        Kernel mma = RegisterChainTest.compiled(RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core"))
                .program().kernels().getFirst();
        assertEquals(2L * 2 * 64 * 16, mma.sharedBytes() - k.sharedBytes());
        assertEquals("sm_90", RegisterChainTest.compiled(RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core"))
                .manifest().arch());

        String src = p.source();
        // Each 16-byte piece of a row goes to its row of its 8x8 core matrix (8 core matrices per band of 8 rows).
        assertTrue(src.contains("tm_cp_async16((w1_s_buf + (stage ^ 1) * W1_S_COPY) + ((row / 8) * 8 + col / 8) * 64 "
                + "+ (row % 8) * 8, w1 + (size_t)(e0 + 64 + row) * 64 + 0 + col);"), src);
        // The descriptors say the same: 128 bytes between core matrices along K, 8 * 128 between bands.
        Matcher d = Pattern.compile("const unsigned long long (w[12])_s_desc = tm_wgmma_desc\\(w[12]_s, (\\d+), (\\d+)\\);")
                .matcher(src);
        int descriptors = 0;
        while (d.find()) {
            descriptors++;
            assertEquals("128", d.group(2), d.group());
            assertEquals(String.valueOf(64 / 8 * 128), d.group(3), d.group());
        }
        assertEquals(2, descriptors, src);
        // Producer: 32 channels per slice, one m64n32k16 per k16 step of the 64 inputs; projection: all 64 outputs.
        assertTrue(src.contains("tm_wgmma_n32(d, arow, af[kk][0], af[kk][1], af[kk][2], af[kk][3], "
                + "w1_s_desc + ((sl / 8 * 1024 + kk * 256) >> 4), kk);"), src);
        assertTrue(src.contains("tm_wgmma_n64(y_acc[i][0], h_type, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3], "
                + "w2_s_desc + ((sl / 8 + 2 * kk) * 128 >> 4), 1);"), src);
        assertTrue(src.contains("wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16"), "the prelude has the n32 shape");
        assertTrue(src.contains("wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16"), "and its bf16 twin");
        assertFalse(src.contains("m64n128k16"), "no shape the kernel does not use");
        assertFalse(src.contains("tm_ldsm_x4(b,"), "no B fragments through ldmatrix");
        // Fence, products, commit, wait before the epilogue reads d; the projection is waited for before the loop's
        // closing barrier.
        String loop = DoubleBufferingTest.loopOf(src);
        DoubleBufferingTest.assertInOrder(loop, "tm_wgmma_fence();", "tm_wgmma_n32(", "tm_wgmma_commit();",
                "tm_wgmma_wait<0>();", "tm_silu(", "tm_wgmma_fence();", "tm_wgmma_n64(", "tm_wgmma_commit();",
                "tm_wgmma_wait<0>();  // the last projection", "tm_fence_proxy_async();\n        __syncthreads();");
        // Every barrier of the kernel makes the writes before it visible to wgmma first.
        int barriers = src.split("__syncthreads\\(\\);", -1).length - 1;
        int fenced = src.split("tm_fence_proxy_async\\(\\);\\s*__syncthreads\\(\\);", -1).length - 1;
        assertEquals(barriers, fenced, src);
    }

    @Test
    void warpsThatDoNotFormWarpgroupsAreRefusedWithTheNextMultipleOfFour() {
        Diagnostic why = RegisterChainTest.refusal(RegisterChainTest.mlp("", "H 4, W 28", 7, "wgmma"));
        assertTrue(why.message().contains("wgmma is issued by warpgroups of 4 warps, and this plan has 7 warps"),
                why.message());
        assertEquals("use 'warps 8', or 'math tensor_core'", why.hint());
    }

    @Test
    void aPlanWithoutARegisterChainIsRefusedAtItsMathDirective() {
        String text = RegisterChainTest.mlp("place h in shared", "H 8, W 16", 8, "wgmma");
        Diagnostic why = RegisterChainTest.refusal(text);
        assertTrue(why.message().contains("'math wgmma' runs the two products of a register chain"), why.message());
        assertTrue(why.hint().contains("math tensor_core"), why.hint());
        int line = text.substring(0, text.indexOf("math wgmma")).split("\n", -1).length;
        assertEquals(line, why.span().line());
    }

    @Test
    void aProjectionWiderThanOneWgmmaIsRefused() {
        String text = RegisterChainTest.mlp("", "H 8, W 16", 8, "wgmma").replace("param C = 64", "param C = 272");
        Diagnostic why = RegisterChainTest.refusal(text);
        assertTrue(why.message().contains("one wgmma computes at most 256 output channels"), why.message());
    }

    @Test
    void theCoreMatrixLayoutKeepsEveryElementOnceWithinTheSlice() {
        Buffer rows = new Buffer("w_s", "w", PlanSpec.Space.SHARED, tmc.check.DType.F16, 0, 32, 48, 56, 32 * 56 * 2,
                tmc.diag.Span.none("test"));
        Buffer core = rows.asCoreMatrices();
        assertEquals(32L * 48 * 2, core.bytes());
        // The offsets the emitter writes for Buffer.Layout.CORE_MATRICES, evaluated for every element.
        boolean[] seen = new boolean[32 * 48];
        for (int r = 0; r < 32; r++) {
            for (int c = 0; c < 48; c++) {
                int off = ((r / 8) * (48 / 8) + c / 8) * 64 + (r % 8) * 8 + c % 8;
                assertFalse(seen[off], r + "," + c);
                seen[off] = true;
                // Rows of one core matrix are 16 bytes apart; the next core matrix along K is 128 bytes on.
                if (c % 8 == 0 && c > 0) assertEquals(64, off - (((r / 8) * 6 + c / 8 - 1) * 64 + (r % 8) * 8));
            }
        }
    }

    @Test
    void ptxasFitsTheKernelWithoutSerializingItsWgmma(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "SKIPPED: nvcc not found");
        for (String tile : new String[] {"H 8, W 16", "H 8, W 28"}) {
            CompiledProgram p = wgmma("", tile, 8);
            Path cu = dir.resolve(p.fileName());
            Files.writeString(cu, p.source());
            Kernel k = p.program().kernels().getFirst();
            Map<String, Nvcc.Usage> usage = nvcc.compile(cu, "sm_90a");
            Nvcc.Usage u = usage.get(k.name());
            assertEquals(0, u.spillStores() + u.spillLoads(), tile + ": " + u);
            assertTrue(u.registers() <= k.registerLimit(), tile + ": " + u);
            assertEquals(java.util.List.of(), u.wgmmaNotes(), tile);
        }
    }
}
