package tmc.check;

import java.util.Optional;

/** Storage types. Arithmetic is always f32 (or f64 in the reference when asked); these say how values are stored. */
public enum DType {
    F16("f16", 2), BF16("bf16", 2), F32("f32", 4);

    public final String keyword;
    public final int bytes;

    DType(String keyword, int bytes) {
        this.keyword = keyword;
        this.bytes = bytes;
    }

    public static Optional<DType> of(String keyword) {
        for (DType d : values()) if (d.keyword.equals(keyword)) return Optional.of(d);
        return Optional.empty();
    }

    @Override
    public String toString() {
        return keyword;
    }
}
