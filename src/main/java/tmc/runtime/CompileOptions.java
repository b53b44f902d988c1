package tmc.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What NVRTC is asked to do, apart from the source: the exact GPU architecture (a real {@code sm_XY}, so that NVRTC
 * emits a cubin rather than PTX; {@code sm_90a} for wgmma), fast math, line info, and extra raw options.
 * C++17 is always on: generated kernels use it and it keeps the cache key independent of NVRTC's default.
 */
public record CompileOptions(String arch, boolean fastMath, boolean lineInfo, List<String> extra) {
    private static final Pattern ARCH = Pattern.compile("sm_(\\d{2,3})([af]?)");

    public CompileOptions {
        Objects.requireNonNull(arch, "arch");
        if (!isValidArch(arch)) {
            throw new IllegalArgumentException("not a real GPU architecture: '" + arch + "' (expected e.g. sm_90 or sm_90a)");
        }
        extra = List.copyOf(extra);
    }

    public static CompileOptions forArch(String arch) {
        return new CompileOptions(arch, false, false, List.of());
    }

    /** True for sm_XY, sm_XYa and sm_XYf: the forms for which NVRTC produces a cubin. */
    public static boolean isValidArch(String arch) {
        return arch != null && ARCH.matcher(arch).matches();
    }

    /** The compute capability as a number, e.g. 90 for sm_90a. */
    public int computeCapability() {
        var m = ARCH.matcher(arch);
        if (!m.matches()) throw new IllegalStateException(arch);
        return Integer.parseInt(m.group(1));
    }

    public CompileOptions withFastMath(boolean on) {
        return new CompileOptions(arch, on, lineInfo, extra);
    }

    public CompileOptions withLineInfo(boolean on) {
        return new CompileOptions(arch, fastMath, on, extra);
    }

    public CompileOptions withExtra(String... options) {
        List<String> all = new ArrayList<>(extra);
        all.addAll(List.of(options));
        return new CompileOptions(arch, fastMath, lineInfo, all);
    }

    /** The NVRTC command line, in a fixed order (it is part of the cache key). */
    public List<String> toArguments(Optional<java.nio.file.Path> includeDir) {
        List<String> args = new ArrayList<>();
        args.add("--gpu-architecture=" + arch);
        args.add("-std=c++17");
        if (fastMath) args.add("--use_fast_math");
        if (lineInfo) args.add("-lineinfo");
        includeDir.ifPresent(d -> args.add("-I" + d));
        args.addAll(extra);
        return List.copyOf(args);
    }
}
