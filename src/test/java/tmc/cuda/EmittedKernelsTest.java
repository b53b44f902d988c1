package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.cli.Generated;
import tmc.ir.Kernel;
import tmc.runtime.CompileOptions;
import tmc.runtime.Cubin;
import tmc.runtime.Nvrtc;
import tmc.runtime.Result;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * Every plan of every sample, planned for sm_80 and sm_90, compiles with nvcc and NVRTC, and ptxas's resource
 * report agrees with the plan: no spills, no local memory, registers within the limit the plan set through
 * __launch_bounds__, no static shared memory (all of it is the dynamic size the plan computed), and that size
 * within the target's opt-in limit.
 */
class EmittedKernelsTest {
    static final List<String> ARCHS = List.of("sm_80", "sm_90");
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    record Case(String arch, CompiledProgram program) {}

    static List<Case> cases;

    @BeforeAll
    static void compileSamples() {
        cases = new ArrayList<>();
        for (String arch : ARCHS) {
            for (Path sample : Generated.samples(REPO)) {
                Tmc.Compilation c = Tmc.compile(sample, Tmc.Options.DEFAULTS.withArch(arch));
                assertTrue(c.ok(), c.report());
                for (Tmc.Outcome o : c.compileAll()) {
                    switch (o) {
                        case Tmc.Outcome.Compiled p -> cases.add(new Case(arch, p.program()));
                        // 'math wgmma' plans exist for sm_90 only; elsewhere they are refused at the math directive.
                        case Tmc.Outcome.Refused r when !arch.equals("sm_90") && r.why().message().contains("wgmma") -> { }
                        case Tmc.Outcome.Refused r -> fail(sample + " on " + arch + ": " + r.why().headline());
                    }
                }
            }
        }
        assertTrue(cases.size() >= 2 * 16, "every sample plan on both targets: " + cases.size());
        assertTrue(cases.stream().filter(c -> c.program().manifest().arch().equals("sm_90a")).count() >= 4,
                "the samples' wgmma plans, compiled for sm_90a");
    }

    @Test
    void nvccCompilesEveryKernelWithinThePlannedResources() throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        if (nvcc == null) {
            String msg = "SKIPPED: nvcc not found (set CUDA_HOME or install the CUDA toolkit under /usr/local/cuda*): "
                    + "the emitted kernels were not compiled";
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        Path dir = Files.createTempDirectory("tmc-nvcc-");
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            List<Future<String>> checks = new ArrayList<>();
            for (Case c : cases) checks.add(pool.submit(() -> check(nvcc, dir, c)));
            List<String> problems = new ArrayList<>();
            for (Future<String> f : checks) {
                String p = f.get();
                if (!p.isEmpty()) problems.add(p);
            }
            assertTrue(problems.isEmpty(), String.join("\n", problems));
        } finally {
            pool.shutdownNow();
        }
    }

    private static String check(Nvcc nvcc, Path dir, Case c) throws Exception {
        Path src = dir.resolve(c.arch() + "_" + c.program().fileName());
        Files.writeString(src, c.program().source());
        // The manifest's arch: the target's, or sm_90a for kernels that use wgmma.
        Map<String, Nvcc.Usage> report = nvcc.compile(src, c.program().manifest().arch());
        Target target = Targets.builtin().get(c.arch()).orElseThrow();
        StringBuilder problems = new StringBuilder();
        // a kernel author compiling the emitted file sees no warnings (unused constants and variables were the ones)
        report.values().stream().findFirst().filter(u -> !u.sourceWarnings().isEmpty()).ifPresent(u ->
                problems.append(c.arch()).append(" ").append(c.program().fileName()).append(": nvcc warns ")
                        .append(u.sourceWarnings()).append('\n'));
        for (Kernel k : c.program().program().kernels()) {
            Nvcc.Usage u = report.get(k.name());
            String where = c.arch() + " " + k.name() + ": ";
            if (u == null) {
                problems.append(where).append("no ptxas report (entry missing)\n");
                continue;
            }
            if (u.spillAndStackBytes() != 0) {
                problems.append(where).append("spills ").append(u).append('\n');
            }
            if (u.registers() > k.registerLimit()) {
                problems.append(where).append(u.registers()).append(" registers, plan allows ").append(k.registerLimit())
                        .append('\n');
            }
            if (u.staticShared() != 0) problems.append(where).append("static shared memory ").append(u).append('\n');
            // A fence missing before a wgmma, or wgmma serialized by ptxas, would be a slow (or wrong) kernel.
            if (!u.wgmmaNotes().isEmpty()) problems.append(where).append(u.wgmmaNotes()).append('\n');
            if (k.sharedBytes() > target.sharedPerBlockOptIn()) {
                problems.append(where).append(k.sharedBytes()).append(" B shared over the target's ")
                        .append(target.sharedPerBlockOptIn()).append('\n');
            }
        }
        return problems.toString();
    }

    @Test
    void nvrtcCompilesEveryProgramForItsArch() {
        Result<Nvrtc> r = Nvrtc.load();
        if (r instanceof Result.Err<Nvrtc> err) {
            String msg = "SKIPPED: NVRTC not found (scripts/dev/install-nvrtc.sh): " + err.problem().what();
            System.out.println(msg);
            Assumptions.abort(msg);
        }
        Nvrtc nvrtc = ((Result.Ok<Nvrtc>) r).value();
        for (Case c : cases) {
            String arch = c.program().manifest().arch();
            Result<Cubin> cubin = nvrtc.compile(c.program().fileName(), c.program().source(), CompileOptions.forArch(arch));
            switch (cubin) {
                case Result.Ok<Cubin> ok -> assertEquals(c.arch(), "sm_" + ok.value().elfSm().orElse(-1), c.program().name());
                case Result.Err<Cubin> e -> fail(c.arch() + " " + c.program().name() + ":\n" + e.problem().render());
            }
        }
    }

    @Test
    void everyEntryOfTheManifestIsAKernelOfTheSource() {
        for (Case c : cases) {
            for (Manifest.KernelEntry k : c.program().manifest().kernels()) {
                assertTrue(c.program().source().contains("\n" + k.entry() + "("), k.entry());
                assertFalse(k.params().isEmpty());
            }
            assertEquals(Manifest.sha256(c.program().source()), c.program().manifest().sourceSha256());
        }
    }

    /**
     * The comment on each shared buffer says what a kernel author needs to index it: an activation as pixels
     * (with its halo) and channels, a weight slice as rows and columns of the weight with the padded row stride.
     * Weight slices were once described as "4x14 pixels", the tile's width dividing the row count, and declared
     * constants W1_S_W and W1_S_PIXELS; now W1_S_ROWS.
     */
    @Test
    void sharedBufferCommentsDescribeWeightSlicesByRowsAndColumns() {
        java.util.regex.Pattern decl = java.util.regex.Pattern.compile(
                "\\* (\\w+)(?:_buf)? = reinterpret_cast<[^>]+>\\(smem \\+ \\d+\\);  // (\\w+): (.*)");
        int weightSlices = 0;
        for (Case c : cases) {
            java.util.Set<String> weights = new java.util.HashSet<>();
            c.program().manifest().weights().forEach(t -> weights.add(t.name()));
            for (String t : weights) {
                // nor do a weight slice's constants speak of the tile: rows and the padded stride
                assertFalse(c.program().source().contains(" " + t.toUpperCase(java.util.Locale.ROOT) + "_S_W = "), t);
            }
            for (String line : c.program().source().lines().toList()) {
                java.util.regex.Matcher m = decl.matcher(line.strip());
                if (!m.find()) continue;
                String tensor = m.group(2), what = m.group(3);
                String where = c.program().manifest().plan() + " " + c.arch() + ": " + line.strip();
                if (weights.contains(tensor)) {
                    assertFalse(what.contains("pixels"), where);
                    if (!what.contains("core matrices")) {
                        assertTrue(what.matches("(2 copies of )?\\d+ rows x \\d+ columns( \\(rows padded to \\d+\\))?, \\d+ B.*"), where);
                        weightSlices++;
                    }
                } else {
                    assertTrue(what.contains("pixels"), where);
                }
            }
        }
        assertTrue(weightSlices > 20, "weight slices seen: " + weightSlices);
        // MBConv's narrow plan (C=64): the expand's slice is a chunk of 64 rows of w1[E, C], padded to 72.
        Case narrow = cases.stream().filter(c -> c.arch().equals("sm_90")
                && c.program().manifest().plan().equals("narrow")).findFirst().orElseThrow();
        assertTrue(narrow.program().source().contains("// w1: 64 rows x 64 columns (rows padded to 72), 9216 B (line 7)"),
                narrow.program().source());
    }
}
