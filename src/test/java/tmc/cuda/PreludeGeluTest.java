package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.check.Op.ActivationFn;
import tmc.ref.Functions;

/**
 * The emitted gelu's erfc polynomial (Prelude.GELU_ERFC_*) against the reference's exact gelu, over every finite f16
 * value: the prelude promises 2^-17 * max(1, |x|) (docs/semantics.md). The device's __expf and __fdividef add a few
 * f32 ulps to what is computed here; scripts/bench/activation_accuracy.py measures the emitted functions on the GPU.
 */
class PreludeGeluTest {
    /** tm_gelu as emitted, in f32 with fused multiply-adds, exp and the division rounded correctly. */
    static float gelu(float x) {
        float z = Math.abs(x) * 0.70710678118654752f;
        float t = 1.0f / Math.fma(Prelude.GELU_ERFC_T, z, 1.0f);
        float[] a = Prelude.GELU_ERFC_P;
        float p = Math.fma(a[4], t, a[3]);
        for (int i = 2; i >= 0; i--) p = Math.fma(p, t, a[i]);
        float q = p * t * (float) Math.exp(-z * z);
        return x * (x >= 0.0f ? 1.0f - q : q);
    }

    @Test
    void geluIsWithinTheActivationBoundOverEveryF16Value() {
        double worst = 0;
        float worstAt = 0;
        for (int bits = 0; bits < 1 << 16; bits++) {
            float x = Float.float16ToFloat((short) bits);
            if (!Float.isFinite(x)) continue;
            double exact = Functions.apply(ActivationFn.GELU, (double) x);
            double scaled = Math.abs(gelu(x) - exact) / Math.max(1.0, Math.abs(x));
            if (scaled > worst) {
                worst = scaled;
                worstAt = x;
            }
        }
        assertTrue(worst <= Math.scalb(1.0, -17), "gelu error " + worst + " * max(1, |x|) at x = " + worstAt);
        // A&S 7.1.26 is good to 1.5e-7 in erfc: gelu's error is 0.75e-7 * |x| plus f32 rounding
        assertTrue(worst < 3e-7, "A&S 7.1.26 promises better: " + worst + " at x = " + worstAt);
    }

    @Test
    void geluKeepsItsSignAndLimits() {
        assertEquals(0.0f, gelu(0.0f));
        assertEquals(8.0f, gelu(8.0f), 1e-6f);  // Phi(8) = 1 - 6e-16
        assertTrue(gelu(-3.0f) < 0 && gelu(-3.0f) > -0.005f, "gelu(-3) = -0.00405: " + gelu(-3.0f));
        assertEquals(0.0f, gelu(-30.0f), 0.0f);  // exp(-450) underflows to 0: no NaN from the tail
        assertEquals(Functions.apply(ActivationFn.GELU, 1.0), gelu(1.0f), 2e-7);
    }
}
