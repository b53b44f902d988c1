package tmc.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import tmc.check.NetLayer.Kind;
import tmc.diag.Diagnostics;
import tmc.diag.Span;
import tmc.syntax.Ast;

/**
 * Checks a {@code network}: the input comes first, every layer's arguments are known and valid, channel counts
 * chain, a block instance's parameters exist and its input width matches. Produces the flat layer list that
 * tmc.analysis counts. See docs/analysis.md for the language.
 */
final class NetworkChecker {
    /** The plain layers a network may use, with the arguments each takes (positional first). */
    private static final Map<String, List<String>> LAYERS = new LinkedHashMap<>();

    static {
        LAYERS.put("conv", List.of("out", "k", "stride", "groups", "act"));
        LAYERS.put("depthwise", List.of("k", "stride", "act"));
        LAYERS.put("pointwise", List.of("out", "act"));
        LAYERS.put("layernorm", List.of());
        LAYERS.put("se", List.of("reduced", "act"));
        LAYERS.put("pool", List.of());
        LAYERS.put("linear", List.of("out", "act"));
        LAYERS.put("residual", List.of());
    }

    private static final Set<String> ACTIVATIONS = Set.of("none", "relu", "silu", "gelu", "gelu_tanh", "hardswish",
            "sigmoid");

    private final Ast.Network ast;
    private final Map<String, Ast.Block> blocks;
    private final Diagnostics diag;
    private final Map<String, TypedBlock> instances = new HashMap<>();
    private final List<NetLayer> layers = new ArrayList<>();
    private final List<Network.Unit> units = new ArrayList<>();

    private DType dtype = DType.F16;
    /** The input's shape (h0, w0, c0) and the shape after the layers so far (h, w, c). */
    private int batch, h0, w0, c0, h, w, c;
    private boolean haveInput, missingInputReported;
    private Network.Accuracy accuracy;
    /** The open fuse group: its first layer and the shape of its input (for 'residual'); null outside one. */
    private Group group;

    private record Group(int firstLayer, int h, int w, int c, Span span, String label) {}

    NetworkChecker(Ast.Network ast, Map<String, Ast.Block> blocks, Diagnostics diag) {
        this.ast = ast;
        this.blocks = blocks;
        this.diag = diag;
    }

    Network check() {
        int errorsBefore = diag.errorCount();
        statements(ast.body(), "");
        if (!haveInput && !missingInputReported) {
            diag.error(ast.name().span(), "network '" + ast.name().text() + "' has no input",
                    "begin it with input(N: 128, H: 224, W: 224, C: 3)");
        } else if (layers.isEmpty() && diag.errorCount() == errorsBefore) {
            diag.error(ast.name().span(), "network '" + ast.name().text() + "' has no layers",
                    "add layers such as conv(32, k: 3, stride: 2) or instances of blocks defined in the file");
        }
        if (diag.errorCount() > errorsBefore) return null;
        return new Network(ast.name().text(), ast.name().span(), dtype, batch, h0, w0, c0, accuracy, layers, units);
    }

    private void statements(List<Ast.NetStmt> body, String repeatLabel) {
        for (Ast.NetStmt s : body) {
            switch (s) {
                case Ast.NetAccuracy a -> {
                    if (accuracy != null) {
                        diag.error(a.span(), "the accuracy is already given", "keep one 'accuracy' line");
                    } else if (a.percent() <= 0 || a.percent() > 100) {
                        diag.error(a.span(), "accuracy " + a.percent() + " is not a percentage",
                                "give the top-1 accuracy in percent, e.g. accuracy 77.7 \"source\"");
                    } else if (a.source().isBlank()) {
                        diag.error(a.span(), "the accuracy needs a source", "say where the figure is published");
                    } else {
                        accuracy = new Network.Accuracy(a.percent(), a.source());
                    }
                }
                case Ast.NetRepeat r -> {
                    if (r.count() < 1) {
                        diag.error(r.countSpan(), "repeat count must be at least 1", "write repeat 1 or more");
                        continue;
                    }
                    for (int i = 0; i < r.count(); i++) {
                        int errors = diag.errorCount();
                        statements(r.body(), repeatLabel + " [" + (i + 1) + "/" + r.count() + "]");
                        if (diag.errorCount() > errors) break; // the same errors again on every repetition
                    }
                }
                case Ast.NetFuse f -> {
                    if (group != null) {
                        diag.error(f.span(), "fuse groups do not nest", "close the outer fuse group first");
                        continue;
                    }
                    if (!requireInput(f.span())) continue;
                    group = new Group(layers.size(), h, w, c, f.span(), "fuse (line " + f.span().line() + ")" + repeatLabel);
                    statements(f.body(), repeatLabel);
                    Group g = group;
                    group = null;
                    if (layers.size() == g.firstLayer()) {
                        diag.error(f.span(), "empty fuse group", "put the layers to fuse between the braces");
                    } else {
                        addUnit(g.label(), true, g.firstLayer(), g.span());
                    }
                }
                case Ast.NetCall call -> call(call, repeatLabel);
            }
        }
    }

    private void call(Ast.NetCall call, String repeatLabel) {
        String fn = call.function().text();
        if (fn.equals("input")) {
            input(call);
            return;
        }
        if (!requireInput(call.span())) return;
        if (LAYERS.containsKey(fn)) {
            int first = layers.size();
            Map<String, Ast.Expr> args = args(call, LAYERS.get(fn));
            if (args == null) return;
            plainLayer(fn, call, args);
            if (group == null && layers.size() > first) {
                addUnit(layers.get(first).describe() + repeatLabel, false, first, call.span());
            }
            return;
        }
        Ast.Block block = blocks.get(fn);
        if (block == null) {
            Set<String> known = new TreeSet<>(LAYERS.keySet());
            known.add("input");
            known.addAll(blocks.keySet());
            diag.error(call.function().span(), "unknown layer or block '" + fn + "'",
                    Checker.suggest(fn, known, "layers and blocks"));
            return;
        }
        if (group != null) {
            diag.error(call.span(), "block '" + fn + "' inside a fuse group",
                    "a block instance is fused on its own; put it outside the fuse group");
            return;
        }
        instance(block, call, repeatLabel);
    }

    private boolean requireInput(Span at) {
        if (haveInput) return true;
        if (!missingInputReported) {
            diag.error(at, "layer before the network's input", "begin the network with input(N: 128, H: 224, W: 224, C: 3)");
            missingInputReported = true; // once is enough: every later layer would repeat it
        }
        return false;
    }

    private void input(Ast.NetCall call) {
        if (haveInput) {
            diag.error(call.span(), "the network's input is already given", "keep one input(...) line, first");
            return;
        }
        if (missingInputReported) return; // the misplaced input was reported at the first layer
        haveInput = true;
        Map<String, Ast.Expr> args = args(call, List.of("N", "H", "W", "C", "dtype"));
        h = w = c = batch = 1;
        if (args == null) return;
        for (String required : List.of("N", "H", "W", "C")) {
            if (!args.containsKey(required)) {
                diag.error(call.span(), "input(...) lacks " + required,
                        "write input(N: 128, H: 224, W: 224, C: 3): batch, height, width and channels");
                return;
            }
        }
        batch = positive(args.get("N"), "N");
        h = positive(args.get("H"), "H");
        w = positive(args.get("W"), "W");
        c = positive(args.get("C"), "C");
        if (args.containsKey("dtype")) {
            String d = name(args.get("dtype"));
            DType t = d == null ? null : DType.of(d).orElse(null);
            if (t == null || t == DType.F32) {
                diag.error(args.get("dtype").span(), "dtype must be f16 or bf16", "write dtype: f16 or dtype: bf16");
            } else {
                dtype = t;
            }
        }
        h0 = h;
        w0 = w;
        c0 = c;
    }

    // ---- plain layers --------------------------------------------------------------------------

    private void plainLayer(String fn, Ast.NetCall call, Map<String, Ast.Expr> args) {
        long pixelsIn = (long) batch * h * w;
        switch (fn) {
            case "conv", "depthwise" -> {
                int k = args.containsKey("k") ? positive(args.get("k"), "k") : 0;
                if (!args.containsKey("k")) {
                    diag.error(call.span(), fn + "(...) needs the kernel size", "add k: 3 (or another size)");
                    return;
                }
                int stride = args.containsKey("stride") ? positive(args.get("stride"), "stride") : 1;
                int out = fn.equals("depthwise") ? c : required(call, args, "out", fn + "(96, k: 3)");
                int groups = fn.equals("depthwise") ? c : args.containsKey("groups") ? positive(args.get("groups"), "groups") : 1;
                String act = activation(args.get("act"));
                if (out <= 0 || k <= 0 || stride <= 0 || groups <= 0 || act == null) return;
                if (c % groups != 0 || out % groups != 0) {
                    diag.error(args.containsKey("groups") ? args.get("groups").span() : call.span(),
                            groups + " groups do not divide " + c + " input and " + out + " output channels",
                            "choose groups dividing both");
                    return;
                }
                if (stride > k) {
                    diag.error(args.get("stride").span(), "stride " + stride + " is larger than the kernel " + k,
                            "pixels would be skipped; use a stride of at most k");
                    return;
                }
                // 'same' padding for stride 1; for a strided conv the padding timm and torchvision use,
                // (k - stride + 1) / 2, which gives ceil(H / stride) outputs (k3 s2: 1, k5 s2: 2, k4 s4: 0).
                int pad = (k - stride + 1) / 2;
                int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
                if (ho < 1 || wo < 1) {
                    diag.error(call.span(), "a " + k + "x" + k + " conv does not fit the " + h + "x" + w + " input",
                            "use a smaller kernel, or place the layer before the resolution drops");
                    return;
                }
                long pixelsOut = (long) batch * ho * wo;
                long macs = pixelsOut * out * (long) k * k * (c / groups);
                long vector = pixelsOut * out * (1 + (act.equals("none") ? 0 : 1));
                long weights = (long) out * k * k * (c / groups) * dtype.bytes + 4L * out;
                add(Kind.CONV, c, out, k, stride, groups, ho, wo, act, 2 * macs, vector, weights, c / groups >= 8,
                        call.span());
            }
            case "pointwise", "linear" -> {
                int out = required(call, args, "out", fn + "(96)");
                String act = activation(args.get("act"));
                if (out <= 0 || act == null) return;
                long vector = pixelsIn * out * (1 + (act.equals("none") ? 0 : 1));
                add(fn.equals("linear") ? Kind.LINEAR : Kind.POINTWISE, c, out, 1, 1, 1, h, w, act,
                        2 * pixelsIn * out * c, vector, (long) out * c * dtype.bytes + 4L * out, true, call.span());
            }
            case "layernorm" -> add(Kind.LAYERNORM, c, c, 1, 1, 1, h, w, "none", 0, 7 * pixelsIn * c, 8L * c, false,
                    call.span());
            case "pool" -> add(Kind.POOL, c, c, 1, 1, 1, 1, 1, "none", 0, pixelsIn * c, 0, false, call.span());
            case "se" -> {
                int reduced = required(call, args, "reduced", "se(" + Math.max(1, c / 4) + ")");
                String act = args.containsKey("act") ? activation(args.get("act")) : "silu";
                if (reduced <= 0 || act == null) return;
                // squeeze: mean over H x W; excite: reduce + bias + act, expand + bias + sigmoid (per image);
                // scale: one multiply per element
                long excite = 2L * batch * 2 * c * reduced;
                long vector = pixelsIn * c + 2L * batch * reduced + 2L * batch * c + pixelsIn * c;
                long weights = 2L * c * reduced * dtype.bytes + 4L * (reduced + c);
                add(Kind.SE, c, c, reduced, 1, 1, h, w, act, excite, vector, weights, false, call.span());
            }
            case "residual" -> {
                if (group == null) {
                    diag.error(call.span(), "residual outside a fuse group",
                            "put it last in a fuse { ... } group: it adds the group's input to its output");
                    return;
                }
                if (layers.size() == group.firstLayer()) {
                    diag.error(call.span(), "residual before any layer of the group",
                            "put it after the layers whose output it adds to");
                    return;
                }
                if (h != group.h() || w != group.w() || c != group.c()) {
                    diag.error(call.span(), "residual adds the group's input (" + group.h() + "x" + group.w() + "x"
                                    + group.c() + ") to an output of " + h + "x" + w + "x" + c,
                            "a residual needs the same shape in and out: no stride and no channel change");
                    return;
                }
                NetLayer last = layers.removeLast();
                layers.add(last.withEpilogue(last.act(), true, (long) batch * h * w * c, 0));
            }
            default -> throw new IllegalStateException("layer without a rule: " + fn);
        }
    }

    private void add(Kind kind, int cin, int cout, int k, int stride, int groups, int ho, int wo, String act,
                     long matrixFlops, long vectorFlops, long weightBytes, boolean tensorCores, Span span) {
        layers.add(new NetLayer(layers.size(), units.size(), kind, cin, cout, k, stride, groups, h, w, ho, wo, act,
                false, matrixFlops, vectorFlops, weightBytes, tensorCores, span));
        h = ho;
        w = wo;
        c = cout;
    }

    private void addUnit(String label, boolean fusable, int first, Span span) {
        units.add(new Network.Unit(units.size(), label, fusable, first, layers.size() - first, span));
    }

    // ---- block instances -----------------------------------------------------------------------

    private void instance(Ast.Block block, Ast.NetCall call, String repeatLabel) {
        Map<String, Long> params = new LinkedHashMap<>();
        TreeSet<String> known = new TreeSet<>();
        for (Ast.Param p : block.params()) known.add(p.name().text());
        for (Ast.Arg a : call.args()) {
            if (a.keyword() == null) {
                diag.error(a.span(), "block parameters are given by name",
                        "write " + block.name().text() + "(" + (known.isEmpty() ? "C" : known.first()) + ": ...)");
                return;
            }
            String key = a.keyword().text();
            if (!known.contains(key)) {
                diag.error(a.keyword().span(), "block '" + block.name().text() + "' has no parameter '" + key + "'",
                        known.isEmpty() ? "it takes none" : Checker.suggest(key, known, "parameters"));
                return;
            }
            int v = positive(a.value(), key);
            if (v <= 0) return;
            params.put(key, (long) v);
        }
        StringBuilder label = new StringBuilder(block.name().text()).append('(');
        params.forEach((k, v) -> label.append(label.charAt(label.length() - 1) == '(' ? "" : ", ").append(k)
                .append(": ").append(v));
        label.append(')');
        String key = label.toString();
        TypedBlock typed = instances.get(key);
        if (typed == null && !instances.containsKey(key)) {
            Diagnostics inner = new Diagnostics();
            Program p = Checker.check(new Ast.Unit(List.of(block), List.of()), params, Set.of(), inner);
            typed = inner.hasErrors() ? null : p.blocks().getFirst();
            if (typed == null) {
                var first = inner.sorted().getFirst();
                diag.error(call.span(), key + " does not check: " + first.message()
                        + " (" + first.span() + ")", "choose parameters the block accepts");
            }
            instances.put(key, typed);
        }
        if (typed == null) return;
        if (typed.inputs().size() != 1 || typed.outputs().size() != 1) {
            diag.error(call.span(), "block '" + typed.name() + "' has " + typed.inputs().size() + " inputs and "
                    + typed.outputs().size() + " outputs", "a network uses blocks with one input and one output");
            return;
        }
        Activation in = typed.inputs().getFirst();
        if (in.channels() != c) {
            diag.error(call.span(), key + " takes " + in.channels() + " channels, but the network has "
                    + c + " here", "set the block's channel parameter to " + c);
            return;
        }
        int first = layers.size();
        long pixels = (long) batch * h * w;
        // Elementwise work before the block's first layer (rare) waits for it.
        long pendingFlops = 0, pendingWeights = 0;
        for (Op op : typed.ops()) {
            long flops = op.flopsPerPixel() * pixels;
            switch (op) {
                case Op.Conv2d cv -> add(Kind.CONV, cv.in().channels(), cv.out().channels(), cv.kernel(), 1,
                        cv.groups(), h, w, "none", flops, pendingFlops, cv.weightBytes() + pendingWeights,
                        !cv.isDepthwise() && cv.groupWidth() >= 8, cv.span());
                case Op.Pointwise pw -> add(Kind.POINTWISE, pw.in().channels(), pw.out().channels(), 1, 1, 1, h, w,
                        "none", flops, pendingFlops, pw.weightBytes() + pendingWeights, true, pw.span());
                case Op.LayerNorm ln -> add(Kind.LAYERNORM, ln.in().channels(), ln.out().channels(), 1, 1, 1, h, w,
                        "none", 0, flops + pendingFlops, ln.weightBytes() + pendingWeights, false, ln.span());
                case Op.Activate a -> {
                    if (layers.size() == first) {
                        pendingFlops += flops;
                        continue;
                    }
                    NetLayer last = layers.removeLast();
                    String act = a.fn() == Op.ActivationFn.IDENTITY ? last.act() : a.fn().keyword;
                    layers.add(last.withEpilogue(act, false, flops, 0));
                    continue;
                }
                case Op.Elementwise e -> {
                    boolean residual = e.fn() == Op.ElementwiseFn.ADD
                            && e.reads().stream().anyMatch(r -> r.kind() == Activation.Kind.INPUT);
                    if (layers.size() == first) {
                        pendingFlops += flops;
                        pendingWeights += e.weightBytes();
                        continue;
                    }
                    NetLayer last = layers.removeLast();
                    layers.add(last.withEpilogue(last.act(), residual, flops, e.weightBytes()));
                    continue;
                }
            }
            pendingFlops = 0;
            pendingWeights = 0;
        }
        addUnit(key + repeatLabel, true, first, call.span());
        c = typed.outputs().getFirst().channels();
    }

    // ---- arguments ------------------------------------------------------------------------------

    /** The arguments by name (positional ones take the names in order), or null after an error. */
    private Map<String, Ast.Expr> args(Ast.NetCall call, List<String> names) {
        Map<String, Ast.Expr> out = new LinkedHashMap<>();
        String fn = call.function().text();
        int position = 0;
        boolean named = false;
        for (Ast.Arg a : call.args()) {
            String key;
            if (a.keyword() == null) {
                if (named || position >= names.size()) {
                    diag.error(a.span(), "unexpected positional argument to " + fn + "(...)",
                            names.isEmpty() ? fn + " takes no arguments" : "name it: " + String.join(", ", names));
                    return null;
                }
                key = names.get(position++);
            } else {
                named = true;
                key = a.keyword().text();
                if (!names.contains(key)) {
                    diag.error(a.keyword().span(), fn + "(...) has no argument '" + key + "'",
                            names.isEmpty() ? fn + " takes no arguments" : Checker.suggest(key, Set.copyOf(names), "arguments"));
                    return null;
                }
            }
            if (out.put(key, a.value()) != null) {
                diag.error(a.span(), "argument '" + key + "' given twice", "keep one");
                return null;
            }
        }
        return out;
    }

    private int required(Ast.NetCall call, Map<String, Ast.Expr> args, String key, String example) {
        if (!args.containsKey(key)) {
            diag.error(call.span(), call.function().text() + "(...) needs '" + key + "'", "e.g. " + example);
            return 0;
        }
        return positive(args.get(key), key);
    }

    /** A positive integer argument, or 0 after an error. */
    private int positive(Ast.Expr e, String what) {
        Long v = integer(e);
        if (v == null) {
            diag.error(e.span(), what + " must be an integer", "write a number such as 64, or arithmetic like 4 * 96");
            return 0;
        }
        if (v <= 0 || v > Integer.MAX_VALUE) {
            diag.error(e.span(), what + " must be positive and below 2^31, not " + v, "use a positive size");
            return 0;
        }
        return (int) (long) v;
    }

    private static Long integer(Ast.Expr e) {
        return switch (e) {
            case Ast.IntLit i -> i.value();
            case Ast.Neg n -> {
                Long v = integer(n.operand());
                yield v == null ? null : -v;
            }
            case Ast.Binary b -> {
                Long l = integer(b.left()), r = integer(b.right());
                if (l == null || r == null) yield null;
                yield switch (b.op()) {
                    case ADD -> l + r;
                    case SUB -> l - r;
                    case MUL -> l * r;
                    case DIV -> r == 0 ? null : l / r;
                    case MOD -> r == 0 ? null : l % r;
                };
            }
            default -> null;
        };
    }

    private static String name(Ast.Expr e) {
        return e instanceof Ast.Ref r ? r.name().text() : null;
    }

    /** The activation an 'act:' argument names ("none" when absent), or null after an error. */
    private String activation(Ast.Expr e) {
        if (e == null) return "none";
        String n = name(e);
        if (n == null || !ACTIVATIONS.contains(n)) {
            diag.error(e.span(), "unknown activation " + (n == null ? "expression" : "'" + n + "'"),
                    n == null ? "write act: silu (or relu, gelu, ...)" : Checker.suggest(n, ACTIVATIONS, "activations"));
            return null;
        }
        return n;
    }
}
