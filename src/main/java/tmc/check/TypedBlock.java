package tmc.check;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tmc.diag.Span;

/**
 * A block after checking: parameters evaluated, every tensor with a shape and dtype, and the statements
 * flattened into SSA ops in source order. This is what the reference interpreter, the planner and the
 * emitter consume.
 *
 * @param storage the activation storage type of the block (the type of its inputs); named intermediates
 *                are rounded to it, because a fused kernel keeps them on chip in this type
 */
public record TypedBlock(String name, Span span, Map<String, Long> params, DType storage,
                         List<Activation> inputs, List<Weight> weights, List<Activation> outputs,
                         List<Activation> named, List<Op> ops) {
    public TypedBlock {
        params = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params));
        inputs = List.copyOf(inputs);
        weights = List.copyOf(weights);
        outputs = List.copyOf(outputs);
        named = List.copyOf(named);
        ops = List.copyOf(ops);
    }

    public Optional<Weight> weight(String name) {
        return weights.stream().filter(w -> w.name().equals(name)).findFirst();
    }

    /** An input, output or named intermediate by name. */
    public Optional<Activation> activation(String name) {
        for (List<Activation> list : List.of(inputs, outputs, named)) {
            for (Activation a : list) if (a.name().equals(name)) return Optional.of(a);
        }
        return Optional.empty();
    }

    /** The op that writes {@code name}, if any. */
    public Optional<Op> producer(String name) {
        return ops.stream().filter(op -> op.out().name().equals(name)).findFirst();
    }

    /** The ops that read {@code name}. */
    public List<Op> consumers(String name) {
        return ops.stream().filter(op -> op.reads().stream().anyMatch(a -> a.name().equals(name))).toList();
    }

    /** The type an activation is stored in when a kernel writes it to memory: its dtype, or the block's
     *  storage type for unnamed f32 values (which only a separate plan ever materialises). */
    public DType storageFor(Activation a) {
        return a.kind() == Activation.Kind.UNNAMED ? DType.F32 : a.dtype();
    }

    public long totalWeightBytes() {
        return weights.stream().mapToLong(Weight::bytes).sum();
    }

    public long flopsPerPixel() {
        return ops.stream().mapToLong(Op::flopsPerPixel).sum();
    }
}
