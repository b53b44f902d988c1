package tmc.ref;

import tmc.check.DType;

/**
 * Rounding of f32 values to the storage types, round-to-nearest-even, and their bit patterns.
 *
 * <p>f16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits): values beyond the largest finite f16 (65504)
 * by half an ulp or more become infinity, small values become f16 subnormals (spacing 2<sup>-24</sup>) or zero.
 * bf16 is the top half of an f32 (1, 8, 7 bits): same range as f32, 8 significant bits. NaN stays NaN (a quiet NaN of
 * the same sign) in both.
 */
public final class Rounding {
    private Rounding() {}

    /** The nearest f16 value (ties to even), as a float. */
    public static float toF16(float f) {
        return Float.float16ToFloat(Float.floatToFloat16(f));
    }

    /** The IEEE binary16 bit pattern of the nearest f16 (ties to even). */
    public static short f16Bits(float f) {
        return Float.floatToFloat16(f);
    }

    public static float fromF16Bits(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** The bf16 bit pattern of the nearest bf16 (ties to even); NaN becomes a quiet NaN with the same sign. */
    public static short bf16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
        // Adding 0x7fff rounds up when the low half is above 0x8000; the extra lsb turns an exact tie into a
        // round up only when the kept part is odd. A carry into the exponent is right (including to infinity).
        bits += 0x7fff + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    public static float fromBf16Bits(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** The nearest bf16 value (ties to even), as a float. */
    public static float toBf16(float f) {
        return fromBf16Bits(bf16Bits(f));
    }

    /** {@code f} rounded to {@code dtype} (f32: unchanged). */
    public static float round(float f, DType dtype) {
        return switch (dtype) {
            case F16 -> toF16(f);
            case BF16 -> toBf16(f);
            case F32 -> f;
        };
    }

    /** Rounds every element of {@code a} to {@code dtype}, in place. */
    public static void roundInPlace(float[] a, DType dtype) {
        switch (dtype) {
            case F16 -> {
                for (int i = 0; i < a.length; i++) a[i] = toF16(a[i]);
            }
            case BF16 -> {
                for (int i = 0; i < a.length; i++) a[i] = toBf16(a[i]);
            }
            case F32 -> {}
        }
    }

    /** Whether {@code f} is exactly representable in {@code dtype} (NaN counts as representable). */
    public static boolean representable(float f, DType dtype) {
        return Float.isNaN(f) || Float.compare(round(f, dtype), f) == 0;
    }

    /** Significant bits (including the implicit one) of each type. */
    public static int precisionBits(DType dtype) {
        return switch (dtype) {
            case F16 -> 11;
            case BF16 -> 8;
            case F32 -> 24;
        };
    }

    /**
     * The spacing of {@code dtype} values at magnitude {@code x} (its ulp): 2<sup>e - p + 1</sup> for
     * 2<sup>e</sup> &le; |x| &lt; 2<sup>e+1</sup>, and the subnormal spacing below the smallest normal number.
     * Tolerances are expressed in it.
     */
    public static double ulp(double x, DType dtype) {
        int minExp = switch (dtype) {
            case F16 -> -14;
            case BF16, F32 -> -126;
        };
        double a = Math.abs(x);
        int e = a == 0 || !Double.isFinite(a) ? minExp : Math.max(Math.getExponent(a), minExp);
        return Math.scalb(1.0, e - precisionBits(dtype) + 1);
    }
}
