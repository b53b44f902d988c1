package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.TypedBlock;

/**
 * The reference interpreter against PyTorch: every case of test-data/golden, with f32 and with f64 accumulation,
 * within the tolerances of docs/semantics.md ("Golden tolerances").
 */
class GoldenTest {
    /**
     * Per storage type S (the coarser of the output's dtype and the block's storage dtype): allowed |error| =
     * ulps * ulp_S(expected) + scaleUlps * ulp_S(rms of the expected output). docs/semantics.md has the reasoning.
     */
    static Compare.Tolerance tolerance(DType s) {
        return switch (s) {
            case F16, BF16 -> new Compare.Tolerance(s, 1, 1);
            case F32 -> new Compare.Tolerance(s, 64, 64);
        };
    }

    static DType coarser(DType a, DType b) {
        return Rounding.precisionBits(a) <= Rounding.precisionBits(b) ? a : b;
    }

    @TestFactory
    Stream<DynamicTest> everyCaseMatchesPyTorch() {
        return Golden.manifest().cases().stream().flatMap(c -> Stream.of(false, true).map(f64 ->
                DynamicTest.dynamicTest(c.name() + (f64 ? " f64 accumulation" : " f32 accumulation"), () -> {
                    TypedBlock b = c.typed();
                    Map<String, Tensor> outs = Interpreter.run(b, c.read(c.inputs()), c.read(c.weights()),
                            Interpreter.Options.DEFAULT.withF64Accumulation(f64));
                    assertEquals(Set.copyOf(c.outputs()), outs.keySet());
                    for (String o : c.outputs()) {
                        Tensor expected = Npy.read(c.path().resolve(o + ".npy"));
                        Tensor actual = outs.get(o);
                        Activation decl = b.activation(o).orElseThrow();
                        assertEquals(decl.dtype(), actual.dtype(), "output dtype");
                        assertEquals(List.of(c.shape().get("N"), c.shape().get("H"), c.shape().get("W"),
                                decl.channels()), Arrays.stream(actual.shape()).boxed().toList(), "output shape");
                        Compare.Tolerance tol = tolerance(coarser(decl.dtype(), b.storage()));
                        Compare.Report r = Compare.compare(actual, expected, tol);
                        assertTrue(r.ok(), () -> c.name() + " output " + o + ": " + r.describe(actual, tol));
                        // The comparison is not vacuous: the output carries signal of order one.
                        assertTrue(r.rms() > 0.05, () -> o + " is nearly zero (rms " + r.rms() + ")");
                    }
                })));
    }

    @Test
    void manifestCoversEverySampleWithTheRequiredCases() throws IOException {
        Golden.Manifest m = Golden.manifest();
        assertNotNull(m.torch(), "torch version recorded");
        assertTrue(m.command().contains("scripts/golden/make_golden.py"), m.command());
        assertTrue(Files.isRegularFile(Golden.REPO.resolve("scripts/golden/make_golden.py")));
        Set<String> samples = new HashSet<>();
        try (Stream<Path> files = Files.list(Golden.REPO.resolve("samples"))) {
            files.filter(p -> p.toString().endsWith(".tm")).forEach(p -> samples.add("samples/" + p.getFileName()));
        }
        assertFalse(samples.isEmpty());
        for (String sample : samples) {
            List<Golden.Case> cs = m.cases().stream().filter(c -> c.file().equals(sample)).toList();
            assertTrue(cs.stream().anyMatch(c -> is(c, 1, 7, 7) && c.params().isEmpty()), sample + ": N=1, H=W=7 at its parameters");
            assertTrue(cs.stream().anyMatch(c -> is(c, 3, 9, 13)), sample + ": N=3, H=9, W=13");
            String block = cs.getFirst().block();
            assertTrue(m.cases().stream().anyMatch(c -> c.block().equals(block) && c.dtype().equals("bf16")
                    && is(c, 2, 8, 8)), block + ": N=2, H=W=8 in bf16");
        }
        for (Golden.Case c : m.cases()) assertTrue(Files.isDirectory(c.path()), c.dir());
    }

    private static boolean is(Golden.Case c, int n, int h, int w) {
        return c.shape().get("N") == n && c.shape().get("H") == h && c.shape().get("W") == w;
    }

    @Test
    void goldenDataStaysUnderFourMegabytes() throws IOException {
        long bytes;
        try (Stream<Path> files = Files.walk(Golden.DIR)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).sum();
        }
        assertTrue(bytes < 4_000_000, "golden data is " + bytes + " bytes");
    }
}
