package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.ir.Kernel;

/**
 * The warp-specialized MBConv ('specialized', 4 + 4 warps) fits 2 blocks of 256 threads per SM, 128 registers a
 * thread, without spills, at the benchmark's channel counts and in both 16-bit types, on every built-in target.
 * One loop with a branch per side spilled at C = 128 (20 bytes); the loop written once per side does not.
 */
class WarpSpecializedKernelTest {
    @Test
    void fitsTwoBlocksPerSmWithoutSpills(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        String f16 = DoubleBufferingTest.sampleText("mbconv.tm");
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (String dtype : List.of("f16", "bf16")) {
            String text = dtype.equals("f16") ? f16 : f16.replaceAll("\\bf16\\[", "bf16[");
            for (long c : List.of(64L, 128L)) {
                for (String arch : List.of("sm_80", "sm_86", "sm_90")) {
                    Tmc.Compilation comp = Tmc.compileText("mbconv.tm", text,
                            Tmc.Options.DEFAULTS.withArch(arch).withParams(Map.of("C", c)));
                    assertTrue(comp.ok(), comp.report());
                    CompiledProgram p = ((Tmc.Outcome.Compiled) comp.compile("specialized")).program();
                    Kernel k = p.program().kernels().getFirst();
                    assertEquals(2, k.minBlocksPerSm(), dtype + " C=" + c + " " + arch);
                    Path cu = dir.resolve(dtype + "_" + c + "_" + arch + ".cu");
                    Files.writeString(cu, p.source());
                    Nvcc.Usage u = nvcc.compile(cu, arch).get(k.name());
                    String where = dtype + " C=" + c + " " + arch + ": ";
                    if (u.spillStores() + u.spillLoads() + u.stackFrame() != 0) problems.add(where + "spills " + u);
                    if (u.registers() > k.registerLimit()) {
                        problems.add(where + u.registers() + " registers > " + k.registerLimit());
                    }
                    checked++;
                }
            }
        }
        assertEquals(12, checked);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }
}
