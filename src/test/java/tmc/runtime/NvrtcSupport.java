package tmc.runtime;

import org.junit.jupiter.api.Assumptions;

/** Real NVRTC for tests, or a visible skip when this machine has none (see scripts/dev/install-nvrtc.sh). */
final class NvrtcSupport {
    private NvrtcSupport() {}

    static final String TINY = """
            #include <cuda_fp16.h>
            extern "C" __global__ void twice(__half* x, int n) {
              int i = blockIdx.x * blockDim.x + threadIdx.x;
              if (i < n) x[i] = __hadd(x[i], x[i]);
            }
            """;

    static Nvrtc nvrtcOrSkip() {
        Result<Nvrtc> r = Nvrtc.load();
        if (r instanceof Result.Err<Nvrtc>(Problem p)) {
            String msg = "SKIPPED: NVRTC not found, so no real compile was tested (run scripts/dev/install-nvrtc.sh or set TMC_NVRTC): "
                    + p.what();
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        return ((Result.Ok<Nvrtc>) r).value();
    }

    /** The value, or a test failure that shows the whole problem (with the NVRTC log). */
    static <T> T ok(Result<T> r) {
        return switch (r) {
            case Result.Ok<T>(T v) -> v;
            case Result.Err<T>(Problem p) -> org.junit.jupiter.api.Assertions.fail(p.render());
        };
    }

    static <T> Problem err(Result<T> r) {
        return switch (r) {
            case Result.Ok<T>(T v) -> org.junit.jupiter.api.Assertions.fail("expected an error, got " + v);
            case Result.Err<T>(Problem p) -> p;
        };
    }

    static String tiny(int variant) {
        return TINY.replace("x[i], x[i]", "x[i], __float2half(" + variant + ".0f)");
    }
}
