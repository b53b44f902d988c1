package tmc.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import tmc.check.Activation;
import tmc.check.Op;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.check.Weight;

/** The text summary of a typed block printed by {@code tmc compile}. */
public final class BlockSummary {
    private BlockSummary() {}

    public static String render(TypedBlock b, List<PlanSpec> plans, Shape shape) {
        StringBuilder s = new StringBuilder();
        List<String> params = new ArrayList<>();
        b.params().forEach((k, v) -> params.add(k + "=" + v));
        s.append("block ").append(b.name()).append("  (").append(b.span()).append(")\n");
        s.append("  params   ").append(params.isEmpty() ? "none" : String.join(", ", params)).append('\n');
        s.append("  storage  ").append(b.storage()).append(" (named intermediates are rounded to it)\n\n");

        s.append(String.format(Locale.ROOT, "  %-10s %-6s %-18s %-5s %s%n", "tensor", "role", "shape", "dtype", "bytes/image"));
        long hw = (long) shape.h() * shape.w();
        for (Activation a : b.inputs()) s.append(tensorRow(a, "in", hw));
        for (Weight w : b.weights()) {
            s.append(String.format(Locale.ROOT, "  %-10s %-6s %-18s %-5s %s%n", w.name(), "w", w.shape(), w.dtype(),
                    w.bytes()));
        }
        for (Activation a : b.named()) s.append(tensorRow(a, "named", hw));
        for (Activation a : b.outputs()) s.append(tensorRow(a, "out", hw));

        s.append(String.format(Locale.ROOT, "%n  layers for one image at H=%d, W=%d%n", shape.h(), shape.w()));
        s.append(String.format(Locale.ROOT, "  %-6s %-34s %-10s %12s %12s%n", "line", "operation", "writes", "MFLOP",
                "param bytes"));
        long flops = 0;
        long paramBytes = 0;
        for (Op op : b.ops()) {
            long f = op.flopsPerPixel() * hw;
            flops += f;
            paramBytes += op.weightBytes();
            s.append(String.format(Locale.ROOT, "  %-6d %-34s %-10s %12.3f %12d%n", op.span().line(), describe(op),
                    op.out().name(), f / 1e6, op.weightBytes()));
        }
        s.append(String.format(Locale.ROOT, "  %-6s %-34s %-10s %12.3f %12d%n", "", "total", "", flops / 1e6, paramBytes));
        long io = 0;
        for (Activation a : b.inputs()) io += hw * a.channels() * a.dtype().bytes;
        for (Activation a : b.outputs()) io += hw * a.channels() * a.dtype().bytes;
        s.append(String.format(Locale.ROOT, "%n  at %s: %.3f GFLOP, %.3f MB of inputs and outputs, %.3f MB of weights%n",
                shape, flops * shape.n() / 1e9, io * shape.n() / 1e6, b.totalWeightBytes() / 1e6));
        if (!plans.isEmpty()) {
            s.append("  plans    ");
            List<String> names = new ArrayList<>();
            for (PlanSpec p : plans) {
                names.add(p.name() + " (" + p.kind().name().toLowerCase(Locale.ROOT)
                        + (p.arch() != null ? " on " + p.arch() : "") + ")");
            }
            s.append(String.join(", ", names)).append('\n');
        }
        s.append('\n');
        return s.toString();
    }

    private static String tensorRow(Activation a, String role, long hw) {
        return String.format(Locale.ROOT, "  %-10s %-6s %-18s %-5s %d%n", a.name(), role, a.shape(), a.dtype(),
                hw * a.channels() * a.dtype().bytes);
    }

    /** A short description of an op, as written in the .tm language. */
    public static String describe(Op op) {
        return switch (op) {
            case Op.Conv2d c -> String.format(Locale.ROOT, "conv2d %dx%d %s %d->%d", c.kernel(), c.kernel(),
                    c.isDepthwise() ? "depthwise" : c.groups() == 1 ? "dense" : "gw " + c.groupWidth(),
                    c.in().channels(), c.out().channels());
            case Op.Pointwise p -> "pointwise " + p.in().channels() + "->" + p.out().channels();
            case Op.LayerNorm l -> "layernorm over " + l.in().channels() + (l.gamma() != null ? " (affine)" : "");
            case Op.Activate a -> a.fn().keyword + "(" + a.in().name() + ")";
            case Op.Elementwise e -> e.left().describe() + " " + e.fn().symbol + " " + e.right().describe();
        };
    }
}
