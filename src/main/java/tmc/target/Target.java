package tmc.target;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import tmc.check.DType;
import tmc.check.PlanSpec.MathKind;

/**
 * What the planner knows about one GPU: the limits that budgets are checked against and the rates the cost
 * model divides by. Built-in targets live in {@code src/main/resources/targets/*.json}; users add their own
 * as JSON files next to their .tm file (see {@link Targets}). Every number carries the source it comes from in
 * {@link #sources()} (field name to citation).
 *
 * @param name                   what a plan writes after {@code on} (e.g. {@code sm_90}, or {@code rtx4090})
 * @param arch                   the compute capability code is compiled for (e.g. {@code sm_89})
 * @param device                 the GPU the numbers describe (e.g. NVIDIA H100 SXM5 80GB HBM3)
 * @param sharedPerBlockDefault  shared memory a block may use without opting in (cuFuncSetAttribute)
 * @param sharedPerBlockOptIn    the most shared memory one block may use after opting in
 * @param clockHz                the SM clock the peaks are quoted at (boost)
 * @param sharedReservedPerBlock shared memory the system reserves per resident block (counts against the SM)
 * @param sharedBytesPerClockPerSm shared-memory bandwidth of one SM
 * @param registerAllocationUnit registers are allocated per warp in units of this many
 * @param dramBytesPerSecond     DRAM bandwidth a streaming kernel reaches
 * @param l2BytesPerSecond       L2 to SM bandwidth (what every block's re-read of the weights costs)
 * @param peakFlops              flop/s per math key: {@code cuda_core_f32}, {@code tensor_core_f16},
 *                               {@code tensor_core_bf16}, {@code wgmma_f16}, {@code wgmma_bf16}
 * @param launchOverheadSeconds  added once per kernel launch
 * @param warpsToHideLatency     resident warps per SM below which a kernel reaches only a fraction of its roof
 * @param origin                 where the target was read from (resource or file), for messages
 */
public record Target(String name, String arch, String device, int smCount, double clockHz, int warpSize, int maxThreadsPerBlock,
                     int maxThreadsPerSm, int maxBlocksPerSm, long sharedPerBlockDefault, long sharedPerBlockOptIn,
                     long sharedPerSm, long sharedReservedPerBlock, int sharedBytesPerClockPerSm, int maxRegistersPerThread, int registersPerSm,
                     int registersPerBlock, int registerAllocationUnit, long l2Bytes, List<String> mmaShapes,
                     double dramBytesPerSecond, double l2BytesPerSecond, Map<String, Double> peakFlops, double launchOverheadSeconds,
                     int warpsToHideLatency, Map<String, String> sources, String origin) {
    public Target {
        mmaShapes = List.copyOf(mmaShapes);
        peakFlops = Map.copyOf(peakFlops);
        sources = Map.copyOf(sources);
    }

    /** How {@link #arch()} is written: {@code sm_} and the compute capability, with an optional suffix (sm_90a). */
    public static final java.util.regex.Pattern ARCH = java.util.regex.Pattern.compile("sm_(\\d+)[a-z]?");

    /** The compute capability as a number, e.g. 80 for sm_80 and 90 for sm_90a (Targets checks the form). */
    public int computeCapability() {
        java.util.regex.Matcher m = ARCH.matcher(arch);
        if (!m.matches()) throw new IllegalStateException("target " + name + ": arch '" + arch + "' is not sm_XY");
        return Integer.parseInt(m.group(1));
    }

    /** A peak rate and the key of {@link #peakFlops()} it comes from. */
    public record Peak(String key, double flopsPerSecond) {}

    /**
     * The fastest unit that matrix work on operands stored as {@code storage} can use: tensor cores or wgmma for
     * f16/bf16 where the target has them, else CUDA cores (always for f32).
     */
    public Peak fastestPeak(DType storage) {
        Peak best = new Peak("cuda_core_f32", cudaCorePeak());
        if (storage == DType.F32) return best;
        for (MathKind k : List.of(MathKind.TENSOR_CORE, MathKind.WGMMA)) {
            OptionalDouble p = peak(k, storage);
            if (p.isPresent() && p.getAsDouble() > best.flopsPerSecond()) best = new Peak(peakKey(k, storage), p.getAsDouble());
        }
        return best;
    }

    /** The key of {@link #peakFlops()} for matrix work of {@code kind} on operands stored as {@code storage}. */
    public static String peakKey(MathKind kind, DType storage) {
        // CUDA cores compute in f32 whatever the storage type (tmc accumulates in f32 everywhere).
        return kind == MathKind.CUDA_CORE ? "cuda_core_f32" : kind.keyword + "_" + storage.keyword;
    }

    /** Peak flop/s of a math kind on this target, or empty when the target cannot run it. */
    public OptionalDouble peak(MathKind kind, DType storage) {
        Double p = peakFlops.get(peakKey(kind, storage));
        return p == null ? OptionalDouble.empty() : OptionalDouble.of(p);
    }

    /** Peak flop/s of CUDA-core f32 arithmetic: every target has it. */
    public double cudaCorePeak() {
        return peakFlops.get("cuda_core_f32");
    }

    public boolean supports(MathKind kind, DType storage) {
        return peak(kind, storage).isPresent();
    }

    /** Shared-memory bandwidth of the whole GPU, bytes per second. */
    public double sharedBytesPerSecond() {
        return (double) smCount * sharedBytesPerClockPerSm * clockHz;
    }

    /** The source note of a field, or "" when the file gave none. */
    public String source(String field) {
        return sources.getOrDefault(field, "");
    }
}
