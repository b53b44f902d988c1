package tmc.runtime;

import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** GPU memory from cuMemAlloc, freed by {@link #close()} (use try-with-resources). Copies are synchronous. */
public final class DeviceBuffer implements AutoCloseable {
    private final Cuda cuda;
    private final CUdeviceptr ptr;
    private final long bytes;
    private boolean freed;

    DeviceBuffer(Cuda cuda, CUdeviceptr ptr, long bytes) {
        this.cuda = cuda;
        this.ptr = ptr;
        this.bytes = bytes;
    }

    public long bytes() {
        return bytes;
    }

    /** The buffer's device address, as CUDA and other libraries (PyTorch, CuPy) name it. */
    public long address() throws RuntimeFailure {
        long[] out = new long[1];
        cuda.bind();
        CudaErrors.check(JCudaDriver.cuPointerGetAttribute(Pointer.to(out),
                jcuda.driver.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, devicePointer()),
                "cuPointerGetAttribute(DEVICE_POINTER)", bytes + " B buffer");
        return out[0];
    }

    CUdeviceptr devicePointer() {
        if (freed) throw new IllegalStateException("device buffer used after close()");
        return ptr;
    }

    public void copyFrom(short[] host) throws RuntimeFailure {
        h2d(Pointer.to(host), (long) host.length * Sizeof.SHORT);
    }

    public void copyFrom(float[] host) throws RuntimeFailure {
        h2d(Pointer.to(host), (long) host.length * Sizeof.FLOAT);
    }

    public void copyFrom(byte[] host) throws RuntimeFailure {
        h2d(Pointer.to(host), host.length);
    }

    public void copyTo(short[] host) throws RuntimeFailure {
        d2h(Pointer.to(host), (long) host.length * Sizeof.SHORT);
    }

    public void copyTo(float[] host) throws RuntimeFailure {
        d2h(Pointer.to(host), (long) host.length * Sizeof.FLOAT);
    }

    public void copyTo(byte[] host) throws RuntimeFailure {
        d2h(Pointer.to(host), host.length);
    }

    /** Sets every byte to {@code value} (e.g. 0 to clear an output before a launch). */
    public void fill(byte value) throws RuntimeFailure {
        cuda.bind();
        CudaErrors.check(JCudaDriver.cuMemsetD8(devicePointer(), value, bytes), "cuMemsetD8", bytes + " B");
    }

    private void h2d(Pointer host, long n) throws RuntimeFailure {
        checkSize(n, "host to device");
        cuda.bind();
        CudaErrors.check(JCudaDriver.cuMemcpyHtoD(devicePointer(), host, n), "cuMemcpyHtoD", n + " B");
    }

    private void d2h(Pointer host, long n) throws RuntimeFailure {
        checkSize(n, "device to host");
        cuda.bind();
        // Synchronous: also the point where an earlier asynchronous launch error surfaces.
        CudaErrors.check(JCudaDriver.cuMemcpyDtoH(host, devicePointer(), n), "cuMemcpyDtoH", n + " B");
    }

    private void checkSize(long n, String direction) throws RuntimeFailure {
        if (n > bytes) {
            throw new RuntimeFailure(Problem.of("copy " + direction + " of " + n + " B into a " + bytes + " B device buffer",
                    "allocate a buffer at least as large as the host array"));
        }
    }

    @Override
    public void close() {
        if (freed) return;
        freed = true;
        // Freeing can only fail if the context is already broken; the first error has been reported by then.
        if (cuda.tryBind()) JCudaDriver.cuMemFree(ptr);
    }
}
