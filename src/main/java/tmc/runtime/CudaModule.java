package tmc.runtime;

import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/** A cubin loaded into the context (cuModuleLoadData); unloaded by {@link #close()}. */
public final class CudaModule implements AutoCloseable {
    private final Cuda cuda;
    private final CUmodule module;
    private final String name;
    private boolean unloaded;

    CudaModule(Cuda cuda, CUmodule module, String name) {
        this.cuda = cuda;
        this.module = module;
        this.name = name;
    }

    /** The kernel named {@code kernelName} (declare kernels extern "C" so the name is not mangled). */
    public Kernel kernel(String kernelName) throws RuntimeFailure {
        if (unloaded) throw new IllegalStateException("module " + name + " used after close()");
        cuda.bind();
        CUfunction f = new CUfunction();
        CudaErrors.check(JCudaDriver.cuModuleGetFunction(f, module, kernelName), "cuModuleGetFunction",
                "kernel '" + kernelName + "' in " + name);
        return new Kernel(cuda, f, kernelName);
    }

    @Override
    public void close() {
        if (unloaded) return;
        unloaded = true;
        if (cuda.tryBind()) JCudaDriver.cuModuleUnload(module);
    }
}
