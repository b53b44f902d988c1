package tmc.runtime;

import jcuda.driver.CUresult;

/** Turns CUDA driver result codes into problems with a hint at the usual cause. */
final class CudaErrors {
    private CudaErrors() {}

    static void check(int rc, String call, String context) throws RuntimeFailure {
        if (rc != CUresult.CUDA_SUCCESS) throw new RuntimeFailure(problem(rc, call, context));
    }

    static Problem problem(int rc, String call, String context) {
        // CUresult.stringFor is plain Java: it works even when the driver is in a bad state.
        String name = CUresult.stringFor(rc);
        String what = call + " failed" + (context.isEmpty() ? "" : " (" + context + ")") + ": " + name + " (" + rc + ")";
        return Problem.of(what, hint(rc));
    }

    static String hint(int rc) {
        return switch (rc) {
            case CUresult.CUDA_ERROR_OUT_OF_MEMORY -> "the GPU is out of memory: use a smaller batch or free other GPU work";
            case CUresult.CUDA_ERROR_NO_DEVICE -> "no CUDA GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
            case CUresult.CUDA_ERROR_SYSTEM_DRIVER_MISMATCH ->
                    "the NVIDIA kernel module and libcuda.so are different versions: reboot or reinstall the driver";
            case CUresult.CUDA_ERROR_INVALID_IMAGE, CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU ->
                    "the cubin was built for another GPU architecture: compile for this GPU's sm_XY (see 'tmc doctor')";
            case CUresult.CUDA_ERROR_NOT_FOUND -> "no kernel of that name in the module: kernels must be extern \"C\" or use the mangled name";
            case CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES ->
                    "too many registers or threads for one block: use fewer threads per block or fewer registers";
            case CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, CUresult.CUDA_ERROR_MISALIGNED_ADDRESS ->
                    "the kernel accessed memory out of bounds; the CUDA context is now unusable: restart the process";
            case CUresult.CUDA_ERROR_LAUNCH_TIMEOUT -> "the kernel ran too long (display watchdog): use a GPU without a display";
            case CUresult.CUDA_ERROR_INVALID_VALUE ->
                    "an argument is out of range (grid or block size, or shared memory above the device's per-block limit)";
            default -> "";
        };
    }
}
