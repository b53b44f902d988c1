package tmc.ref;

import java.util.Arrays;
import java.util.Locale;
import tmc.check.DType;

/**
 * Elementwise comparison of a computed tensor with an expected one, under a tolerance measured in ulps of a storage
 * type: element i passes when |actual[i] - expected[i]| &le; ulps * ulp(expected[i]) + scaleUlps * ulp(rms), with
 * ulp as in {@link Rounding#ulp} and rms the root mean square of the expected tensor (its typical magnitude: errors
 * that come from rounding intermediates scale with it, not with the element, which may be near zero). NaN passes
 * only against NaN, infinity only against the same infinity.
 */
public final class Compare {
    private Compare() {}

    /**
     * @param dtype     the type whose ulp measures the error (the coarser of the output's dtype and the block's
     *                  storage dtype)
     * @param ulps      allowed error in ulps of {@code dtype} at the expected value's magnitude
     * @param scaleUlps allowed error on top, in ulps of {@code dtype} at the expected tensor's rms
     */
    public record Tolerance(DType dtype, double ulps, double scaleUlps) {
        public double allowed(double expected, double rms) {
            return ulps * Rounding.ulp(expected, dtype) + scaleUlps * Rounding.ulp(rms, dtype);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.3g ulp_%s(value) + %.3g ulp_%s(rms)", ulps, dtype, scaleUlps, dtype);
        }
    }

    /**
     * @param failures  elements outside the tolerance
     * @param worst     flat index of the element with the largest error relative to its allowance (-1 if empty)
     * @param worstRatio its error divided by its allowance (&gt; 1 means it fails)
     * @param maxAbs    the largest absolute error
     * @param maxUlps   the largest error in ulps of the tolerance's dtype at the expected value
     */
    public record Report(int elements, int failures, int worst, double worstRatio, double maxAbs, double maxUlps,
                         float worstActual, float worstExpected, double rms) {
        public boolean ok() {
            return failures == 0;
        }

        public String describe(Tensor shapeOf, Tolerance tol) {
            String where = worst < 0 ? "-" : Arrays.toString(unflatten(worst, shapeOf.shape()));
            return String.format(Locale.ROOT, "%d of %d elements outside %s (rms %.4g); max |err| %.3g = %.3g ulp; "
                            + "worst at %s: %s vs expected %s (%.2f of the allowance)", failures, elements, tol, rms,
                    maxAbs, maxUlps, where, worstActual, worstExpected, worstRatio);
        }
    }

    public static Report compare(Tensor actual, Tensor expected, Tolerance tol) {
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            throw new IllegalArgumentException("shapes differ: " + actual.shapeString() + " vs " + expected.shapeString());
        }
        float[] a = actual.raw();
        float[] e = expected.raw();
        double rms = rms(e);
        int failures = 0;
        int worst = -1;
        double worstRatio = -1;
        double maxAbs = 0;
        double maxUlps = 0;
        for (int i = 0; i < a.length; i++) {
            double err;
            if (Float.isNaN(e[i]) || Float.isInfinite(e[i]) || !Float.isFinite(a[i])) {
                err = Float.compare(a[i], e[i]) == 0 ? 0 : Double.POSITIVE_INFINITY;
            } else {
                err = Math.abs((double) a[i] - e[i]);
            }
            double allowed = Float.isFinite(e[i]) ? tol.allowed(e[i], rms) : 0;
            double ratio = err == 0 ? 0 : allowed == 0 ? Double.POSITIVE_INFINITY : err / allowed;
            if (err > allowed) failures++;
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worst = i;
            }
            maxAbs = Math.max(maxAbs, err);
            if (Float.isFinite(e[i])) maxUlps = Math.max(maxUlps, err / Rounding.ulp(e[i], tol.dtype()));
        }
        return new Report(a.length, failures, worst, Math.max(worstRatio, 0), maxAbs, maxUlps,
                worst < 0 ? Float.NaN : a[worst], worst < 0 ? Float.NaN : e[worst], rms);
    }

    /** Root mean square of the finite elements (0 if there are none). */
    public static double rms(float[] values) {
        double sq = 0;
        long n = 0;
        for (float v : values) {
            if (Float.isFinite(v)) {
                sq += (double) v * v;
                n++;
            }
        }
        return n == 0 ? 0 : Math.sqrt(sq / n);
    }

    static int[] unflatten(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
        return idx;
    }
}
