package tmc.ir;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import tmc.check.Activation;
import tmc.check.Op;
import tmc.check.TypedBlock;
import tmc.diag.Span;

/**
 * A layer: one main op (conv2d, pointwise or layernorm) and the elementwise epilogue that follows it up
 * to the next named value, or, when a statement has no main op, a run of elementwise ops alone. A layer is
 * the unit of the separate plan (one kernel each) and the unit a fused kernel computes on chip.
 *
 * @param main     the conv2d, pointwise or layernorm op, or null for an elementwise-only layer
 * @param ops      every op of the layer in order (main first when present)
 * @param out      the value the layer produces: a named intermediate or an output, except in statements
 *                 that combine two layers (then an unnamed f32 value)
 * @param inputs   activations the layer reads that it does not produce itself, in first-use order
 */
public record Layer(int index, Op main, List<Op> ops, Activation out, List<Activation> inputs) {
    public Layer {
        ops = List.copyOf(ops);
        inputs = List.copyOf(inputs);
    }

    /** The activation the main op reads (its "A operand"), or null for elementwise-only layers. */
    public Activation mainInput() {
        return main == null ? null : main.reads().getFirst();
    }

    /** Activations read only by the epilogue (a residual, a second operand). */
    public List<Activation> epilogueInputs() {
        Activation m = mainInput();
        return inputs.stream().filter(a -> m == null || !a.name().equals(m.name())).toList();
    }

    /** The k x k conv's halo radius this layer needs on its main input (0 for everything else). */
    public int inputHalo() {
        return main instanceof Op.Conv2d c ? c.pad() : 0;
    }

    public Span span() {
        return ops.getFirst().span();
    }

    public long flopsPerPixel() {
        return ops.stream().mapToLong(Op::flopsPerPixel).sum();
    }

    public long weightBytes() {
        return ops.stream().mapToLong(Op::weightBytes).sum();
    }

    /** A short name for messages and emitted comments: "L2 pointwise 64->256 -> h". */
    public String describe() {
        String kind = switch (main) {
            case null -> "elementwise";
            case Op.Conv2d c -> "conv2d " + c.kernel() + "x" + c.kernel()
                    + (c.isDepthwise() ? " depthwise" : c.groups() > 1 ? " gw" + c.groupWidth() : "")
                    + " " + c.in().channels() + "->" + c.out().channels();
            case Op.Pointwise p -> "pointwise " + p.in().channels() + "->" + p.out().channels();
            case Op.LayerNorm l -> "layernorm " + l.in().channels();
            default -> main.getClass().getSimpleName();
        };
        return "L" + index + " " + kind + " -> " + out.name();
    }

    /**
     * Splits a block's ops into layers. A new layer starts at every main op, after every named value
     * (named values are materialised with rounding, so they end a layer), and at an elementwise op that
     * does not read the previous op's result.
     */
    public static List<Layer> of(TypedBlock block) {
        List<Layer> layers = new ArrayList<>();
        List<Op> current = new ArrayList<>();
        for (Op op : block.ops()) {
            boolean isMain = op instanceof Op.Conv2d || op instanceof Op.Pointwise || op instanceof Op.LayerNorm;
            if (!current.isEmpty()) {
                Op prev = current.getLast();
                boolean prevEnded = prev.out().kind() != Activation.Kind.UNNAMED;
                boolean readsPrev = op.reads().stream().anyMatch(a -> a.name().equals(prev.out().name()));
                if (isMain || prevEnded || !readsPrev) {
                    layers.add(close(layers.size() + 1, current));
                    current = new ArrayList<>();
                }
            }
            current.add(op);
        }
        if (!current.isEmpty()) layers.add(close(layers.size() + 1, current));
        return List.copyOf(layers);
    }

    private static Layer close(int index, List<Op> ops) {
        Op first = ops.getFirst();
        Op main = first instanceof Op.Conv2d || first instanceof Op.Pointwise || first instanceof Op.LayerNorm
                ? first : null;
        Set<String> produced = new LinkedHashSet<>();
        List<Activation> inputs = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Op op : ops) {
            for (Activation a : op.reads()) {
                if (!produced.contains(a.name()) && seen.add(a.name())) inputs.add(a);
            }
            produced.add(op.out().name());
        }
        return new Layer(index, main, ops, ops.getLast().out(), inputs);
    }
}
