package tmc.ref;

import tmc.check.DType;

/**
 * Converters between PyTorch's tensor layouts and the .tm layouts (docs/semantics.md lists them all):
 * <ul>
 *   <li>activations: PyTorch NCHW [N, C, H, W] to .tm NHWC [N, H, W, C] (a channels_last tensor has NHWC memory
 *       already: {@code x.permute(0, 2, 3, 1)});</li>
 *   <li>conv2d: {@code nn.Conv2d(C_in, C_out, k, groups=G).weight} [C_out, C_in/G, k, k] to [C_out, k, k, C_in/G]
 *       ({@code w.permute(0, 2, 3, 1)});</li>
 *   <li>pointwise: {@code nn.Conv2d(C_in, C_out, 1).weight} [C_out, C_in, 1, 1] or {@code nn.Linear(C_in,
 *       C_out).weight} [C_out, C_in] to [C_out, C_in];</li>
 *   <li>BatchNorm after a conv (inference): folded into the conv's weight and a bias
 *       ({@link #foldBatchNorm}).</li>
 * </ul>
 */
public final class Layouts {
    private Layouts() {}

    /** Permutes the axes of a tensor: output axis i is input axis {@code perm[i]}. */
    public static Tensor permute(Tensor t, int... perm) {
        int r = t.rank();
        if (perm.length != r) throw new IllegalArgumentException("permutation of rank " + perm.length + " for " + t);
        int[] inShape = t.shape();
        int[] outShape = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) {
                throw new IllegalArgumentException("not a permutation: " + java.util.Arrays.toString(perm));
            }
            seen[perm[i]] = true;
            outShape[i] = inShape[perm[i]];
        }
        int[] inStride = new int[r];
        for (int i = r - 1, s = 1; i >= 0; i--) {
            inStride[i] = s;
            s *= inShape[i];
        }
        float[] src = t.raw();
        float[] dst = new float[src.length];
        int[] idx = new int[r];
        for (int o = 0; o < dst.length; o++) {
            int off = 0;
            for (int i = 0; i < r; i++) off += idx[i] * inStride[perm[i]];
            dst[o] = src[off];
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < outShape[i]) break;
                idx[i] = 0;
            }
        }
        return Tensor.adopt(t.dtype(), outShape, dst);
    }

    /** [N, C, H, W] to [N, H, W, C]. */
    public static Tensor nhwcFromNchw(Tensor nchw) {
        requireRank(nchw, 4, "an NCHW activation");
        return permute(nchw, 0, 2, 3, 1);
    }

    /** [N, H, W, C] to [N, C, H, W]. */
    public static Tensor nchwFromNhwc(Tensor nhwc) {
        requireRank(nhwc, 4, "an NHWC activation");
        return permute(nhwc, 0, 3, 1, 2);
    }

    /** nn.Conv2d weight [C_out, C_in/G, k, k] to the .tm conv2d layout [C_out, k, k, C_in/G]. */
    public static Tensor convFromTorch(Tensor torch) {
        requireRank(torch, 4, "an nn.Conv2d weight [C_out, C_in/G, k, k]");
        return permute(torch, 0, 2, 3, 1);
    }

    /** The .tm conv2d layout [C_out, k, k, C_in/G] to nn.Conv2d's [C_out, C_in/G, k, k]. */
    public static Tensor convToTorch(Tensor tm) {
        requireRank(tm, 4, "a .tm conv2d weight [C_out, k, k, C_in/G]");
        return permute(tm, 0, 3, 1, 2);
    }

    /** nn.Conv2d 1x1 weight [C_out, C_in, 1, 1] or nn.Linear weight [C_out, C_in] to the pointwise [C_out, C_in]. */
    public static Tensor pointwiseFromTorch(Tensor torch) {
        if (torch.rank() == 2) return torch;
        if (torch.rank() == 4 && torch.dim(2) == 1 && torch.dim(3) == 1) return torch.reshape(torch.dim(0), torch.dim(1));
        throw new IllegalArgumentException("a pointwise weight comes from an nn.Linear weight [C_out, C_in] or a 1x1 "
                + "nn.Conv2d weight [C_out, C_in, 1, 1], not " + torch.shapeString());
    }

    /** A conv weight and bias with a BatchNorm folded in. */
    public record Folded(Tensor weight, Tensor bias) {}

    /**
     * Folds an inference-mode {@code nn.BatchNorm2d} that follows a conv into the conv: with s = gamma / sqrt(var +
     * eps) per output channel, weight'[co, ...] = weight[co, ...] * s[co] and bias' = (bias - mean) * s + beta
     * (bias = 0 without a conv bias). Computed in f64; the weight is then rounded to {@code weightDtype} and the
     * bias to {@code biasDtype}. Works for any weight layout with C_out first (.tm conv2d and pointwise, PyTorch's).
     *
     * @param bias the conv's own bias [C_out], or null
     */
    public static Folded foldBatchNorm(Tensor weight, Tensor bias, Tensor gamma, Tensor beta, Tensor mean,
                                       Tensor var, double eps, DType weightDtype, DType biasDtype) {
        int cout = weight.dim(0);
        for (Tensor v : new Tensor[] {gamma, beta, mean, var, bias}) {
            if (v != null && (v.rank() != 1 || v.dim(0) != cout)) {
                throw new IllegalArgumentException("BatchNorm vectors must be [" + cout + "], found " + v.shapeString());
            }
        }
        int per = weight.size() / Math.max(cout, 1);
        float[] w = new float[weight.size()];
        float[] b = new float[cout];
        for (int co = 0; co < cout; co++) {
            double s = gamma.at(co) / Math.sqrt((double) var.at(co) + eps);
            for (int i = 0; i < per; i++) w[co * per + i] = (float) (weight.at(co * per + i) * s);
            double b0 = bias == null ? 0.0 : bias.at(co);
            b[co] = (float) ((b0 - mean.at(co)) * s + beta.at(co));
        }
        return new Folded(Tensor.adopt(weightDtype, weight.shape(), w), Tensor.adopt(biasDtype, new int[] {cout}, b));
    }

    private static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) throw new IllegalArgumentException("expected " + what + ", found " + t);
    }
}
