package tmc.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the library says when a plan cannot be compiled: the reason, never a misleading one. */
class CompilationTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    @Test
    void aFileThatFailedItsCheckSaysSoInsteadOfNoPlan(@TempDir Path dir) throws IOException {
        // convfirst.tm with an expression cut short on line 15: the file still has its plan 'fused'
        String text = Files.readString(REPO.resolve("samples/convfirst.tm"))
                .replace("h = silu(pointwise(a, w1) + b1)", "h = silu(pointwise(a, w1) + )");
        Path file = dir.resolve("broken.tm");
        Files.writeString(file, text);
        Tmc.Compilation c = Tmc.compile(file, Tmc.Options.DEFAULTS);
        assertFalse(c.ok());
        Tmc.Outcome o = c.compile("fused");
        Tmc.Outcome.Refused r = assertInstanceOf(o);
        String msg = r.why().message();
        assertTrue(msg.matches(".*broken\\.tm has \\d+ errors?, so no plan of it is compiled"), msg);
        assertFalse(msg.contains("no plan 'fused'"), msg);
        assertTrue(r.why().hint().contains("tmc check"), r.why().hint());
    }

    @Test
    void aCheckedFileStillNamesTheMissingPlan() {
        Tmc.Compilation c = Tmc.compile(REPO.resolve("samples/convfirst.tm"), Tmc.Options.DEFAULTS);
        assertTrue(c.ok(), c.report());
        Tmc.Outcome.Refused r = assertInstanceOf(c.compile("nope"));
        assertEquals("no plan 'nope' in " + REPO.resolve("samples/convfirst.tm"), r.why().message());
    }

    private static Tmc.Outcome.Refused assertInstanceOf(Tmc.Outcome o) {
        return org.junit.jupiter.api.Assertions.assertInstanceOf(Tmc.Outcome.Refused.class, o);
    }
}
