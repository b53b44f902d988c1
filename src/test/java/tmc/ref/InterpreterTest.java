package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Frontend;
import tmc.check.Op;
import tmc.check.TypedBlock;
import tmc.check.Weight;

/** Properties of the reference interpreter that hold whatever the weights are. */
class InterpreterTest {
    static final List<String> SAMPLES = List.of("convfirst", "mbconv", "mbconv_dw", "convnext", "fusedmlp");
    static final Interpreter.Options OPT = Interpreter.Options.DEFAULT;
    static final Set<String> ARCHS = Set.of("sm_80", "sm_86", "sm_89", "sm_90");

    static TypedBlock block(String text, Map<String, Long> params) {
        Frontend.Checked c = Frontend.checkText("test.tm", text, params, Set.of());
        assertTrue(c.ok(), () -> c.diagnostics().sorted().toString());
        return c.program().blocks().getFirst();
    }

    static TypedBlock sample(String name, Map<String, Long> params) {
        Frontend.Checked c = Frontend.checkFile(Golden.REPO.resolve("samples/" + name + ".tm"), params, ARCHS);
        assertTrue(c.ok(), () -> c.diagnostics().sorted().toString());
        return c.program().blocks().getFirst();
    }

    static int[] dims(Weight w) {
        return w.dims().stream().mapToInt(Integer::intValue).toArray();
    }

    // ---- identity weights ---------------------------------------------------------------------

    @Test
    void identityConvReproducesItsInputForEveryGroupingAndKernel() {
        for (int k : new int[] {1, 3, 5, 7}) {
            for (int groups : new int[] {1, 2, 4, 16}) {
                TypedBlock b = block("""
                        block Id {
                          param C = 16, G = 1, K = 3
                          in  x : f16[N, H, W, C]
                          w   wc : f16[C, K, K, C / G]
                          out y : f16[N, H, W, C]
                          y = conv2d(x, wc, groups: G)
                        }""", Map.of("G", (long) groups, "K", (long) k));
                int c = 16;
                int gw = c / groups;
                float[] w = new float[c * k * k * gw];
                int centre = k / 2;
                // Output channel co reads input channel co: within its group that is index co % gw.
                for (int co = 0; co < c; co++) w[((co * k + centre) * k + centre) * gw + co % gw] = 1f;
                Tensor x = Tensors.random(DType.F16, 5, "x", 0, 3, 2, 5, 7, c);
                Map<String, Tensor> out = Interpreter.run(b, Map.of("x", x),
                        Map.of("wc", Tensor.of(DType.F16, new int[] {c, k, k, gw}, w)), OPT);
                assertEquals(x, out.get("y"), "k=" + k + " groups=" + groups);
            }
        }
    }

    @Test
    void offCentreTapShiftsTheImageAndPadsWithZeros() {
        TypedBlock b = block("""
                block Shift {
                  param C = 8
                  in  x : f32[N, H, W, C]
                  w   wd : f32[C, 5, 5, 1]
                  out y : f32[N, H, W, C]
                  y = conv2d(x, wd, groups: C, pad: 2)
                }""", Map.of());
        int c = 8;
        int h = 6;
        int wd = 9;
        Tensor x = Tensors.random(DType.F32, 9, "x", 0, 1, 2, h, wd, c);
        for (int dy = -2; dy <= 2; dy++) {
            for (int dx = -2; dx <= 2; dx++) {
                float[] w = new float[c * 25];
                for (int ch = 0; ch < c; ch++) w[ch * 25 + (dy + 2) * 5 + (dx + 2)] = 1f;
                Tensor y = Interpreter.run(b, Map.of("x", x), Map.of("wd", Tensor.of(DType.F32, new int[] {c, 5, 5, 1}, w)),
                        OPT).get("y");
                for (int n = 0; n < 2; n++)
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < wd; j++)
                            for (int ch = 0; ch < c; ch++) {
                                int si = i + dy;
                                int sj = j + dx;
                                float expected = si >= 0 && si < h && sj >= 0 && sj < wd ? x.get(n, si, sj, ch) : 0f;
                                assertEquals(expected, y.get(n, i, j, ch), "dy=" + dy + " dx=" + dx);
                            }
            }
        }
    }

    @Test
    void identityPointwiseReproducesItsInput() {
        for (DType t : DType.values()) {
            TypedBlock b = block("""
                    block P {
                      param C = 24
                      in  x : %1$s[N, H, W, C]
                      w   w1 : %1$s[C, C]
                      out y : %1$s[N, H, W, C]
                      y = pointwise(x, w1)
                    }""".formatted(t), Map.of());
            float[] eye = new float[24 * 24];
            for (int i = 0; i < 24; i++) eye[i * 24 + i] = 1f;
            Tensor x = Tensors.random(t, 1, "x", 0, 10, 3, 4, 5, 24);
            for (boolean f64 : new boolean[] {false, true}) {
                Tensor y = Interpreter.run(b, Map.of("x", x), Map.of("w1", Tensor.of(t, new int[] {24, 24}, eye)),
                        OPT.withF64Accumulation(f64)).get("y");
                assertEquals(x, y, t + " f64=" + f64);
            }
        }
    }

    // ---- zero weights -------------------------------------------------------------------------

    /** Every conv2d and pointwise weight zero: each sample leaves its output bias (scaled) plus the residual. */
    @Test
    void zeroWeightsLeaveOnlyBiasAndResidual() {
        for (String s : SAMPLES) {
            TypedBlock b = sample(s, Map.of("C", 16L));
            Map<String, Tensor> w = Tensors.randomWeights(b, 3);
            for (Weight wt : b.weights()) if (wt.dims().size() > 1) w.put(wt.name(), Tensor.zeros(wt.dtype(), dims(wt)));
            Tensor x = Tensors.randomInputs(b, 2, 5, 6, 3).get("x");
            Tensor y = Interpreter.run(b, Map.of("x", x), w, OPT).get("y");
            float[] bias = w.get(switch (s) {
                case "convfirst", "convnext", "fusedmlp" -> "b2";
                default -> "b3";
            }).toArray();
            float[] gamma = s.equals("convnext") ? w.get("gamma").toArray() : null;
            boolean residual = !s.equals("fusedmlp");
            for (int i = 0; i < y.size(); i++) {
                int c = i % 16;
                float branch = gamma != null ? gamma[c] * bias[c] : bias[c];
                float expected = Rounding.toF16(residual ? branch + x.at(i) : branch);
                assertEquals(expected, y.at(i), s + " element " + i);
            }
        }
    }

    // ---- linearity ----------------------------------------------------------------------------

    static final String LINEAR = """
            block Linear {
              param C = 16, E = 32
              in  x  : f32[N, H, W, C]
              w   wc : f32[C, 3, 3, 4]
              w   w1 : f32[E, C]
              w   s  : f32[E]
              w   w2 : f32[C, E]
              w   wd : f32[C, 5, 5, 1]
              out y  : f32[N, H, W, C]
              a = conv2d(x, wc, groups: 4)
              h = pointwise(a, w1) * s
              d = conv2d(layer, wd, groups: C)
              y = pointwise(h, w2) - a * 0.5 + d
            }""".replace("layer", "x");

    @Test
    void linearBlockIsLinearInItsInput() {
        TypedBlock b = block(LINEAR, Map.of());
        Map<String, Tensor> w = Tensors.randomWeights(b, 4);
        Tensor x1 = Tensors.random(DType.F32, 1, "x1", 0, 1, 2, 7, 9, 16);
        Tensor x2 = Tensors.random(DType.F32, 2, "x2", 0, 1, 2, 7, 9, 16);
        float a = 0.75f;
        float c = -1.25f;
        float[] mix = new float[x1.size()];
        for (int i = 0; i < mix.length; i++) mix[i] = a * x1.at(i) + c * x2.at(i);
        Tensor y1 = Interpreter.run(b, Map.of("x", x1), w, OPT).get("y");
        Tensor y2 = Interpreter.run(b, Map.of("x", x2), w, OPT).get("y");
        Tensor ym = Interpreter.run(b, Map.of("x", Tensor.of(DType.F32, x1.shape(), mix)), w, OPT).get("y");
        float[] expected = new float[mix.length];
        for (int i = 0; i < mix.length; i++) expected[i] = a * y1.at(i) + c * y2.at(i);
        Compare.Tolerance tol = new Compare.Tolerance(DType.F32, 16, 16);
        Compare.Report r = Compare.compare(ym, Tensor.of(DType.F32, ym.shape(), expected), tol);
        assertTrue(r.ok(), r.describe(ym, tol));
        assertTrue(r.rms() > 0.1);
    }

    /** Scaling by a power of two commutes with every f32 operation and rounding: f(2x) = 2 f(x) bit for bit. */
    @Test
    void linearBlockIsExactlyHomogeneousUnderPowersOfTwo() {
        TypedBlock b = block(LINEAR, Map.of());
        Map<String, Tensor> w = Tensors.randomWeights(b, 5);
        Tensor x = Tensors.random(DType.F32, 1, "x", 0, 1, 1, 9, 13, 16);
        float[] x4 = x.toArray();
        for (int i = 0; i < x4.length; i++) x4[i] *= 4f;
        for (boolean f64 : new boolean[] {false, true}) {
            Tensor y = Interpreter.run(b, Map.of("x", x), w, OPT.withF64Accumulation(f64)).get("y");
            Tensor y4 = Interpreter.run(b, Map.of("x", Tensor.of(DType.F32, x.shape(), x4)), w,
                    OPT.withF64Accumulation(f64)).get("y");
            for (int i = 0; i < y.size(); i++) assertEquals(4f * y.at(i), y4.at(i), "element " + i);
        }
    }

    // ---- where rounding happens ---------------------------------------------------------------

    @Test
    void namedIntermediatesRoundToStorageAndUnnamedOnesDoNot() {
        TypedBlock named = block("""
                block A {
                  param C = 8
                  in  x : f16[N, H, W, C]
                  out y : f16[N, H, W, C]
                  h = x * 0.3
                  y = h * 10
                }""", Map.of());
        TypedBlock unnamed = block("""
                block B {
                  param C = 8
                  in  x : f16[N, H, W, C]
                  out y : f16[N, H, W, C]
                  y = x * 0.3 * 10
                }""", Map.of());
        Tensor x = Tensors.random(DType.F16, 2, "x", 0, 1, 1, 4, 4, 8);
        Tensor yn = Interpreter.run(named, Map.of("x", x), Map.of(), OPT).get("y");
        Tensor yu = Interpreter.run(unnamed, Map.of("x", x), Map.of(), OPT).get("y");
        for (int i = 0; i < x.size(); i++) {
            assertEquals(Rounding.toF16(Rounding.toF16(x.at(i) * 0.3f) * 10f), yn.at(i));
            assertEquals(Rounding.toF16(x.at(i) * 0.3f * 10f), yu.at(i));
        }
        assertNotEquals(yn, yu, "the rounding of h shows somewhere");
        Interpreter.Result r = Interpreter.evaluate(named, Map.of("x", x), Map.of(), OPT.withKeepAll(true));
        assertEquals(DType.F16, r.values().get("h").dtype());
        for (float v : r.values().get("h").toArray()) assertTrue(Rounding.representable(v, DType.F16));
    }

    @Test
    void keepAllReturnsEveryActivationInItsDtype() {
        TypedBlock b = block("""
                block K {
                  param C = 8
                  in  x : bf16[N, H, W, C]
                  w   w1 : bf16[C, C]
                  w   b1 : f32[C]
                  out y : f32[N, H, W, C]
                  h = gelu(pointwise(x, w1) + b1)
                  y = h * 0.5 + x
                }""", Map.of());
        Interpreter.Result r = Interpreter.evaluate(b, Tensors.randomInputs(b, 1, 3, 3, 1), Tensors.randomWeights(b, 1),
                OPT.withKeepAll(true));
        assertEquals(Interpreter.valueNames(b), List.copyOf(r.values().keySet()));
        for (Op op : b.ops()) {
            Activation a = op.out();
            Tensor t = r.values().get(a.name());
            assertEquals(a.dtype(), t.dtype(), a.name());
            assertEquals(Interpreter.dtypeOf(b, a.name()), t.dtype());
            assertArrayEquals(new int[] {1, 3, 3, a.channels()}, t.shape());
        }
        assertEquals(DType.BF16, r.values().get("h").dtype());
        assertEquals(DType.F32, r.values().get("t1").dtype());
        assertEquals(DType.F32, r.values().get("y").dtype());
        assertEquals(r.outputs().get("y"), r.values().get("y"));
    }

    @Test
    void inputsAndWeightsAreRoundedOnEntry() {
        TypedBlock b = sample("fusedmlp", Map.of("C", 16L));
        Map<String, Tensor> w16 = Tensors.randomWeights(b, 2);
        Tensor x32 = Tensors.random(DType.F32, 2, "x", 0, 1, 1, 3, 5, 16);
        Map<String, Tensor> w32 = new HashMap<>();
        for (var e : w16.entrySet()) {
            // The f16 weights plus noise below half an f16 ulp (also below a power of two): rounding removes it.
            float[] v = e.getValue().toArray();
            for (int i = 0; i < v.length; i++) v[i] += (float) (Rounding.ulp(v[i], e.getValue().dtype()) * 0.2);
            w32.put(e.getKey(), Tensor.of(DType.F32, e.getValue().shape(), v));
        }
        Map<String, Tensor> a = Interpreter.run(b, Map.of("x", x32.to(DType.F16)), w16, OPT);
        Map<String, Tensor> c = Interpreter.run(b, Map.of("x", x32), w32, OPT);
        assertEquals(a, c);
    }

    // ---- shapes, determinism, errors ----------------------------------------------------------

    @Test
    void randomShapesDoNotCrash() {
        SplittableRandom r = new SplittableRandom(42);
        for (int trial = 0; trial < 40; trial++) {
            String s = SAMPLES.get(r.nextInt(SAMPLES.size()));
            long c = 16L * (1 + r.nextInt(3)); // E = 4C stays a multiple of the samples' plans' stream chunks
            TypedBlock b = sample(s, Map.of("C", c));
            int n = 1 + r.nextInt(3);
            int h = 1 + r.nextInt(12);
            int w = 1 + r.nextInt(12);
            long seed = r.nextLong();
            Map<String, Tensor> out = Interpreter.run(b, Tensors.randomInputs(b, n, h, w, seed),
                    Tensors.randomWeights(b, seed), OPT.withF64Accumulation(r.nextBoolean()));
            Tensor y = out.get("y");
            assertArrayEquals(new int[] {n, h, w, (int) c}, y.shape(), s);
            for (float v : y.toArray()) assertTrue(Float.isFinite(v), s + " N=" + n + " H=" + h + " W=" + w);
        }
    }

    @Test
    void resultsDoNotDependOnParallelismAndRepeat() {
        for (String s : SAMPLES) {
            TypedBlock b = sample(s, Map.of("C", 16L));
            var in = Tensors.randomInputs(b, 3, 9, 13, 8);
            var w = Tensors.randomWeights(b, 8);
            var par = Interpreter.run(b, in, w, OPT);
            var seq = Interpreter.run(b, in, w, OPT.withParallel(false));
            assertEquals(par, seq, s);
            assertEquals(par, Interpreter.run(b, in, w, OPT), s);
        }
    }

    @Test
    void f64AndF32AccumulationAgreeWithinRounding() {
        for (String s : SAMPLES) {
            TypedBlock b = sample(s, Map.of());
            var in = Tensors.randomInputs(b, 1, 9, 9, 6);
            var w = Tensors.randomWeights(b, 6);
            Tensor y32 = Interpreter.run(b, in, w, OPT).get("y");
            Tensor y64 = Interpreter.run(b, in, w, OPT.withF64Accumulation(true)).get("y");
            Compare.Tolerance tol = GoldenTest.tolerance(DType.F16);
            Compare.Report r = Compare.compare(y32, y64, tol);
            assertTrue(r.ok(), s + ": " + r.describe(y32, tol));
        }
    }

    @Test
    void seededRandomTensorsAreReproducibleAndScaled() {
        TypedBlock b = sample("convfirst", Map.of());
        assertEquals(Tensors.randomWeights(b, 1), Tensors.randomWeights(b, 1));
        assertNotEquals(Tensors.randomWeights(b, 1).get("w1"), Tensors.randomWeights(b, 2).get("w1"));
        assertNotEquals(Tensors.random(DType.F32, 1, "a", 0, 1, 100), Tensors.random(DType.F32, 1, "b", 0, 1, 100));
        Tensor w1 = Tensors.randomWeights(b, 1).get("w1");
        double rms = Compare.rms(w1.toArray());
        assertEquals(1 / Math.sqrt(64), rms, 0.05 / Math.sqrt(64), "pointwise weights have std 1/sqrt(C_in)");
        Tensor wc = Tensors.randomWeights(b, 1).get("wc");
        assertEquals(1 / Math.sqrt(72), Compare.rms(wc.toArray()), 0.1 / Math.sqrt(72), "conv: 1/sqrt(k*k*gw)");
        Tensor x = Tensors.randomInputs(b, 4, 8, 8, 1).get("x");
        assertEquals(1.0, Compare.rms(x.toArray()), 0.05);
        // Activations stay O(1) through the block.
        double yrms = Compare.rms(Interpreter.run(b, Map.of("x", x), Tensors.randomWeights(b, 1), OPT).get("y").toArray());
        assertTrue(yrms > 0.3 && yrms < 3, "output rms " + yrms);
    }

    @Test
    void badArgumentsAreReportedByName() {
        TypedBlock b = sample("fusedmlp", Map.of("C", 16L));
        Map<String, Tensor> w = Tensors.randomWeights(b, 1);
        Tensor x = Tensors.randomInputs(b, 1, 2, 2, 1).get("x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Interpreter.run(b, Map.of(), w, OPT))
                .getMessage().contains("input 'x' is missing"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Interpreter.run(b, Map.of("x", x, "z", x), w, OPT)).getMessage().contains("no input 'z'"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Interpreter.run(b, Map.of("x", Tensor.zeros(DType.F16, 1, 2, 2, 9)), w, OPT))
                .getMessage().contains("must be [N, H, W, 16]"));
        Map<String, Tensor> missing = new LinkedHashMap<>(w);
        missing.remove("b1");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Interpreter.run(b, Map.of("x", x), missing, OPT))
                .getMessage().contains("weight 'b1' is missing"));
        Map<String, Tensor> wrong = new LinkedHashMap<>(w);
        wrong.put("w1", Tensor.zeros(DType.F16, 16, 64));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Interpreter.run(b, Map.of("x", x), wrong, OPT))
                .getMessage().contains("weight 'w1' must be [64, 16]"));
    }

    @Test
    void samplesRunAtTheirOwnParameters() {
        for (String s : SAMPLES) {
            TypedBlock b = sample(s, Map.of());
            Tensor y = Interpreter.run(b, Tensors.randomInputs(b, 1, 9, 9, 1), Tensors.randomWeights(b, 1), OPT).get("y");
            assertEquals(b.outputs().getFirst().channels(), y.dim(3));
        }
    }
}
