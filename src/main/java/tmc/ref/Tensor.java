package tmc.ref;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import tmc.check.DType;

/**
 * An immutable dense tensor: a shape, a storage dtype, and its values as floats in row-major order (activations are
 * NHWC: [N, H, W, C]). Every value is exactly representable in the dtype: the factories round on the way in, so an
 * f16 tensor never holds a value an f16 buffer could not.
 */
public final class Tensor {
    private final int[] shape;
    private final DType dtype;
    private final float[] data;

    private Tensor(int[] shape, DType dtype, float[] data) {
        this.shape = shape;
        this.dtype = dtype;
        this.data = data;
    }

    /** A tensor of the given values (copied), each rounded to {@code dtype} (round to nearest even). */
    public static Tensor of(DType dtype, int[] shape, float[] values) {
        int[] s = checkShape(shape);
        if (values.length != count(s)) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " has " + count(s) + " elements but "
                    + values.length + " values were given");
        }
        float[] d = values.clone();
        Rounding.roundInPlace(d, Objects.requireNonNull(dtype));
        return new Tensor(s, dtype, d);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        int[] s = checkShape(shape);
        return new Tensor(s, Objects.requireNonNull(dtype), new float[count(s)]);
    }

    /** Takes ownership of {@code data} and rounds it in place: for producers that built the array themselves. */
    static Tensor adopt(DType dtype, int[] shape, float[] data) {
        int[] s = checkShape(shape);
        if (data.length != count(s)) throw new IllegalArgumentException("data does not match " + Arrays.toString(s));
        Rounding.roundInPlace(data, dtype);
        return new Tensor(s, dtype, data);
    }

    private static int[] checkShape(int[] shape) {
        int[] s = shape.clone();
        long n = 1;
        for (int d : s) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(s));
            n *= d;
            if (n > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("tensor " + Arrays.toString(s) + " is too large for one array");
            }
        }
        return s;
    }

    private static int count(int[] s) {
        int n = 1;
        for (int d : s) n *= d;
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    /** The element at a flat (row-major) index. */
    public float at(int flatIndex) {
        return data[flatIndex];
    }

    /** The element at a multi-index, e.g. {@code get(n, h, w, c)} for an activation. */
    public float get(int... index) {
        return data[offset(index)];
    }

    /** The row-major flat index of a multi-index, bounds-checked. */
    public int offset(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + index.length + " for a tensor of rank " + shape.length);
        }
        int off = 0;
        for (int i = 0; i < shape.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " outside " + Arrays.toString(shape));
            }
            off = off * shape[i] + index[i];
        }
        return off;
    }

    /**
     * A tensor from its storage bytes: little-endian, row-major, {@code dtype.bytes} per element (f16 and bf16 as
     * their 16-bit patterns), as a device buffer or the data part of a .npy file holds them.
     */
    public static Tensor fromBytes(DType dtype, int[] shape, byte[] bytes) {
        int[] s = checkShape(shape);
        int n = count(s);
        if ((long) n * dtype.bytes != bytes.length) {
            throw new IllegalArgumentException(dtype + Arrays.toString(s) + " needs " + (long) n * dtype.bytes
                    + " bytes, not " + bytes.length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] d = new float[n];
        switch (dtype) {
            case F16 -> {
                for (int i = 0; i < n; i++) d[i] = Rounding.fromF16Bits(b.getShort());
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) d[i] = Rounding.fromBf16Bits(b.getShort());
            }
            case F32 -> {
                for (int i = 0; i < n; i++) d[i] = b.getFloat();
            }
        }
        return adopt(dtype, s, d);
    }

    /** The storage bytes: little-endian, row-major, in this tensor's dtype (the inverse of {@link #fromBytes}). */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(data.length * dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F16 -> {
                for (float v : data) b.putShort(Rounding.f16Bits(v));
            }
            case BF16 -> {
                for (float v : data) b.putShort(Rounding.bf16Bits(v));
            }
            case F32 -> {
                for (float v : data) b.putFloat(v);
            }
        }
        return b.array();
    }

    /** A copy of the values, row-major. */
    public float[] toArray() {
        return data.clone();
    }

    /** The backing array, for readers in this package that promise not to write it. */
    float[] raw() {
        return data;
    }

    /** This tensor rounded to another dtype (this one when it is already of that dtype). */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        float[] d = data.clone();
        Rounding.roundInPlace(d, target);
        return new Tensor(shape, target, d);
    }

    /** The same values under another shape with the same element count. */
    public Tensor reshape(int... newShape) {
        int[] s = checkShape(newShape);
        if (count(s) != data.length) {
            throw new IllegalArgumentException("cannot reshape " + shapeString() + " to " + Arrays.toString(s));
        }
        return new Tensor(s, dtype, data);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** E.g. {@code f16[2, 9, 9, 64]}. */
    @Override
    public String toString() {
        return dtype + shapeString();
    }

    /** Same dtype, shape and bit-identical values (NaNs compare equal to NaNs). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && t.dtype == dtype && Arrays.equals(t.shape, shape) && Arrays.equals(t.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
    }
}
