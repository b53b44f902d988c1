package tmc.check;

import tmc.diag.Span;

/**
 * One layer of a network, as a separate execution runs it: one kernel that reads its input, its weights (and the
 * residual, when it adds one) and writes its output. Bias, activation, layer scale and residual add are epilogue
 * work of the layer they follow, as in tmc's own layerwise kernels.
 *
 * <p>Flops count as everywhere in tmc ({@link Op#flopsPerPixel()}): a multiply-add is 2, every other elementwise
 * step 1 per element. {@code matrixFlops} are the multiply-adds of convolutions and linears, {@code vectorFlops}
 * the rest (bias, activation, normalisation, pooling, residual).
 *
 * @param unit          the index of the {@link Network.Unit} the layer belongs to
 * @param k             the kernel size of a conv (1 otherwise); for {@link Kind#SE} the reduced channel count
 * @param groups        convolution groups (1 for dense layers, the channel count for depthwise)
 * @param act           the activation applied in the epilogue ("none" when there is none)
 * @param residual      whether the epilogue adds the unit's input (a residual connection)
 * @param tensorCores   whether the matrix work suits tensor cores (dense and grouped layers with groups of at
 *                      least 8 channels); depthwise convs and vector work run on CUDA cores
 */
public record NetLayer(int index, int unit, Kind kind, int cin, int cout, int k, int stride,
                       int groups, int hIn, int wIn, int hOut, int wOut, String act, boolean residual,
                       long matrixFlops, long vectorFlops, long weightBytes, boolean tensorCores, Span span) {

    public enum Kind {
        CONV("conv"), POINTWISE("pointwise"), LAYERNORM("layernorm"),
        /** Squeeze-and-excitation: a global average pool, two small linears and a per-channel scale. The pool
         * needs the whole image before the scale, so a fused execution ends its kernel before it. */
        SE("se"), POOL("pool"), LINEAR("linear");

        public final String keyword;

        Kind(String keyword) {
            this.keyword = keyword;
        }
    }

    /** How the layer reads in a report: "conv 3x3 s2 3->32 silu", "depthwise 5x5 144", "se 144/6". */
    public String describe() {
        String base = switch (kind) {
            case CONV -> groups == cin && groups == cout && groups > 1
                    ? "depthwise " + k + "x" + k + (stride > 1 ? " s" + stride : "") + " " + cout
                    : "conv " + k + "x" + k + (stride > 1 ? " s" + stride : "") + " " + cin + "->" + cout
                            + (groups > 1 ? " g" + groups : "");
            case POINTWISE -> "pointwise " + cin + "->" + cout;
            case LAYERNORM -> "layernorm " + cout;
            case SE -> "se " + cout + "/" + k;
            case POOL -> "pool " + cout;
            case LINEAR -> "linear " + cin + "->" + cout;
        };
        return base + (act.equals("none") ? "" : " " + act) + (residual ? " +res" : "");
    }

    public long flops() {
        return matrixFlops + vectorFlops;
    }

    /** A layer with more epilogue work (an activation, a residual added, a scale). */
    public NetLayer withEpilogue(String newAct, boolean addsResidual, long moreVectorFlops, long moreWeightBytes) {
        return new NetLayer(index, unit, kind, cin, cout, k, stride, groups, hIn, wIn, hOut, wOut,
                newAct, residual || addsResidual, matrixFlops, vectorFlops + moreVectorFlops,
                weightBytes + moreWeightBytes, tensorCores, span);
    }
}
