package tmc.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver API through JCuda: one GPU's primary context, modules, buffers, events.
 *
 * <p>Use {@link #probe()} (or {@link #available()}) before anything else: it checks, in order, that the NVIDIA
 * driver library libcuda.so.1 loads (through java.lang.foreign, so that a missing driver is a clean answer rather
 * than an UnsatisfiedLinkError), that JCuda's JNI library is on java.library.path, and that cuInit finds a device.
 * Only then is a JCuda class touched: JCudaDriver loads its native library in its static initializer, and a failure
 * there would poison the class for the rest of the process.
 *
 * <p>Threads: the primary context is shared; every operation first makes it current on the calling thread, so
 * objects from one {@code Cuda} may be used from any thread (calls on one stream are still ordered by the driver).
 */
// Restricted FFM methods (library loading, downcalls) are the point of this class; the launcher enables them.
@SuppressWarnings("restricted")
public final class Cuda implements AutoCloseable {
    /** The JCuda version whose JNI library we ship; must equal the jcuda dependency in pom.xml (a test checks). */
    public static final String JCUDA_VERSION = "12.6.0";
    /** The one native library JCudaDriver loads (jcuda.LibUtils: System.loadLibrary, then the /lib/ resource). */
    public static final String JCUDA_NATIVE = "libJCudaDriver-" + JCUDA_VERSION + "-linux-x86_64.so";
    static final String LIBCUDA = "libcuda.so.1";

    /** Whether the GPU can be used here, and what was found on the way. */
    public sealed interface Availability {
        Optional<Path> libcuda();

        Optional<String> jcudaNative();

        /** The CUDA version the driver supports (13000 = 13.0), or 0 when libcuda is missing. */
        int driverVersion();

        record Available(Optional<Path> libcuda, Optional<String> jcudaNative, int driverVersion, int deviceCount)
                implements Availability {}

        record Unavailable(Problem problem, Optional<Path> libcuda, Optional<String> jcudaNative, int driverVersion)
                implements Availability {}
    }

    private static volatile Availability probed;

    private final CUdevice device;
    private final CUcontext context;
    private final DeviceInfo info;
    private boolean closed;

    private Cuda(CUdevice device, CUcontext context, DeviceInfo info) {
        this.device = device;
        this.context = context;
        this.info = info;
    }

    /** True when a GPU can be used; {@link #probe()} says why not. Never throws. */
    public static boolean available() {
        return probe() instanceof Availability.Available;
    }

    /** Checks driver, JCuda native library and devices once per process. Never throws. */
    public static Availability probe() {
        Availability a = probed;
        if (a == null) {
            synchronized (Cuda.class) {
                a = probed;
                if (a == null) probed = a = doProbe();
            }
        }
        return a;
    }

    private static Availability doProbe() {
        Optional<String> jcuda = jcudaNativeLocation();
        SymbolLookup libcuda;
        try {
            libcuda = SymbolLookup.libraryLookup(LIBCUDA, Arena.global());
        } catch (IllegalArgumentException e) {
            return new Availability.Unavailable(Problem.of("no NVIDIA driver: " + LIBCUDA + " was not found by the dynamic loader",
                    "install the NVIDIA driver (nvidia-smi should work); checking and compiling .tm files needs no GPU"),
                    Optional.empty(), jcuda, 0);
        }
        Optional<Path> libcudaPath = NativeLibs.mappedPath("libcuda.so").or(() -> Optional.of(Path.of(LIBCUDA)));
        int driver = driverVersionViaFfm(libcuda);
        if (jcuda.isEmpty()) {
            return new Availability.Unavailable(Problem.of("JCuda's native library " + JCUDA_NATIVE
                            + " is not on java.library.path (" + System.getProperty("java.library.path", "") + ")",
                    "start tmc with bin/tmc (it passes -Djava.library.path), or run 'mvn package' to extract it into target/native"),
                    libcudaPath, jcuda, driver);
        }
        try {
            int rc = JCudaDriver.cuInit(0);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Availability.Unavailable(CudaErrors.problem(rc, "cuInit", ""), libcudaPath, jcuda, driver);
            }
            int[] count = new int[1];
            rc = JCudaDriver.cuDeviceGetCount(count);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Availability.Unavailable(CudaErrors.problem(rc, "cuDeviceGetCount", ""), libcudaPath, jcuda, driver);
            }
            if (count[0] == 0) {
                return new Availability.Unavailable(Problem.of("the NVIDIA driver sees no GPU",
                        CudaErrors.hint(CUresult.CUDA_ERROR_NO_DEVICE)), libcudaPath, jcuda, driver);
            }
            return new Availability.Available(libcudaPath, jcuda, driver, count[0]);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError / ExceptionInInitializerError / NoClassDefFoundError from JCuda's loader.
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            return new Availability.Unavailable(new Problem("JCuda could not load its native library " + JCUDA_NATIVE,
                    msg, "check that " + jcuda.get() + " is intact and that " + LIBCUDA + " is the NVIDIA driver's"),
                    libcudaPath, jcuda, driver);
        }
    }

    /** Where JCudaDriver will find its JNI library: a file on java.library.path, or a classpath resource. */
    public static Optional<String> jcudaNativeLocation() {
        for (String dir : System.getProperty("java.library.path", "").split(java.io.File.pathSeparator)) {
            if (dir.isBlank()) continue;
            Path p = Path.of(dir, JCUDA_NATIVE);
            if (Files.isRegularFile(p)) return Optional.of(p.toAbsolutePath().normalize().toString());
        }
        var res = Cuda.class.getResource("/lib/" + JCUDA_NATIVE);
        return res == null ? Optional.empty() : Optional.of(res.toString());
    }

    private static int driverVersionViaFfm(SymbolLookup libcuda) {
        // cuDriverGetVersion needs no cuInit, so doctor can show the driver's CUDA version even when JCuda is missing.
        try (Arena a = Arena.ofConfined()) {
            MethodHandle h = Linker.nativeLinker().downcallHandle(libcuda.findOrThrow("cuDriverGetVersion"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MemorySegment v = a.allocate(JAVA_INT);
            int rc = (int) h.invokeExact(v);
            return rc == 0 ? v.get(JAVA_INT, 0) : 0;
        } catch (Throwable t) {
            return 0;
        }
    }

    /** Facts about every visible GPU (needs {@link #available()}). */
    public static List<DeviceInfo> devices() throws RuntimeFailure {
        requireAvailable();
        int[] count = new int[1];
        CudaErrors.check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount", "");
        List<DeviceInfo> out = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) out.add(query(i));
        return out;
    }

    /** Retains GPU {@code ordinal}'s primary context. Close it to release. */
    public static Cuda open(int ordinal) throws RuntimeFailure {
        requireAvailable();
        DeviceInfo info = query(ordinal);
        CUdevice dev = new CUdevice();
        CudaErrors.check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet", "device " + ordinal);
        CUcontext ctx = new CUcontext();
        // The primary context (the one the runtime API and PyTorch use) rather than cuCtxCreate, whose signature
        // changed in CUDA 13; sharing it also lets other libraries in the process see our allocations.
        CudaErrors.check(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev), "cuDevicePrimaryCtxRetain", "device " + ordinal);
        Cuda c = new Cuda(dev, ctx, info);
        c.bind();
        return c;
    }

    private static void requireAvailable() throws RuntimeFailure {
        if (probe() instanceof Availability.Unavailable u) throw new RuntimeFailure(u.problem());
    }

    private static DeviceInfo query(int ordinal) throws RuntimeFailure {
        CUdevice dev = new CUdevice();
        CudaErrors.check(JCudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet", "device " + ordinal);
        byte[] name = new byte[256];
        CudaErrors.check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName", "");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        long[] mem = new long[1];
        CudaErrors.check(JCudaDriver.cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem", "");
        int[] drv = new int[1];
        CudaErrors.check(JCudaDriver.cuDriverGetVersion(drv), "cuDriverGetVersion", "");
        return new DeviceInfo(ordinal, new String(name, 0, len, StandardCharsets.UTF_8),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                mem[0],
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR),
                attr(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE),
                drv[0]);
    }

    private static int attr(CUdevice dev, int attribute) throws RuntimeFailure {
        int[] v = new int[1];
        CudaErrors.check(JCudaDriver.cuDeviceGetAttribute(v, attribute, dev), "cuDeviceGetAttribute",
                CUdevice_attribute.stringFor(attribute));
        return v[0];
    }

    public DeviceInfo device() {
        return info;
    }

    /** Makes this context current on the calling thread (cheap; done before every driver call). */
    void bind() throws RuntimeFailure {
        if (closed) throw new IllegalStateException("Cuda used after close()");
        CudaErrors.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", "");
    }

    /** {@link #bind()} for close paths, which must not throw. */
    boolean tryBind() {
        return !closed && JCudaDriver.cuCtxSetCurrent(context) == CUresult.CUDA_SUCCESS;
    }

    /** Loads a cubin (it must be compiled for this device's architecture; see {@link DeviceInfo#arch()}). */
    public CudaModule load(Cubin cubin) throws RuntimeFailure {
        var sm = cubin.elfSm();
        if (sm.isPresent() && !runsOn(sm.getAsInt(), info.ccMajor() * 10 + info.ccMinor())) {
            // Caught here because the driver would only say CUDA_ERROR_NO_BINARY_FOR_GPU.
            throw new RuntimeFailure(Problem.of("cubin " + cubin.name() + " is for sm_" + sm.getAsInt() + ", which cannot run on "
                    + info.name() + " (" + info.arch() + ")", "compile for " + info.arch()));
        }
        return load(cubin.image(), cubin.name() + " (" + cubin.arch() + ")");
    }

    /** SASS for sm_XY runs on GPUs of the same major version and a minor version of Y or more. */
    static boolean runsOn(int cubinSm, int deviceSm) {
        return cubinSm / 10 == deviceSm / 10 && cubinSm % 10 <= deviceSm % 10;
    }

    public CudaModule load(byte[] image, String name) throws RuntimeFailure {
        bind();
        CUmodule m = new CUmodule();
        CudaErrors.check(JCudaDriver.cuModuleLoadData(m, image), "cuModuleLoadData",
                name + " on " + info.name() + " (" + info.arch() + ")");
        return new CudaModule(this, m, name);
    }

    public DeviceBuffer alloc(long bytes) throws RuntimeFailure {
        if (bytes <= 0) throw new IllegalArgumentException("allocation size must be positive: " + bytes);
        bind();
        CUdeviceptr p = new CUdeviceptr();
        CudaErrors.check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc", bytes + " B on " + info.name());
        return new DeviceBuffer(this, p, bytes);
    }

    /** A new buffer holding a copy of {@code host}. */
    public DeviceBuffer upload(short[] host) throws RuntimeFailure {
        DeviceBuffer b = alloc(Math.max(1, (long) host.length * Short.BYTES));
        return copyOrFree(b, () -> b.copyFrom(host));
    }

    public DeviceBuffer upload(float[] host) throws RuntimeFailure {
        DeviceBuffer b = alloc(Math.max(1, (long) host.length * Float.BYTES));
        return copyOrFree(b, () -> b.copyFrom(host));
    }

    public DeviceBuffer upload(byte[] host) throws RuntimeFailure {
        DeviceBuffer b = alloc(Math.max(1, host.length));
        return copyOrFree(b, () -> b.copyFrom(host));
    }

    private interface Copy {
        void run() throws RuntimeFailure;
    }

    private static DeviceBuffer copyOrFree(DeviceBuffer b, Copy copy) throws RuntimeFailure {
        try {
            copy.run();
            return b;
        } catch (RuntimeFailure | RuntimeException e) {
            b.close();
            throw e;
        }
    }

    public CudaEvent event() throws RuntimeFailure {
        bind();
        CUevent e = new CUevent();
        CudaErrors.check(JCudaDriver.cuEventCreate(e, 0), "cuEventCreate", "");
        return new CudaEvent(this, e);
    }

    /** Waits for all work; the place where errors inside kernels are reported. */
    public void synchronize() throws RuntimeFailure {
        bind();
        CudaErrors.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize", "waiting for kernels on " + info.name());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
