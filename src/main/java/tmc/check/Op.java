package tmc.check;

import java.util.ArrayList;
import java.util.List;
import tmc.diag.Span;

/**
 * One operation of a typed block, in SSA form: it writes {@code out} exactly once. A statement such as
 * {@code h = silu(pointwise(a, w1) + b1)} becomes three ops whose last one writes {@code h}.
 * {@code span} points at the call or operator in the .tm source.
 */
public sealed interface Op {
    Activation out();

    Span span();

    /** The activations this op reads. */
    List<Activation> reads();

    Op withOut(Activation newOut);

    /**
     * Floating-point operations per output pixel (one image, one H x W position). A multiply-add counts 2;
     * every other elementwise step counts 1 per element, transcendental functions included.
     */
    long flopsPerPixel();

    /** Bytes of weights this op reads. */
    default long weightBytes() {
        return 0;
    }

    /** conv2d: stride 1, dilation 1, 'same' padding; weight layout [C_out, k, k, C_in / groups]. */
    record Conv2d(Activation out, Activation in, Weight weight, int kernel, int groups, int pad, Span span)
            implements Op {
        public List<Activation> reads() {
            return List.of(in);
        }

        public Op withOut(Activation o) {
            return new Conv2d(o, in, weight, kernel, groups, pad, span);
        }

        public long flopsPerPixel() {
            return 2L * kernel * kernel * (in.channels() / groups) * out.channels();
        }

        public long weightBytes() {
            return weight.bytes();
        }

        public int groupWidth() {
            return in.channels() / groups;
        }

        public boolean isDepthwise() {
            return groups == in.channels() && groups == out.channels();
        }
    }

    /** pointwise (1x1 conv): out[c] = sum_i in[i] * weight[c, i]; weight layout [C_out, C_in]. */
    record Pointwise(Activation out, Activation in, Weight weight, Span span) implements Op {
        public List<Activation> reads() {
            return List.of(in);
        }

        public Op withOut(Activation o) {
            return new Pointwise(o, in, weight, span);
        }

        public long flopsPerPixel() {
            return 2L * in.channels() * out.channels();
        }

        public long weightBytes() {
            return weight.bytes();
        }
    }

    /** LayerNorm over the channels of each pixel; gamma and beta are optional [C] weights. */
    record LayerNorm(Activation out, Activation in, Weight gamma, Weight beta, double eps, Span span) implements Op {
        public List<Activation> reads() {
            return List.of(in);
        }

        public Op withOut(Activation o) {
            return new LayerNorm(o, in, gamma, beta, eps, span);
        }

        /** mean (C), centred sum of squares (2C), normalise (2C), and 1C each for gamma and beta. */
        public long flopsPerPixel() {
            return (5L + (gamma != null ? 1 : 0) + (beta != null ? 1 : 0)) * in.channels();
        }

        public long weightBytes() {
            return (gamma != null ? gamma.bytes() : 0) + (beta != null ? beta.bytes() : 0);
        }
    }

    enum ActivationFn {
        RELU("relu"), SILU("silu"), GELU("gelu"), GELU_TANH("gelu_tanh"), HARDSWISH("hardswish"),
        SIGMOID("sigmoid"), IDENTITY("identity");

        public final String keyword;

        ActivationFn(String keyword) {
            this.keyword = keyword;
        }
    }

    /** An activation function applied elementwise. IDENTITY only arises from a statement like {@code y = x}. */
    record Activate(Activation out, ActivationFn fn, Activation in, Span span) implements Op {
        public List<Activation> reads() {
            return List.of(in);
        }

        public Op withOut(Activation o) {
            return new Activate(o, fn, in, span);
        }

        public long flopsPerPixel() {
            return fn == ActivationFn.IDENTITY ? 0 : in.channels();
        }
    }

    enum ElementwiseFn {
        ADD("+"), SUB("-"), MUL("*");

        public final String symbol;

        ElementwiseFn(String symbol) {
            this.symbol = symbol;
        }
    }

    /** {@code left fn right}; at least one side is an activation, the other may be a [C] vector or a constant. */
    record Elementwise(Activation out, ElementwiseFn fn, Operand left, Operand right, Span span) implements Op {
        public List<Activation> reads() {
            List<Activation> r = new ArrayList<>(2);
            if (left instanceof Operand.Act a) r.add(a.value());
            if (right instanceof Operand.Act a) r.add(a.value());
            return r;
        }

        public Op withOut(Activation o) {
            return new Elementwise(o, fn, left, right, span);
        }

        public long flopsPerPixel() {
            return out.channels();
        }

        public long weightBytes() {
            long b = 0;
            if (left instanceof Operand.Vec v) b += v.weight().bytes();
            if (right instanceof Operand.Vec v) b += v.weight().bytes();
            return b;
        }
    }
}
