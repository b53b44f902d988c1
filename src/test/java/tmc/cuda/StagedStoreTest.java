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
        return (Instr.Store) k.body().getLast();
    }

    @Test
    void convFirstStoresThroughTheConvOutputBuffer() {
        CompiledProgram p = DoubleBufferingTest.compile("convfirst.tm", "fused", tmc.api.Tmc.Options.DEFAULTS);
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
    void withoutAFreeBufferTheFragmentsAreStoredDirectly() {
        // The only shared activation is x, which the residual reads after the loop.
        String withResidual = RegisterChainTest.mlp("", "H 8, W 16", 8, "tensor_core");
        Kernel k = RegisterChainTest.compiled(withResidual).program().kernels().getFirst();
        assertNull(storeOf(k).staging());
        assertFalse(RegisterChainTest.compiled(withResidual).source().contains("_stage"));
        // Without the residual, x is free after the loop and carries the store.
        String noResidual = withResidual.replace("y = pointwise(h, w2) + x", "y = pointwise(h, w2)");
        Kernel k2 = RegisterChainTest.compiled(noResidual).program().kernels().getFirst();
        assertEquals("x_s", storeOf(k2).staging().name());
    }
}
