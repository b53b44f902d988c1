package tmc.runtime;

import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/** A CUDA event on the default stream, for GPU-side timing: record two, then {@link #elapsedMillisSince}. */
public final class CudaEvent implements AutoCloseable {
    private final Cuda cuda;
    private final CUevent event;
    private boolean destroyed;

    CudaEvent(Cuda cuda, CUevent event) {
        this.cuda = cuda;
        this.event = event;
    }

    public void record() throws RuntimeFailure {
        cuda.bind();
        CudaErrors.check(JCudaDriver.cuEventRecord(event, (CUstream) null), "cuEventRecord", "");
    }

    /** Waits for this event, then returns the GPU time between {@code start} and this event in milliseconds. */
    public float elapsedMillisSince(CudaEvent start) throws RuntimeFailure {
        cuda.bind();
        CudaErrors.check(JCudaDriver.cuEventSynchronize(event), "cuEventSynchronize", "");
        float[] ms = new float[1];
        CudaErrors.check(JCudaDriver.cuEventElapsedTime(ms, start.event, event), "cuEventElapsedTime", "");
        return ms[0];
    }

    @Override
    public void close() {
        if (destroyed) return;
        destroyed = true;
        if (cuda.tryBind()) JCudaDriver.cuEventDestroy(event);
    }
}
