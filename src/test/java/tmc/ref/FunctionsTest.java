package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.check.Op.ActivationFn;

class FunctionsTest {
    /** x, erf(x), erfc(x) from the C library (glibc, through Python's math module). */
    private static final double[][] LIBM = {
            {1e-08, 1.1283791670955126e-08, 0.9999999887162083},
            {0.1, 0.1124629160182849, 0.8875370839817152},
            {0.25, 0.2763263901682369, 0.7236736098317631},
            {0.5, 0.5204998778130465, 0.4795001221869535},
            {0.75, 0.7111556336535151, 0.28884436634648486},
            {1.0, 0.8427007929497149, 0.15729920705028513},
            {1.3, 0.9340079449406524, 0.06599205505934755},
            {1.7, 0.9837904585907745, 0.016209541409225436},
            {2.0, 0.9953222650189527, 0.004677734981047265},
            {2.3, 0.9988568234026434, 0.0011431765973566523},
            {2.49, 0.9995707121322661, 0.000429287867733913},
            {2.5, 0.999593047982555, 0.0004069520174449589},
            {2.51, 0.9996142945182758, 0.0003857054817242798},
            {3.0, 0.9999779095030014, 2.2090496998585438e-05},
            {3.7, 0.9999998328489421, 1.6715105790914596e-07},
            {4.5, 0.9999999998033839, 1.9661604415428873e-10},
            {5.5, 0.9999999999999927, 7.357847917974398e-15},
            {5.99, 1.0, 2.4300455127321346e-17},
            {6.0, 1.0, 2.1519736712498916e-17},
            {8.0, 1.0, 1.1224297172982928e-29},
    };

    @Test
    void erfAndErfcMatchTheCLibrary() {
        for (double[] row : LIBM) {
            double x = row[0];
            assertEquals(row[1], Functions.erf(x), 1e-15 * row[1], () -> "erf(" + x + ")");
            assertEquals(-row[1], Functions.erf(-x), 1e-15 * row[1], () -> "erf(-" + x + ")");
            // erfc keeps its relative accuracy in the tail, where 1 - erf(x) would be all rounding error.
            double tol = x < 2.5 ? 1e-11 : 1e-13;
            assertEquals(row[2], Functions.erfc(x), tol * row[2], () -> "erfc(" + x + ")");
            assertEquals(2 - row[2], Functions.erfc(-x), 1e-15, () -> "erfc(-" + x + ")");
        }
    }

    @Test
    void erfEdgeCases() {
        assertEquals(0.0, Functions.erf(0.0));
        assertEquals(Double.doubleToLongBits(-0.0), Double.doubleToLongBits(Functions.erf(-0.0)));
        assertEquals(1.0, Functions.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, Functions.erf(Double.NEGATIVE_INFINITY));
        assertTrue(Double.isNaN(Functions.erf(Double.NaN)));
        assertEquals(0.0, Functions.erfc(40.0));
        assertEquals(2.0, Functions.erfc(-40.0));
        // Continuity where the method changes (2.5 and 6).
        for (double b : new double[] {2.5, 6.0}) {
            assertEquals(Functions.erf(Math.nextDown(b)), Functions.erf(b), 1e-15);
            assertEquals(Functions.erfc(Math.nextDown(b)), Functions.erfc(b), 1e-11 * Functions.erfc(b));
        }
    }

    @Test
    void geluIsTheErfForm() {
        // gelu(x) = x * Phi(x), Phi the standard normal CDF; Phi(1) = 0.8413447460685429 (libm: 0.5 * erfc(-1/sqrt 2)).
        assertEquals(0.8413447460685429, Functions.apply(ActivationFn.GELU, 1.0), 1e-15);
        assertEquals(-0.15865525393145707, Functions.apply(ActivationFn.GELU, -1.0), 1e-15);
        // Far in the negative tail gelu is tiny but not zero: x * Phi(x) with Phi(-10) = 7.619853024160527e-24.
        assertEquals(-7.619853024160527e-23, Functions.apply(ActivationFn.GELU, -10.0), 1e-36);
        assertEquals(0.0, Functions.apply(ActivationFn.GELU, 0.0));
        // The tanh form differs from the erf form by about 1e-4 at x = 2: the two are not confused.
        double d = Functions.apply(ActivationFn.GELU, 2.0) - Functions.apply(ActivationFn.GELU_TANH, 2.0);
        assertTrue(Math.abs(d) > 5e-5 && Math.abs(d) < 1e-3, "gelu(2) - gelu_tanh(2) = " + d);
    }

    @Test
    void otherActivations() {
        double[] xs = {-7.5, -3.0, -2.9, -1.0, -0.0, 0.0, 0.3, 1.0, 2.9, 3.0, 3.1, 40.0};
        for (double x : xs) {
            assertEquals(Math.max(x, 0.0), Functions.apply(ActivationFn.RELU, x), 0.0);
            double sig = 1.0 / (1.0 + Math.exp(-x));
            assertEquals(sig, Functions.apply(ActivationFn.SIGMOID, x), 1e-16);
            assertEquals(x * sig, Functions.apply(ActivationFn.SILU, x), 1e-15 * Math.max(1, Math.abs(x)));
            double hs = x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
            assertEquals(hs, Functions.apply(ActivationFn.HARDSWISH, x), 1e-15 * Math.max(1, Math.abs(x)));
            double gt = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertEquals(gt, Functions.apply(ActivationFn.GELU_TANH, x), 1e-15 * Math.max(1, Math.abs(x)));
            assertEquals(x, Functions.apply(ActivationFn.IDENTITY, x));
        }
        assertEquals(0.0, Functions.apply(ActivationFn.SIGMOID, -1000.0));
        assertEquals(1.0, Functions.apply(ActivationFn.SIGMOID, 1000.0));
        assertTrue(Double.isNaN(Functions.apply(ActivationFn.RELU, Double.NaN)), "relu keeps NaN, as PyTorch does");
    }

    @Test
    void f32ResultsAreTheRoundedF64Values() {
        for (ActivationFn fn : ActivationFn.values()) {
            for (float x = -6f; x <= 6f; x += 0.37f) {
                assertEquals((float) Functions.apply(fn, (double) x), Functions.apply(fn, x), 0f, fn + " at " + x);
            }
        }
    }
}
