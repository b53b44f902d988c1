package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tmc.check.DType;

class RoundingTest {
    private static float f(int bits) {
        return Float.intBitsToFloat(bits);
    }

    private static void f16(float in, int expectedBits) {
        assertEquals(expectedBits, Rounding.f16Bits(in) & 0xffff,
                () -> in + " -> 0x" + Integer.toHexString(Rounding.f16Bits(in) & 0xffff));
    }

    private static void bf16(int inBits, int expectedBits) {
        float in = f(inBits);
        assertEquals(expectedBits, Rounding.bf16Bits(in) & 0xffff, () -> "0x" + Integer.toHexString(inBits) + " -> 0x"
                + Integer.toHexString(Rounding.bf16Bits(in) & 0xffff));
    }

    @Test
    void f16KnownPatterns() {
        f16(1.0f, 0x3c00);
        f16(-2.0f, 0xc000);
        f16(0.0f, 0x0000);
        f16(-0.0f, 0x8000);
        f16(65504f, 0x7bff);                      // largest finite f16
        f16(Float.POSITIVE_INFINITY, 0x7c00);
        f16(Float.NEGATIVE_INFINITY, 0xfc00);
        assertTrue(Float.isNaN(Rounding.toF16(Float.NaN)));
    }

    @Test
    void f16TiesGoToEven() {
        f16(1f + 0x1p-11f, 0x3c00);               // halfway between 1 and 1 + 2^-10: to 1 (even)
        f16(1f + 3 * 0x1p-11f, 0x3c02);           // halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up
        f16(1f + 0x1p-11f + 0x1p-20f, 0x3c01);    // just above halfway: up
        f16(0x1p-25f, 0x0000);                    // halfway between 0 and the smallest subnormal: to 0
        f16(3 * 0x1p-25f, 0x0002);                // halfway between subnormals 1 and 2: to 2
    }

    @Test
    void f16OverflowsToInfinityAtHalfAnUlpAboveTheMaximum() {
        f16(65519.99f, 0x7bff);                   // below 65504 + 16: stays finite
        f16(65520f, 0x7c00);                      // exactly halfway to 65536: ties to even = overflow
        f16(-70000f, 0xfc00);
        f16(Float.MAX_VALUE, 0x7c00);
    }

    @Test
    void f16Subnormals() {
        f16(0x1p-24f, 0x0001);                    // smallest subnormal
        f16(0x1p-14f, 0x0400);                    // smallest normal
        f16(0x1p-14f - 0x1p-24f, 0x03ff);         // largest subnormal
        f16(5.96e-8f, 0x0001);
        f16(1e-9f, 0x0000);                       // underflows to zero
        f16(-1e-9f, 0x8000);                      // with its sign
        assertEquals(0x1p-24, Rounding.ulp(0x1p-20, DType.F16));
    }

    @Test
    void bf16KnownPatterns() {
        bf16(Float.floatToIntBits(1.0f), 0x3f80);
        bf16(Float.floatToIntBits(-1.0f), 0xbf80);
        bf16(0x00000000, 0x0000);
        bf16(0x80000000, 0x8000);
        bf16(0x7f800000, 0x7f80);                 // +inf
        bf16(0xff800000, 0xff80);                 // -inf
        bf16(0x3f808000, 0x3f80);                 // tie, kept part even: down
        bf16(0x3f818000, 0x3f82);                 // tie, kept part odd: up
        bf16(0x3f808001, 0x3f81);                 // above the tie: up
        bf16(0x3f807fff, 0x3f80);                 // below the tie: down
    }

    @Test
    void bf16OverflowAndSubnormals() {
        bf16(0x7f7fffff, 0x7f80);                 // Float.MAX_VALUE rounds up to infinity
        bf16(0x7f7f7fff, 0x7f7f);                 // below the tie: largest finite bf16
        bf16(0x7f7f8000, 0x7f80);                 // tie at the top, odd: up to infinity
        bf16(0xff7fffff, 0xff80);
        bf16(0x00000001, 0x0000);                 // f32 subnormals: to zero or the bf16 subnormals
        bf16(0x00008000, 0x0000);                 // tie, even
        bf16(0x00018000, 0x0002);                 // tie, odd: up
        bf16(0x007fffff, 0x0080);                 // largest f32 subnormal rounds up to the smallest normal
    }

    @Test
    void bf16NanStaysNanWithItsSign() {
        for (int bits : new int[] {0x7fc00000, 0x7f800001, 0x7fffffff, 0xff800001, 0xffc00000, 0x7f80ffff}) {
            short b = Rounding.bf16Bits(f(bits));
            assertTrue(Float.isNaN(Rounding.fromBf16Bits(b)), () -> Integer.toHexString(bits) + " is no longer NaN");
            assertEquals(bits < 0, b < 0, "sign of NaN");
        }
    }

    /** An independent bf16 rounding: the nearer of the two neighbours by exact f64 arithmetic, ties to even. */
    private static float slowBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        float lo = f(bits & 0xffff0000);
        float hi = f((bits & 0xffff0000) + 0x10000);
        double dlo = Math.abs((double) x - lo);
        double dhi = Math.abs((double) hi - x);
        if (Float.isInfinite(hi) || Float.isNaN(hi)) {
            // Above the largest finite bf16: the "next" value is infinity, reached when at or above the midpoint.
            double mid = Math.abs((double) lo) + Math.ulp(lo) * 65536 / 2; // |lo| + half a bf16 ulp
            return Math.abs(x) >= mid ? Math.copySign(Float.POSITIVE_INFINITY, x) : lo;
        }
        if (dlo < dhi) return lo;
        if (dhi < dlo) return hi;
        return ((bits >>> 16) & 1) == 0 ? lo : hi;
    }

    @Test
    void bf16MatchesAnIndependentRoundingOnRandomBitPatterns() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 1_000_000; i++) {
            int bits = r.nextInt();
            float x = f(bits);
            if (Float.isNaN(x) || Float.isInfinite(x)) continue;
            float expected = slowBf16(x);
            float actual = Rounding.toBf16(x);
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual),
                    () -> "0x" + Integer.toHexString(bits));
        }
    }

    @Test
    void roundingIsIdempotentAndMonotone() {
        SplittableRandom r = new SplittableRandom(11);
        for (DType t : DType.values()) {
            float prevIn = -70000f;
            float prevOut = Rounding.round(prevIn, t);
            for (int i = 0; i < 100_000; i++) {
                float x = prevIn + (float) (r.nextDouble() * 2.0);
                float y = Rounding.round(x, t);
                assertEquals(y, Rounding.round(y, t), "idempotent");
                assertTrue(y >= prevOut, "monotone");
                assertTrue(Math.abs(y - x) <= Rounding.ulp(x, t) / 2 || Float.isInfinite(y), "within half an ulp");
                prevIn = x;
                prevOut = y;
            }
        }
    }

    @Test
    void ulps() {
        assertEquals(0x1p-10, Rounding.ulp(1.0, DType.F16));
        assertEquals(0x1p-10, Rounding.ulp(-1.999, DType.F16));
        assertEquals(0x1p-7, Rounding.ulp(1.0, DType.BF16));
        assertEquals(0x1p-23, Rounding.ulp(1.0, DType.F32));
        assertEquals(Math.ulp(1000f), Rounding.ulp(1000.0, DType.F32));
        assertEquals(32.0, Rounding.ulp(65504, DType.F16));
    }
}
