package tmc.runtime;

import java.util.Objects;
import java.util.function.Function;

/** The outcome of an operation that can fail for reasons the user must see: a value or a {@link Problem}. */
public sealed interface Result<T> {
    record Ok<T>(T value) implements Result<T> {
        public Ok {
            Objects.requireNonNull(value, "value");
        }
    }

    record Err<T>(Problem problem) implements Result<T> {
        public Err {
            Objects.requireNonNull(problem, "problem");
        }
    }

    static <T> Result<T> ok(T value) {
        return new Ok<>(value);
    }

    static <T> Result<T> err(Problem problem) {
        return new Err<>(problem);
    }

    default boolean isOk() {
        return this instanceof Ok<T>;
    }

    default <U> Result<U> map(Function<? super T, ? extends U> f) {
        return switch (this) {
            case Ok<T>(T v) -> new Ok<>(f.apply(v));
            case Err<T>(Problem p) -> new Err<>(p);
        };
    }

    default <U> Result<U> flatMap(Function<? super T, Result<U>> f) {
        return switch (this) {
            case Ok<T>(T v) -> f.apply(v);
            case Err<T>(Problem p) -> new Err<>(p);
        };
    }

    /** The value, or the problem as a checked {@link RuntimeFailure}. */
    default T orThrow() throws RuntimeFailure {
        return switch (this) {
            case Ok<T>(T v) -> v;
            case Err<T>(Problem p) -> throw new RuntimeFailure(p);
        };
    }
}
