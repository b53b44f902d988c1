package tmc.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NvrtcLocatorTest {
    @TempDir
    Path tmp;

    private Path touch(String rel) throws IOException {
        Path p = tmp.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "not really a library");
        return p;
    }

    private static List<String> files(Result<List<NvrtcLocator.Candidate>> r) {
        return ((Result.Ok<List<NvrtcLocator.Candidate>>) r).value().stream()
                .map(c -> c instanceof NvrtcLocator.Candidate.File f ? f.path().toString() : ((NvrtcLocator.Candidate.Soname) c).name())
                .toList();
    }

    @Test
    void toolkitsNewestFirstThenCudaSymlinkThenLoaderPath() throws IOException {
        Path usr = tmp.resolve("usr/local");
        touch("usr/local/cuda-12.4/lib64/libnvrtc.so.12");
        touch("usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13");
        touch("usr/local/cuda-9.2/lib64/libnvrtc.so.9");
        touch("usr/local/cuda-12.10/lib64/libnvrtc.so.12");
        touch("usr/local/cuda/lib64/libnvrtc.so");
        List<String> got = files(NvrtcLocator.candidates(Map.of(), usr));
        assertEquals(List.of(
                usr + "/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13",
                usr + "/cuda-12.10/lib64/libnvrtc.so.12",
                usr + "/cuda-12.4/lib64/libnvrtc.so.12",
                usr + "/cuda-9.2/lib64/libnvrtc.so.9",
                usr + "/cuda/lib64/libnvrtc.so",
                "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), got);
    }

    @Test
    void cudaHomeComesBeforeUsrLocalAndHigherSonameFirst() throws IOException {
        touch("usr/local/cuda-13.0/lib64/libnvrtc.so.13");
        touch("mine/lib64/libnvrtc.so");
        touch("mine/lib64/libnvrtc.so.12");
        touch("mine/lib64/libnvrtc.so.13");
        touch("mine/lib64/libnvrtc-builtins.so.13.0"); // not a candidate
        List<String> got = files(NvrtcLocator.candidates(Map.of("CUDA_HOME", tmp.resolve("mine").toString()), tmp.resolve("usr/local")));
        assertEquals(tmp + "/mine/lib64/libnvrtc.so.13", got.get(0));
        assertEquals(tmp + "/mine/lib64/libnvrtc.so.12", got.get(1));
        assertEquals(tmp + "/mine/lib64/libnvrtc.so", got.get(2));
        assertEquals(tmp + "/usr/local/cuda-13.0/lib64/libnvrtc.so.13", got.get(3));
    }

    @Test
    void symlinkedCopiesAreTriedOnce() throws IOException {
        Path real = touch("usr/local/cuda-13.0/lib64/libnvrtc.so.13");
        Files.createSymbolicLink(tmp.resolve("usr/local/cuda"), tmp.resolve("usr/local/cuda-13.0"));
        List<String> got = files(NvrtcLocator.candidates(Map.of(), tmp.resolve("usr/local")));
        assertEquals(List.of(real.toString(), "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), got);
    }

    @Test
    void overrideIsExclusiveAndAWrongOneIsAnError() throws IOException {
        Path lib = touch("x/libnvrtc.so.13");
        touch("usr/local/cuda-13.0/lib64/libnvrtc.so.13");
        assertEquals(List.of(lib.toString()), files(NvrtcLocator.candidates(Map.of("TMC_NVRTC", lib.toString()), tmp.resolve("usr/local"))));
        assertEquals(List.of(lib.toString()), files(NvrtcLocator.candidates(Map.of("TMC_NVRTC", lib.getParent().toString()), tmp.resolve("usr/local"))));

        var missing = NvrtcLocator.candidates(Map.of("TMC_NVRTC", tmp + "/nope.so"), tmp.resolve("usr/local"));
        Problem p = assertInstanceOf(Result.Err.class, missing).problem();
        assertTrue(p.what().contains("TMC_NVRTC=" + tmp + "/nope.so does not exist"), p.render());
        assertFalse(p.fix().isEmpty());

        Files.createDirectories(tmp.resolve("empty"));
        var empty = NvrtcLocator.candidates(Map.of("TMC_NVRTC", tmp + "/empty"), tmp.resolve("usr/local"));
        assertTrue(assertInstanceOf(Result.Err.class, empty).problem().what().contains("without libnvrtc"));
    }

    @Test
    void includeDirFollowsTheLibraryFirst() throws IOException {
        Path lib = touch("a/targets/x86_64-linux/lib/libnvrtc.so.13");
        touch("a/targets/x86_64-linux/include/cuda_fp16.h");
        touch("usr/local/cuda-13.0/include/cuda_fp16.h");
        Path usr = tmp.resolve("usr/local");
        assertEquals(Optional.of(tmp.resolve("a/targets/x86_64-linux/include")), NvrtcLocator.includeDir(Map.of(), usr, Optional.of(lib)));
        // A library with no headers beside it (a bare redistributable) borrows the installed toolkit's.
        Path bare = touch("bare/libnvrtc.so.13");
        assertEquals(Optional.of(usr.resolve("cuda-13.0/include")), NvrtcLocator.includeDir(Map.of(), usr, Optional.of(bare)));
        // The override wins, and an override without cuda_fp16.h finds nothing rather than guessing.
        touch("inc/cuda_fp16.h");
        assertEquals(Optional.of(tmp.resolve("inc")), NvrtcLocator.includeDir(Map.of("TMC_CUDA_INCLUDE", tmp + "/inc"), usr, Optional.of(lib)));
        assertEquals(Optional.empty(), NvrtcLocator.includeDir(Map.of("TMC_CUDA_INCLUDE", tmp + "/a"), usr, Optional.of(lib)));
    }

    @Test
    void aLibraryThatIsNotNvrtcIsReportedAndSkipped() throws IOException {
        // A real shared object without NVRTC's symbols. (A non-ELF file would do too, but the JVM then prints an
        // executable-stack warning into the test output.)
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(libm), "needs " + libm);
        Path fake = tmp.resolve("fake/libnvrtc.so.13");
        Files.createDirectories(fake.getParent());
        Files.copy(libm, fake);
        Nvrtc.Loaded l = Nvrtc.load(Map.of("TMC_NVRTC", fake.toString()), tmp.resolve("usr/local"));
        Problem p = assertInstanceOf(Result.Err.class, l.nvrtc()).problem();
        assertEquals(1, l.tried().size());
        assertTrue(l.tried().get(0).startsWith(fake + " ($TMC_NVRTC): "), l.tried().toString());
        assertTrue(p.what().contains("NVRTC (libnvrtc.so) was not found"), p.render());
        assertTrue(p.detail().contains(fake.toString()), p.render());
        assertTrue(p.fix().contains("TMC_NVRTC"), p.render());
    }
}
