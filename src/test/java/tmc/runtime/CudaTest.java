package tmc.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** What can be checked of the driver layer without a GPU; the GPU path is scripts/gpu/runtime_smoke.sh. */
class CudaTest {
    @Test
    void probeNeverThrowsAndExplainsItself() {
        Cuda.Availability a = Cuda.probe();
        assertEquals(a, Cuda.probe(), "probed once per process");
        assertEquals(a instanceof Cuda.Availability.Available, Cuda.available());
        if (a instanceof Cuda.Availability.Unavailable u) {
            System.out.println("Cuda.probe() here: " + u.problem().what());
            assertFalse(u.problem().what().isBlank());
            assertFalse(u.problem().fix().isBlank(), "an unavailable GPU always comes with a fix: " + u.problem().render());
            if (u.libcuda().isEmpty()) assertTrue(u.problem().what().contains("libcuda.so.1"), u.problem().render());
            // Asking for the GPU anyway is a clean, checked failure with the same explanation.
            RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> Cuda.open(0));
            assertEquals(u.problem(), f.problem());
            assertEquals(u.problem(), assertThrows(RuntimeFailure.class, Cuda::devices).problem());
        }
    }

    @Test
    void theBuildPutsJCudasDriverLibraryOnTheLibraryPath() {
        String where = Cuda.jcudaNativeLocation().orElseThrow(() -> new AssertionError(
                Cuda.JCUDA_NATIVE + " not on java.library.path=" + System.getProperty("java.library.path")));
        Path p = Path.of(where);
        assertTrue(Files.isRegularFile(p));
        assertEquals(Path.of("target", "native", Cuda.JCUDA_NATIVE), p.subpath(p.getNameCount() - 3, p.getNameCount()));
        // Only the driver library: the 24 MB PTX compiler and the NVRTC binding from jcuda-natives stay out.
        try (var s = Files.list(p.getParent())) {
            assertEquals(1, s.count());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void nativeLibraryVersionMatchesTheJCudaJar() throws Exception {
        Properties props = new Properties();
        try (InputStream in = jcuda.driver.CUresult.class.getResourceAsStream("/META-INF/maven/org.jcuda/jcuda/pom.properties")) {
            if (in == null) throw new AssertionError("jcuda jar has no pom.properties");
            props.load(in);
        }
        assertEquals(props.getProperty("version"), Cuda.JCUDA_VERSION);
    }

    @Test
    void driverErrorsNameTheCallTheCodeAndAFix() throws RuntimeFailure {
        Problem p = CudaErrors.problem(jcuda.driver.CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU, "cuModuleLoadData", "k.cu on H100");
        assertEquals("cuModuleLoadData failed (k.cu on H100): CUDA_ERROR_NO_BINARY_FOR_GPU (209)", p.what());
        assertTrue(p.fix().contains("sm_XY"), p.fix());
        RuntimeFailure f = assertThrows(RuntimeFailure.class, () -> CudaErrors.check(2, "cuMemAlloc", "1 B"));
        assertTrue(f.problem().what().contains("CUDA_ERROR_OUT_OF_MEMORY"), f.problem().what());
        CudaErrors.check(0, "anything", ""); // success is silent
    }

    @Test
    void cubinCompatibilityFollowsTheSassRule() {
        assertTrue(Cuda.runsOn(90, 90));
        assertTrue(Cuda.runsOn(80, 86));
        assertTrue(Cuda.runsOn(80, 89));
        assertFalse(Cuda.runsOn(86, 80));
        assertFalse(Cuda.runsOn(80, 90));
        assertFalse(Cuda.runsOn(90, 100));
    }

    @Test
    void launchShapesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> Dim3.of(0));
        assertEquals(8 * 4 * 2, Dim3.of(8, 4, 2).volume());
        assertEquals("(3, 1, 1)", Dim3.of(3).toString());
        assertEquals(3, KernelArgs.of().i32(1).i64(2).f32(3).size());
    }
}
