package tmc.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where to look for libnvrtc and for the CUDA headers, in order. Pure: it reads the file system and the
 * environment map it is given, loads nothing (the {@link Nvrtc} loader tries the candidates one by one).
 *
 * <p>Order: {@code $TMC_NVRTC} (a file or a folder; when set, nothing else is tried, so a wrong value is
 * reported rather than silently ignored), then {@code $CUDA_HOME} and {@code $CUDA_PATH}, then
 * {@code /usr/local/cuda-X.Y} newest first and {@code /usr/local/cuda}, each in {@code targets/x86_64-linux/lib},
 * {@code lib64} and {@code lib}; last the dynamic loader's own path (LD_LIBRARY_PATH, ldconfig) by soname.
 */
final class NvrtcLocator {
    static final String ENV_LIBRARY = "TMC_NVRTC";
    static final String ENV_INCLUDE = "TMC_CUDA_INCLUDE";
    /** Sonames tried through the loader path, newest major first. */
    static final List<String> SONAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so");
    private static final Pattern LIB_NAME = Pattern.compile("libnvrtc\\.so(?:\\.(\\d+))?");
    private static final Pattern CUDA_DIR = Pattern.compile("cuda-(\\d+)\\.(\\d+)");
    private static final List<String> LIB_SUBDIRS = List.of("targets/x86_64-linux/lib", "lib64", "lib");
    private static final List<String> INCLUDE_SUBDIRS = List.of("targets/x86_64-linux/include", "include");
    static final String PROBE_HEADER = "cuda_fp16.h";

    /** One place to try: a file found on disk, or a soname for the dynamic loader to resolve. */
    sealed interface Candidate {
        record File(Path path, String source) implements Candidate {}

        record Soname(String name) implements Candidate {}

        default String describe() {
            return switch (this) {
                case File f -> f.path() + " (" + f.source() + ")";
                case Soname s -> s.name() + " (dynamic loader path)";
            };
        }
    }

    /** The candidates in order, or a problem when {@code $TMC_NVRTC} names something that is not there. */
    static Result<List<Candidate>> candidates(Map<String, String> env, Path usrLocal) {
        String override = env.getOrDefault(ENV_LIBRARY, "").strip();
        if (!override.isEmpty()) {
            Path p = Path.of(override);
            if (Files.isRegularFile(p)) return Result.ok(List.of(new Candidate.File(p, "$" + ENV_LIBRARY)));
            if (Files.isDirectory(p)) {
                List<Candidate> in = librariesIn(p, "$" + ENV_LIBRARY);
                if (!in.isEmpty()) return Result.ok(in);
                return Result.err(Problem.of(ENV_LIBRARY + "=" + override + " is a folder without libnvrtc.so*",
                        "point " + ENV_LIBRARY + " at libnvrtc.so.13 (or its folder), or unset it to search the usual places"));
            }
            return Result.err(Problem.of(ENV_LIBRARY + "=" + override + " does not exist",
                    "point " + ENV_LIBRARY + " at libnvrtc.so.13 (or its folder), or unset it to search the usual places"));
        }
        List<Candidate> out = new ArrayList<>();
        for (Root r : toolkitRoots(env, usrLocal)) {
            for (String sub : LIB_SUBDIRS) out.addAll(librariesIn(r.dir().resolve(sub), r.source()));
        }
        for (String s : SONAMES) out.add(new Candidate.Soname(s));
        return Result.ok(dedupe(out));
    }

    /**
     * The folder holding cuda_fp16.h: {@code $TMC_CUDA_INCLUDE}, else the toolkit the library came from, else any
     * toolkit root, else /usr/include. Empty when none has it (NVRTC then fails on the #include, and doctor says so).
     */
    static Optional<Path> includeDir(Map<String, String> env, Path usrLocal, Optional<Path> library) {
        String override = env.getOrDefault(ENV_INCLUDE, "").strip();
        if (!override.isEmpty()) {
            Path p = Path.of(override);
            return Files.isRegularFile(p.resolve(PROBE_HEADER)) ? Optional.of(p) : Optional.empty();
        }
        List<Path> dirs = new ArrayList<>();
        library.map(NvrtcLocator::realPath).ifPresent(lib -> {
            // .../targets/x86_64-linux/lib/libnvrtc.so.13 -> .../targets/x86_64-linux/include
            // .../cuda-13.0/lib64/libnvrtc.so.13          -> .../cuda-13.0/include
            Path libDir = lib.getParent();
            if (libDir != null && libDir.getParent() != null) {
                Path root = libDir.getParent();
                dirs.add(root.resolve("include"));
                for (String sub : INCLUDE_SUBDIRS) dirs.add(root.resolve(sub));
            }
        });
        for (Root r : toolkitRoots(env, usrLocal)) {
            for (String sub : INCLUDE_SUBDIRS) dirs.add(r.dir().resolve(sub));
        }
        dirs.add(Path.of("/usr/include"));
        return dirs.stream().filter(d -> Files.isRegularFile(d.resolve(PROBE_HEADER))).findFirst();
    }

    record Root(Path dir, String source) {}

    /** $CUDA_HOME, $CUDA_PATH, then /usr/local/cuda-X.Y newest first, then /usr/local/cuda. */
    static List<Root> toolkitRoots(Map<String, String> env, Path usrLocal) {
        List<Root> roots = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = env.getOrDefault(var, "").strip();
            if (!v.isEmpty()) roots.add(new Root(Path.of(v), "$" + var));
        }
        if (Files.isDirectory(usrLocal)) {
            try (Stream<Path> s = Files.list(usrLocal)) {
                s.map(p -> {
                            Matcher m = CUDA_DIR.matcher(p.getFileName().toString());
                            return m.matches() ? new Versioned(p, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))) : null;
                        })
                        .filter(v -> v != null)
                        .sorted(Comparator.comparingInt(Versioned::major).thenComparingInt(Versioned::minor).reversed())
                        .forEach(v -> roots.add(new Root(v.dir(), usrLocal + "/cuda-*")));
            } catch (IOException | RuntimeException ignored) {
                // An unreadable /usr/local only means fewer places to look.
            }
        }
        roots.add(new Root(usrLocal.resolve("cuda"), usrLocal + "/cuda"));
        return roots;
    }

    private record Versioned(Path dir, int major, int minor) {}

    /** libnvrtc.so.N files in a folder, highest N first, the unversioned name last. */
    private static List<Candidate> librariesIn(Path dir, String source) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> LIB_NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p))
                    .sorted(Comparator.comparingInt(NvrtcLocator::soMajor).reversed())
                    .<Candidate>map(p -> new Candidate.File(p, source))
                    .toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    private static int soMajor(Path p) {
        Matcher m = LIB_NAME.matcher(p.getFileName().toString());
        return m.matches() && m.group(1) != null ? Integer.parseInt(m.group(1)) : -1;
    }

    /** Drops a file reached twice (the /usr/local/cuda symlink, lib64 -> lib) so the "tried" list stays short. */
    private static List<Candidate> dedupe(List<Candidate> in) {
        Set<Object> seen = new LinkedHashSet<>();
        List<Candidate> out = new ArrayList<>();
        for (Candidate c : in) {
            Object key = switch (c) {
                case Candidate.File f -> realPath(f.path());
                case Candidate.Soname s -> s.name();
            };
            if (seen.add(key)) out.add(c);
        }
        return out;
    }

    static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException | RuntimeException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
