package tmc.check;

import java.util.List;
import tmc.diag.Span;

/** A weight (or bias, or scale): a tensor of compile-time shape, the same for every image. */
public record Weight(String name, DType dtype, List<Integer> dims, Span span) {
    public Weight {
        dims = List.copyOf(dims);
    }

    public long elements() {
        long n = 1;
        for (int d : dims) n *= d;
        return n;
    }

    public long bytes() {
        return elements() * dtype.bytes;
    }

    public boolean isVector() {
        return dims.size() == 1;
    }

    public String shape() {
        return dims.toString();
    }
}
