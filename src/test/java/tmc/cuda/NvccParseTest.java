package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NvccParseTest {
    @Test
    void parsesEntriesFramesAndRegisters() {
        String report = """
                ptxas info    : 0 bytes gmem
                ptxas info    : Compiling entry function 'A_fused' for 'sm_90'
                ptxas info    : Function properties for A_fused
                    8 bytes stack frame, 4 bytes spill stores, 12 bytes spill loads
                ptxas info    : Used 80 registers, used 1 barriers, 8 bytes cumulative stack size
                ptxas info    : Compiling entry function 'B_L1' for 'sm_90'
                ptxas info    : Function properties for B_L1
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 32 registers, used 1 barriers, 1024 bytes smem, 452 bytes cmem[0]
                """;
        Map<String, Nvcc.Usage> u = Nvcc.parse(report, "sm_90");
        assertEquals(new Nvcc.Usage("A_fused", "sm_90", 80, 8, 4, 12, 0), u.get("A_fused"));
        assertEquals(new Nvcc.Usage("B_L1", "sm_90", 32, 0, 0, 0, 1024), u.get("B_L1"));
        assertEquals(2, u.size());
    }

    @Test
    void keepsPtxasNotesOnWgmmaWithTheFunctionTheyName() {
        // The two notes as ptxas 13 words them (the first seen on a hand-written test kernel that loaded A fragments
        // between two wgmma without a fence).
        String report = """
                ptxas info    : (C7519) warpgroup.arrive is injected in around line 692 by compiler to allow use of registers in GMMA in function 'A_wgmma'
                ptxas warning : (C7510) Potential Performance Loss: wgmma.mma_async instructions are serialized due to the presence of Extern calls in the function 'B_wgmma'
                ptxas info    : Compiling entry function 'A_wgmma' for 'sm_90a'
                ptxas info    : Function properties for A_wgmma
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 114 registers, used 1 barriers
                ptxas info    : Compiling entry function 'B_wgmma' for 'sm_90a'
                ptxas info    : Function properties for B_wgmma
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 90 registers, used 1 barriers
                ptxas info    : Compiling entry function 'C_fused' for 'sm_90a'
                ptxas info    : Function properties for C_fused
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 64 registers, used 1 barriers
                """;
        Map<String, Nvcc.Usage> u = Nvcc.parse(report, "sm_90a");
        assertEquals(1, u.get("A_wgmma").wgmmaNotes().size());
        assertTrue(u.get("A_wgmma").wgmmaNotes().getFirst().contains("C7519"));
        assertTrue(u.get("B_wgmma").wgmmaNotes().getFirst().contains("serialized"));
        assertEquals(List.of(), u.get("C_fused").wgmmaNotes());
        assertEquals(114, u.get("A_wgmma").registers());
    }

    @Test
    void keepsTheFrontEndsWarningsForEveryEntry() {
        // as nvcc 13 prints an unused variable (the emitted kernels once declared constants they never used)
        String report = """
                k.cu(158): warning #177-D: variable "WD_S_ROWS" was declared but never referenced
                      constexpr int WD_S_ROWS = 49, WD_S_STRIDE = 96;
                                    ^

                Remark: The warnings can be suppressed with "-diag-suppress <warning-number>"

                ptxas info    : Compiling entry function 'A_fused' for 'sm_90'
                ptxas info    : Function properties for A_fused
                    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
                ptxas info    : Used 80 registers, used 1 barriers
                """;
        Nvcc.Usage u = Nvcc.parse(report, "sm_90").get("A_fused");
        assertEquals(List.of("k.cu(158): warning #177-D: variable \"WD_S_ROWS\" was declared but never referenced"),
                u.sourceWarnings());
        assertTrue(Nvcc.parse(report.substring(report.indexOf("ptxas")), "sm_90").get("A_fused").sourceWarnings().isEmpty());
    }
}
