package tmc.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * NVRTC, the CUDA runtime compiler, called through java.lang.foreign.
 *
 * <p>Why not JCuda's NVRTC binding: its native part links against libnvrtc.so.12 by soname and fails to load where
 * only CUDA 13 is installed. Binding the handful of C functions ourselves works with NVRTC 12 and 13 alike.
 *
 * <p>Thread safety: NVRTC allows concurrent calls on different programs; every {@link #compile} creates and
 * destroys its own program and uses its own arena, and the method handles are immutable, so one instance serves
 * any number of threads. The library is loaded into the global arena and never unloaded (unloading NVRTC while
 * another thread compiles would crash the process, and it is loaded once anyway).
 */
// Restricted FFM methods (library loading, downcalls) are the point of this class; the launcher enables them.
@SuppressWarnings("restricted")
public final class Nvrtc {
    /** The NVRTC version, as nvrtcVersion reports it. */
    public record Version(int major, int minor) {
        @Override
        public String toString() {
            return major + "." + minor;
        }
    }

    /** The outcome of looking for NVRTC: the instance, or why not, plus every place tried (for doctor). */
    public record Loaded(Result<Nvrtc> nvrtc, List<String> tried) {}

    private static final int NVRTC_SUCCESS = 0;
    private static final int NVRTC_ERROR_COMPILATION = 6;
    private static final int NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7;
    /** Each library file is loaded once per process, whatever the environment of later lookups. */
    private static final ConcurrentHashMap<Path, SymbolLookup> LIBRARIES = new ConcurrentHashMap<>();
    private static volatile Loaded defaultLoaded;

    private final Path library;
    private final String foundBy;
    private final Optional<Path> includeDir;
    private final Version version;
    private final List<String> supportedArchs;
    private final MethodHandle getErrorString, createProgram, destroyProgram, compileProgram,
            getProgramLogSize, getProgramLog, getCubinSize, getCubin;

    private Nvrtc(Path library, String foundBy, Optional<Path> includeDir, SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        this.library = library;
        this.foundBy = foundBy;
        this.includeDir = includeDir;
        // nvrtcResult is a C enum: an int. size_t is 64-bit on x86_64 Linux, the only platform we ship.
        getErrorString = linker.downcallHandle(lib.findOrThrow("nvrtcGetErrorString"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle versionH = linker.downcallHandle(lib.findOrThrow("nvrtcVersion"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createProgram = linker.downcallHandle(lib.findOrThrow("nvrtcCreateProgram"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        destroyProgram = linker.downcallHandle(lib.findOrThrow("nvrtcDestroyProgram"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        compileProgram = linker.downcallHandle(lib.findOrThrow("nvrtcCompileProgram"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        getProgramLogSize = linker.downcallHandle(lib.findOrThrow("nvrtcGetProgramLogSize"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getProgramLog = linker.downcallHandle(lib.findOrThrow("nvrtcGetProgramLog"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getCubinSize = linker.downcallHandle(lib.findOrThrow("nvrtcGetCUBINSize"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getCubin = linker.downcallHandle(lib.findOrThrow("nvrtcGetCUBIN"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
            int rc = (int) versionH.invokeExact(major, minor);
            if (rc != NVRTC_SUCCESS) throw new IllegalStateException("nvrtcVersion failed: " + errorString(rc));
            version = new Version(major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        supportedArchs = querySupportedArchs(linker, lib);
    }

    /** NVRTC found from the process environment; looked up once per process. */
    public static Result<Nvrtc> load() {
        return loadReport().nvrtc();
    }

    /** Like {@link #load()}, with the list of places tried (doctor prints it). */
    public static Loaded loadReport() {
        Loaded l = defaultLoaded;
        if (l == null) {
            synchronized (Nvrtc.class) {
                l = defaultLoaded;
                if (l == null) defaultLoaded = l = load(System.getenv(), Path.of("/usr/local"));
            }
        }
        return l;
    }

    /** Looks for NVRTC with the given environment and toolkit parent folder (normally /usr/local). */
    public static Loaded load(Map<String, String> env, Path usrLocal) {
        List<String> tried = new ArrayList<>();
        Result<List<NvrtcLocator.Candidate>> cands = NvrtcLocator.candidates(env, usrLocal);
        if (cands instanceof Result.Err<List<NvrtcLocator.Candidate>>(Problem p)) return new Loaded(Result.err(p), tried);
        for (NvrtcLocator.Candidate c : ((Result.Ok<List<NvrtcLocator.Candidate>>) cands).value()) {
            try {
                Nvrtc n = switch (c) {
                    case NvrtcLocator.Candidate.File f -> {
                        SymbolLookup lib = LIBRARIES.computeIfAbsent(NvrtcLocator.realPath(f.path()), real -> {
                            preloadBuiltins(f.path());
                            return SymbolLookup.libraryLookup(f.path(), Arena.global());
                        });
                        yield new Nvrtc(f.path(), f.source(), NvrtcLocator.includeDir(env, usrLocal, Optional.of(f.path())), lib);
                    }
                    case NvrtcLocator.Candidate.Soname s -> {
                        SymbolLookup lib = SymbolLookup.libraryLookup(s.name(), Arena.global());
                        Path where = NativeLibs.mappedPath("libnvrtc.so").orElse(Path.of(s.name()));
                        yield new Nvrtc(where, "dynamic loader path", NvrtcLocator.includeDir(env, usrLocal,
                                where.isAbsolute() ? Optional.of(where) : Optional.empty()), lib);
                    }
                };
                tried.add(c.describe() + ": ok");
                return new Loaded(Result.ok(n), tried);
            } catch (IllegalArgumentException | IllegalStateException | java.util.NoSuchElementException e) {
                // Not loadable (missing, wrong architecture, missing symbol): note it and try the next place.
                tried.add(c.describe() + ": " + firstLine(e.getMessage()));
            }
        }
        return new Loaded(Result.err(new Problem("NVRTC (libnvrtc.so) was not found",
                "looked in:\n" + String.join("\n", tried.stream().map(t -> "  " + t).toList()),
                "install the CUDA toolkit (12.x or 13.x; NVRTC comes with it), or set " + NvrtcLocator.ENV_LIBRARY
                        + " to the path of libnvrtc.so.13, or CUDA_HOME to the toolkit folder")), tried);
    }

    /**
     * libnvrtc dlopens libnvrtc-builtins.so.X.Y by bare name at the first compile, so it is found only through the
     * loader path, not next to libnvrtc (the library carries no $ORIGIN run path). Loading the copy that sits
     * beside the library first makes that dlopen find it already loaded, so a toolkit outside the loader path
     * works without LD_LIBRARY_PATH.
     */
    private static void preloadBuiltins(Path library) {
        Path dir = NvrtcLocator.realPath(library).getParent();
        if (dir == null) return;
        try (var s = java.nio.file.Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().startsWith("libnvrtc-builtins.so"))
                    .sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> {
                        try {
                            SymbolLookup.libraryLookup(p, Arena.global());
                        } catch (IllegalArgumentException ignored) {
                            // A broken or foreign copy: NVRTC will report the builtins problem itself at compile time.
                        }
                    });
        } catch (java.io.IOException | RuntimeException ignored) {
            // Unreadable folder: same as above.
        }
    }

    public Path library() {
        return library;
    }

    /** How the library was found: "$TMC_NVRTC", "$CUDA_HOME", "/usr/local/cuda-*", "dynamic loader path", ... */
    public String foundBy() {
        return foundBy;
    }

    /** The folder with cuda_fp16.h passed as -I, if one was found. */
    public Optional<Path> includeDir() {
        return includeDir;
    }

    public Version version() {
        return version;
    }

    /** The architectures this NVRTC can target, e.g. [sm_75, ..., sm_120]; empty if the library cannot tell. */
    public List<String> supportedArchs() {
        return supportedArchs;
    }

    /** The exact NVRTC arguments {@link #compile} passes for these options. */
    public List<String> arguments(CompileOptions options) {
        return options.toArguments(includeDir);
    }

    /**
     * Compiles one CUDA C++ translation unit to a cubin for {@code options.arch()}. A compile error is an
     * {@link Result.Err} whose problem carries the NVRTC program log; it never throws for bad source.
     *
     * @param name the program name NVRTC uses in its log (e.g. "convfirst_fused.cu")
     */
    public Result<Cubin> compile(String name, String source, CompileOptions options) {
        String archNumber = options.arch().replaceAll("[^0-9]", "");
        if (!supportedArchs.isEmpty() && !supportedArchs.contains("sm_" + archNumber)) {
            return Result.err(Problem.of("NVRTC " + version + " cannot compile for " + options.arch()
                            + " (it supports " + String.join(", ", supportedArchs) + ")",
                    "pick a supported architecture, or use an NVRTC that supports " + options.arch()));
        }
        List<String> args = arguments(options);
        long t0 = System.nanoTime();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progSlot = a.allocate(ADDRESS);
            int rc = (int) createProgram.invokeExact(progSlot, a.allocateFrom(source), a.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL);
            if (rc != NVRTC_SUCCESS) {
                return Result.err(Problem.of("nvrtcCreateProgram failed for " + name + ": " + errorString(rc)));
            }
            MemorySegment prog = progSlot.get(ADDRESS, 0);
            try {
                MemorySegment argv = a.allocate(ADDRESS, Math.max(1, args.size()));
                for (int i = 0; i < args.size(); i++) argv.setAtIndex(ADDRESS, i, a.allocateFrom(args.get(i)));
                int compiled = (int) compileProgram.invokeExact(prog, args.size(), argv);
                String log = programLog(a, prog);
                if (compiled != NVRTC_SUCCESS) {
                    String fix = compiled == NVRTC_ERROR_BUILTIN_OPERATION_FAILURE
                            ? "libnvrtc-builtins.so." + version + " must sit next to " + library + " or be on LD_LIBRARY_PATH"
                            : compiled == NVRTC_ERROR_COMPILATION
                            ? (log.contains(NvrtcLocator.PROBE_HEADER) && includeDir.isEmpty()
                                    ? "NVRTC found no CUDA headers: set " + NvrtcLocator.ENV_INCLUDE + " to the folder with cuda_fp16.h (run 'tmc doctor')"
                                    : "the log above names the line of the CUDA source that failed")
                            : "check the options: " + String.join(" ", args);
                    return Result.err(new Problem("NVRTC " + version + " could not compile " + name + " for "
                            + options.arch() + ": " + errorString(compiled),
                            log.isBlank() ? "(NVRTC printed no log)" : log, fix));
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                rc = (int) getCubinSize.invokeExact(prog, size);
                if (rc != NVRTC_SUCCESS) return Result.err(Problem.of("nvrtcGetCUBINSize failed: " + errorString(rc)));
                long n = size.get(JAVA_LONG, 0);
                if (n <= 0 || n > Integer.MAX_VALUE) {
                    return Result.err(Problem.of("NVRTC returned no cubin for " + name + " (size " + n + ")",
                            "compile for a real architecture such as sm_90, not a virtual compute_XY"));
                }
                MemorySegment buf = a.allocate(n);
                rc = (int) getCubin.invokeExact(prog, buf);
                if (rc != NVRTC_SUCCESS) return Result.err(Problem.of("nvrtcGetCUBIN failed: " + errorString(rc)));
                byte[] image = buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                return Result.ok(new Cubin(name, image, log.strip(), options.arch(), args, version,
                        Duration.ofNanos(System.nanoTime() - t0), false));
            } finally {
                int ignored = (int) destroyProgram.invokeExact(progSlot);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            // invokeExact declares Throwable; a downcall only throws if the JVM itself is in trouble.
            throw new IllegalStateException("NVRTC call failed", t);
        }
    }

    private String programLog(Arena a, MemorySegment prog) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        if ((int) getProgramLogSize.invokeExact(prog, size) != NVRTC_SUCCESS) return "";
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) return "";
        MemorySegment buf = a.allocate(n);
        if ((int) getProgramLog.invokeExact(prog, buf) != NVRTC_SUCCESS) return "";
        return buf.getString(0);
    }

    /** NVRTC's own text for a result code, e.g. "NVRTC_ERROR_COMPILATION". */
    public String errorString(int code) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(code);
            return s.equals(MemorySegment.NULL) ? "nvrtcResult " + code : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "nvrtcResult " + code;
        }
    }

    private static List<String> querySupportedArchs(Linker linker, SymbolLookup lib) {
        // nvrtcGetNumSupportedArchs / nvrtcGetSupportedArchs exist since CUDA 11.2; treat their absence as "unknown".
        var num = lib.find("nvrtcGetNumSupportedArchs");
        var get = lib.find("nvrtcGetSupportedArchs");
        if (num.isEmpty() || get.isEmpty()) return List.of();
        try (Arena a = Arena.ofConfined()) {
            MethodHandle numH = linker.downcallHandle(num.get(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MethodHandle getH = linker.downcallHandle(get.get(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MemorySegment count = a.allocate(JAVA_INT);
            if ((int) numH.invokeExact(count) != NVRTC_SUCCESS) return List.of();
            int n = count.get(JAVA_INT, 0);
            if (n <= 0 || n > 1000) return List.of();
            MemorySegment arr = a.allocate(JAVA_INT, n);
            if ((int) getH.invokeExact(arr) != NVRTC_SUCCESS) return List.of();
            List<String> out = new ArrayList<>();
            for (int i = 0; i < n; i++) out.add("sm_" + arr.getAtIndex(JAVA_INT, i));
            return List.copyOf(out);
        } catch (Throwable t) {
            return List.of();
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "could not be loaded";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
