package tmc.api;

import tmc.check.DType;

/** Host-side conversion between f32 values and the bits of a storage type (round to nearest even). */
public final class HostValues {
    private HostValues() {}

    /** Encodes values as raw little-endian bytes of {@code dtype}. */
    public static byte[] encode(float[] values, DType dtype) {
        byte[] out = new byte[values.length * dtype.bytes];
        for (int i = 0; i < values.length; i++) {
            switch (dtype) {
                case F32 -> {
                    int b = Float.floatToRawIntBits(values[i]);
                    out[4 * i] = (byte) b;
                    out[4 * i + 1] = (byte) (b >>> 8);
                    out[4 * i + 2] = (byte) (b >>> 16);
                    out[4 * i + 3] = (byte) (b >>> 24);
                }
                case F16, BF16 -> {
                    short b = dtype == DType.F16 ? Float.floatToFloat16(values[i]) : toBf16(values[i]);
                    out[2 * i] = (byte) b;
                    out[2 * i + 1] = (byte) (b >>> 8);
                }
            }
        }
        return out;
    }

    public static float[] decode(byte[] bytes, DType dtype) {
        float[] out = new float[bytes.length / dtype.bytes];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case F32 -> Float.intBitsToFloat((bytes[4 * i] & 0xff) | (bytes[4 * i + 1] & 0xff) << 8
                        | (bytes[4 * i + 2] & 0xff) << 16 | (bytes[4 * i + 3] & 0xff) << 24);
                case F16 -> Float.float16ToFloat((short) ((bytes[2 * i] & 0xff) | (bytes[2 * i + 1] & 0xff) << 8));
                case BF16 -> Float.intBitsToFloat(((bytes[2 * i] & 0xff) | (bytes[2 * i + 1] & 0xff) << 8) << 16);
            };
        }
        return out;
    }

    /** bf16 bits of an f32 value, rounded to nearest even; NaN stays NaN. */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
