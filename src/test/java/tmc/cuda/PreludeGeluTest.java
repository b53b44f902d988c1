package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.check.Op.ActivationFn;
import tmc.ref.Functions;

/**
 * The emitted gelu (x/2 + x/2 tanh(x P(min(x^2, 25))), Prelude.GELU_*) against the reference's exact gelu, over every
 * finite f16 value: the prelude promises 2^-17 * max(1, |x|) (docs/semantics.md). The device's tanh.approx is not
 * exact: its absolute error, measured below 7.6e-6 on the H100, moves the result by at most |x|/2 times that, which the
 * bound must absorb too. scripts/bench/activation_accuracy.py measures the emitted functions on the GPU.
 */
class PreludeGeluTest {
    /** MUFU.TANH's absolute error on the H100 (docs/benchmarks.md, silu's row of the fifth session). */
    static final double TANH_APPROX_ERROR = 7.6e-6;

    /** tm_gelu as emitted, in f32 with fused multiply-adds and a correctly rounded tanh. */
    static float gelu(float x) {
        float u = Math.min(x * x, Prelude.GELU_U_MAX);
        float[] c = Prelude.GELU_P;
        float p = c[c.length - 1];
        for (int i = c.length - 2; i >= 0; i--) p = Math.fma(p, u, c[i]);
        float h = 0.5f * x;
        return Math.fma(h, (float) Math.tanh(x * p), h);
    }

    @Test
    void geluIsWithinTheActivationBoundOverEveryF16ValueWithTheHardwareTanh() {
        double worst = 0, worstWithTanh = 0;
        float worstAt = 0;
        for (int bits = 0; bits < 1 << 16; bits++) {
            float x = Float.float16ToFloat((short) bits);
            if (!Float.isFinite(x)) continue;
            double exact = Functions.apply(ActivationFn.GELU, (double) x);
            double scale = Math.max(1.0, Math.abs(x));
            double scaled = Math.abs(gelu(x) - exact) / scale;
            if (scaled > worst) {
                worst = scaled;
                worstAt = x;
            }
            worstWithTanh = Math.max(worstWithTanh, scaled + Math.abs(0.5 * x) * TANH_APPROX_ERROR / scale);
        }
        assertTrue(worstWithTanh <= Math.scalb(1.0, -17), "gelu error with tanh.approx's " + worstWithTanh);
        // the fit itself is good to 2.8e-7 (gelu_fit.py): a coefficient off by a digit breaks this
        assertTrue(worst < 4e-7, "the fit promises better: " + worst + " at x = " + worstAt);
    }

    @Test
    void geluKeepsItsSignAndLimits() {
        assertEquals(0.0f, gelu(0.0f));
        assertEquals(8.0f, gelu(8.0f), 1e-6f);  // Phi(8) = 1 - 6e-16: tanh saturates
        assertEquals(60000.0f, gelu(60000.0f));  // f16's largest values: u is clamped, no overflow into NaN
        assertTrue(gelu(-3.0f) < 0 && gelu(-3.0f) > -0.005f, "gelu(-3) = -0.00405: " + gelu(-3.0f));
        assertEquals(0.0f, gelu(-30.0f), 0.0f);  // tanh(-large) = -1: exactly zero, no NaN from the tail
        assertEquals(Functions.apply(ActivationFn.GELU, 1.0), gelu(1.0f), 4e-7);
    }
}
