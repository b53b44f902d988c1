package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The files under generated/ are what the code renders today: a change of the planner shows in review. */
class GeneratedFreshnessTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    @Test
    void generatedFilesAreFresh() {
        List<Path> stale = Generated.stale(REPO);
        assertTrue(stale.isEmpty(), "stale or missing generated files: " + stale
                + "\nRegenerate them with: bin/regen   (then commit generated/)");
    }

    @Test
    void everySampleHasAPlanReport() {
        Map<Path, String> files = Generated.render(REPO);
        for (Path sample : Generated.samples(REPO)) {
            String name = sample.getFileName().toString().replace(".tm", "");
            String text = files.get(Path.of("generated", name, "plan.txt"));
            assertTrue(text != null && text.startsWith("# tmc plan samples/" + name + ".tm --arch sm_90"), name);
            assertTrue(text.contains("ir:"), name);
            assertFalse(text.contains("refused"), name + " has a refused plan:\n" + text);
            assertFalse(text.contains(REPO.toAbsolutePath().toString()), name + " depends on where the checkout is");
        }
    }
}
