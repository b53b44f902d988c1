package tmc.api;

import java.util.Map;

/**
 * Launches the kernels of one compiled program, in manifest order, on tensors given by name. Generated
 * bindings check shapes and dtypes, then call this.
 */
public interface ProgramLauncher {
    /** Launches asynchronously on the launcher's stream; scratch tensors are allocated by the launcher. */
    void launch(Map<String, DeviceTensor> tensors, int n, int h, int w);
}
