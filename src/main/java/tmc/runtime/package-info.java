/**
 * The runtime: NVRTC through java.lang.foreign ({@link tmc.runtime.Nvrtc}), the on-disk kernel cache
 * ({@link tmc.runtime.KernelCache}) and the CUDA driver through JCuda ({@link tmc.runtime.Cuda}).
 *
 * <p>Failures are values: compilation returns a {@link tmc.runtime.Result} whose error carries the program log,
 * and driver calls throw the checked {@link tmc.runtime.RuntimeFailure}, which holds a {@link tmc.runtime.Problem}
 * (what failed, the details, how to fix it) for the command line to print without a stack trace.
 */
package tmc.runtime;
