package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.check.PlanSpec;
import tmc.diag.Diagnostic;
import tmc.ir.Buffer;
import tmc.ir.Kernel;

/**
 * {@code place W in global} for a weight: a CUDA-core conv reads it from global memory instead of a staged copy (the
 * register-blocked depthwise conv too), which frees ConvNeXt's 9.4 KB of tap-major weights; with shared buffers
 * packed by lifetime in every order, ConvNeXt's fused kernel then fits 4 blocks per SM ({@code resident 4}).
 * A tensor-core layer's weight is refused there. (Before, the directive was accepted and ignored.)
 */
class WeightInGlobalTest {
    static String convNeXt(String extra) throws Exception {
        String s = Files.readString(tmc.Repo.path("samples", "convnext.tm"));
        int i = s.indexOf("plan fused for ConvNeXt");
        int j = s.indexOf("}", i) + 1;
        String plan = s.substring(i, j).replace("plan fused for", "plan g for").replace("\n}", "\n" + extra + "}");
        return s + "\n" + plan + "\n";
    }

    static Tmc.Outcome compile(String text, String plan) {
        Tmc.Compilation comp = Tmc.compileText("cnx.tm", text, Tmc.Options.DEFAULTS.withArch("sm_90"));
        assertTrue(comp.ok(), comp.report());
        return comp.compile(plan);
    }

    static boolean staged(Kernel k, String weight) {
        return k.buffers().stream().anyMatch(b -> b.tensor().equals(weight) && b.space() == PlanSpec.Space.SHARED);
    }

    @Test
    void theDepthwiseWeightStaysInGlobalAndConvNeXtFitsFourBlocks(@TempDir Path dir) throws Exception {
        Kernel fused = ((Tmc.Outcome.Compiled) compile(convNeXt(""), "fused")).program().program().kernels().getFirst();
        assertTrue(staged(fused, "wd"));
        CompiledProgram g = ((Tmc.Outcome.Compiled) compile(convNeXt("  place  wd in global\n  resident 4\n"), "g"))
                .program();
        Kernel k = g.program().kernels().getFirst();
        assertFalse(staged(k, "wd"), k.buffers().stream().map(Buffer::name).toList().toString());
        // x 14x14 dies with the depthwise conv; a, n and the two double-buffered slices are what is live together
        long slices = k.buffers().stream().filter(b -> b.tensor().equals("w1") || b.tensor().equals("w2"))
                .mapToLong(Buffer::bytes).sum();
        long tile = k.buffers().stream().filter(b -> b.tensor().equals("a")).mapToLong(Buffer::bytes).sum();
        assertEquals(slices + 2 * tile, k.sharedBytes(), "the least the lifetimes allow");
        assertEquals(4, tmc.plan.Budgets.occupancy(k, tmc.target.Targets.builtin().get("sm_90").orElseThrow())
                .blocksPerSm());
        // the register-blocked depthwise conv, reading each channel pair's tap from the weight in global memory
        String src = g.source();
        assertTrue(src.contains("const float2 wv = make_float2(tm_f32(wd[(size_t)(0 + c0) * 49 + tap]), "
                + "tm_f32(wd[(size_t)(0 + c0 + 1) * 49 + tap]));"), src);
        assertFalse(src.contains("wd_s"));
        Nvcc nvcc = Nvcc.find().orElse(null);
        Assumptions.assumeTrue(nvcc != null, "nvcc not found");
        Path cu = dir.resolve(g.fileName());
        Files.writeString(cu, src);
        Nvcc.Usage u = nvcc.compile(cu, "sm_90").get(k.name());
        assertTrue(u.registers() <= k.registerLimit(), u.toString());
        assertEquals(0, u.spillAndStackBytes(), u.toString());
    }

    @Test
    void aTensorCoreLayersWeightInGlobalIsRefusedAtTheDirective() throws Exception {
        String text = convNeXt("  place  w1 in global\n");
        Tmc.Outcome o = compile(text, "g");
        assertTrue(o instanceof Tmc.Outcome.Refused, o.toString());
        Diagnostic d = ((Tmc.Outcome.Refused) o).why();
        int line = (int) text.lines().takeWhile(l -> !l.contains("place  w1 in global")).count() + 1;
        assertEquals(line, d.span().line());
        assertTrue(d.message().contains("weight 'w1' cannot stay in global memory"), d.message());
        assertTrue(d.hint().contains("place 'w1' in shared"), d.hint());
    }

    /** Inside a stream loop the depthwise conv's channels are the chunk's: the weight is indexed from e0. */
    @Test
    void aStreamedDepthwiseWeightInGlobalIsIndexedFromTheChunk() throws Exception {
        String s = Files.readString(tmc.Repo.path("samples", "mbconv_dw.tm"));
        int i = s.indexOf("plan fused for MBConvDW");
        int j = s.indexOf("}", i) + 1;
        String text = s + "\n" + s.substring(i, j).replace("plan fused for", "plan g for")
                .replace("\n}", "\n  place  wd in global\n}") + "\n";
        CompiledProgram g = ((Tmc.Outcome.Compiled) compile(text, "g")).program();
        Kernel k = g.program().kernels().getFirst();
        assertFalse(staged(k, "wd"));
        assertTrue(g.source().contains("tm_f32(wd[(size_t)(e0 + c0) * 9 + tap]), tm_f32(wd[(size_t)(e0 + c0 + 1) * 9 + tap])"),
                g.source());
    }
}

