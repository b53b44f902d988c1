package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import tmc.check.DType;
import tmc.check.TypedBlock;
import tmc.check.Weight;

class LayoutsTest {
    private static Tensor iota(int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i;
        return Tensor.of(DType.F32, shape, v);
    }

    @Test
    void convLayoutMovesTheInputChannelsLast() {
        Tensor torch = iota(4, 2, 3, 3); // [C_out, C_in/G, k, k]
        Tensor tm = Layouts.convFromTorch(torch);
        assertArrayEquals(new int[] {4, 3, 3, 2}, tm.shape());
        for (int co = 0; co < 4; co++)
            for (int ci = 0; ci < 2; ci++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) assertEquals(torch.get(co, ci, ky, kx), tm.get(co, ky, kx, ci));
        assertEquals(torch, Layouts.convToTorch(tm));
    }

    @Test
    void activationsAndPointwise() {
        Tensor nchw = iota(2, 3, 4, 5);
        Tensor nhwc = Layouts.nhwcFromNchw(nchw);
        assertEquals(nchw.get(1, 2, 3, 4), nhwc.get(1, 3, 4, 2));
        assertEquals(nchw, Layouts.nchwFromNhwc(nhwc));
        Tensor conv1x1 = iota(6, 4, 1, 1);
        assertArrayEquals(new int[] {6, 4}, Layouts.pointwiseFromTorch(conv1x1).shape());
        assertEquals(conv1x1.get(5, 3, 0, 0), Layouts.pointwiseFromTorch(conv1x1).get(5, 3));
        Tensor linear = iota(6, 4);
        assertEquals(linear, Layouts.pointwiseFromTorch(linear));
    }

    @Test
    void foldingMatchesBatchNormArithmetic() {
        Tensor w = Tensors.random(DType.F32, 1, "w", 0, 1, 3, 2);
        Tensor gamma = Tensor.of(DType.F32, new int[] {3}, new float[] {1.5f, 0.5f, 2f});
        Tensor beta = Tensor.of(DType.F32, new int[] {3}, new float[] {0.1f, -0.2f, 0f});
        Tensor mean = Tensor.of(DType.F32, new int[] {3}, new float[] {0.3f, 0f, -1f});
        Tensor var = Tensor.of(DType.F32, new int[] {3}, new float[] {1f, 4f, 0.25f});
        Layouts.Folded f = Layouts.foldBatchNorm(w, null, gamma, beta, mean, var, 0.0, DType.F32, DType.F32);
        float[] s = {1.5f, 0.25f, 4f};
        for (int co = 0; co < 3; co++) {
            for (int i = 0; i < 2; i++) assertEquals(w.get(co, i) * s[co], f.weight().get(co, i), 1e-6);
            // BN(conv(x)) at x = 0 is the folded bias.
            assertEquals((0 - mean.at(co)) * s[co] + beta.at(co), f.bias().at(co), 1e-6);
        }
    }

    /**
     * The .tm weights the golden script wrote equal what this converter makes from the PyTorch module's own
     * parameters (torch/*.npy): the Python and the Java converter agree, BatchNorm folding included.
     */
    @TestFactory
    Stream<DynamicTest> javaConverterReproducesTheGoldenWeightsFromPyTorchState() {
        return Golden.manifest().cases().stream().filter(Golden.Case::torch_state).map(c ->
                DynamicTest.dynamicTest(c.name(), () -> {
                    Path dir = c.path().resolve("torch");
                    JsonObject map = new Gson().fromJson(Files.readString(dir.resolve("mapping.json")), JsonObject.class);
                    TypedBlock b = c.typed();
                    Map<String, Tensor> golden = c.read(c.weights());
                    assertEquals(b.weights().size(), map.size(), "every weight has a mapping");
                    for (Weight w : b.weights()) {
                        JsonObject m = map.getAsJsonObject(w.name());
                        Tensor made = convert(dir, m, w.dtype());
                        Tensor expected = golden.get(w.name());
                        assertArrayEquals(expected.shape(), made.shape(), w.name());
                        if (m.get("kind").getAsString().equals("bn_bias")) {
                            for (int i = 0; i < made.size(); i++) {
                                assertEquals(expected.at(i), made.at(i), Math.ulp(expected.at(i)), w.name());
                            }
                        } else {
                            assertEquals(expected, made, w.name() + " (" + m + ")");
                        }
                    }
                }));
    }

    private static Tensor param(Path dir, String name) throws IOException {
        return Npy.read(dir.resolve(name + ".npy"));
    }

    private static Tensor convert(Path dir, JsonObject m, DType dtype) throws IOException {
        String kind = m.get("kind").getAsString();
        return switch (kind) {
            case "conv" -> Layouts.convFromTorch(param(dir, m.get("weight").getAsString())).to(dtype);
            case "pointwise" -> Layouts.pointwiseFromTorch(param(dir, m.get("weight").getAsString())).to(dtype);
            case "vector" -> param(dir, m.get("param").getAsString()).to(dtype);
            case "conv_bn", "pointwise_bn", "bn_bias" -> {
                String wName = m.get("weight").getAsString();
                String bn = m.get("bn").getAsString();
                String biasName = wName.replaceAll("weight$", "bias");
                Tensor bias = Files.exists(dir.resolve(biasName + ".npy")) ? param(dir, biasName) : null;
                Layouts.Folded f = Layouts.foldBatchNorm(param(dir, wName), bias, param(dir, bn + ".weight"),
                        param(dir, bn + ".bias"), param(dir, bn + ".running_mean"), param(dir, bn + ".running_var"),
                        m.get("eps").getAsDouble(), kind.equals("bn_bias") ? DType.F32 : dtype, DType.F32);
                yield switch (kind) {
                    case "conv_bn" -> Layouts.convFromTorch(f.weight());
                    case "pointwise_bn" -> Layouts.pointwiseFromTorch(f.weight());
                    default -> f.bias().to(dtype);
                };
            }
            default -> throw new AssertionError("unknown mapping kind " + kind);
        };
    }

    @Test
    void everyTorchStateCaseIsCovered() {
        List<Golden.Case> cs = Golden.manifest().cases().stream().filter(Golden.Case::torch_state).toList();
        assertTrue(cs.stream().map(Golden.Case::block).distinct().count() >= 6, "one per block: " + cs);
    }
}
