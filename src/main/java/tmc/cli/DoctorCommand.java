package tmc.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tmc.runtime.Cuda;
import tmc.runtime.DeviceInfo;
import tmc.runtime.KernelCache;
import tmc.runtime.Nvrtc;
import tmc.runtime.Problem;
import tmc.runtime.Result;
import tmc.runtime.RuntimeFailure;

@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Report what tmc needs and found on this machine, and how to fix what is missing.",
                "Java, NVRTC (library, version, headers), the kernel cache, JCuda's native library, the NVIDIA",
                "driver and each GPU.",
                "Exits 0 (it is a report) unless --strict is given."})
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--strict", description = "Exit 1 when NVRTC or a GPU is not usable (for scripts).")
    boolean strict;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private static final String INDENT = "           ";

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("tmc " + Version.VERSION);
        out.println(row("Java", Runtime.version() + " (" + System.getProperty("java.vendor", "?") + ") at "
                + System.getProperty("java.home")));

        Nvrtc.Loaded loaded = Nvrtc.loadReport();
        boolean nvrtcOk = false;
        switch (loaded.nvrtc()) {
            case Result.Ok<Nvrtc>(Nvrtc n) -> {
                nvrtcOk = true;
                out.println(row("NVRTC", n.version() + " at " + n.library() + " (found by " + n.foundBy() + ")"));
                out.println(INDENT + "headers: " + n.includeDir().map(Path::toString).orElse(
                        "NOT FOUND (no cuda_fp16.h); set TMC_CUDA_INCLUDE to the CUDA include folder"));
                if (!n.supportedArchs().isEmpty()) out.println(INDENT + "targets: " + String.join(" ", n.supportedArchs()));
            }
            case Result.Err<Nvrtc>(Problem p) -> out.println(row("NVRTC", "NOT FOUND: " + indent(p.render())));
        }

        KernelCache cache = KernelCache.openDefault();
        out.println(row("Cache", cache.dir() + " (" + cacheState(cache) + "; set " + KernelCache.ENV_DIR + " to move it)"));

        out.println(row("JCuda", Cuda.jcudaNativeLocation().orElse("NOT FOUND: " + Cuda.JCUDA_NATIVE
                + " is not on java.library.path; start tmc with its launcher (bin/tmc)")));

        Cuda.Availability a = Cuda.probe();
        out.println(row("Driver", a.libcuda().map(p -> p + (a.driverVersion() > 0
                ? " (supports CUDA " + (a.driverVersion() / 1000) + "." + (a.driverVersion() % 1000) / 10 + ")" : ""))
                .orElse("NOT FOUND: libcuda.so.1 (the NVIDIA driver) is not installed or not on the loader path")));
        boolean gpuOk = false;
        switch (a) {
            case Cuda.Availability.Available ok -> {
                try {
                    List<DeviceInfo> devices = Cuda.devices();
                    for (DeviceInfo d : devices) {
                        out.println(row("GPU " + d.ordinal(), d.name() + ", " + d.arch() + ", " + d.smCount() + " SMs, "
                                + mib(d.totalMemoryBytes()) + " MiB"));
                        out.println(INDENT + "shared memory: " + d.sharedPerBlock() + " B per block, " + d.sharedPerBlockOptin()
                                + " B opt-in, " + d.sharedPerSm() + " B per SM; " + d.registersPerSm() + " registers per SM; L2 "
                                + mib(d.l2Bytes()) + " MiB");
                        out.println(INDENT + "driver: CUDA " + d.driverVersionString());
                    }
                    gpuOk = !devices.isEmpty();
                } catch (RuntimeFailure f) {
                    out.println(row("GPU", "ERROR: " + indent(f.problem().render())));
                }
            }
            case Cuda.Availability.Unavailable u -> out.println(row("GPU", "none usable: " + indent(u.problem().render())));
        }

        out.println();
        out.println("Compiling kernels (NVRTC): " + (nvrtcOk ? "ready" : "NOT READY"));
        out.println("Running kernels (GPU):     " + (gpuOk ? "ready" : "NOT READY")
                + (gpuOk ? "" : " (checking and compiling .tm files works without a GPU)"));
        return strict && !(nvrtcOk && gpuOk) ? Main.USER_ERROR : Main.OK;
    }

    private static String cacheState(KernelCache cache) {
        Path dir = cache.dir();
        if (Files.isDirectory(dir)) {
            return cache.entryCount() + " entries, " + (Files.isWritable(dir) ? "writable" : "NOT WRITABLE: kernels will be recompiled every run");
        }
        Path p = dir.getParent();
        while (p != null && !Files.exists(p)) p = p.getParent();
        return p != null && Files.isWritable(p) ? "empty, created on first compile" : "CANNOT BE CREATED: kernels will be recompiled every run";
    }

    private static String row(String label, String value) {
        return String.format("%-10s %s", label, value);
    }

    private static String indent(String multiLine) {
        return multiLine.replace("\n", "\n" + INDENT);
    }

    private static long mib(long bytes) {
        return bytes / (1024 * 1024);
    }
}
