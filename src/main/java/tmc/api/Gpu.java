package tmc.api;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import tmc.check.DType;
import tmc.runtime.CompileOptions;
import tmc.runtime.Cubin;
import tmc.runtime.Cuda;
import tmc.runtime.CudaEvent;
import tmc.runtime.DeviceBuffer;
import tmc.runtime.DeviceInfo;
import tmc.runtime.Dim3;
import tmc.runtime.KernelArgs;
import tmc.runtime.KernelCache;
import tmc.runtime.Nvrtc;
import tmc.runtime.Problem;
import tmc.runtime.Result;
import tmc.runtime.RuntimeFailure;

/**
 * One GPU, opened for tmc: allocates tensors, compiles and loads programs (NVRTC through the disk kernel
 * cache, for this GPU's exact architecture), and times launches with CUDA events.
 *
 * <pre>{@code
 * try (Gpu gpu = Gpu.open()) {
 *     LoadedProgram fused = gpu.load(compiled);
 *     ...
 * }
 * }</pre>
 */
public final class Gpu implements AutoCloseable {
    private final Cuda cuda;
    private final Nvrtc nvrtc;
    private final KernelCache cache;

    private Gpu(Cuda cuda, Nvrtc nvrtc, KernelCache cache) {
        this.cuda = cuda;
        this.nvrtc = nvrtc;
        this.cache = cache;
    }

    /** Opens device 0 with the NVRTC that {@link Nvrtc#load()} finds and the default kernel cache. */
    public static Gpu open() throws RuntimeFailure {
        Nvrtc nvrtc = switch (Nvrtc.load()) {
            case Result.Ok<Nvrtc> ok -> ok.value();
            case Result.Err<Nvrtc> err -> throw new RuntimeFailure(err.problem());
        };
        return new Gpu(Cuda.open(0), nvrtc, KernelCache.openDefault());
    }

    public DeviceInfo device() {
        return cuda.device();
    }

    /** The architecture kernels are compiled for, e.g. sm_90. */
    public String arch() {
        return cuda.device().arch();
    }

    public Tensor alloc(DType dtype, List<Integer> shape) throws RuntimeFailure {
        long elements = 1;
        for (int d : shape) elements *= d;
        DeviceBuffer b = cuda.alloc(Math.max(1, elements * dtype.bytes));
        return new Tensor(b, dtype, shape, b.address());
    }

    /** A tensor holding {@code values} rounded to {@code dtype}. */
    public Tensor upload(DType dtype, List<Integer> shape, float[] values) throws RuntimeFailure {
        return upload(tmc.ref.Tensor.of(dtype, shape.stream().mapToInt(Integer::intValue).toArray(), values));
    }

    /** A device copy of a host tensor (same dtype and shape). */
    public Tensor upload(tmc.ref.Tensor host) throws RuntimeFailure {
        List<Integer> shape = java.util.Arrays.stream(host.shape()).boxed().toList();
        Tensor t = alloc(host.dtype(), shape);
        t.buffer().copyFrom(host.toBytes());
        return t;
    }

    /** Fills a tensor with a byte pattern (0xFF gives NaN in f16, bf16 and f32: poison for tests). */
    public void fill(Tensor t, int byteValue) throws RuntimeFailure {
        t.buffer().fill((byte) byteValue);
    }

    /** A host copy of a device tensor. */
    public tmc.ref.Tensor download(Tensor t) throws RuntimeFailure {
        byte[] bytes = new byte[(int) t.bytes()];
        t.buffer().copyTo(bytes);
        return tmc.ref.Tensor.fromBytes(t.dtype(), t.shape().stream().mapToInt(Integer::intValue).toArray(), bytes);
    }

    /** Wraps memory that something else allocated (for example a framework's tensor); tmc never frees it. */
    public DeviceTensor wrap(long address, DType dtype, List<Integer> shape) {
        List<Integer> s = List.copyOf(shape);
        return new DeviceTensor() {
            public DType dtype() {
                return dtype;
            }

            public List<Integer> shape() {
                return s;
            }

            public long pointer() {
                return address;
            }
        };
    }

    /** Compiles (or takes from the cache) and loads a program for this GPU. */
    public LoadedProgram load(CompiledProgram program) throws RuntimeFailure {
        // Kernels compile for this GPU's architecture, or for its feature-specific variant (sm_90a) when the program
        // asks for one: wgmma exists only there, so such a program cannot run on another GPU.
        String wanted = program.manifest().arch();
        String compileFor = arch();
        if (wanted.endsWith("a")) {
            if (!wanted.equals(arch() + "a")) {
                throw new RuntimeFailure(Problem.of("program " + program.name() + " uses wgmma, which needs "
                        + wanted + ", but this GPU is " + arch(), "compile a plan with 'math tensor_core' for this GPU"));
            }
            compileFor = wanted;
        }
        Cubin cubin = compile(program.fileName(), program.source(), compileFor);
        return new LoadedProgram(this, cuda, cuda.load(cubin), program, cubin);
    }

    public void synchronize() throws RuntimeFailure {
        cuda.synchronize();
    }

    /** Launch timing: the median and the spread of {@code reps} timed runs after {@code warmup} untimed ones. */
    public record Timing(double medianMs, double minMs, double maxMs, int reps) {}

    /** Something that launches work on the GPU. */
    public interface Launch {
        void run() throws RuntimeFailure;
    }

    /** Launches per timed sample: see {@link #time}. */
    public static final int BURST = 10;

    /** Cycles the GPU spins before each timed burst (about 0.3 ms at H100 clocks): longer than submitting a burst. */
    static final long SPIN_CYCLES = 500_000;

    /** A one-thread kernel that waits {@code cycles} clock cycles, compiled on first use. */
    private static final String SPIN_SOURCE = """
            extern "C" __global__ void tmc_spin(long long cycles) {
                const long long t0 = clock64();
                while (clock64() - t0 < cycles) { }
            }
            """;

    private tmc.runtime.Kernel spin;

    private tmc.runtime.Kernel spin() throws RuntimeFailure {
        if (spin == null) spin = cuda.load(compile("tmc_spin.cu", SPIN_SOURCE, arch())).kernel("tmc_spin");
        return spin;
    }

    /** Compiles a translation unit for {@code arch} through the kernel cache; a compile error is thrown as a failure. */
    private Cubin compile(String fileName, String source, String arch) throws RuntimeFailure {
        return switch (cache.compile(nvrtc, fileName, source, CompileOptions.forArch(arch))) {
            case Result.Ok<Cubin> ok -> ok.value();
            case Result.Err<Cubin> err -> throw new RuntimeFailure(err.problem());
        };
    }

    /**
     * Times {@code reps} samples after {@code warmup} untimed launches and {@link #WARM_UP_MS} of untimed bursts. Each
     * sample is a burst of {@link #BURST} back-to-back launches between two CUDA events, divided by the burst, and
     * queued behind a GPU spin of {@link #SPIN_CYCLES}: the host submits the whole burst while the GPU waits, so the
     * events time the kernels only. Without it a kernel shorter than its submission (a few microseconds through
     * JCuda) would be timed as that.
     */
    public Timing time(Launch launch, int warmup, int reps) throws RuntimeFailure {
        for (int i = 0; i < warmup; i++) launch.run();
        cuda.synchronize();
        tmc.runtime.Kernel wait = spin();
        double[] ms = new double[reps];
        try (CudaEvent start = cuda.event(); CudaEvent stop = cuda.event()) {
            warmUpBursts(() -> {
                start.record();
                for (int b = 0; b < BURST; b++) launch.run();
                stop.record();
                return stop.elapsedMillisSince(start);
            }, WARM_UP_MS, MAX_WARM_UP_BURSTS);
            for (int i = 0; i < reps; i++) {
                wait.launch(new Dim3(1, 1, 1), new Dim3(1, 1, 1), 0, KernelArgs.of().i64(SPIN_CYCLES));
                start.record();
                for (int b = 0; b < BURST; b++) launch.run();
                stop.record();
                ms[i] = stop.elapsedMillisSince(start) / BURST;
            }
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        return new Timing(sorted[reps / 2], sorted[0], sorted[reps - 1], reps);
    }

    /**
     * GPU time the launches themselves run, untimed, before the first sample. A GPU left idle (a JVM starting, NVRTC
     * compiling the next candidate) comes back at lower clocks, and a few launches of a kernel of 15 microseconds do
     * not bring them up: the first of three candidates tmc tune timed at ConvFirst N=8 read 0.039 ms where the table
     * measured 0.0155 for the same kernel (docs/benchmarks.md, seventeenth session). A count of launches cannot cover
     * both such a kernel and one of 0.5 ms; a span of time can.
     */
    static final double WARM_UP_MS = 25.0;

    /** The most warm-up bursts, whatever the bursts measure (a kernel that reads 0 ms would otherwise never end it). */
    static final int MAX_WARM_UP_BURSTS = 2_000;

    /** One burst of launches between two events: its GPU time in milliseconds. */
    interface Burst {
        double runMs() throws RuntimeFailure;
    }

    /**
     * Runs bursts until they have taken {@code minMs} of GPU time together, or {@code maxBursts} of them; returns how
     * many ran (at least one). The warm-up bursts have no spin before them: where the host submits slower than the
     * kernels run, the events also count the GPU's idle gaps, so the span is one of wall time on the GPU, not of work.
     */
    static int warmUpBursts(Burst burst, double minMs, int maxBursts) throws RuntimeFailure {
        double spent = 0;
        int bursts = 0;
        do {
            spent += burst.runMs();
            bursts++;
        } while (spent < minMs && bursts < maxBursts);
        return bursts;
    }

    List<Tensor> allocScratch(List<tmc.cuda.Manifest.Tensor> specs, int n, int h, int w) throws RuntimeFailure {
        List<Tensor> out = new ArrayList<>();
        for (var spec : specs) {
            int c = ((Number) spec.shape().get(3)).intValue();
            out.add(alloc(DType.of(spec.dtype()).orElseThrow(), List.of(n, h, w, c)));
        }
        return out;
    }

    @Override
    public void close() {
        cuda.close();
    }
}
