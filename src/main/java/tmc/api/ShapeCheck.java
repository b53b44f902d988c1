package tmc.api;

import java.util.List;
import tmc.check.DType;

/** Argument checks used by generated bindings: a wrong tensor is refused before anything is launched. */
public final class ShapeCheck {
    private ShapeCheck() {}

    public static void tensor(String name, DeviceTensor t, DType dtype, List<Integer> shape) {
        if (t == null) throw new IllegalArgumentException(name + ": tensor is null");
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype + ", got " + t.dtype());
        }
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + shape + ", got " + t.shape());
        }
    }

    /** The launch dimensions from the first input: it must be NHWC with positive N, H, W. */
    public static int[] nhw(String name, DeviceTensor t) {
        if (t == null) throw new IllegalArgumentException(name + ": tensor is null");
        List<Integer> s = t.shape();
        if (s.size() != 4 || s.get(0) <= 0 || s.get(1) <= 0 || s.get(2) <= 0) {
            throw new IllegalArgumentException(name + ": expected an NHWC shape [N, H, W, C], got " + s);
        }
        return new int[] {s.get(0), s.get(1), s.get(2)};
    }
}
