package tmc.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds nvcc and compiles emitted sources to cubins, returning ptxas's resource report per kernel. */
final class Nvcc {
    /** What ptxas reports for one entry function. */
    record Usage(String entry, String arch, int registers, int stackFrame, int spillStores, int spillLoads,
                 int staticShared, List<String> wgmmaNotes, List<String> sourceWarnings) {
        Usage(String entry, String arch, int registers, int stackFrame, int spillStores, int spillLoads, int staticShared) {
            this(entry, arch, registers, stackFrame, spillStores, spillLoads, staticShared, List.of(), List.of());
        }

        /** Spill stores and loads and the stack frame, in bytes: zero for a kernel that fits its registers. */
        int spillAndStackBytes() {
            return spillStores + spillLoads + stackFrame;
        }
    }

    private final Path nvcc;

    private Nvcc(Path nvcc) {
        this.nvcc = nvcc;
    }

    /** CUDA_HOME, then /usr/local/cuda*, newest first. */
    static Optional<Nvcc> find() {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) candidates.add(Path.of(home, "bin", "nvcc"));
        try (var dirs = Files.list(Path.of("/usr/local"))) {
            dirs.filter(d -> d.getFileName().toString().startsWith("cuda"))
                    .sorted(Comparator.comparing((Path d) -> d.getFileName().toString()).reversed())
                    .forEach(d -> candidates.add(d.resolve("bin/nvcc")));
        } catch (IOException ignored) {
            // no /usr/local: no nvcc
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().map(Nvcc::new);
    }

    Path path() {
        return nvcc;
    }

    /** Compiles {@code source} for {@code arch}; returns the report per entry, or throws with nvcc's output. */
    Map<String, Usage> compile(Path source, String arch) throws IOException, InterruptedException {
        Path cubin = Files.createTempFile("tmc-", ".cubin");
        try {
            Process p = new ProcessBuilder(nvcc.toString(), "-cubin", "-arch=" + arch, "-Xptxas", "-v",
                    "-o", cubin.toString(), source.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("nvcc timed out on " + source);
            }
            if (p.exitValue() != 0) throw new IOException("nvcc failed on " + source + " for " + arch + ":\n" + out);
            return parse(out, arch);
        } finally {
            Files.deleteIfExists(cubin);
        }
    }

    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '([^']+)' for '([^']+)'");
    private static final Pattern FRAME = Pattern.compile(
            "(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern REGS = Pattern.compile("Used (\\d+) registers");
    private static final Pattern WARNING = Pattern.compile("\\bwarning #\\d+");
    private static final Pattern SMEM = Pattern.compile("(\\d+) bytes smem");

    /**
     * ptxas's notes on wgmma, which name the function they concern: a warpgroup.arrive it had to inject (C7519: a
     * register an in-flight wgmma uses was touched without a wgmma.fence) or wgmma instructions it serialized (C7510).
     */
    private static final Pattern WGMMA_NOTE = Pattern.compile("(?i)(?:wgmma|gmma|warpgroup).*function '([^']+)'");

    /**
     * Parses the -Xptxas -v lines: an entry line, then its frame line, then its register line; ptxas's notes on
     * wgmma anywhere in the output; and the front end's warnings ("warning #177-D: ..."), given to every entry.
     */
    static Map<String, Usage> parse(String report, String arch) {
        // the front end's warnings on the source (an unused variable, ...), which concern the whole file
        List<String> warnings = report.lines().filter(l -> WARNING.matcher(l).find()).map(String::strip).toList();
        Map<String, List<String>> notes = new LinkedHashMap<>();
        for (String line : report.split("\n")) {
            Matcher m = WGMMA_NOTE.matcher(line);
            if (m.find()) notes.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(line.strip());
        }
        Map<String, Usage> out = new LinkedHashMap<>();
        String entry = null;
        int[] frame = null;
        for (String line : report.split("\n")) {
            Matcher e = ENTRY.matcher(line);
            if (e.find()) {
                entry = e.group(1);
                frame = null;
                continue;
            }
            Matcher f = FRAME.matcher(line);
            if (f.find() && entry != null) {
                frame = new int[] {Integer.parseInt(f.group(1)), Integer.parseInt(f.group(2)), Integer.parseInt(f.group(3))};
                continue;
            }
            Matcher r = REGS.matcher(line);
            if (r.find() && entry != null && frame != null) {
                Matcher s = SMEM.matcher(line);
                int smem = s.find() ? Integer.parseInt(s.group(1)) : 0;
                out.put(entry, new Usage(entry, arch, Integer.parseInt(r.group(1)), frame[0], frame[1], frame[2], smem,
                        List.copyOf(notes.getOrDefault(entry, List.of())), warnings));
                entry = null;
            }
        }
        return out;
    }
}
