package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.check.Frontend;
import tmc.check.TypedBlock;

/** The golden data of test-data/golden (made by scripts/golden/make_golden.py): its manifest and cases. */
final class Golden {
    private Golden() {}

    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));
    static final Path DIR = REPO.resolve("test-data/golden");

    record Case(String block, String file, Map<String, Long> params, String dtype, Map<String, Integer> shape, long seed,
                String dir, List<String> inputs, List<String> weights, List<String> outputs, boolean torch_state) {
        Path path() {
            return DIR.resolve(dir);
        }

        String name() {
            return dir + " (" + block + ", " + dtype + ", N=" + shape.get("N") + ",H=" + shape.get("H") + ",W="
                    + shape.get("W") + (params.isEmpty() ? "" : ", " + params) + ")";
        }

        TypedBlock typed() {
            Frontend.Checked c = Frontend.checkFile(REPO.resolve(file), params, Set.of("sm_80", "sm_86", "sm_89", "sm_90"));
            assertTrue(c.ok(), () -> file + " does not check: " + c.diagnostics().sorted());
            return c.program().block(block).orElseThrow(() -> new AssertionError(file + " has no block " + block));
        }

        Map<String, Tensor> read(List<String> names) {
            try {
                Map<String, Tensor> m = Tensors.readDir(path(), names);
                assertTrue(m.keySet().containsAll(names), () -> path() + " lacks some of " + names);
                return m;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    record Manifest(String command, String torch, String torch_package, String numpy, List<Case> cases) {}

    static Manifest manifest() {
        try {
            return new Gson().fromJson(Files.readString(DIR.resolve("MANIFEST.json")), Manifest.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
