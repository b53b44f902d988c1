package tmc.runtime;

import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/** One kernel of a loaded module: its resource use, and launches. */
public final class Kernel {
    /** Blocks may use this much dynamic shared memory without opting in. */
    public static final int DEFAULT_DYNAMIC_SHARED_LIMIT = 48 * 1024;

    private final Cuda cuda;
    private final CUfunction function;
    private final String name;
    // Dynamic shared bytes the function is currently allowed; raised on demand, guarded by this.
    private int dynamicSharedAllowed = DEFAULT_DYNAMIC_SHARED_LIMIT;

    Kernel(Cuda cuda, CUfunction function, String name) {
        this.cuda = cuda;
        this.function = function;
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** Registers, static shared, local (spill) bytes and limits of this kernel as compiled. */
    public FuncAttributes attributes() throws RuntimeFailure {
        cuda.bind();
        return new FuncAttributes(
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_PTX_VERSION),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_BINARY_VERSION),
                attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES));
    }

    private int attr(int a) throws RuntimeFailure {
        int[] v = new int[1];
        CudaErrors.check(JCudaDriver.cuFuncGetAttribute(v, a, function), "cuFuncGetAttribute", name);
        return v[0];
    }

    /**
     * Launches on the default stream. Above 48 KB of dynamic shared memory the kernel must opt in first
     * (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES); that is done here, once per size increase, after checking
     * static + dynamic against the device's opt-in limit so the error names the budget instead of "invalid value".
     * Launch errors from inside the kernel surface at the next synchronizing call ({@link Cuda#synchronize()}).
     */
    public void launch(Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args) throws RuntimeFailure {
        cuda.bind();
        ensureDynamicShared(dynamicSharedBytes);
        CudaErrors.check(JCudaDriver.cuLaunchKernel(function, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                        dynamicSharedBytes, (CUstream) null, args.toPointer(), null), "cuLaunchKernel",
                name + " grid " + grid + " block " + block + " dynamic shared " + dynamicSharedBytes + " B args " + args);
    }

    private synchronized void ensureDynamicShared(int bytes) throws RuntimeFailure {
        if (bytes < 0) throw new IllegalArgumentException("negative shared memory size");
        if (bytes <= dynamicSharedAllowed) return;
        int optin = cuda.device().sharedPerBlockOptin();
        int stat = attr(CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
        if ((long) stat + bytes > optin) {
            throw new RuntimeFailure(Problem.of("kernel " + name + " needs " + bytes + " B dynamic + " + stat
                            + " B static shared memory, but " + cuda.device().name() + " allows " + optin + " B per block",
                    "use a smaller tile or stream the wide dimension in smaller chunks"));
        }
        CudaErrors.check(JCudaDriver.cuFuncSetAttribute(function,
                        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", name + ", " + bytes + " B");
        dynamicSharedAllowed = bytes;
    }
}
