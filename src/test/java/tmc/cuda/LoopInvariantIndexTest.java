package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * Index arithmetic kept out of the stream loop: the rows of a staged halo buffer that lie inside the image are
 * computed once per thread (KernelWriter.hoistRowMasks), and each thread copies a weight slice down the rows of one
 * column (KernelWriter.columnCopies), with no division per copy. Read from generated/ (GeneratedFreshnessTest keeps it what the
 * emitter writes); ptxas and the GPU check the kernels elsewhere (CudaCompileTest, tmc verify).
 */
class LoopInvariantIndexTest {

    private static String generated(String sample, String file) throws IOException {
        return Files.readString(tmc.Repo.path("generated", sample, file));
    }

    /** The text from the stream loop's head to the end of the kernel. */
    private static String loopOf(String cu, String head) {
        int i = cu.indexOf(head);
        assertTrue(i >= 0, "no '" + head + "'");
        return cu.substring(i);
    }

    @Test
    void theExpandsRowsInsideTheImageAreComputedOnceBeforeTheStreamLoop() throws IOException {
        String cu = generated("mbconv", "MBConv_rows.cu");
        int mask = cu.indexOf("unsigned h1_s_inside_rows = 0u;");
        int loop = cu.indexOf("for (int e0 = 0;");
        assertTrue(mask > 0 && mask < loop, "the mask is declared before the stream loop");
        String body = loopOf(cu, "for (int e0 = 0;");
        assertTrue(body.contains("unsigned inside_rows = h1_s_inside_rows;"), body);
        assertTrue(body.contains("inside_rows >>= 4)"), "2 row tiles of 2 rows per block: 4 bits a block");
        assertTrue(body.contains("const bool inside = (inside_rows >> (mi * 2 + rh)) & 1u;"), body);
        // the expand's halo region is 30 pixels wide: no pixel of it is divided into rows inside the loop any more
        assertFalse(body.contains("p / 30"), "the halo geometry left the loop");
    }

    @Test
    void aWarpSpecializedProducerComputesItsMaskBeforeItsTrips() throws IOException {
        String cu = generated("mbconv", "MBConv_specialized.cu");
        int producer = cu.indexOf("// producer: warps 0-3");
        int mask = cu.indexOf("unsigned h1_s_inside_rows = 0u;");
        int trips = cu.indexOf("for (int trip = 0;", producer);
        assertTrue(producer > 0 && producer < mask && mask < trips, "inside the producer's branch, before its loop");
        // its warps are numbered from 0 on the producer side; the consumer side has no staged epilogue of its own
        assertEquals(1, cu.split("_inside_rows = 0u;", -1).length - 1);
    }

    @Test
    void weightCopiesStepDownAFixedColumnWhereTheThreadsDivideTheRows() throws IOException {
        String cu = generated("mbconv", "MBConv_rows.cu");
        String body = loopOf(cu, "for (int e0 = 0;");
        // w1's slice: 64 columns = 8 copies a row, 224 threads: 28 rows a step
        assertTrue(body.contains("const int row0 = tid / 8, col = (tid % 8) * 8;  // rows row0, row0 + 28, ..."), body);
        assertTrue(body.contains("if (row < 64)"), "64 rows are not a multiple of 28: the last step is guarded");
        // wd's slice: 72 columns = 9 copies a row, which 224 threads do not divide: 216 of them copy, 24 rows a step
        assertTrue(body.contains("if (tid < 216) {"), body);
        assertTrue(body.contains("const int row0 = tid / 9, col = (tid % 9) * 8;  // rows row0, row0 + 24, ... (216 threads"),
                body);
        assertFalse(body.contains("i / 9"), "no copy divides its index in the loop");
    }

    @Test
    void aDepthwiseWeightIsTransposedOneChannelPerThread() throws IOException {
        // ConvNeXt's 7x7 weight, 96 channels, 128 threads: 96 threads each copy their channel's 49 taps
        String cu = generated("convnext", "ConvNeXt_fused.cu");
        assertTrue(cu.contains("if (tid < 96) {"), cu);
        assertTrue(cu.contains("wd_s[row * 96 + col] = wd[(size_t)(0 + col) * 49 + row];"), cu);
        assertFalse(cu.contains("i / 96"), "no division per element");
        // MBConvDW's streamed 3x3 weight: 256 threads, 64 channels a chunk: 4 taps a step, 3 steps for 9 taps
        String dw = generated("mbconv_dw", "MBConvDW_fused.cu");
        assertTrue(dw.contains("const int row0 = tid / 64, col = tid % 64;  // rows row0, row0 + 4, ..."), dw);
        assertTrue(dw.contains("wd_s[row * 64 + col] = wd[(size_t)(e0 + col) * 9 + row];"), dw);
    }
}
