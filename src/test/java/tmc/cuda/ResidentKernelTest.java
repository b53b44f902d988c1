package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.ir.Kernel;
import tmc.plan.ResidentTest;

/**
 * A plan's {@code resident N} reaches ptxas: ConvFirst's 8x8 tiles of 4 warps, estimated at ~128 registers (4 blocks
 * per SM), compiled for 5 blocks fit the 96 registers that leaves without spills (the form measured 1.13x faster on
 * the H100 at N=128, docs/benchmarks.md, fourteenth session).
 */
class ResidentKernelTest {
    @Test
    void fiveBlocksOfConvFirstsSmallTilesFitWithoutSpills(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        String text = ResidentTest.convFirst(ResidentTest.PLAN.formatted(5));
        Tmc.Compilation comp = Tmc.compileText("cf.tm", text, Tmc.Options.DEFAULTS.withArch("sm_90")
                .withParams(Map.of("C", 64L)));
        assertTrue(comp.ok(), comp.report());
        CompiledProgram p = ((Tmc.Outcome.Compiled) comp.compile("small")).program();
        Kernel k = p.program().kernels().getFirst();
        assertTrue(k.registersPerThread() > k.registerLimit(), "the estimate alone would allow fewer blocks");
        Path cu = dir.resolve(p.fileName());
        Files.writeString(cu, p.source());
        Nvcc.Usage u = nvcc.compile(cu, "sm_90").get(k.name());
        assertEquals(96, k.registerLimit());
        assertTrue(u.registers() <= k.registerLimit(), u.toString());
        assertEquals(0, u.spillAndStackBytes(), u.toString());
    }

    /**
     * ConvFirst's `rows` (4x28, 7 warps) at 3 blocks per SM is held to 80 registers: tmc tune times it with the chain's
     * slices 32 channels wide (ptxas spilled 8 bytes) and 16 wide; the narrow form fits without spills.
     */
    @Test
    void rowsAtThreeBlocksWithNarrowSlicesFitsWithoutSpills(@TempDir Path dir) throws Exception {
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        Tmc.Compilation c = Tmc.compile(tmc.Repo.path("samples", "convfirst.tm"), Tmc.Options.DEFAULTS.withArch("sm_90"));
        tmc.check.TypedBlock block = c.program().block("ConvFirst").orElseThrow();
        var spec = c.program().plan("rows").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var shape = tmc.plan.LaunchShape.REFERENCE;
        var planned = (tmc.plan.Planner.Planned) tmc.plan.Planner.plan(block, spec, target, shape, Tmc.TUNED_CANDIDATES);
        var forms = tmc.plan.Planner.tuneForms(planned.chosen(), block, spec, target, shape, true, true);
        tmc.plan.Planner.Candidate narrow = forms.getLast();
        assertTrue(narrow.summary().endsWith(", resident 3, slices of 16"), narrow.summary());
        CompiledProgram p = Tmc.emit(new tmc.plan.Planner.Planned(spec, target, shape, narrow, planned.top(),
                planned.stats()).program(block), "convfirst.tm");
        Kernel k = p.program().kernels().getFirst();
        assertTrue(p.source().contains("for (int sl = 0; sl < 64; sl += 16) {"), "16 channels of h a slice");
        assertTrue(p.source().contains("__launch_bounds__(224, 3)"));
        Path cu = dir.resolve(p.fileName());
        Files.writeString(cu, p.source());
        Nvcc.Usage u = nvcc.compile(cu, "sm_90").get(k.name());
        assertEquals(80, k.registerLimit());
        assertTrue(u.registers() <= k.registerLimit(), u.toString());
        assertEquals(0, u.spillAndStackBytes(), u.toString());
    }
}
