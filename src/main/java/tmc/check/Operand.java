package tmc.check;

/** Something an elementwise operation reads: an activation, a per-channel vector weight, or a constant. */
public sealed interface Operand {
    record Act(Activation value) implements Operand {}

    /** A weight of shape [C], broadcast over N, H and W. */
    record Vec(Weight weight) implements Operand {}

    record Scalar(double value) implements Operand {}

    default String describe() {
        return switch (this) {
            case Act a -> a.value().name();
            case Vec v -> v.weight().name();
            case Scalar s -> s.value() == Math.rint(s.value()) && Math.abs(s.value()) < 1e15
                    ? Long.toString((long) s.value()) : Double.toString(s.value());
        };
    }
}
