package tmc.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.diag.Diagnostics;
import tmc.diag.Span;
import tmc.syntax.Ast;
import tmc.syntax.Ast.Block;
import tmc.syntax.Ast.Unit;

/**
 * Checks a parsed module: resolves names, evaluates parameters, infers the shape and dtype of every
 * statement, and validates plans against their blocks. Every problem found becomes a diagnostic; checking
 * goes on after an error so that one run reports them all.
 */
public final class Checker {
    /** The free dimensions of every activation, bound at launch. */
    public static final List<String> FREE_DIMS = List.of("N", "H", "W");

    private final Diagnostics diag;
    private final Map<String, Long> overrides;
    private final Set<String> knownArchs;

    private Checker(Map<String, Long> overrides, Set<String> knownArchs, Diagnostics diag) {
        this.overrides = overrides;
        this.knownArchs = knownArchs;
        this.diag = diag;
    }

    /**
     * @param overrides  parameter values that replace those written in the blocks (the CLI's --param)
     * @param knownArchs target names a plan may name after {@code on}
     */
    public static Program check(Unit module, Map<String, Long> overrides, Set<String> knownArchs,
                                Diagnostics diag) {
        return new Checker(overrides, knownArchs, diag).run(module);
    }

    private Program run(Unit module) {
        List<TypedBlock> blocks = new ArrayList<>();
        Map<String, Ast.Block> seen = new HashMap<>();
        for (Block b : module.blocks()) {
            Block earlier = seen.putIfAbsent(b.name().text(), b);
            if (earlier != null) {
                diag.error(b.name().span(), "block '" + b.name().text() + "' is already defined at "
                        + earlier.name().span(), "rename one of the two blocks");
                continue;
            }
            TypedBlock typed = new BlockChecker(b).check();
            if (typed != null) blocks.add(typed);
        }
        Set<String> usedOverrides = new HashSet<>();
        for (Block b : module.blocks()) for (Ast.Param p : b.params()) usedOverrides.add(p.name().text());
        for (String key : overrides.keySet()) {
            if (!usedOverrides.contains(key)) {
                diag.error(Span.none("--param"), "parameter '" + key + "' is not defined by any block",
                        "parameters defined: " + String.join(", ", usedOverrides.stream().sorted().toList()));
            }
        }
        List<PlanSpec> plans = new ArrayList<>();
        Map<String, Ast.Plan> seenPlans = new HashMap<>();
        for (Ast.Plan p : module.plans()) {
            Ast.Plan earlier = seenPlans.putIfAbsent(p.name().text(), p);
            if (earlier != null) {
                diag.error(p.name().span(), "plan '" + p.name().text() + "' is already defined at "
                        + earlier.name().span(), "rename one of the two plans");
                continue;
            }
            Block astBlock = seen.get(p.block().text());
            if (astBlock == null) {
                diag.error(p.block().span(), "plan '" + p.name().text() + "' is for unknown block '"
                        + p.block().text() + "'", suggest(p.block().text(), seen.keySet(), "blocks defined"));
                continue;
            }
            TypedBlock block = blocks.stream().filter(t -> t.name().equals(p.block().text())).findFirst()
                    .orElse(null);
            PlanSpec spec = new PlanChecker(p, block).check();
            if (spec != null) plans.add(spec);
        }
        List<Network> networks = new ArrayList<>();
        Map<String, Ast.Network> seenNetworks = new HashMap<>();
        for (Ast.Network n : module.networks()) {
            Ast.Network earlier = seenNetworks.putIfAbsent(n.name().text(), n);
            if (earlier != null) {
                diag.error(n.name().span(), "network '" + n.name().text() + "' is already defined at "
                        + earlier.name().span(), "rename one of the two networks");
                continue;
            }
            Network checked = new NetworkChecker(n, seen, diag).check();
            if (checked != null) networks.add(checked);
        }
        return new Program(blocks, plans, networks);
    }

    // =========================================================================================
    // Blocks
    // =========================================================================================

    /** What a name or sub-expression denotes while typing a statement. */
    private sealed interface Value {
        record Act(Activation a) implements Value {}

        record Vec(Weight w) implements Value {}

        record Matrix(Weight w) implements Value {}

        record Const(double v) implements Value {}

        /** An error was already reported for this sub-expression: stay quiet about what depends on it. */
        record Bad() implements Value {}
    }

    private final class BlockChecker {
        private final Block block;
        private final Map<String, Long> params = new LinkedHashMap<>();
        private final Map<String, Span> declared = new HashMap<>();
        private final Map<String, Activation> activations = new HashMap<>();
        private final Map<String, Weight> weights = new LinkedHashMap<>();
        private final Map<String, Span> assigned = new HashMap<>();
        private final Set<String> used = new HashSet<>();
        private final List<Activation> inputs = new ArrayList<>();
        private final List<Activation> outputs = new ArrayList<>();
        private final List<Activation> named = new ArrayList<>();
        private final List<Op> ops = new ArrayList<>();
        private final Set<String> badNames = new HashSet<>();
        private final Set<String> nonPositiveParams = new HashSet<>();
        private DType storage;
        private int unnamedCounter;

        BlockChecker(Block block) {
            this.block = block;
        }

        TypedBlock check() {
            int errorsBefore = diag.errorCount();
            checkParams();
            checkTensors();
            for (Ast.Assign s : block.statements()) checkStatement(s);
            checkCompleteness();
            if (diag.errorCount() > errorsBefore) return null;
            return new TypedBlock(block.name().text(), block.name().span(), params,
                    storage == null ? DType.F16 : storage, inputs, List.copyOf(weights.values()), outputs,
                    named, ops);
        }

        // ---- parameters ------------------------------------------------------------------

        private void checkParams() {
            for (Ast.Param p : block.params()) {
                String name = p.name().text();
                if (FREE_DIMS.contains(name)) {
                    diag.error(p.name().span(), "'" + name + "' cannot be a parameter: N, H and W are bound at launch",
                            "pick another name");
                    continue;
                }
                if (!declare(name, p.name().span())) continue;
                boolean overridden = overrides.containsKey(name);
                Long v = overridden ? overrides.get(name) : evalInt(p.value(), "parameter " + name);
                if (v != null && (v > Integer.MAX_VALUE || v < -Integer.MAX_VALUE)) {
                    // Said once here, rather than at every dimension that uses it.
                    diag.error(overridden ? Span.none("--param") : p.value().span(), "parameter " + name + " = " + v
                            + " is too large (at most " + Integer.MAX_VALUE + ")");
                    v = null;
                }
                if (v != null) params.put(name, v);
                else badNames.add(name);
            }
        }

        /** Evaluates an integer expression over the parameters defined so far; null after reporting an error. */
        private Long evalInt(Ast.Expr e, String what) {
            return switch (e) {
                case Ast.IntLit i -> i.value();
                case Ast.FloatLit f -> {
                    diag.error(f.span(), what + " must be an integer, found " + f.text());
                    yield null;
                }
                case Ast.Ref r -> {
                    String n = r.name().text();
                    if (params.containsKey(n)) yield params.get(n);
                    if (badNames.contains(n)) yield null;
                    if (FREE_DIMS.contains(n)) {
                        diag.error(r.span(), what + " cannot use '" + n + "': it is bound only at launch",
                                "channel sizes must be compile-time parameters");
                    } else if (block.params().stream().anyMatch(p -> p.name().text().equals(n))) {
                        diag.error(r.span(), "parameter '" + n + "' is used before it is defined",
                                "define '" + n + "' earlier in the param list");
                    } else if (declared.containsKey(n)) {
                        diag.error(r.span(), "'" + n + "' is a tensor, not a parameter",
                                "integer expressions may only use parameters");
                    } else {
                        diag.error(r.span(), "unknown parameter '" + n + "'",
                                suggest(n, params.keySet(), "parameters defined"));
                        badNames.add(n); // reported once: every dimension written with it would repeat it
                    }
                    yield null;
                }
                case Ast.Neg n -> {
                    Long v = evalInt(n.operand(), what);
                    yield v == null ? null : -v;
                }
                case Ast.Binary b -> {
                    Long l = evalInt(b.left(), what);
                    Long r = evalInt(b.right(), what);
                    if (l == null || r == null) yield null;
                    try {
                        yield switch (b.op()) {
                            case ADD -> Math.addExact(l, r);
                            case SUB -> Math.subtractExact(l, r);
                            case MUL -> Math.multiplyExact(l, r);
                            case DIV, MOD -> {
                                if (r == 0) {
                                    diag.error(b.opSpan(), "division by zero in " + what);
                                    yield null;
                                }
                                if (b.op() == Ast.BinOp.MOD) yield l % r;
                                if (l % r != 0) {
                                    diag.error(b.opSpan(), what + ": " + l + " / " + r + " is not a whole number",
                                            "choose sizes so that " + r + " divides " + l);
                                    yield null;
                                }
                                yield l / r;
                            }
                        };
                    } catch (ArithmeticException overflow) {
                        diag.error(b.opSpan(), what + " overflows a 64-bit integer");
                        yield null;
                    }
                }
                case Ast.Call c -> {
                    diag.error(c.function().span(), what + " must be an integer expression, not a call to '"
                            + c.function().text() + "'");
                    yield null;
                }
            };
        }

        private boolean declare(String name, Span span) {
            Span earlier = declared.putIfAbsent(name, span);
            if (earlier != null) {
                diag.error(span, "'" + name + "' is already defined at " + earlier, "rename one of them");
                return false;
            }
            return true;
        }

        // ---- tensor declarations -----------------------------------------------------------

        private void checkTensors() {
            for (Ast.TensorDecl t : block.tensors()) {
                String name = t.name().text();
                if (FREE_DIMS.contains(name)) {
                    diag.error(t.name().span(), "'" + name + "' is a launch dimension and cannot name a tensor",
                            "pick another name");
                    continue;
                }
                if (!declare(name, t.name().span())) continue;
                DType dtype = DType.of(t.dtype().text()).orElse(null);
                if (dtype == null) {
                    diag.error(t.dtype().span(), "unknown dtype '" + t.dtype().text() + "'",
                            "use f16, bf16 or f32");
                    badNames.add(name);
                    continue;
                }
                if (t.role() == Ast.Role.WEIGHT) declareWeight(t, dtype);
                else declareActivation(t, dtype);
            }
        }

        private void declareWeight(Ast.TensorDecl t, DType dtype) {
            List<Integer> dims = new ArrayList<>();
            for (Ast.Expr e : t.dims()) {
                if (e instanceof Ast.Ref r && FREE_DIMS.contains(r.name().text())) {
                    diag.error(r.span(), "weight '" + t.name().text() + "' cannot have dimension "
                                    + r.name().text() + ": weights have compile-time shapes",
                            "declare activations with 'in' or 'out'");
                    badNames.add(t.name().text());
                    return;
                }
                Integer d = positiveDim(e, "dimension of weight '" + t.name().text() + "'");
                if (d == null) {
                    badNames.add(t.name().text());
                    return;
                }
                dims.add(d);
            }
            weights.put(t.name().text(), new Weight(t.name().text(), dtype, dims, t.name().span()));
        }

        private void declareActivation(Ast.TensorDecl t, DType dtype) {
            String name = t.name().text();
            String role = t.role() == Ast.Role.INPUT ? "input" : "output";
            List<Ast.Expr> dims = t.dims();
            boolean nhw = dims.size() == 4;
            for (int i = 0; nhw && i < 3; i++) {
                nhw = dims.get(i) instanceof Ast.Ref r && r.name().text().equals(FREE_DIMS.get(i));
            }
            if (!nhw) {
                Span where = dims.isEmpty() ? t.name().span() : dims.getFirst().span();
                diag.error(where, role + " '" + name + "' must have shape [N, H, W, C]",
                        "activations are NHWC: write [N, H, W, <channels>]");
                badNames.add(name);
                return;
            }
            Integer c = positiveDim(dims.get(3), "channel count of " + role + " '" + name + "'");
            if (c == null) {
                badNames.add(name);
                return;
            }
            if (storage == null && t.role() == Ast.Role.INPUT) storage = dtype;
            else if (t.role() == Ast.Role.INPUT && storage != dtype) {
                diag.error(t.dtype().span(), "input '" + name + "' is " + dtype + " but an earlier input is "
                        + storage, "all inputs of a block share one storage type");
            }
            Activation a = new Activation(name, t.role() == Ast.Role.INPUT ? Activation.Kind.INPUT
                    : Activation.Kind.OUTPUT, dtype, c, t.name().span());
            if (t.role() == Ast.Role.INPUT) {
                inputs.add(a);
                activations.put(name, a);
            } else {
                outputs.add(a);
            }
        }

        private Integer positiveDim(Ast.Expr e, String what) {
            Long v = evalInt(e, what);
            if (v == null) return null;
            if (v <= 0) {
                // A parameter of 0 used as a dimension is one mistake, however many tensors it sizes.
                if (e instanceof Ast.Ref r && !nonPositiveParams.add(r.name().text())) return null;
                diag.error(e.span(), what + " must be positive, but it is " + v,
                        e instanceof Ast.Ref r ? "parameter " + r.name().text() + " is " + v : null);
                return null;
            }
            if (v > Integer.MAX_VALUE) {
                diag.error(e.span(), what + " is " + v + ", too large (at most " + Integer.MAX_VALUE + ")");
                return null;
            }
            return v.intValue();
        }

        // ---- statements --------------------------------------------------------------------

        private void checkStatement(Ast.Assign s) {
            String target = s.target().text();
            Span where = s.target().span();
            int opsBefore = ops.size();
            boolean targetOk = checkTarget(s);
            Value v = type(s.value());
            if (!targetOk) {
                // Keep the earlier meaning of the name; drop what this statement produced.
                while (ops.size() > opsBefore) ops.removeLast();
                return;
            }
            // From here on the name counts as assigned, even when its value has errors, so that later
            // statements and the completeness check do not report the same mistake again.
            assigned.put(target, where);
            if (!(v instanceof Value.Act act)) {
                if (!(v instanceof Value.Bad)) {
                    diag.error(s.value().span(), "statement '" + target + "' must compute an activation, but "
                            + describe(v), "combine it with an activation, e.g. x * " + target);
                }
                badNames.add(target);
                while (ops.size() > opsBefore) ops.removeLast();
                return;
            }
            Activation produced = act.a();
            boolean isOutput = outputs.stream().anyMatch(o -> o.name().equals(target));
            Activation result;
            if (isOutput) {
                Activation decl = outputs.stream().filter(o -> o.name().equals(target)).findFirst().orElseThrow();
                if (decl.channels() != produced.channels()) {
                    diag.error(where, "output '" + target + "' is declared " + decl.shape()
                                    + " but the statement computes " + produced.shape(),
                            "change the declaration or the last layer's output channels");
                    badNames.add(target);
                    return;
                }
                result = decl;
            } else {
                result = produced.withName(target, Activation.Kind.NAMED, storage == null ? DType.F16 : storage,
                        where);
                named.add(result);
            }
            if (ops.size() > opsBefore && produced.kind() == Activation.Kind.UNNAMED) {
                ops.set(ops.size() - 1, ops.getLast().withOut(result));
            } else {
                ops.add(new Op.Activate(result, Op.ActivationFn.IDENTITY, produced, s.value().span()));
            }
            activations.put(target, result);
        }

        private boolean checkTarget(Ast.Assign s) {
            String target = s.target().text();
            Span where = s.target().span();
            if (FREE_DIMS.contains(target)) {
                diag.error(where, "cannot assign to launch dimension '" + target + "'");
                return false;
            }
            if (assigned.containsKey(target)) {
                diag.error(where, "'" + target + "' is already assigned at " + assigned.get(target),
                        "every name is assigned exactly once; use a new name");
                return false;
            }
            if (params.containsKey(target)) {
                diag.error(where, "cannot assign to parameter '" + target + "'", "use a new name");
                return false;
            }
            if (weights.containsKey(target)) {
                diag.error(where, "cannot assign to weight '" + target + "'", "use a new name");
                return false;
            }
            if (inputs.stream().anyMatch(i -> i.name().equals(target))) {
                diag.error(where, "cannot assign to input '" + target + "'", "use a new name");
                return false;
            }
            if (badNames.contains(target)) return false;
            return true;
        }

        private void checkCompleteness() {
            for (Activation o : outputs) {
                if (!assigned.containsKey(o.name())) {
                    diag.error(o.span(), "output '" + o.name() + "' is never assigned",
                            "add a statement '" + o.name() + " = ...'");
                }
            }
            for (Activation i : inputs) {
                if (!used.contains(i.name())) {
                    diag.warning(i.span(), "input '" + i.name() + "' is never used", null);
                }
            }
            for (Weight w : weights.values()) {
                if (!used.contains(w.name())) {
                    diag.warning(w.span(), "weight '" + w.name() + "' is never used", null);
                }
            }
            for (Activation n : named) {
                if (!used.contains(n.name())) {
                    diag.warning(n.span(), "'" + n.name() + "' is computed but never used", null);
                }
            }
            // A declaration with an error was already reported; only a block that declares none lacks one.
            if (block.tensors().stream().noneMatch(t -> t.role() == Ast.Role.OUTPUT)) {
                diag.error(block.name().span(), "block '" + block.name().text() + "' has no output",
                        "declare one: out y : f16[N, H, W, C]");
            }
            if (block.tensors().stream().noneMatch(t -> t.role() == Ast.Role.INPUT)) {
                diag.error(block.name().span(), "block '" + block.name().text() + "' has no input",
                        "declare one: in x : f16[N, H, W, C]");
            }
        }

        private String describe(Value v) {
            return switch (v) {
                case Value.Act a -> "activation " + a.a().shape();
                case Value.Vec w -> "it is the vector weight '" + w.w().name() + "' " + w.w().shape();
                case Value.Matrix w -> "it is the weight '" + w.w().name() + "' " + w.w().shape();
                case Value.Const c -> "it is a constant";
                case Value.Bad b -> "it has errors";
            };
        }

        private Activation fresh(int channels, Span span) {
            unnamedCounter++;
            return new Activation("t" + unnamedCounter, Activation.Kind.UNNAMED, DType.F32, channels, span);
        }

        private Value type(Ast.Expr e) {
            return switch (e) {
                case Ast.IntLit i -> new Value.Const(i.value());
                case Ast.FloatLit f -> new Value.Const(f.value());
                case Ast.Ref r -> lookup(r.name());
                case Ast.Neg n -> negate(n);
                case Ast.Binary b -> binary(b);
                case Ast.Call c -> call(c);
            };
        }

        private Value lookup(Ast.Name name) {
            String n = name.text();
            used.add(n);
            if (badNames.contains(n)) return new Value.Bad();
            if (activations.containsKey(n)) return new Value.Act(activations.get(n));
            if (weights.containsKey(n)) {
                Weight w = weights.get(n);
                return w.isVector() ? new Value.Vec(w) : new Value.Matrix(w);
            }
            if (params.containsKey(n)) return new Value.Const(params.get(n));
            if (outputs.stream().anyMatch(o -> o.name().equals(n))) {
                diag.error(name.span(), "output '" + n + "' is read before it is assigned",
                        "assign '" + n + "' first, or read the value it is computed from");
                return new Value.Bad();
            }
            if (FREE_DIMS.contains(n)) {
                diag.error(name.span(), "launch dimension '" + n + "' cannot be used as a value");
                return new Value.Bad();
            }
            boolean assignedLater = block.statements().stream().anyMatch(s -> s.target().text().equals(n));
            if (assignedLater) {
                diag.error(name.span(), "'" + n + "' is used before it is assigned",
                        "move the statement that assigns '" + n + "' above this one");
            } else {
                Set<String> known = new HashSet<>(activations.keySet());
                known.addAll(weights.keySet());
                diag.error(name.span(), "unknown name '" + n + "'", suggest(n, known, "names defined"));
                badNames.add(n); // reported once per block, not at every use
            }
            return new Value.Bad();
        }

        private Value negate(Ast.Neg n) {
            Value v = type(n.operand());
            return switch (v) {
                case Value.Const c -> new Value.Const(-c.v());
                case Value.Act a -> emitElementwise(Op.ElementwiseFn.MUL, new Operand.Act(a.a()),
                        new Operand.Scalar(-1), a.a().channels(), n.span());
                case Value.Bad b -> b;
                default -> {
                    diag.error(n.span(), "cannot negate " + describeShort(v) + ": '-' applies to activations and constants");
                    yield new Value.Bad();
                }
            };
        }

        private Value binary(Ast.Binary b) {
            Value l = type(b.left());
            Value r = type(b.right());
            if (l instanceof Value.Bad || r instanceof Value.Bad) return new Value.Bad();
            Op.ElementwiseFn fn = switch (b.op()) {
                case ADD -> Op.ElementwiseFn.ADD;
                case SUB -> Op.ElementwiseFn.SUB;
                case MUL -> Op.ElementwiseFn.MUL;
                default -> null;
            };
            if (l instanceof Value.Const lc && r instanceof Value.Const rc) {
                if (fn == null) {
                    diag.error(b.opSpan(), "'" + b.op().symbol + "' is not supported between constants in a statement",
                            "compute the constant by hand");
                    return new Value.Bad();
                }
                return new Value.Const(switch (fn) {
                    case ADD -> lc.v() + rc.v();
                    case SUB -> lc.v() - rc.v();
                    case MUL -> lc.v() * rc.v();
                });
            }
            if (fn == null) {
                diag.error(b.opSpan(), "operator '" + b.op().symbol + "' is not defined on tensors",
                        "tensor statements support +, - and *; '/' and '%' are for parameters");
                return new Value.Bad();
            }
            if (l instanceof Value.Matrix || r instanceof Value.Matrix) {
                Weight w = l instanceof Value.Matrix m ? m.w() : ((Value.Matrix) r).w();
                diag.error(b.opSpan(), "weight '" + w.name() + "' has shape " + w.shape()
                                + "; only [C] vectors can be combined elementwise",
                        w.dims().size() == 2 ? "apply it with pointwise(x, " + w.name() + ")"
                                : "apply it with conv2d(x, " + w.name() + ", ...)");
                return new Value.Bad();
            }
            Activation act = l instanceof Value.Act a ? a.a() : r instanceof Value.Act a2 ? a2.a() : null;
            if (act == null) {
                diag.error(b.opSpan(), "'" + b.op().symbol + "' needs an activation on one side, but has "
                        + describeShort(l) + " and " + describeShort(r));
                return new Value.Bad();
            }
            Operand lo = operand(l, act, b);
            Operand ro = operand(r, act, b);
            if (lo == null || ro == null) return new Value.Bad();
            return emitElementwise(fn, lo, ro, act.channels(), b.opSpan());
        }

        private String describeShort(Value v) {
            return switch (v) {
                case Value.Act a -> "activation '" + a.a().name() + "'";
                case Value.Vec w -> "weight '" + w.w().name() + "'";
                case Value.Matrix w -> "weight '" + w.w().name() + "'";
                case Value.Const c -> "a constant";
                case Value.Bad x -> "an error";
            };
        }

        /** Converts a typed side of a binary op, checking its shape against the activation side. */
        private Operand operand(Value v, Activation shapeOf, Ast.Binary b) {
            return switch (v) {
                case Value.Act a -> {
                    if (a.a().channels() != shapeOf.channels()) {
                        diag.error(b.opSpan(), "shapes differ: " + shapeName(b.left(), v, shapeOf) + " "
                                        + b.op().symbol + " ...: " + shapeOf.shape() + " vs " + a.a().shape(),
                                "both sides of '" + b.op().symbol + "' need the same channel count");
                        yield null;
                    }
                    yield new Operand.Act(a.a());
                }
                case Value.Vec w -> {
                    if (w.w().dims().getFirst() != shapeOf.channels()) {
                        diag.error(b.opSpan(), "vector '" + w.w().name() + "' has " + w.w().dims().getFirst()
                                        + " elements but the activation has " + shapeOf.channels() + " channels",
                                "declare '" + w.w().name() + "' as [" + shapeOf.channels() + "]");
                        yield null;
                    }
                    yield new Operand.Vec(w.w());
                }
                case Value.Const c -> new Operand.Scalar(c.v());
                default -> null;
            };
        }

        private String shapeName(Ast.Expr e, Value v, Activation a) {
            return "'" + (e instanceof Ast.Ref r ? r.name().text() : "expression") + "'";
        }

        private Value emitElementwise(Op.ElementwiseFn fn, Operand l, Operand r, int channels, Span span) {
            Activation out = fresh(channels, span);
            ops.add(new Op.Elementwise(out, fn, l, r, span));
            return new Value.Act(out);
        }

        // ---- calls ---------------------------------------------------------------------------

        private Value call(Ast.Call c) {
            String fn = c.function().text();
            for (Op.ActivationFn a : Op.ActivationFn.values()) {
                if (a != Op.ActivationFn.IDENTITY && a.keyword.equals(fn)) return activationCall(c, a);
            }
            return switch (fn) {
                case "conv2d" -> conv2d(c);
                case "pointwise" -> pointwise(c);
                case "layernorm" -> layernorm(c);
                default -> {
                    diag.error(c.function().span(), "unknown function '" + fn + "'",
                            suggest(fn, FUNCTIONS, "functions"));
                    c.args().forEach(a -> type(a.value()));
                    yield new Value.Bad();
                }
            };
        }

        /** Splits arguments into positional and keyword ones, checking names, counts and order. */
        private Args args(Ast.Call c, int minPositional, int maxPositional, List<String> keywords,
                          String usage) {
            List<Ast.Expr> positional = new ArrayList<>();
            Map<String, Ast.Arg> named = new LinkedHashMap<>();
            boolean ok = true;
            for (Ast.Arg a : c.args()) {
                if (a.keyword() == null) {
                    if (!named.isEmpty()) {
                        diag.error(a.span(), "positional argument after keyword arguments in '"
                                + c.function().text() + "'", "usage: " + usage);
                        ok = false;
                    }
                    positional.add(a.value());
                } else {
                    String k = a.keyword().text();
                    if (!keywords.contains(k)) {
                        diag.error(a.keyword().span(), "'" + c.function().text() + "' has no argument '" + k + "'",
                                keywords.isEmpty() ? "usage: " + usage
                                        : suggest(k, Set.copyOf(keywords), "its keyword arguments"));
                        ok = false;
                    } else if (named.put(k, a) != null) {
                        diag.error(a.keyword().span(), "argument '" + k + "' is given twice");
                        ok = false;
                    }
                }
            }
            if (positional.size() < minPositional || positional.size() > maxPositional) {
                String count = minPositional == maxPositional ? String.valueOf(minPositional)
                        : minPositional + " to " + maxPositional;
                diag.error(c.function().span(), "'" + c.function().text() + "' takes " + count
                        + " positional argument" + (maxPositional == 1 ? "" : "s") + ", found " + positional.size(),
                        "usage: " + usage);
                ok = false;
            }
            return new Args(positional, named, ok);
        }

        private record Args(List<Ast.Expr> positional, Map<String, Ast.Arg> named, boolean ok) {}

        private Activation activationArg(Ast.Expr e, String fn, String role) {
            Value v = type(e);
            if (v instanceof Value.Act a) return a.a();
            if (!(v instanceof Value.Bad)) {
                diag.error(e.span(), role + " of '" + fn + "' must be an activation, but " + describe(v));
            }
            return null;
        }

        private Weight weightArg(Ast.Expr e, String fn, String role) {
            if (!(e instanceof Ast.Ref r)) {
                // An expression that already has an error (say 'wc + 1') needs no second one.
                if (!(type(e) instanceof Value.Bad)) {
                    diag.error(e.span(), role + " of '" + fn + "' must name a weight declared with 'w'");
                }
                return null;
            }
            Value v = lookup(r.name());
            return switch (v) {
                case Value.Matrix m -> m.w();
                case Value.Vec w -> w.w();
                case Value.Bad b -> null;
                default -> {
                    diag.error(e.span(), role + " of '" + fn + "' must be a weight, but '" + r.name().text()
                            + "' is " + (v instanceof Value.Act ? "an activation" : "a parameter"),
                            "declare it with 'w " + r.name().text() + " : f16[...]'");
                    yield null;
                }
            };
        }

        private Value activationCall(Ast.Call c, Op.ActivationFn fn) {
            Args a = args(c, 1, 1, List.of(), fn.keyword + "(x)");
            Activation in = a.positional().isEmpty() ? null : activationArg(a.positional().getFirst(), fn.keyword, "the argument");
            if (!a.ok() || in == null) return new Value.Bad();
            Activation out = fresh(in.channels(), c.span());
            ops.add(new Op.Activate(out, fn, in, c.function().span()));
            return new Value.Act(out);
        }

        private static final String CONV_USAGE = "conv2d(x, w, groups: G, pad: P) with w : [C_out, k, k, C_in / G]";

        private Value conv2d(Ast.Call c) {
            Args a = args(c, 2, 2, List.of("groups", "pad", "stride", "dilation"), CONV_USAGE);
            if (a.positional().size() < 2) {
                a.positional().forEach(this::type);
                return new Value.Bad();
            }
            Activation in = activationArg(a.positional().get(0), "conv2d", "the input");
            Weight w = weightArg(a.positional().get(1), "conv2d", "the weight");
            Long groups = intArg(a, "groups", 1, "conv2d groups");
            Long pad = a.named().containsKey("pad") ? intArg(a, "pad", 0, "conv2d pad") : null;
            Long stride = intArg(a, "stride", 1, "conv2d stride");
            Long dilation = intArg(a, "dilation", 1, "conv2d dilation");
            if (!a.ok() || in == null || w == null || groups == null || stride == null || dilation == null
                    || (a.named().containsKey("pad") && pad == null)) {
                return new Value.Bad();
            }
            Span wSpan = a.positional().get(1).span();
            if (stride != 1) {
                diag.error(a.named().get("stride").value().span(), "conv2d stride " + stride + " is not supported yet",
                        "only stride 1 is supported");
                return new Value.Bad();
            }
            if (dilation != 1) {
                diag.error(a.named().get("dilation").value().span(), "conv2d dilation " + dilation
                        + " is not supported yet", "only dilation 1 is supported");
                return new Value.Bad();
            }
            if (w.dims().size() != 4) {
                diag.error(wSpan, "conv2d weight '" + w.name() + "' has shape " + w.shape()
                        + " but needs 4 dimensions", "usage: " + CONV_USAGE);
                return new Value.Bad();
            }
            int cout = w.dims().get(0);
            int kh = w.dims().get(1);
            int kw = w.dims().get(2);
            Span gSpan = a.named().containsKey("groups") ? a.named().get("groups").value().span() : c.function().span();
            if (kh != kw) {
                diag.error(wSpan, "conv2d weight '" + w.name() + "' has a " + kh + "x" + kw
                        + " kernel; only square kernels are supported", "use [C_out, k, k, C_in / G]");
                return new Value.Bad();
            }
            if (kh % 2 == 0) {
                diag.error(wSpan, "conv2d kernel size " + kh + " is even; 'same' output needs an odd size",
                        "use 1, 3, 5 or 7");
                return new Value.Bad();
            }
            if (groups <= 0) {
                diag.error(gSpan, "conv2d groups must be positive, but it is " + groups);
                return new Value.Bad();
            }
            if (in.channels() % groups != 0) {
                diag.error(gSpan, "conv2d groups (" + groups + ") does not divide the input channels ("
                        + in.channels() + ")", "choose groups so that C_in / groups is a whole number");
                return new Value.Bad();
            }
            if (cout % groups != 0) {
                diag.error(gSpan, "conv2d groups (" + groups + ") does not divide the output channels ("
                        + cout + ") of weight '" + w.name() + "'", "make C_out a multiple of groups");
                return new Value.Bad();
            }
            long groupWidth = in.channels() / groups;
            if (w.dims().get(3) != groupWidth) {
                diag.error(wSpan, "conv2d weight '" + w.name() + "' has group width " + w.dims().get(3)
                                + " (its last dimension), but " + in.channels() + " channels in " + groups
                                + " groups need " + groupWidth,
                        "declare '" + w.name() + "' as [" + cout + ", " + kh + ", " + kw + ", " + groupWidth
                                + "] or change groups");
                return new Value.Bad();
            }
            int same = (kh - 1) / 2;
            if (pad != null && pad != same) {
                diag.error(a.named().get("pad").value().span(), "conv2d pad " + pad + " with a " + kh + "x" + kh
                        + " kernel does not keep H and W", "use pad: " + same + " ('same' padding), or leave pad out");
                return new Value.Bad();
            }
            if (w.dtype() != storageOr(in.dtype())) {
                diag.error(wSpan, "conv2d weight '" + w.name() + "' is " + w.dtype() + " but the block stores "
                        + storageOr(in.dtype()), "declare the weight as " + storageOr(in.dtype()));
                return new Value.Bad();
            }
            Activation out = fresh(cout, c.span());
            ops.add(new Op.Conv2d(out, in, w, kh, groups.intValue(), same, c.function().span()));
            return new Value.Act(out);
        }

        private DType storageOr(DType fallback) {
            return storage != null ? storage : fallback;
        }

        private Long intArg(Args a, String keyword, long dflt, String what) {
            Ast.Arg arg = a.named().get(keyword);
            if (arg == null) return dflt;
            return evalInt(arg.value(), what);
        }

        private Value pointwise(Ast.Call c) {
            String usage = "pointwise(x, w) with w : [C_out, C_in]";
            Args a = args(c, 2, 2, List.of(), usage);
            if (a.positional().size() < 2) {
                a.positional().forEach(this::type);
                return new Value.Bad();
            }
            Activation in = activationArg(a.positional().get(0), "pointwise", "the input");
            Weight w = weightArg(a.positional().get(1), "pointwise", "the weight");
            if (!a.ok() || in == null || w == null) return new Value.Bad();
            Span wSpan = a.positional().get(1).span();
            if (w.dims().size() != 2) {
                diag.error(wSpan, "pointwise weight '" + w.name() + "' has shape " + w.shape()
                        + " but needs [C_out, C_in]", "usage: " + usage);
                return new Value.Bad();
            }
            if (w.dims().get(1) != in.channels()) {
                diag.error(wSpan, "pointwise weight '" + w.name() + "' expects " + w.dims().get(1)
                                + " input channels, but its input has " + in.channels(),
                        "declare '" + w.name() + "' as [" + w.dims().get(0) + ", " + in.channels() + "]");
                return new Value.Bad();
            }
            if (w.dtype() != storageOr(in.dtype())) {
                diag.error(wSpan, "pointwise weight '" + w.name() + "' is " + w.dtype() + " but the block stores "
                        + storageOr(in.dtype()), "declare the weight as " + storageOr(in.dtype()));
                return new Value.Bad();
            }
            Activation out = fresh(w.dims().get(0), c.span());
            ops.add(new Op.Pointwise(out, in, w, c.function().span()));
            return new Value.Act(out);
        }

        private Value layernorm(Ast.Call c) {
            String usage = "layernorm(x, gamma, beta, eps: 1e-6) or layernorm(x)";
            Args a = args(c, 1, 3, List.of("eps"), usage);
            if (a.positional().isEmpty()) return new Value.Bad();
            Activation in = activationArg(a.positional().get(0), "layernorm", "the input");
            Weight gamma = a.positional().size() > 1 ? weightArg(a.positional().get(1), "layernorm", "gamma") : null;
            Weight beta = a.positional().size() > 2 ? weightArg(a.positional().get(2), "layernorm", "beta") : null;
            double eps = 1e-6;
            Ast.Arg epsArg = a.named().get("eps");
            boolean ok = a.ok() && in != null && (a.positional().size() < 2 || gamma != null)
                    && (a.positional().size() < 3 || beta != null);
            if (epsArg != null) {
                Value v = type(epsArg.value());
                if (v instanceof Value.Const k && k.v() > 0) {
                    eps = k.v();
                } else if (!(v instanceof Value.Bad)) {
                    diag.error(epsArg.value().span(), "layernorm eps must be a positive constant", "e.g. eps: 1e-6");
                    ok = false;
                } else {
                    ok = false;
                }
            }
            if (!ok) return new Value.Bad();
            for (Weight w : new Weight[] {gamma, beta}) {
                if (w != null && (!w.isVector() || w.dims().getFirst() != in.channels())) {
                    diag.error(a.positional().get(w == gamma ? 1 : 2).span(), "layernorm "
                                    + (w == gamma ? "gamma" : "beta") + " '" + w.name() + "' has shape " + w.shape()
                                    + " but the input has " + in.channels() + " channels",
                            "declare it as [" + in.channels() + "]");
                    return new Value.Bad();
                }
            }
            Activation out = fresh(in.channels(), c.span());
            ops.add(new Op.LayerNorm(out, in, gamma, beta, eps, c.function().span()));
            return new Value.Act(out);
        }
    }

    static final Set<String> FUNCTIONS = Set.of("conv2d", "pointwise", "layernorm", "relu", "silu", "gelu",
            "gelu_tanh", "hardswish", "sigmoid");

    // =========================================================================================
    // Plans
    // =========================================================================================

    private final class PlanChecker {
        private final Ast.Plan plan;
        private final TypedBlock block;

        PlanChecker(Ast.Plan plan, TypedBlock block) {
            this.plan = plan;
            this.block = block;
        }

        PlanSpec check() {
            int errorsBefore = diag.errorCount();
            String arch = null;
            if (plan.arch() != null) {
                arch = plan.arch().text();
                if (!knownArchs.contains(arch)) {
                    diag.error(plan.arch().span(), "unknown target '" + arch + "'",
                            suggest(arch, knownArchs, "targets known"));
                }
            }
            List<Ast.Directive> ds = plan.directives();
            PlanSpec.Kind kind = PlanSpec.Kind.FUSED;
            for (Ast.Directive d : ds) {
                if (d instanceof Ast.Separate || d instanceof Ast.Auto) {
                    PlanSpec.Kind k = d instanceof Ast.Separate ? PlanSpec.Kind.SEPARATE : PlanSpec.Kind.AUTO;
                    if (ds.size() > 1) {
                        diag.error(d.span(), "'" + k.name().toLowerCase() + "' must be the only directive of a plan",
                                "remove the other directives, or remove '" + k.name().toLowerCase()
                                        + "' to fix them and let the planner choose the rest");
                    }
                    kind = k;
                }
            }
            Map<String, Integer> tile = new LinkedHashMap<>();
            List<PlanSpec.Placement> places = new ArrayList<>();
            Map<String, Span> spans = new HashMap<>();
            PlanSpec.StreamSpec stream = null;
            Integer warps = null;
            Integer producerWarps = null;
            PlanSpec.MathKind math = null;
            Map<String, PlanSpec.LayerMath> layerMath = new LinkedHashMap<>();
            Integer resident = null;
            for (Ast.Directive d : ds) {
                switch (d) {
                    case Ast.Separate s -> {}
                    case Ast.Auto a -> {}
                    case Ast.Tile t -> tile(t, tile, spans);
                    case Ast.Place p -> {
                        PlanSpec.Placement pl = place(p, places, spans);
                        if (pl != null) places.add(pl);
                    }
                    case Ast.Stream s -> {
                        if (once("stream", s.span(), spans)) stream = stream(s);
                    }
                    case Ast.Warps w -> {
                        if (once("warps", w.span(), spans)) {
                            if (w.count() < 1 || w.count() > 32) {
                                diag.error(w.countSpan(), "warps " + w.count() + " is out of range",
                                        "a thread block has 1 to 32 warps (32 to 1024 threads)");
                            } else if (w.consumers() == null) {
                                warps = w.count();
                            } else if (w.consumers() < 1 || w.count() + w.consumers() > 32) {
                                diag.error(w.consumersSpan(), "warps " + w.count() + " + " + w.consumers()
                                        + " is out of range", "each side needs at least 1 warp, and a thread block has "
                                        + "at most 32 (1024 threads)");
                            } else {
                                warps = w.count() + w.consumers();
                                producerWarps = w.count();
                            }
                        }
                    }
                    case Ast.Math m when m.tensor() != null -> {
                        if (once("math for " + m.tensor().text(), m.span(), spans)) {
                            PlanSpec.LayerMath lm = layerMath(m, plan.arch());
                            if (lm != null) layerMath.put(lm.tensor(), lm);
                        }
                    }
                    case Ast.Math m -> {
                        if (once("math", m.span(), spans)) math = math(m, plan.arch());
                    }
                    case Ast.Resident r -> {
                        if (once("resident", r.span(), spans)) {
                            if (r.count() < 1 || r.count() > 32) {
                                diag.error(r.countSpan(), "resident " + r.count() + " is out of range",
                                        "an SM holds 1 to 32 blocks; leave 'resident' out to compile for as many "
                                                + "as the planner's register estimate allows");
                            } else {
                                resident = r.count();
                            }
                        }
                    }
                }
            }
            if (block != null) checkPlacementsAgainstBlock(places);
            if (math == PlanSpec.MathKind.CUDA_CORE) {
                for (PlanSpec.LayerMath lm : layerMath.values()) {
                    if (lm.kind() == PlanSpec.MathKind.CUDA_CORE) continue;
                    diag.error(lm.span(), "'math " + lm.kind().keyword + " for " + lm.tensor() + "' asks for tensor cores in a"
                            + " plan whose math is cuda_core", "use 'math tensor_core' for the plan, or remove this line");
                }
            }
            if (diag.errorCount() > errorsBefore || block == null) return null;
            return new PlanSpec(plan.name().text(), plan.block().text(), plan.name().span(), kind, arch,
                    plan.arch() == null ? null : plan.arch().span(), tile, places, stream, warps, producerWarps, math,
                    resident, spans, layerMath);
        }

        private boolean once(String directive, Span span, Map<String, Span> spans) {
            Span earlier = spans.putIfAbsent(directive, span);
            if (earlier != null) {
                diag.error(span, "'" + directive + "' is given twice in plan '" + plan.name().text()
                        + "' (first at " + earlier + ")", "keep one");
                return false;
            }
            return true;
        }

        private void tile(Ast.Tile t, Map<String, Integer> tile, Map<String, Span> spans) {
            once("tile", t.span(), spans);
            for (Ast.TileSize s : t.sizes()) {
                String dim = s.dim().text();
                if (!FREE_DIMS.contains(dim)) {
                    String hint = block != null && block.params().containsKey(dim)
                            ? "channel dimensions are not tiled; use 'stream " + dim + " by <chunk>'"
                            : "tile N, H and W";
                    diag.error(s.dim().span(), "cannot tile '" + dim + "': only N, H and W are tiled", hint);
                    continue;
                }
                if (s.size() <= 0) {
                    diag.error(s.sizeSpan(), "tile " + dim + " must be positive");
                    continue;
                }
                if (s.size() > 1024) {
                    diag.error(s.sizeSpan(), "tile " + dim + " " + s.size() + " is larger than any thread block can own",
                            "use at most 1024");
                    continue;
                }
                if (tile.put(dim, s.size()) != null) {
                    diag.error(s.dim().span(), "tile size of " + dim + " is given twice");
                }
                spans.put("tile " + dim, s.dim().span().to(s.sizeSpan()));
            }
        }

        private PlanSpec.Placement place(Ast.Place p, List<PlanSpec.Placement> earlier, Map<String, Span> spans) {
            String t = p.tensor().text();
            PlanSpec.Space space = switch (p.space().text()) {
                case "global" -> PlanSpec.Space.GLOBAL;
                case "shared" -> PlanSpec.Space.SHARED;
                case "registers" -> PlanSpec.Space.REGISTERS;
                default -> null;
            };
            if (space == null) {
                diag.error(p.space().span(), "unknown memory space '" + p.space().text() + "'",
                        suggest(p.space().text(), Set.of("global", "shared", "registers"), "spaces"));
                return null;
            }
            if (earlier.stream().anyMatch(e -> e.tensor().equals(t))) {
                diag.error(p.tensor().span(), "'" + t + "' is placed twice", "keep one 'place " + t + "'");
                return null;
            }
            spans.put("place " + t, p.span());
            int radius = 0;
            PlanSpec.HaloMode mode = null;
            if (p.halo() != null) {
                radius = p.halo().radius();
                if (p.halo().mode() != null) {
                    mode = switch (p.halo().mode().text()) {
                        case "load" -> PlanSpec.HaloMode.LOAD;
                        case "stage" -> PlanSpec.HaloMode.STAGE;
                        case "recompute" -> PlanSpec.HaloMode.RECOMPUTE;
                        default -> null;
                    };
                    if (mode == null) {
                        diag.error(p.halo().mode().span(), "unknown halo mode '" + p.halo().mode().text() + "'",
                                "use load, stage or recompute");
                        return null;
                    }
                }
            }
            return new PlanSpec.Placement(t, space, radius, mode, p.span());
        }

        /** Placements must name tensors of the block, and halos must match the convs that read them. */
        private void checkPlacementsAgainstBlock(List<PlanSpec.Placement> places) {
            for (int i = 0; i < places.size(); i++) {
                PlanSpec.Placement p = places.get(i);
                Ast.Place src = (Ast.Place) plan.directives().stream()
                        .filter(d -> d instanceof Ast.Place ap && ap.tensor().text().equals(p.tensor()))
                        .findFirst().orElseThrow();
                Activation a = block.activation(p.tensor()).orElse(null);
                Weight w = block.weight(p.tensor()).orElse(null);
                if (a == null && w == null) {
                    Set<String> names = new HashSet<>();
                    block.inputs().forEach(x -> names.add(x.name()));
                    block.outputs().forEach(x -> names.add(x.name()));
                    block.named().forEach(x -> names.add(x.name()));
                    block.weights().forEach(x -> names.add(x.name()));
                    diag.error(src.tensor().span(), "block '" + block.name() + "' has no tensor '" + p.tensor() + "'",
                            suggest(p.tensor(), names, "its tensors"));
                    continue;
                }
                if (w != null) {
                    if (p.space() == PlanSpec.Space.REGISTERS) {
                        diag.error(src.space().span(), "weight '" + w.name() + "' cannot live in registers: every "
                                + "thread of a block reads all of it", "place it in shared or global");
                    }
                    if (p.halo() > 0) {
                        diag.error(src.halo().radiusSpan(), "weight '" + w.name() + "' has no halo",
                                "halos belong to activations that a k x k conv reads");
                    }
                    continue;
                }
                if (a.kind() == Activation.Kind.INPUT && p.space() == PlanSpec.Space.REGISTERS && p.halo() > 0) {
                    diag.error(src.space().span(), "input '" + a.name() + "' with a halo cannot live in registers: "
                            + "neighbouring threads read it", "place it in shared");
                    continue; // the checks below would only say the same again
                }
                List<Op.Conv2d> convs = block.consumers(a.name()).stream()
                        .filter(op -> op instanceof Op.Conv2d c && c.kernel() > 1).map(op -> (Op.Conv2d) op).toList();
                int needed = convs.stream().mapToInt(Op.Conv2d::pad).max().orElse(0);
                if (p.halo() > 0 && needed == 0) {
                    diag.error(src.halo().radiusSpan(), "'" + a.name() + "' is not read by a k x k conv, so it has no halo",
                            "remove 'halo " + p.halo() + "'");
                    continue;
                }
                if (p.halo() > 0 && p.halo() != needed) {
                    diag.error(src.halo().radiusSpan(), "'" + a.name() + "' is read by a " + (2 * needed + 1) + "x"
                                    + (2 * needed + 1) + " conv, which needs halo " + needed + ", not " + p.halo(),
                            "write 'halo " + needed + "'");
                    continue;
                }
                if (needed > 0 && p.halo() == 0 && p.space() != PlanSpec.Space.GLOBAL) {
                    // An input with a halo must be shared (see above): the hint must not lead to that error.
                    String space = a.kind() == Activation.Kind.INPUT ? "shared" : p.space().keyword();
                    diag.error(src.span(), "'" + a.name() + "' is read by a " + (2 * needed + 1) + "x" + (2 * needed + 1)
                                    + " conv, so its tile needs a halo of " + needed,
                            "write 'place " + a.name() + " in " + space + " halo " + needed + "'");
                    continue;
                }
                if (p.haloMode() == PlanSpec.HaloMode.LOAD && a.kind() != Activation.Kind.INPUT
                        && p.space() != PlanSpec.Space.GLOBAL) {
                    diag.error(src.halo().mode().span(), "'halo load' reads the halo from global memory, but '"
                                    + a.name() + "' is computed on chip",
                            "use 'halo " + p.halo() + " stage' or 'halo " + p.halo() + " recompute'");
                    continue;
                }
                if (a.kind() == Activation.Kind.INPUT && p.haloMode() != null
                        && p.haloMode() != PlanSpec.HaloMode.LOAD) {
                    diag.error(src.halo().mode().span(), "input '" + a.name() + "' is not computed by the block, "
                            + "so its halo can only be loaded", "write 'halo " + p.halo() + " load' or just 'halo "
                            + p.halo() + "'");
                    continue;
                }
                if (p.haloMode() == PlanSpec.HaloMode.RECOMPUTE && p.space() == PlanSpec.Space.SHARED) {
                    diag.error(src.halo().mode().span(), "'halo recompute' keeps no staged copy, but '" + a.name()
                                    + "' is placed in shared memory",
                            "use 'place " + a.name() + " in shared halo " + p.halo() + " stage', or place it in registers");
                    continue;
                }
                if (a.kind() == Activation.Kind.INPUT && p.space() == PlanSpec.Space.REGISTERS
                        && !convs.isEmpty()) {
                    diag.error(src.space().span(), "input '" + a.name() + "' is read by a conv and must be shared",
                            "place it in shared");
                }
                places.set(i, new PlanSpec.Placement(p.tensor(), p.space(), p.halo(),
                        p.halo() == 0 ? null : p.haloMode() != null ? p.haloMode()
                                : a.kind() == Activation.Kind.INPUT || p.space() == PlanSpec.Space.GLOBAL
                                ? PlanSpec.HaloMode.LOAD : PlanSpec.HaloMode.STAGE, p.span()));
            }
        }

        private PlanSpec.StreamSpec stream(Ast.Stream s) {
            String dim = s.dim().text();
            if (block == null) return null;
            if (FREE_DIMS.contains(dim)) {
                diag.error(s.dim().span(), "cannot stream '" + dim + "': stream a channel parameter",
                        "tile N, H and W with 'tile'; stream channel parameters such as E");
                return null;
            }
            Long extent = block.params().get(dim);
            if (extent == null) {
                diag.error(s.dim().span(), "block '" + block.name() + "' has no parameter '" + dim + "'",
                        suggest(dim, block.params().keySet(), "its parameters"));
                return null;
            }
            boolean isChannelDim = block.named().stream().anyMatch(a -> a.channels() == extent)
                    || block.outputs().stream().anyMatch(a -> a.channels() == extent);
            if (!isChannelDim) {
                diag.error(s.dim().span(), "parameter '" + dim + "' (= " + extent
                        + ") is not the channel count of any intermediate, so there is nothing to stream",
                        "stream the expanded channel parameter, e.g. E");
                return null;
            }
            long chunk = s.chunk();
            if (s.chunkParam() != null) {
                Long value = block.params().get(s.chunkParam().text());
                if (value == null) {
                    diag.error(s.chunkSpan(), "block '" + block.name() + "' has no parameter '" + s.chunkParam().text()
                            + "'", suggest(s.chunkParam().text(), block.params().keySet(), "its parameters"));
                    return null;
                }
                chunk = value;
            }
            if (chunk <= 0) {
                diag.error(s.chunkSpan(), "stream chunk must be positive");
                return null;
            }
            if (extent % chunk != 0) {
                diag.error(s.chunkSpan(), "stream chunk " + chunk + " does not divide " + dim + " = " + extent,
                        "use a divisor of " + extent + ", e.g. " + largestDivisorAtMost(extent, chunk));
                return null;
            }
            return new PlanSpec.StreamSpec(dim, extent, (int) chunk, s.span());
        }

        /**
         * {@code math kind for tensor}: a tensor the block computes (not an input), and tensor_core or cuda_core
         * (wgmma takes whole products; the per-layer choice is so far a depthwise conv's, which the lowering checks).
         */
        private PlanSpec.LayerMath layerMath(Ast.Math m, Ast.Name arch) {
            PlanSpec.MathKind k = math(m, arch);
            if (k == null || block == null) return null;
            String t = m.tensor().text();
            java.util.Optional<Activation> a = block.activation(t);
            if (a.isEmpty()) {
                Set<String> computed = new java.util.LinkedHashSet<>();
                for (Activation x : block.named()) computed.add(x.name());
                for (Activation x : block.outputs()) computed.add(x.name());
                diag.error(m.tensor().span(), "unknown tensor '" + t + "' in block '" + block.name() + "'",
                        suggest(t, computed, "tensors the block computes"));
                return null;
            }
            if (a.get().kind() == Activation.Kind.INPUT) {
                diag.error(m.tensor().span(), "'" + t + "' is an input of block '" + block.name()
                        + "': no layer computes it", "name a tensor a layer computes, such as a depthwise conv's result");
                return null;
            }
            if (k == PlanSpec.MathKind.WGMMA) {
                diag.error(m.kind().span(), "wgmma runs whole products of a plan, not one layer",
                        "use 'math tensor_core for " + t + "' (mma.sync), or 'math wgmma' for the plan");
                return null;
            }
            return new PlanSpec.LayerMath(t, k, m.span());
        }

        private PlanSpec.MathKind math(Ast.Math m, Ast.Name arch) {
            for (PlanSpec.MathKind k : PlanSpec.MathKind.values()) {
                if (k.keyword.equals(m.kind().text())) {
                    if (k == PlanSpec.MathKind.WGMMA && (arch == null || !arch.text().startsWith("sm_90"))) {
                        diag.error(m.kind().span(), "wgmma needs an sm_90 target",
                                arch == null ? "add 'on sm_90' to the plan" : "use tensor_core on " + arch.text());
                        return null;
                    }
                    if (k != PlanSpec.MathKind.CUDA_CORE && block != null && block.storage() == DType.F32) {
                        diag.error(m.kind().span(), "tensor cores need f16 or bf16 operands, but block '"
                                + block.name() + "' stores f32", "use 'math cuda_core'");
                        return null;
                    }
                    return k;
                }
            }
            diag.error(m.kind().span(), "unknown math kind '" + m.kind().text() + "'",
                    "use tensor_core, cuda_core or wgmma");
            return null;
        }
    }

    static long largestDivisorAtMost(long n, long limit) {
        for (long d = Math.min(n, Math.max(1, limit)); d >= 1; d--) if (n % d == 0) return d;
        return 1;
    }

    /** "did you mean" for a misspelt name, or the list of valid names when nothing is close. */
    static String suggest(String name, Set<String> candidates, String listLabel) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        // Ties go to a candidate the name is a prefix of ('sm_9' -> sm_90, not sm_89), then to the first in
        // sorted order: the answer must not depend on the iteration order of the set.
        for (String c : candidates.stream().sorted().toList()) {
            int d = editDistance(name, c);
            boolean better = d < bestDistance
                    || d == bestDistance && c.startsWith(name) && !best.startsWith(name);
            if (better) {
                bestDistance = d;
                best = c;
            }
        }
        // A one-letter name is one edit from every other one-letter name: list the names instead.
        if (best != null && bestDistance <= Math.max(1, name.length() / 3) && bestDistance < name.length()) {
            return "did you mean '" + best + "'?";
        }
        if (candidates.isEmpty()) return null;
        return listLabel + ": " + String.join(", ", candidates.stream().sorted().toList());
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

}
