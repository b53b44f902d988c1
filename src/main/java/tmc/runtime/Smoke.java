package tmc.runtime;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * End-to-end check of the runtime on a GPU host: NVRTC compiles an fp16 kernel for the GPU's exact architecture
 * (through a fresh kernel cache: a miss, then a hit), JCuda loads and launches it with more than 48 KB of dynamic
 * shared memory (so the opt-in path runs), CUDA events time it, and the result is compared bit for bit with the
 * CPU. Prints each step and PASS or FAIL; run as {@code tmc smoke} or {@code java ... tmc.runtime.Smoke}.
 */
public final class Smoke {
    /** 2 x 24576 halves = 96 KB of dynamic shared memory per block: above the 48 KB default, below every opt-in limit since sm_80. */
    static final int PER_BLOCK = 24576;
    static final int THREADS = 256;

    static final String SOURCE = """
            // tmc runtime smoke test: c = a + b in fp16, staged through dynamic shared memory.
            #include <cuda_fp16.h>

            extern "C" __global__ void vadd_smem(const __half* __restrict__ a, const __half* __restrict__ b,
                                                 __half* __restrict__ c, int n, int per_block) {
              extern __shared__ __half smem[];
              __half* sa = smem;              // per_block elements of a
              __half* sb = smem + per_block;  // then per_block elements of b
              const int base = blockIdx.x * per_block;
              for (int i = threadIdx.x; i < per_block; i += blockDim.x) {
                const int g = base + i;
                sa[i] = g < n ? a[g] : __float2half(0.0f);
                sb[i] = g < n ? b[g] : __float2half(0.0f);
              }
              __syncthreads();
              // Each thread reads b from the mirrored slot, written by another thread: the staging is really shared.
              for (int i = threadIdx.x; i < per_block; i += blockDim.x) {
                const int g = base + i;
                if (g < n) c[g] = __hadd(sa[i], sb[per_block - 1 - i]);
              }
            }
            """;

    private Smoke() {}

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(run(out) ? 0 : 1);
    }

    /** Runs every step, printing as it goes; true when all passed. Never throws. */
    public static boolean run(PrintWriter out) {
        out.println("tmc runtime smoke test");
        Path cacheDir = null;
        try {
            Nvrtc nvrtc = Nvrtc.load().orThrow();
            out.printf("  nvrtc    %s at %s (headers: %s)%n", nvrtc.version(), nvrtc.library(),
                    nvrtc.includeDir().map(Path::toString).orElse("none found"));
            if (Cuda.probe() instanceof Cuda.Availability.Unavailable u) throw new RuntimeFailure(u.problem());
            try (Cuda cuda = Cuda.open(0)) {
                DeviceInfo d = cuda.device();
                out.printf("  device   %s (%s, %d SMs, %d B shared per block opt-in, driver CUDA %s)%n", d.name(), d.arch(),
                        d.smCount(), d.sharedPerBlockOptin(), d.driverVersionString());
                cacheDir = Files.createTempDirectory("tmc-smoke-cache");
                KernelCache cache = new KernelCache(cacheDir);
                CompileOptions opts = CompileOptions.forArch(d.arch());
                Cubin cubin = cache.compile(nvrtc, "vadd_smem.cu", SOURCE, opts).orThrow();
                Cubin again = cache.compile(nvrtc, "vadd_smem.cu", SOURCE, opts).orThrow();
                check(!cubin.fromCache() && again.fromCache() && Arrays.equals(cubin.image(), again.image()),
                        "the second compile should be a cache hit with the same bytes");
                out.printf("  compile  %s for %s: %d B cubin in %d ms; again from the cache in %d ms%n", cubin.name(),
                        cubin.arch(), cubin.size(), cubin.compileTime().toMillis(), again.compileTime().toMillis());
                runKernel(cuda, cubin, out);
            }
            out.println("PASS");
            return true;
        } catch (RuntimeFailure f) {
            out.println("FAIL: " + f.problem().render());
            return false;
        } catch (IOException | RuntimeException e) {
            out.println("FAIL: " + e);
            return false;
        } finally {
            if (cacheDir != null) deleteTree(cacheDir);
        }
    }

    private static void runKernel(Cuda cuda, Cubin cubin, PrintWriter out) throws RuntimeFailure {
        int n = (1 << 22) + 77; // not a multiple of the block's share: the tail is masked
        short[] a = new short[n], b = new short[n];
        for (int i = 0; i < n; i++) {
            a[i] = Float.floatToFloat16(((i % 2048) - 1024) * 0.25f);
            b[i] = Float.floatToFloat16(((i * 7) % 1000) * 0.125f);
        }
        int blocks = (n + PER_BLOCK - 1) / PER_BLOCK;
        int shared = 2 * PER_BLOCK * Short.BYTES;
        try (CudaModule module = cuda.load(cubin);
             DeviceBuffer da = cuda.upload(a); DeviceBuffer db = cuda.upload(b);
             DeviceBuffer dc = cuda.alloc((long) n * Short.BYTES);
             CudaEvent start = cuda.event(); CudaEvent stop = cuda.event()) {
            Kernel k = module.kernel("vadd_smem");
            dc.fill((byte) 0xff); // NaN everywhere: an element the kernel skips cannot pass by accident
            KernelArgs args = KernelArgs.of().ptr(da).ptr(db).ptr(dc).i32(n).i32(PER_BLOCK);
            k.launch(Dim3.of(blocks), Dim3.of(THREADS), shared, args); // warm-up, and the opt-in happens here
            cuda.synchronize();
            float[] ms = new float[20];
            for (int r = 0; r < ms.length; r++) {
                start.record();
                k.launch(Dim3.of(blocks), Dim3.of(THREADS), shared, args);
                stop.record();
                ms[r] = stop.elapsedMillisSince(start);
            }
            cuda.synchronize();
            FuncAttributes attrs = k.attributes();
            out.printf("  kernel   %s: %s%n", k.name(), attrs.summary());
            check(attrs.maxDynamicSharedBytes() >= shared, "the dynamic shared memory opt-in did not take effect");
            out.printf("  launch   %d blocks x %d threads, %d B dynamic shared memory (default limit %d B)%n", blocks, THREADS,
                    shared, Kernel.DEFAULT_DYNAMIC_SHARED_LIMIT);
            Arrays.sort(ms);
            double gb = 3.0 * n * Short.BYTES / 1e9;
            out.printf("  time     %.4f ms median of %d (CUDA events), %.0f GB/s%n", ms[ms.length / 2], ms.length,
                    gb / (ms[ms.length / 2] / 1e3));
            short[] c = new short[n];
            dc.copyTo(c);
            int bad = 0, firstBad = -1;
            for (int i = 0; i < n; i++) {
                int blockBase = (i / PER_BLOCK) * PER_BLOCK;
                int j = blockBase + (PER_BLOCK - 1 - (i - blockBase));
                float bj = j < n ? Float.float16ToFloat(b[j]) : 0f;
                // Both operands are fp16, so the float sum is exact and one rounding to fp16 matches __hadd.
                short want = Float.floatToFloat16(Float.float16ToFloat(a[i]) + bj);
                if (c[i] != want) {
                    if (bad++ == 0) firstBad = i;
                }
            }
            check(bad == 0, bad + " of " + n + " results differ from the CPU; first at " + firstBad);
            out.printf("  check    %d fp16 sums equal the CPU's bit for bit%n", n);
        }
    }

    private static void check(boolean ok, String what) throws RuntimeFailure {
        if (!ok) throw new RuntimeFailure(Problem.of(what));
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // A temp folder left behind is harmless.
        }
    }
}
