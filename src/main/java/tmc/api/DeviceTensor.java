package tmc.api;

import java.util.List;
import tmc.check.DType;

/**
 * A tensor in GPU memory: a device pointer with a dtype and a shape. Activations are NHWC [N, H, W, C];
 * weights have their declared shapes. tmc never frees a tensor it did not allocate.
 */
public interface DeviceTensor {
    DType dtype();

    List<Integer> shape();

    /** The CUDA device pointer (CUdeviceptr). */
    long pointer();

    default long elements() {
        long n = 1;
        for (int d : shape()) n *= d;
        return n;
    }

    default long bytes() {
        return elements() * dtype().bytes;
    }
}
