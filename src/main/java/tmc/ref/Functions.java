package tmc.ref;

import tmc.check.Op.ActivationFn;

/**
 * The activation functions of the language, evaluated in f64 and rounded once to f32 by the caller, so the f32
 * result is within about half an f32 ulp of the exact value. Definitions (all as in PyTorch):
 * <ul>
 *   <li>relu(x) = max(x, 0)</li>
 *   <li>sigmoid(x) = 1 / (1 + exp(-x)); silu(x) = x * sigmoid(x)</li>
 *   <li>gelu(x) = x / 2 * (1 + erf(x / sqrt 2)), the exact (erf) form, evaluated as x / 2 * erfc(-x / sqrt 2)</li>
 *   <li>gelu_tanh(x) = x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))</li>
 *   <li>hardswish(x) = x * relu6(x + 3) / 6, relu6(t) = min(max(t, 0), 6)</li>
 * </ul>
 */
public final class Functions {
    private Functions() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563; // 1 / sqrt(pi)
    private static final double SQRT_HALF = 0.7071067811865476; // 1 / sqrt(2)
    private static final double SQRT_2_OVER_PI = 0.7978845608028654; // sqrt(2 / pi)

    /** The activation function {@code fn} at {@code x}, in f64. */
    public static double apply(ActivationFn fn, double x) {
        return switch (fn) {
            case RELU -> x > 0 ? x : Double.isNaN(x) ? x : 0.0;
            case SIGMOID -> sigmoid(x);
            case SILU -> x * sigmoid(x);
            case GELU -> 0.5 * x * erfc(-x * SQRT_HALF);
            case GELU_TANH -> 0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case HARDSWISH -> x * Math.min(Math.max(x + 3.0, 0.0), 6.0) / 6.0;
            case IDENTITY -> x;
        };
    }

    /** The activation function {@code fn} at an f32 {@code x}, rounded once to f32. */
    public static float apply(ActivationFn fn, float x) {
        return fn == ActivationFn.IDENTITY ? x : (float) apply(fn, (double) x);
    }

    public static double sigmoid(double x) {
        // exp of a non-positive argument only, so neither branch overflows.
        if (x >= 0) return 1.0 / (1.0 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1.0 + e);
    }

    /**
     * The error function, with a relative error of a few f64 ulps (tests compare it with the C library's erf).
     * |x| &lt; 2.5: the series erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1 * 3 * ... * (2n+1)), whose terms
     * are all positive (no cancellation); larger |x|: 1 - erfc(|x|) from the continued fraction; |x| &ge; 6:
     * +-1 (erfc(6) &lt; 2.2e-17, below half an ulp of 1).
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        double r;
        if (a < 2.5) r = erfSeries(a);
        else if (a < 6.0) r = 1.0 - erfcFraction(a);
        else r = 1.0;
        return Math.copySign(r, x);
    }

    /** The complementary error function 1 - erf(x), accurate in relative terms also where it is tiny. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        if (x < 0) return 2.0 - erfc(-x);
        if (x < 2.5) return 1.0 - erfSeries(x);
        if (x > 27.3) return 0.0; // exp(-x^2) underflows
        return erfcFraction(x);
    }

    /** 1 / (2n + 1): multiplying by it is several times faster than dividing. */
    private static final double[] INV_ODD = new double[100];

    static {
        for (int n = 0; n < INV_ODD.length; n++) INV_ODD[n] = 1.0 / (2 * n + 1);
    }

    /** erf(x) for 0 &le; x &lt; 2.5 from the positive-term series (at most about 60 terms for x &lt; 2.5). */
    private static double erfSeries(double x) {
        double x2 = 2.0 * x * x;
        double term = x;
        double sum = x;
        for (int n = 1; n < INV_ODD.length; n++) {
            term *= x2 * INV_ODD[n];
            sum += term;
            if (term <= sum * 1e-17) break;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
    }

    /**
     * erfc(x) for x &ge; 2.5 from the continued fraction erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + (2/2) /
     * (x + (3/2) / (x + ...)))), evaluated bottom-up from a depth at which it has converged to f64 precision.
     */
    private static double erfcFraction(double x) {
        // 12 + 170 / x^2 levels: measured to converge to a few f64 ulps (37 are needed at x = 2.5, 15 at x = 5).
        int depth = 12 + (int) (170.0 / (x * x));
        double t = x;
        for (int j = depth; j >= 1; j--) t = x + (0.5 * j) / t;
        return Math.exp(-x * x) * ONE_OVER_SQRT_PI / t;
    }
}
