package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tmc.api.CompiledProgram;
import tmc.ir.Instr;
import tmc.ir.Kernel;

/**
 * The store of mma accumulators through a shared buffer that nothing reads after the stream loop (Instr.Store's
 * staging): whole 16-byte pieces of pixel rows instead of 4-byte pairs. Correctness on the GPU: tmc verify.
 */
class StagedStoreTest {

    static Instr.Store storeOf(Kernel k) {
        // The last instruction, also when the block loops over its images.
        return Instr.flatten(k.body()).filter(i -> i instanceof Instr.Store).map(i -> (Instr.Store) i).reduce((a, b) -> b)
                .orElseThrow();
    }

    @Test
    void convFirstStoresThroughTheConvOutputBufferWhenItIsShared() {
        CompiledProgram p = DoubleBufferingTest.program(tmc.api.Tmc.compileText("convfirst.tm",
                DoubleBufferingTest.sampleText("convfirst.tm").replaceAll("place  a in registers[^\n]*", "place  a in shared"), tmc.api.Tmc.Options.DEFAULTS),
                "convfirst.tm", "fused");
        Kernel k = p.program().kernels().getFirst();
        Instr.Store st = storeOf(k);
        // a_s is last read by the chain inside the loop; x_s is read after it (the residual), so it is not taken.
        assertEquals("a_s", st.staging().name());
        String src = p.source();
        assertTrue(src.contains("__half* const y_acc_stage = reinterpret_cast<__half*>(a_s);"), src);
        assertTrue(src.contains("*reinterpret_cast<uint4*>(y + ((size_t)(n * H + gh) * W + gw) * 64 + c) = "
                + "*reinterpret_cast<const uint4*>(y_acc_stage + p * 72 + c);"), src);
        // One barrier between the fragment writes and the copy-out, after the loop's own last barrier.
        String tail = src.substring(src.indexOf("// store y_acc"));
        assertEquals(1, tail.split("__syncthreads\\(\\);", -1).length - 1, tail);
    }

    @Test
    void withOnlyStreamedWeightsFreeTheStoreGoesThroughTheirDoubleBuffer() {
        // The sample keeps a in registers: the free shared memory after the loop is w1's double-buffered slice,
        // 2 x 64 x 72 halves = 128 pixel rows of 72 exactly.
        CompiledProgram p = DoubleBufferingTest.compile("convfirst.tm", "fused", tmc.api.Tmc.Options.DEFAULTS);
        Instr.Store st = storeOf(p.program().kernels().getFirst());
        assertEquals("w1_s", st.staging().name());
        assertEquals(2, st.staging().stages());
        assertTrue(p.source().contains("__half* const y_acc_stage = reinterpret_cast<__half*>(w1_s_buf);"), p.source());
    }

    @Test
    void withoutAFreeBufferTheFragmentsAreStoredDirectly() {
        // The only shared activation is x, which the residual reads after the loop; two images per block stage the
        // weights once for both, so no slice is free either.
        String withResidual = RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core").replace("tile N 1,", "tile N 2,");
        Kernel k = RegisterChainTest.compiled(withResidual).program().kernels().getFirst();
        assertNull(storeOf(k).staging());
        assertFalse(RegisterChainTest.compiled(withResidual).source().contains("_stage"));
        // With one image per block, w1's streamed slice is free after the loop.
        String oneImage = withResidual.replace("tile N 2,", "tile N 1,");
        assertEquals("w1_s", storeOf(RegisterChainTest.compiled(oneImage).program().kernels().getFirst()).staging().name());
        // Without the residual, x is free after the loop and carries the store (activations first).
        String noResidual = oneImage.replace("y = pointwise(h, w2) + x", "y = pointwise(h, w2)");
        Kernel k2 = RegisterChainTest.compiled(noResidual).program().kernels().getFirst();
        assertEquals("x_s", storeOf(k2).staging().name());
    }
}
