package tmc.runtime;

/**
 * A loaded kernel's resource use, from cuFuncGetAttribute: what nvcc's -Xptxas -v would print, which NVRTC
 * cannot. {@code localBytes > 0} usually means register spills.
 */
public record FuncAttributes(int registers, int staticSharedBytes, int localBytes, int constBytes,
                             int maxThreadsPerBlock, int ptxVersion, int binaryVersion, int maxDynamicSharedBytes) {
    public String summary() {
        return registers + " registers, " + staticSharedBytes + " B static shared, " + localBytes + " B local"
                + (localBytes > 0 ? " (spills?)" : "") + ", max " + maxThreadsPerBlock + " threads/block, sm_"
                + binaryVersion + ", dynamic shared limit " + maxDynamicSharedBytes + " B";
    }
}
