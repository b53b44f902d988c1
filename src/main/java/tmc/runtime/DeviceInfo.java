package tmc.runtime;

/**
 * What the driver says about one GPU: the facts the planner's budgets and doctor need.
 *
 * @param sharedPerBlockOptin the most shared memory one block can have after cuFuncSetAttribute (232448 B on H100)
 * @param driverVersion       the CUDA version the driver supports, as cuDriverGetVersion encodes it (13000 = 13.0)
 */
public record DeviceInfo(int ordinal, String name, int ccMajor, int ccMinor, int smCount, long totalMemoryBytes,
                         int sharedPerBlock, int sharedPerBlockOptin, int sharedPerSm, int registersPerSm,
                         int l2Bytes, int driverVersion) {
    /** The real architecture name for NVRTC, e.g. "sm_90". */
    public String arch() {
        return "sm_" + ccMajor + ccMinor;
    }

    /** "13.0" for 13000. */
    public String driverVersionString() {
        return driverString(driverVersion);
    }

    static String driverString(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }
}
