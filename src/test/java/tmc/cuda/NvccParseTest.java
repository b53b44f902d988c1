package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
