package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.ir.Kernel;

/**
 * Every sample's warp-specialized plan ('specialized', 4 + 4 warps) fits 2 blocks of 256 threads per SM, 128 registers
 * a thread, without spills, at the channel counts of the benchmark's configurations, in both 16-bit types, on every
 * built-in target. (One loop with a branch per side spilled at C = 128; the loop written once per side does not.)
 */
class WarpSpecializedKernelTest {
    record Config(String sample, long c) {}

    static final List<Config> CONFIGS = List.of(new Config("convfirst.tm", 64), new Config("convfirst.tm", 128),
            new Config("mbconv.tm", 64), new Config("mbconv.tm", 128), new Config("mbconv_dw.tm", 64),
            new Config("convnext.tm", 96));

    @Test
    void fitsTwoBlocksPerSmWithoutSpills(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        List<String> problems = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            List<Future<String>> checks = new ArrayList<>();
            for (Config cfg : CONFIGS) {
                String f16 = DoubleBufferingTest.sampleText(cfg.sample());
                for (String dtype : List.of("f16", "bf16")) {
                    String text = dtype.equals("f16") ? f16 : f16.replaceAll("\\bf16\\[", "bf16[");
                    for (String arch : List.of("sm_80", "sm_86", "sm_90")) {
                        String where = cfg.sample() + " C=" + cfg.c() + " " + dtype + " " + arch;
                        Tmc.Compilation comp = Tmc.compileText(cfg.sample(), text,
                                Tmc.Options.DEFAULTS.withArch(arch).withParams(Map.of("C", cfg.c())));
                        assertTrue(comp.ok(), comp.report());
                        Tmc.Outcome o = comp.compile("specialized");
                        assertTrue(o instanceof Tmc.Outcome.Compiled, where + ": " + o);
                        CompiledProgram p = ((Tmc.Outcome.Compiled) o).program();
                        Kernel k = p.program().kernels().getFirst();
                        assertEquals(256, k.threads(), where);
                        assertEquals(2, k.minBlocksPerSm(), where);
                        Path cu = dir.resolve(where.replaceAll("[^A-Za-z0-9_]", "_") + ".cu");
                        Files.writeString(cu, p.source());
                        checks.add(pool.submit(() -> {
                            Nvcc.Usage u = nvcc.compile(cu, arch).get(k.name());
                            String bad = "";
                            if (u.spillStores() + u.spillLoads() + u.stackFrame() != 0) bad += where + ": spills " + u + "\n";
                            if (u.registers() > k.registerLimit()) {
                                bad += where + ": " + u.registers() + " registers > " + k.registerLimit() + "\n";
                            }
                            return bad;
                        }));
                    }
                }
            }
            for (Future<String> f : checks) if (!f.get().isEmpty()) problems.add(f.get());
            assertEquals(CONFIGS.size() * 6, checks.size());
        } finally {
            pool.shutdownNow();
        }
        assertTrue(problems.isEmpty(), String.join("", problems));
    }
}
