package tmc.api;

import java.util.List;
import tmc.check.DType;
import tmc.runtime.DeviceBuffer;

/** A device tensor that tmc allocated; closing it frees the memory. */
public final class Tensor implements DeviceTensor, AutoCloseable {
    private final DeviceBuffer buffer;
    private final DType dtype;
    private final List<Integer> shape;
    private final long address;

    Tensor(DeviceBuffer buffer, DType dtype, List<Integer> shape, long address) {
        this.buffer = buffer;
        this.dtype = dtype;
        this.shape = List.copyOf(shape);
        this.address = address;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public List<Integer> shape() {
        return shape;
    }

    @Override
    public long pointer() {
        return address;
    }

    DeviceBuffer buffer() {
        return buffer;
    }

    @Override
    public void close() {
        buffer.close();
    }

    @Override
    public String toString() {
        return dtype + shape.toString();
    }
}
