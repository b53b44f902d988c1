package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import tmc.runtime.Cuda;
import tmc.runtime.Nvrtc;

class DoctorCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void reportsEverySectionAndExitsZeroWithoutAGpu() {
        Run r = run("doctor");
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("", r.err());
        for (String label : new String[] {"tmc " + Version.VERSION, "Java ", "NVRTC ", "Cache ", "JCuda ", "Driver ", "GPU",
                "Compiling kernels (NVRTC): ", "Running kernels (GPU): "}) {
            assertTrue(r.out().contains(label), "missing '" + label + "' in:\n" + r.out());
        }
        assertTrue(r.out().contains(Cuda.JCUDA_NATIVE), r.out());
        boolean nvrtc = Nvrtc.load().isOk();
        assertEquals(nvrtc, r.out().contains("Compiling kernels (NVRTC): ready"), r.out());
        if (nvrtc) {
            tmc.runtime.Nvrtc n = ((tmc.runtime.Result.Ok<Nvrtc>) Nvrtc.load()).value();
            assertTrue(r.out().contains("NVRTC      " + n.version() + " at " + n.library()), r.out());
            assertTrue(r.out().contains("headers: "), r.out());
        } else {
            assertTrue(r.out().contains("fix: "), "a missing NVRTC comes with a fix:\n" + r.out());
        }
        if (!Cuda.available()) {
            assertTrue(r.out().contains("Running kernels (GPU):     NOT READY"), r.out());
            assertTrue(r.out().contains("none usable: "), r.out());
            assertFalse(r.out().contains("Exception"), "no stack traces:\n" + r.out());
        }
    }

    @Test
    void strictFailsWhenSomethingIsMissing() {
        Run r = run("doctor", "--strict");
        boolean ready = Nvrtc.load().isOk() && Cuda.available();
        assertEquals(ready ? 0 : 1, r.code(), r.out());
    }

    @Test
    void doctorIsListedAndSmokeIsHidden() {
        Run r = run("--help");
        assertTrue(r.out().contains("doctor"), r.out());
        assertFalse(r.out().contains("smoke"), r.out());
        Run smoke = run("smoke", "--help");
        assertEquals(0, smoke.code());
        assertTrue(smoke.out().contains("fp16 kernel on GPU 0"), smoke.out());
    }
}
