package tmc.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The declarations the kernel writer emits only where the code turns out to use them. */
class CodeWriterTest {
    @Test
    void dropsTheConstantsTheCodeNeverNames() {
        CodeWriter w = new CodeWriter();
        w.open("void f()");
        int from = w.mark();
        w.line("constexpr int THREADS = 128;");
        w.line("constexpr int X_S_W = 10, X_S_PIXELS = 100, X_S_STRIDE = 72;");
        w.line("constexpr int W1_S_ROWS = 32, W1_S_STRIDE = 72;");
        w.line("constexpr int W1_S_COPY = 2304;  // elements per copy of the double buffer");
        int to = w.mark();
        w.line("// X_S_PIXELS is named in a comment only, W1_S_ROWS nowhere");
        w.line("use(THREADS, X_S_W * X_S_STRIDE, W1_S_STRIDE + W1_S_COPY);");
        w.dropUnusedConstants(from, to);
        w.close();
        assertEquals("""
                void f() {
                    constexpr int THREADS = 128;
                    constexpr int X_S_W = 10, X_S_STRIDE = 72;
                    constexpr int W1_S_STRIDE = 72;
                    constexpr int W1_S_COPY = 2304;  // elements per copy of the double buffer
                    // X_S_PIXELS is named in a comment only, W1_S_ROWS nowhere
                    use(THREADS, X_S_W * X_S_STRIDE, W1_S_STRIDE + W1_S_COPY);
                }
                """, w.toString());
    }

    @Test
    void aLineWithNoConstantLeftGoes() {
        CodeWriter w = new CodeWriter();
        int from = w.mark();
        w.line("constexpr int A_S_W = 8, A_S_PIXELS = 64;");
        w.line("constexpr int B = 1;");
        int to = w.mark();
        w.line("g(B);");
        w.dropUnusedConstants(from, to);
        assertEquals("constexpr int B = 1;\ng(B);\n", w.toString());
    }

    @Test
    void usesAreWholeWordsOutsideComments() {
        CodeWriter w = new CodeWriter();
        int at = w.mark();
        w.line("x = w1_s_buf[c0];  // oc and w1_s in a comment");
        assertTrue(w.usedSince(at, "c0"));
        assertFalse(w.usedSince(at, "c"), "c0 is not c");
        assertFalse(w.usedSince(at, "w1_s"), "w1_s_buf is not w1_s, and comments do not count");
        assertFalse(w.usedSince(at, "oc"));
    }
}
