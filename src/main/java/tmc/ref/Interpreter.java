package tmc.ref;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Op;
import tmc.check.Operand;
import tmc.check.TypedBlock;
import tmc.check.Weight;

/**
 * The CPU reference interpreter: evaluates a checked block on given inputs and weights, at any N, H, W. It is the
 * oracle every generated kernel is checked against, so it favours exactness and a precise statement of where values
 * are rounded over speed (docs/semantics.md has the full rules):
 * <ol>
 *   <li>Inputs and weights are rounded to their declared dtype on entry (a no-op for tensors already of that
 *       dtype).</li>
 *   <li>Every op computes in f32. Sums (conv2d, pointwise, the LayerNorm moments) accumulate in f32, in a fixed
 *       order, or in f64 with {@link Options#f64Accumulation()}. Activation functions are evaluated in f64 and rounded
 *       once to f32.</li>
 *   <li>Each op's result is rounded to the dtype of the activation it writes: named intermediates to the block's
 *       storage dtype, outputs to their declared dtype, unnamed sub-expression values not at all (f32).</li>
 * </ol>
 * Convolutions are stride 1 with zero 'same' padding: taps outside the image contribute nothing.
 */
public final class Interpreter {
    private Interpreter() {}

    /**
     * @param f64Accumulation accumulate the sums of conv2d, pointwise and LayerNorm in f64 instead of f32 (results are
     *                        still rounded per op as usual)
     * @param keepAll         return every activation (inputs, unnamed values, named intermediates, outputs) in
     *                        {@link Result#values()}, not only the outputs; costs memory at large shapes
     * @param parallel        spread the work over the common fork-join pool (rows of N x H); results do not depend
     *                        on it
     */
    public record Options(boolean f64Accumulation, boolean keepAll, boolean parallel) {
        public static final Options DEFAULT = new Options(false, false, true);

        public Options withF64Accumulation(boolean on) {
            return new Options(on, keepAll, parallel);
        }

        public Options withKeepAll(boolean on) {
            return new Options(f64Accumulation, on, parallel);
        }

        public Options withParallel(boolean on) {
            return new Options(f64Accumulation, keepAll, on);
        }
    }

    /**
     * @param outputs the block's outputs by name, in declaration order, each of shape [N, H, W, C] and its declared
     *                dtype
     * @param values  with {@link Options#keepAll()}: every activation by name (unnamed ones as the checker names them,
     *                t1, t2, ...), each of the dtype it is rounded to; otherwise the inputs (as rounded on entry) and
     *                the outputs
     */
    public record Result(Map<String, Tensor> outputs, Map<String, Tensor> values) {}

    /** Evaluates {@code block} and returns its outputs by name. */
    public static Map<String, Tensor> run(TypedBlock block, Map<String, Tensor> inputs, Map<String, Tensor> weights,
                                          Options options) {
        return evaluate(block, inputs, weights, options).outputs();
    }

    /** Evaluates {@code block}; see {@link Result} for what comes back. */
    public static Result evaluate(TypedBlock block, Map<String, Tensor> inputs, Map<String, Tensor> weights,
                                  Options options) {
        return new Run(block, options).evaluate(inputs, weights);
    }

    // =========================================================================================

    private static final class Run {
        private final TypedBlock block;
        private final Options options;
        private int n;
        private int h;
        private int w;
        private final Map<String, float[]> values = new HashMap<>();
        private final Map<String, Tensor> weights = new HashMap<>();

        Run(TypedBlock block, Options options) {
            this.block = block;
            this.options = options;
        }

        Result evaluate(Map<String, Tensor> inputs, Map<String, Tensor> givenWeights) {
            Map<String, Tensor> roundedInputs = bindInputs(inputs);
            bindWeights(givenWeights);
            Map<String, Integer> lastUse = new HashMap<>();
            List<Op> ops = block.ops();
            for (int i = 0; i < ops.size(); i++) for (Activation a : ops.get(i).reads()) lastUse.put(a.name(), i);
            Map<String, Tensor> kept = new LinkedHashMap<>();
            if (options.keepAll()) kept.putAll(roundedInputs);
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                float[] out = compute(op);
                Rounding.roundInPlace(out, op.out().dtype());
                values.put(op.out().name(), out);
                if (options.keepAll()) kept.put(op.out().name(), wrap(out, op.out()));
                for (Activation a : op.reads()) {
                    if (lastUse.get(a.name()) == i && block.outputs().stream().noneMatch(o -> o.name().equals(a.name()))) {
                        values.remove(a.name());
                    }
                }
            }
            Map<String, Tensor> outputs = new LinkedHashMap<>();
            for (Activation o : block.outputs()) {
                float[] v = values.get(o.name());
                if (v == null) throw new IllegalStateException("block " + block.name() + " never wrote output " + o.name());
                outputs.put(o.name(), options.keepAll() ? kept.get(o.name()) : wrap(v, o));
            }
            if (!options.keepAll()) {
                kept.putAll(roundedInputs);
                kept.putAll(outputs);
            }
            return new Result(outputs, kept);
        }

        private Tensor wrap(float[] data, Activation a) {
            return Tensor.adopt(a.dtype(), new int[] {n, h, w, a.channels()}, data);
        }

        private Map<String, Tensor> bindInputs(Map<String, Tensor> given) {
            for (String name : given.keySet()) {
                if (block.inputs().stream().noneMatch(a -> a.name().equals(name))) {
                    throw new IllegalArgumentException("block " + block.name() + " has no input '" + name + "'; inputs: "
                            + names(block.inputs().stream().map(Activation::name).toList()));
                }
            }
            Map<String, Tensor> rounded = new LinkedHashMap<>();
            boolean first = true;
            for (Activation a : block.inputs()) {
                Tensor t = given.get(a.name());
                if (t == null) throw new IllegalArgumentException("block " + block.name() + ": input '" + a.name()
                        + "' is missing");
                if (t.rank() != 4 || t.dim(3) != a.channels()) {
                    throw new IllegalArgumentException("input '" + a.name() + "' must be [N, H, W, " + a.channels()
                            + "] but is " + t.shapeString());
                }
                if (first) {
                    n = t.dim(0);
                    h = t.dim(1);
                    w = t.dim(2);
                    first = false;
                } else if (t.dim(0) != n || t.dim(1) != h || t.dim(2) != w) {
                    throw new IllegalArgumentException("inputs disagree on N, H, W: '" + a.name() + "' is "
                            + t.shapeString() + " but an earlier input has N=" + n + ", H=" + h + ", W=" + w);
                }
                Tensor r = t.to(a.dtype());
                rounded.put(a.name(), r);
                values.put(a.name(), r.raw());
            }
            return rounded;
        }

        private void bindWeights(Map<String, Tensor> given) {
            for (String name : given.keySet()) {
                if (block.weight(name).isEmpty()) {
                    throw new IllegalArgumentException("block " + block.name() + " has no weight '" + name + "'; weights: "
                            + names(block.weights().stream().map(Weight::name).toList()));
                }
            }
            for (Weight wt : block.weights()) {
                Tensor t = given.get(wt.name());
                if (t == null) throw new IllegalArgumentException("block " + block.name() + ": weight '" + wt.name()
                        + "' is missing");
                int[] dims = wt.dims().stream().mapToInt(Integer::intValue).toArray();
                if (!Arrays.equals(t.shape(), dims)) {
                    throw new IllegalArgumentException("weight '" + wt.name() + "' must be " + wt.shape() + " but is "
                            + t.shapeString());
                }
                weights.put(wt.name(), t.to(wt.dtype()));
            }
        }

        private static String names(List<String> list) {
            return list.isEmpty() ? "none" : String.join(", ", list);
        }

        private float[] read(Activation a) {
            float[] v = values.get(a.name());
            if (v == null) throw new IllegalStateException("value of '" + a.name() + "' is not available");
            return v;
        }

        private float[] weight(Weight wt) {
            return weights.get(wt.name()).raw();
        }

        private float[] compute(Op op) {
            return switch (op) {
                case Op.Conv2d c -> conv2d(c);
                case Op.Pointwise p -> pointwise(p);
                case Op.LayerNorm l -> layerNorm(l);
                case Op.Activate a -> activate(a);
                case Op.Elementwise e -> elementwise(e);
            };
        }

        /** Runs {@code body} for every row (image n, row y), numbered n * H + y. */
        private void forRows(java.util.function.IntConsumer body) {
            IntStream rows = IntStream.range(0, n * h);
            (options.parallel() ? rows.parallel() : rows).forEach(body);
        }

        // ---- conv2d ------------------------------------------------------------------------

        /**
         * out[n, y, x, co] = sum over ky, kx, c (in this order, taps outside the image skipped) of
         * in[n, y + ky - pad, x + kx - pad, g * gw + c] * w[co, ky, kx, c], with g = co / (C_out / groups) the
         * group of co and gw = C_in / groups.
         */
        private float[] conv2d(Op.Conv2d c) {
            float[] in = read(c.in());
            float[] wgt = weight(c.weight());
            int cin = c.in().channels();
            int cout = c.out().channels();
            int k = c.kernel();
            int pad = c.pad();
            int gw = cin / c.groups();
            int cpg = cout / c.groups();
            // Transposed copy [ky][kx][c][co]: the innermost loop then runs over contiguous output channels.
            float[] wt = new float[wgt.length];
            for (int co = 0; co < cout; co++)
                for (int t = 0; t < k * k; t++)
                    for (int ci = 0; ci < gw; ci++) wt[(t * gw + ci) * cout + co] = wgt[(co * k * k + t) * gw + ci];
            float[] out = new float[n * h * w * cout];
            boolean f64 = options.f64Accumulation();
            forRows(row -> {
                int img = row / h;
                int y = row % h;
                float[] acc = f64 ? null : new float[cout];
                double[] dacc = f64 ? new double[cout] : null;
                for (int x = 0; x < w; x++) {
                    if (f64) Arrays.fill(dacc, 0.0);
                    else Arrays.fill(acc, 0f);
                    for (int ky = 0; ky < k; ky++) {
                        int iy = y + ky - pad;
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int ix = x + kx - pad;
                            if (ix < 0 || ix >= w) continue;
                            int inBase = ((img * h + iy) * w + ix) * cin;
                            int wBase = (ky * k + kx) * gw * cout;
                            if (gw == 1 && cpg == 1) { // depthwise: input channel = output channel
                                if (f64) for (int co = 0; co < cout; co++) dacc[co] += (double) in[inBase + co] * wt[wBase + co];
                                else for (int co = 0; co < cout; co++) acc[co] += in[inBase + co] * wt[wBase + co];
                                continue;
                            }
                            for (int g = 0; g < c.groups(); g++) {
                                int co0 = g * cpg;
                                for (int ci = 0; ci < gw; ci++) {
                                    float v = in[inBase + g * gw + ci];
                                    int wb = wBase + ci * cout;
                                    if (f64) for (int co = co0; co < co0 + cpg; co++) dacc[co] += (double) v * wt[wb + co];
                                    else for (int co = co0; co < co0 + cpg; co++) acc[co] += v * wt[wb + co];
                                }
                            }
                        }
                    }
                    int o = ((img * h + y) * w + x) * cout;
                    if (f64) for (int co = 0; co < cout; co++) out[o + co] = (float) dacc[co];
                    else System.arraycopy(acc, 0, out, o, cout);
                }
            });
            return out;
        }

        // ---- pointwise ---------------------------------------------------------------------

        /** out[p, co] = sum over i (in order) of in[p, i] * w[co, i]. */
        private float[] pointwise(Op.Pointwise p) {
            float[] in = read(p.in());
            float[] wgt = weight(p.weight());
            int cin = p.in().channels();
            int cout = p.out().channels();
            float[] wt = new float[wgt.length]; // [i][co]
            for (int co = 0; co < cout; co++) for (int i = 0; i < cin; i++) wt[i * cout + co] = wgt[co * cin + i];
            float[] out = new float[n * h * w * cout];
            boolean f64 = options.f64Accumulation();
            forRows(row -> {
                float[] acc = f64 ? null : new float[cout];
                double[] dacc = f64 ? new double[cout] : null;
                for (int x = 0; x < w; x++) {
                    int pix = row * w + x;
                    int inBase = pix * cin;
                    if (f64) {
                        Arrays.fill(dacc, 0.0);
                        for (int i = 0; i < cin; i++) {
                            double v = in[inBase + i];
                            int wb = i * cout;
                            for (int co = 0; co < cout; co++) dacc[co] += v * wt[wb + co];
                        }
                        for (int co = 0; co < cout; co++) out[pix * cout + co] = (float) dacc[co];
                    } else {
                        Arrays.fill(acc, 0f);
                        for (int i = 0; i < cin; i++) {
                            float v = in[inBase + i];
                            int wb = i * cout;
                            for (int co = 0; co < cout; co++) acc[co] += v * wt[wb + co];
                        }
                        System.arraycopy(acc, 0, out, pix * cout, cout);
                    }
                }
            });
            return out;
        }

        // ---- layernorm ---------------------------------------------------------------------

        /**
         * Per pixel: mean = sum(x) / C, var = sum((x - mean)^2) / C (biased, two passes), rstd = 1 / sqrt(var + eps)
         * (in f64, rounded to f32), y = (x - mean) * rstd * gamma + beta, left to right in f32. With f64
         * accumulation, mean, var, rstd and the normalisation are all f64 and y is rounded once.
         */
        private float[] layerNorm(Op.LayerNorm l) {
            float[] in = read(l.in());
            int ch = l.in().channels();
            float[] gamma = l.gamma() == null ? null : weight(l.gamma());
            float[] beta = l.beta() == null ? null : weight(l.beta());
            double eps = l.eps();
            float[] out = new float[in.length];
            boolean f64 = options.f64Accumulation();
            forRows(row -> {
                for (int x = 0; x < w; x++) {
                    int base = (row * w + x) * ch;
                    if (f64) {
                        double s = 0;
                        for (int c = 0; c < ch; c++) s += in[base + c];
                        double mean = s / ch;
                        double q = 0;
                        for (int c = 0; c < ch; c++) {
                            double d = in[base + c] - mean;
                            q += d * d;
                        }
                        double rstd = 1.0 / Math.sqrt(q / ch + eps);
                        for (int c = 0; c < ch; c++) {
                            double y = (in[base + c] - mean) * rstd;
                            if (gamma != null) y *= gamma[c];
                            if (beta != null) y += beta[c];
                            out[base + c] = (float) y;
                        }
                    } else {
                        float s = 0f;
                        for (int c = 0; c < ch; c++) s += in[base + c];
                        float mean = s / ch;
                        float q = 0f;
                        for (int c = 0; c < ch; c++) {
                            float d = in[base + c] - mean;
                            q += d * d;
                        }
                        float var = q / ch;
                        float rstd = (float) (1.0 / Math.sqrt(var + eps));
                        for (int c = 0; c < ch; c++) {
                            float y = (in[base + c] - mean) * rstd;
                            if (gamma != null) y *= gamma[c];
                            if (beta != null) y += beta[c];
                            out[base + c] = y;
                        }
                    }
                }
            });
            return out;
        }

        // ---- elementwise -------------------------------------------------------------------

        private float[] activate(Op.Activate a) {
            float[] in = read(a.in());
            int ch = a.in().channels();
            float[] out = new float[in.length];
            Op.ActivationFn fn = a.fn();
            forRows(row -> {
                int from = row * w * ch;
                int to = from + w * ch;
                for (int i = from; i < to; i++) out[i] = Functions.apply(fn, in[i]);
            });
            return out;
        }

        /** left fn right in f32; a [C] vector is broadcast over N, H, W; a constant is first rounded to f32. */
        private float[] elementwise(Op.Elementwise e) {
            int ch = e.out().channels();
            float[] out = new float[n * h * w * ch];
            Source l = source(e.left(), ch);
            Source r = source(e.right(), ch);
            Op.ElementwiseFn fn = e.fn();
            forRows(row -> {
                int from = row * w * ch;
                for (int p = 0; p < w; p++) {
                    int base = from + p * ch;
                    for (int c = 0; c < ch; c++) {
                        float a = l.get(base + c, c);
                        float b = r.get(base + c, c);
                        out[base + c] = switch (fn) {
                            case ADD -> a + b;
                            case SUB -> a - b;
                            case MUL -> a * b;
                        };
                    }
                }
            });
            return out;
        }

        /** One side of an elementwise op: element i (channel c) of an activation, a vector or a constant. */
        private record Source(float[] act, float[] vec, float scalar) {
            float get(int i, int c) {
                return act != null ? act[i] : vec != null ? vec[c] : scalar;
            }
        }

        private Source source(Operand o, int ch) {
            return switch (o) {
                case Operand.Act a -> new Source(read(a.value()), null, 0f);
                case Operand.Vec v -> {
                    float[] vec = weight(v.weight());
                    if (vec.length != ch) throw new IllegalStateException("vector " + v.weight().name() + " is not [" + ch + "]");
                    yield new Source(null, vec, 0f);
                }
                case Operand.Scalar s -> new Source(null, null, (float) s.value());
            };
        }
    }

    /** The names of the activations that {@link Options#keepAll()} returns, in evaluation order. */
    public static List<String> valueNames(TypedBlock block) {
        List<String> names = new ArrayList<>();
        for (Activation a : block.inputs()) names.add(a.name());
        for (Op op : block.ops()) names.add(op.out().name());
        return names;
    }

    /** The storage type an activation is rounded to, by name (inputs, ops' outputs), for verifiers. */
    public static DType dtypeOf(TypedBlock block, String activation) {
        for (Activation a : block.inputs()) if (a.name().equals(activation)) return a.dtype();
        for (Op op : block.ops()) if (op.out().name().equals(activation)) return op.out().dtype();
        throw new IllegalArgumentException("block " + block.name() + " has no activation '" + activation + "'");
    }
}
