package tmc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tmc.check.Activation;
import tmc.check.Op;
import tmc.check.Operand;
import tmc.check.PlanSpec.Space;

/**
 * Prints tensor-machine kernels for people: a header with grid, threads, shared memory and registers; every
 * buffer with its memory space, shape and size; then the instructions, loops indented, each with the layer and
 * .tm line it comes from. The format is for reading (tmc plan --ir), not for parsing.
 */
public final class IrPrinter {
    private IrPrinter() {}

    public static String print(List<Kernel> kernels) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < kernels.size(); i++) {
            if (i > 0) s.append('\n');
            s.append(print(kernels.get(i)));
        }
        return s.toString();
    }

    public static String print(Kernel k) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "kernel %s  grid (N/%d, H/%d, W/%d)  threads %d (%d warps)  shared %d B"
                        + "  registers ~%d  math %s%n", k.name(), k.tileN(), k.tileH(), k.tileW(), k.threads(), k.warps(),
                k.sharedBytes(), k.registersPerThread(), k.math().keyword));
        s.append(k.sharesSharedMemory() ? "  buffers (@ byte offset: buffers never live at the same time share bytes)\n"
                : "  buffers\n");
        for (Buffer b : k.buffers()) {
            String size = b.space() == Space.REGISTERS ? b.rowStride() + " per thread"
                    : k.sharesSharedMemory() ? b.bytes() + " B @" + k.sharedOffset(b) : b.bytes() + " B";
            s.append(String.format(Locale.ROOT, "    %-8s %-9s %-4s %-52s %14s   line %d%n", b.name(),
                    b.space().keyword(), b.dtype(), describeBuffer(b, k), size, b.origin().line()));
        }
        s.append("  body\n");
        body(s, k, k.body(), "    ");
        return s.toString();
    }

    /** What a buffer holds: "x tile 10x18 (halo 1), 64 ch, row stride 72", "w1 rows 0..64 of 256 x 64 ch". */
    public static String describeBuffer(Buffer b, Kernel k) {
        StringBuilder d = new StringBuilder(b.tensor());
        if (Instr.weightSlices(k.body()).contains(b.name())) {
            d.append(" weight slice ").append(b.pixels()).append(" x ").append(b.channels());
            if (b.stages() == 2) d.append(" twice"); // double-buffered: one copy computed from, one being filled
        } else {
            d.append(" tile ").append(k.tileH() + 2 * b.halo()).append('x').append(k.tileW() + 2 * b.halo());
            if (b.halo() > 0) d.append(" (halo ").append(b.halo()).append(')');
            d.append(", ").append(b.channels()).append(" ch");
            // two copies: the next image's tile, or the chunk one side of a warp-specialized loop writes
            if (b.stages() == 2) d.append(", twice");
        }
        if (b.space() == Space.SHARED && b.rowStride() != b.channels()) d.append(", row stride ").append(b.rowStride());
        if (b.layout() == Buffer.Layout.CORE_MATRICES) d.append(", 8x8 core matrices");
        if (b.layout() == Buffer.Layout.A_FRAGMENTS) d.append(", mma A fragments of each warp's 16 pixels");
        return d.toString();
    }

    private static void body(StringBuilder s, Kernel k, List<Instr> body, String indent) {
        for (Instr i : body) {
            switch (i) {
                case Instr.Load l -> {
                    int r = l.dst().halo();
                    String what = switch (l.image()) {
                        case THIS -> l.async() ? "load async" : "load";
                        case FIRST -> "load async";
                        case NEXT -> "prefetch";
                    };
                    String into = switch (l.image()) {
                        case THIS -> l.dst().stages() == 2 ? " (this image's copy)" : "";
                        case FIRST -> " (copy 0: the block's first image)";
                        case NEXT -> " (the other copy: image n+1, if the block has it)";
                    };
                    String image = l.image() == Instr.Load.Image.NEXT ? "n+1" : l.image() == Instr.Load.Image.FIRST
                            ? "blockIdx.z*" + k.tileN() : "n";
                    line(s, indent, what, l.dst().name() + into + " <- " + l.tensor() + "[" + image + ", " + range("h0", -r, k.tileH() + r)
                            + ", " + range("w0", -r, k.tileW() + r) + ", 0 : " + l.dst().channels() + "]"
                            + (r > 0 ? "  zero outside the image" : "  masked at the image edge")
                            + (l.beforeLastTrip() ? ", in the trip before the last (for the epilogue)" : ""), null, -1);
                }
                case Instr.LoadWeight lw -> {
                    Instr.Channels st = lw.streamed();
                    boolean ahead = st != null && st.start() > 0;
                    // Ahead into a single buffer: a refill during the phases that do not read the slice (tmc.plan.SliceRefill).
                    String copy = lw.dst().stages() == 2
                            ? (st == null ? " (copy 0)" : ahead ? " (the other copy), unless past the last chunk" : "")
                            : ahead ? ", unless past the last chunk" : "";
                    String verb = ahead ? (lw.dst().stages() == 2 ? "prefetch" : "refill") : lw.async() ? "load async" : "load";
                    line(s, indent, verb, lw.dst().name() + copy
                            + " <- " + lw.weight() + "[" + channels(lw.rows()) + ", " + channels(lw.cols()) + "]", null, -1);
                }
                case Instr.Compute c -> {
                    boolean global = c.dst().space() == Space.GLOBAL;
                    String region = (k.tileH() + 2 * c.halo()) + "x" + (k.tileW() + 2 * c.halo());
                    line(s, indent, "compute", c.dst().name() + (global ? " (global, masked)" : "") + "[" + region + ", "
                                    + channels(c.out()) + "] = " + expression(c.layer(), c.sources(), null, c.inlined()),
                            c.math().name().toLowerCase(Locale.ROOT), c.layer().span().line(), c.layer().index());
                }
                case Instr.Accumulate a -> {
                    Map<String, Buffer> src = new java.util.HashMap<>();
                    for (Buffer b : k.buffers()) src.putIfAbsent(b.tensor(), b); // staged weights by weight name
                    src.put(mainInputName(a.layer()), a.input());
                    String main = mainCall(a.layer(), src, List.of());
                    line(s, indent, "accumulate", a.acc().name() + "[" + k.tileH() + "x" + k.tileW() + ", 0 : "
                                    + a.acc().channels() + "] += " + main + " over input channels " + channels(a.reduce()),
                            a.math().name().toLowerCase(Locale.ROOT), a.layer().span().line(), a.layer().index());
                }
                case Instr.Chain ch -> {
                    s.append(indent).append("chain (").append(ch.producer().dst().tensor()).append(" stays in registers, ")
                            .append(ch.sliceWidth())
                            .append(" channels at a time, each warp whole rows of 16 pixels")
                            .append(k.usesWgmma() ? (ch.producerOnWgmma()
                                    ? "; both products on wgmma, per warpgroup of 64 pixels" : "; the projection on wgmma, "
                                    + "per warpgroup of 64 pixels") : "").append(")\n");
                    body(s, k, List.of(ch.producer(), ch.consumer()), indent + "  ");
                }
                case Instr.Finish f -> line(s, indent, "finish", f.dst().name() + " = "
                        + expression(f.layer(), f.sources(), f.acc().name(), List.of()), "cuda_core", f.layer().span().line(),
                        f.layer().index());
                case Instr.Store st -> line(s, indent, "store", st.tensor() + "[n, " + range("h0", 0, k.tileH()) + ", "
                        + range("w0", 0, k.tileW()) + ", 0 : " + st.src().channels() + "] <- " + st.src().name()
                        + (st.staging() == null ? "" : " through " + st.staging().name() + " (16-byte pieces of pixel rows)")
                        + "  masked at the image edge", null, -1);
                case Instr.Loop lp -> {
                    s.append(indent).append("for ").append(lp.var()).append(" in 0 .. ").append(lp.extent()).append(" by ")
                            .append(lp.chunk()).append("   (").append(lp.dim()).append(", ").append(lp.trips())
                            .append(lp.trips() == 1 ? " trip" : " trips")
                            .append(lp.lag() == 0 ? ")" : " + " + lp.lag() + ": the sides work on different chunks)")
                            .append('\n');
                    if (lp.note() != null) {
                        for (String line : lp.note().split("\n")) s.append(indent).append("  # ").append(line).append('\n');
                    }
                    body(s, k, lp.body(), indent + "  ");
                }
                case Instr.ImageLoop il -> {
                    s.append(indent).append("for img in 0 .. ").append(il.images()).append("   (images blockIdx.z * ")
                            .append(il.images()).append(" + img, one after another; the weights above serve them all)\n");
                    body(s, k, il.body(), indent + "  ");
                }
                case Instr.Side sd -> {
                    s.append(indent).append(sd.role()).append(" warps ").append(sd.firstWarp()).append(" .. ")
                            .append(sd.firstWarp() + sd.warps() - 1)
                            .append(sd.lag() == 0 ? "" : "   (chunk trip - " + sd.lag() + ")").append('\n');
                    body(s, k, sd.body(), indent + "  ");
                }
                case Instr.Barrier b -> s.append(indent).append("barrier\n");
                case Instr.SideBarrier b -> s.append(indent).append("barrier   (").append(b.threads() / 32)
                        .append(" warps of this side: bar.sync ").append(b.id()).append(", ").append(b.threads()).append(")\n");
                case Instr.AsyncCommit ac -> s.append(indent).append("commit     (close this thread's group of async copies)\n");
                case Instr.AsyncWait aw -> s.append(indent).append(aw.pending() == 0
                        ? "wait       (until every copy this thread issued has landed)\n"
                        : "wait       (until at most " + aw.pending() + (aw.pending() == 1 ? " group is" : " groups are")
                        + " in flight)\n");
            }
        }
    }

    private static void line(StringBuilder s, String indent, String op, String text, String path, int line) {
        line(s, indent, op, text, path, line, -1);
    }

    private static void line(StringBuilder s, String indent, String op, String text, String path, int line, int layer) {
        StringBuilder l = new StringBuilder(indent).append(String.format(Locale.ROOT, "%-10s ", op)).append(text);
        if (path != null || line > 0) {
            int pad = Math.max(2, 96 - l.length());
            l.append(" ".repeat(pad));
            if (path != null) l.append(String.format(Locale.ROOT, "%-11s", path));
            if (layer > 0) l.append(" L").append(layer);
            if (line > 0) l.append(", line ").append(line);
        }
        s.append(l.toString().stripTrailing()).append('\n');
    }

    private static String range(String var, int from, int to) {
        return off(var, from) + " : " + off(var, to);
    }

    private static String off(String var, int d) {
        return d == 0 ? var : d > 0 ? var + "+" + d : var + d;
    }

    private static String channels(Instr.Channels c) {
        if (c.streamed()) {
            return off(c.loopVar(), c.start()) + " : " + off(c.loopVar(), c.start() + c.count());
        }
        return c.start() + " : " + (c.start() + c.count());
    }

    private static String mainInputName(Layer l) {
        Activation in = l.mainInput();
        return in == null ? "" : in.name();
    }

    /**
     * The layer as an expression, its activations named by the buffers that hold them (global tensors by their
     * own name). {@code mainValue}, when given, stands for the main op's finished result (a Finish).
     */
    static String expression(Layer layer, Map<String, Buffer> sources, String mainValue, List<Layer> inlined) {
        String cur = null;
        String prevOut = null;
        for (Op op : layer.ops()) {
            String next;
            if (op == layer.main()) {
                next = mainValue != null ? mainValue : mainCall(layer, sources, inlined);
            } else {
                next = switch (op) {
                    case Op.Activate a -> a.fn().keyword + "(" + operand(a.in(), prevOut, cur, sources, false) + ")";
                    case Op.Elementwise e -> {
                        boolean tight = e.fn() == Op.ElementwiseFn.MUL;
                        String left = operand(e.left(), prevOut, cur, sources, tight);
                        String right = operand(e.right(), prevOut, cur, sources, tight || e.fn() == Op.ElementwiseFn.SUB);
                        yield left + " " + e.fn().symbol + " " + right;
                    }
                    default -> mainCall(layer, sources, inlined);
                };
            }
            cur = next;
            prevOut = op.out().name();
        }
        return cur;
    }

    private static String operand(Operand o, String prevOut, String cur, Map<String, Buffer> sources, boolean tight) {
        return switch (o) {
            case Operand.Act a -> operand(a.value(), prevOut, cur, sources, tight);
            case Operand.Vec v -> v.weight().name();
            case Operand.Scalar sc -> sc.describe();
        };
    }

    private static String operand(Activation a, String prevOut, String cur, Map<String, Buffer> sources, boolean tight) {
        if (a.name().equals(prevOut) && cur != null) return tight && cur.contains(" ") ? "(" + cur + ")" : cur;
        Buffer b = sources.get(a.name());
        return b != null ? b.name() : a.name();
    }

    /**
     * The main op as a call, operands named by their buffers; an input that an inlined layer produces is shown
     * as that layer's expression, evaluated at each tap ("halo recompute").
     */
    private static String mainCall(Layer layer, Map<String, Buffer> sources, List<Layer> inlined) {
        Op main = layer.main();
        if (main == null) return "";
        String inName = mainInputName(layer);
        String in = sources.containsKey(inName) ? sources.get(inName).name() : inName;
        for (Layer p : inlined) {
            if (p.out().name().equals(inName)) {
                in = inName + " = " + expression(p, sources, null, List.of()) + " at each tap";
            }
        }
        return switch (main) {
            case Op.Conv2d c -> "conv2d " + c.kernel() + "x" + c.kernel()
                    + (c.isDepthwise() ? " depthwise" : c.groups() > 1 ? " gw" + c.groupWidth() : "")
                    + "(" + in + ", " + weight(c.weight().name(), sources) + ")";
            case Op.Pointwise p -> "pointwise(" + in + ", " + weight(p.weight().name(), sources) + ")";
            case Op.LayerNorm l -> "layernorm(" + in + (l.gamma() != null ? ", " + l.gamma().name() : "")
                    + (l.beta() != null ? ", " + l.beta().name() : "") + ")";
            default -> main.getClass().getSimpleName();
        };
    }

    /** A weight by the shared buffer it is staged in, or by its own name when read from global memory. */
    private static String weight(String name, Map<String, Buffer> sources) {
        Buffer b = sources.get(name);
        return b != null ? b.name() : name;
    }

    /** Lines of text, for callers that indent the printout. */
    public static List<String> lines(Kernel k) {
        return new ArrayList<>(List.of(print(k).split("\n")));
    }
}
