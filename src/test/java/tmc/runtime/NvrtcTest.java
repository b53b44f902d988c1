package tmc.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Real NVRTC: compiles on this machine when NVRTC is present (no GPU needed), else skipped visibly. */
class NvrtcTest {
    @Test
    void compilesAnFp16KernelToACubinForTheExactArch() {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        assertTrue(nvrtc.version().major() >= 12, "version " + nvrtc.version());
        assertTrue(nvrtc.includeDir().isPresent(), "cuda_fp16.h should be found next to NVRTC or in the toolkit");
        for (String arch : List.of("sm_80", "sm_90")) {
            Cubin c = NvrtcSupport.ok(nvrtc.compile("twice.cu", NvrtcSupport.TINY, CompileOptions.forArch(arch)));
            byte[] img = c.image();
            assertEquals(0x7f, img[0]);
            assertEquals("ELF", new String(img, 1, 3));
            assertEquals(OptionalInt.of(Integer.parseInt(arch.substring(3))), c.elfSm(), "cubin must target " + arch);
            assertEquals(arch, c.arch());
            assertFalse(c.fromCache());
            assertEquals(nvrtc.version(), c.nvrtcVersion());
            assertTrue(c.arguments().contains("--gpu-architecture=" + arch), c.arguments().toString());
            assertTrue(c.arguments().contains("-std=c++17"));
            assertTrue(c.arguments().stream().anyMatch(a -> a.startsWith("-I")));
        }
    }

    @Test
    void archSpecificAndOptionalFlagsCompile() {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        CompileOptions opts = CompileOptions.forArch("sm_90a").withFastMath(true).withLineInfo(true);
        Result<Cubin> r = nvrtc.compile("twice.cu", NvrtcSupport.TINY, opts);
        Cubin c = NvrtcSupport.ok(r);
        assertTrue(c.arguments().containsAll(List.of("--gpu-architecture=sm_90a", "--use_fast_math", "-lineinfo")));
        assertEquals(OptionalInt.of(90), c.elfSm());
    }

    @Test
    void aCompileErrorIsAValueWithTheProgramLog() {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        String bad = "extern \"C\" __global__ void k(float* x) {\n  x[0] = undeclared_thing;\n}\n";
        Result<Cubin> r = nvrtc.compile("broken.cu", bad, CompileOptions.forArch("sm_90"));
        Problem p = NvrtcSupport.err(r);
        assertTrue(p.what().contains("could not compile broken.cu for sm_90"), p.what());
        assertTrue(p.what().contains("NVRTC_ERROR_COMPILATION"), p.what());
        assertTrue(p.detail().contains("broken.cu(2)"), "log names the file and line: " + p.detail());
        assertTrue(p.detail().contains("undeclared_thing"), p.detail());
        assertTrue(p.render().contains("fix: "), p.render());
    }

    @Test
    void anUnknownOptionIsReportedWithTheLog() {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        Result<Cubin> r = nvrtc.compile("twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_90").withExtra("--no-such-flag"));
        Problem p = NvrtcSupport.err(r);
        assertTrue(p.what().contains("NVRTC_ERROR_INVALID_OPTION"), p.render());
        assertTrue(p.render().contains("--no-such-flag"), p.render());
    }

    @Test
    void anArchitectureThisNvrtcCannotTargetIsRefusedUpFront() {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        if (nvrtc.supportedArchs().contains("sm_50")) return; // NVRTC 12 still targets Maxwell; 13 does not
        Problem p = NvrtcSupport.err(nvrtc.compile("twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_50")));
        assertTrue(p.what().contains("cannot compile for sm_50"), p.what());
        assertTrue(p.what().contains("sm_90"), p.what());
    }

    @Test
    void findsAToolkitUnderUsrLocalAndExplainsMissingHeaders(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        Nvrtc real = NvrtcSupport.nvrtcOrSkip();
        // A toolkit laid out like /usr/local/cuda-13.9 whose library is the real NVRTC but which has no headers.
        java.nio.file.Path lib = tmp.resolve("cuda-13.9/targets/x86_64-linux/lib/libnvrtc.so.13");
        java.nio.file.Files.createDirectories(lib.getParent());
        java.nio.file.Files.createSymbolicLink(lib, real.library().toRealPath());
        Nvrtc.Loaded l = Nvrtc.load(java.util.Map.of(), tmp);
        Nvrtc n = NvrtcSupport.ok(l.nvrtc());
        assertEquals(lib, n.library());
        assertEquals(tmp + "/cuda-*", n.foundBy());
        assertEquals(real.version(), n.version());
        if (n.includeDir().isEmpty()) { // true unless /usr/include has cuda_fp16.h
            Problem p = NvrtcSupport.err(n.compile("twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_90")));
            assertTrue(p.detail().contains("cuda_fp16.h"), p.render());
            assertTrue(p.fix().contains("TMC_CUDA_INCLUDE"), p.render());
        }
        // Pointing TMC_CUDA_INCLUDE at the headers fixes it.
        Nvrtc withHeaders = NvrtcSupport.ok(Nvrtc.load(java.util.Map.of("TMC_CUDA_INCLUDE", real.includeDir().orElseThrow().toString()), tmp).nvrtc());
        assertEquals(real.includeDir(), withHeaders.includeDir());
        NvrtcSupport.ok(withHeaders.compile("twice.cu", NvrtcSupport.TINY, CompileOptions.forArch("sm_90")));
    }

    @Test
    void virtualOrMalformedArchitecturesAreNotAccepted() {
        for (String bad : List.of("compute_90", "sm90", "90", "sm_", "sm_90ab", "")) {
            assertFalse(CompileOptions.isValidArch(bad), bad);
            assertThrows(IllegalArgumentException.class, () -> CompileOptions.forArch(bad));
        }
        assertEquals(90, CompileOptions.forArch("sm_90a").computeCapability());
        assertEquals(120, CompileOptions.forArch("sm_120").computeCapability());
    }

    @Test
    void compilesConcurrentlyFromManyThreads() throws Exception {
        Nvrtc nvrtc = NvrtcSupport.nvrtcOrSkip();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(6)) {
            var futures = new java.util.ArrayList<java.util.concurrent.Future<Result<Cubin>>>();
            for (int i = 0; i < 12; i++) {
                String src = NvrtcSupport.tiny(i % 3);
                futures.add(pool.submit(() -> nvrtc.compile("t.cu", src, CompileOptions.forArch("sm_90"))));
            }
            String[] shaByVariant = new String[3];
            for (int i = 0; i < futures.size(); i++) {
                Cubin c = NvrtcSupport.ok(futures.get(i).get());
                if (shaByVariant[i % 3] == null) shaByVariant[i % 3] = c.sha256();
                assertEquals(shaByVariant[i % 3], c.sha256(), "NVRTC is deterministic for the same input");
            }
            assertEquals(3, java.util.Set.of(shaByVariant).size());
        }
    }
}
