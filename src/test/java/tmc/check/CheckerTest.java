package tmc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.cli.InputOptions;
import tmc.diag.Diagnostic;

/** The typed model the checker builds from each sample, checked against hand-computed shapes, types and FLOPs. */
class CheckerTest {

    static Frontend.Checked checkText(String text) {
        return Frontend.checkText("t.tm", text, Map.of(), InputOptions.KNOWN_ARCHS);
    }

    static Frontend.Checked checkSample(String file, Map<String, Long> overrides) {
        return Frontend.checkText(file, Repo.read(Repo.path("samples", file)), overrides, InputOptions.KNOWN_ARCHS);
    }

    /** The only block of a sample, after asserting that the sample checks without errors or warnings. */
    static TypedBlock sample(String file) {
        Frontend.Checked c = checkSample(file, Map.of());
        assertEquals(List.of(), c.diagnostics().all(), file + " should check cleanly");
        assertEquals(1, c.program().blocks().size());
        return c.program().blocks().getFirst();
    }

    /** An op as written in the language: the function name, the activation, or the operator. */
    static String kind(Op op) {
        return switch (op) {
            case Op.Conv2d c -> "conv2d";
            case Op.Pointwise p -> "pointwise";
            case Op.LayerNorm l -> "layernorm";
            case Op.Activate a -> a.fn().keyword;
            case Op.Elementwise e -> e.fn().symbol;
        };
    }

    static List<String> kinds(TypedBlock b) {
        return b.ops().stream().map(CheckerTest::kind).toList();
    }

    static void assertActivation(Activation a, String name, Activation.Kind kind, DType dtype, int channels) {
        assertEquals(name, a.name());
        assertEquals(kind, a.kind(), name);
        assertEquals(dtype, a.dtype(), name);
        assertEquals(channels, a.channels(), name);
    }

    static void assertWeight(TypedBlock b, String name, DType dtype, Integer... dims) {
        Weight w = b.weight(name).orElseThrow(() -> new AssertionError("no weight " + name));
        assertEquals(dtype, w.dtype(), name);
        assertEquals(List.of(dims), w.dims(), name);
    }

    // ---- ConvFirst ---------------------------------------------------------------------------

    @Test
    void convFirstOpSequence() {
        TypedBlock b = sample("convfirst.tm");
        // a = conv2d(x, wc) + bc;  h = silu(pointwise(a, w1) + b1);  y = pointwise(h, w2) + b2 + x
        assertEquals(List.of("conv2d", "+", "pointwise", "+", "silu", "pointwise", "+", "+"), kinds(b));
    }

    @Test
    void convFirstShapesAndTypes() {
        TypedBlock b = sample("convfirst.tm");
        assertEquals(Map.of("C", 64L, "E", 256L, "GW", 8L), b.params());
        assertEquals(List.of("C", "E", "GW"), List.copyOf(b.params().keySet()), "parameters in source order");
        assertEquals(DType.F16, b.storage());
        assertEquals(1, b.inputs().size());
        assertActivation(b.inputs().getFirst(), "x", Activation.Kind.INPUT, DType.F16, 64);
        assertActivation(b.outputs().getFirst(), "y", Activation.Kind.OUTPUT, DType.F16, 64);
        assertEquals(List.of("a", "h"), b.named().stream().map(Activation::name).toList());
        // Named intermediates are rounded to the storage type; they are what a fused kernel keeps on chip.
        assertActivation(b.named().get(0), "a", Activation.Kind.NAMED, DType.F16, 64);
        assertActivation(b.named().get(1), "h", Activation.Kind.NAMED, DType.F16, 256);
        assertWeight(b, "wc", DType.F16, 64, 3, 3, 8);
        assertWeight(b, "bc", DType.F32, 64);
        assertWeight(b, "w1", DType.F16, 256, 64);
        assertWeight(b, "b1", DType.F32, 256);
        assertWeight(b, "w2", DType.F16, 64, 256);
        assertWeight(b, "b2", DType.F32, 64);
        long weightBytes = 64 * 3 * 3 * 8 * 2 + 64 * 4 + 256 * 64 * 2 + 256 * 4 + 64 * 256 * 2 + 64 * 4;
        assertEquals(weightBytes, b.totalWeightBytes());
        // Declaration positions: y is declared on line 12, column 7.
        assertEquals(12, b.outputs().getFirst().span().line());
        assertEquals(7, b.outputs().getFirst().span().col());
    }

    @Test
    void convFirstOpsWriteWhatTheStatementsName() {
        TypedBlock b = sample("convfirst.tm");
        List<Op> ops = b.ops();
        // The conv's result is an unnamed f32 value: it is not rounded before the bias is added.
        assertActivation(ops.get(0).out(), ops.get(0).out().name(), Activation.Kind.UNNAMED, DType.F32, 64);
        assertSame(b.named().get(0), ops.get(1).out(), "the '+ bc' writes a");
        assertEquals(Activation.Kind.UNNAMED, ops.get(2).out().kind());
        assertEquals(256, ops.get(2).out().channels());
        assertSame(b.named().get(1), ops.get(4).out(), "silu writes h");
        assertSame(b.outputs().getFirst(), ops.get(7).out(), "the last '+' writes y");
        // y = (pointwise(h, w2) + b2) + x: the residual reads the block input.
        Op.Elementwise residual = assertInstanceOf(Op.Elementwise.class, ops.get(7));
        assertEquals(new Operand.Act(b.inputs().getFirst()), residual.right());
        Op.Elementwise bias = assertInstanceOf(Op.Elementwise.class, ops.get(6));
        assertEquals(new Operand.Vec(b.weight("b2").orElseThrow()), bias.right());
        assertEquals(List.of(ops.get(0), ops.get(7)), b.consumers("x"));
        assertSame(ops.get(4), b.producer("h").orElseThrow());
        assertEquals(List.of(ops.get(5)), b.consumers("h"));
        // Each op points at its call or operator: the conv2d call on line 14, column 7.
        assertEquals(14, ops.get(0).span().line());
        assertEquals(7, ops.get(0).span().col());
    }

    @Test
    void convFirstConvAndFlops() {
        TypedBlock b = sample("convfirst.tm");
        Op.Conv2d conv = assertInstanceOf(Op.Conv2d.class, b.ops().getFirst());
        assertEquals(3, conv.kernel());
        assertEquals(8, conv.groups(), "groups: C / GW = 64 / 8");
        assertEquals(8, conv.groupWidth());
        assertEquals(1, conv.pad());
        assertFalse(conv.isDepthwise());
        // Grouped 3x3, group width 8, 64 -> 64: each output channel is a 3x3x8 dot product, 2 flops per MAC.
        assertEquals(2L * 9 * 8 * 64, conv.flopsPerPixel());
        int c = 64;
        int e = 256;
        long expected = 2L * 9 * 8 * c // conv2d
                + c                     // + bc
                + 2L * c * e            // pointwise(a, w1)
                + e                     // + b1
                + e                     // silu
                + 2L * e * c            // pointwise(h, w2)
                + c                     // + b2
                + c;                    // + x
        assertEquals(expected, b.flopsPerPixel());
    }

    // ---- the other samples -----------------------------------------------------------------

    @Test
    void convNeXt() {
        TypedBlock b = sample("convnext.tm");
        // a = conv2d(x, wd) + bd; n = layernorm(a, g, beta); h = gelu(pointwise(n, w1) + b1);
        // y = gamma * (pointwise(h, w2) + b2) + x
        assertEquals(List.of("conv2d", "+", "layernorm", "pointwise", "+", "gelu", "pointwise", "+", "*", "+"), kinds(b));
        Op.Conv2d conv = assertInstanceOf(Op.Conv2d.class, b.ops().getFirst());
        assertEquals(7, conv.kernel());
        assertEquals(3, conv.pad());
        assertTrue(conv.isDepthwise());
        assertEquals(2L * 7 * 7 * 1 * 96, conv.flopsPerPixel());
        Op.LayerNorm ln = assertInstanceOf(Op.LayerNorm.class, b.ops().get(2));
        assertEquals("g", ln.gamma().name());
        assertEquals("beta", ln.beta().name());
        assertEquals(1e-6, ln.eps());
        assertEquals(7L * 96, ln.flopsPerPixel(), "5 per channel, +1 each for gamma and beta");
        Op.Elementwise scale = assertInstanceOf(Op.Elementwise.class, b.ops().get(8));
        assertEquals(new Operand.Vec(b.weight("gamma").orElseThrow()), scale.left());
        assertEquals(List.of("a", "n", "h"), b.named().stream().map(Activation::name).toList());
        assertEquals(384, b.named().get(2).channels());
    }

    @Test
    void mbConvGrouped() {
        TypedBlock b = sample("mbconv.tm");
        assertEquals(List.of("pointwise", "+", "silu", "conv2d", "+", "silu", "pointwise", "+", "+"), kinds(b));
        Op.Conv2d conv = assertInstanceOf(Op.Conv2d.class, b.ops().get(3));
        assertEquals("h1", conv.in().name(), "the spatial conv runs on the wide tensor");
        assertEquals(256, conv.in().channels());
        assertEquals(32, conv.groups(), "E / GW = 256 / 8");
        assertEquals(8, conv.groupWidth());
        assertEquals(2L * 9 * 8 * 256, conv.flopsPerPixel());
        assertEquals(List.of(conv), b.consumers("h1"));
    }

    @Test
    void mbConvDepthwise() {
        TypedBlock b = sample("mbconv_dw.tm");
        Op.Conv2d conv = assertInstanceOf(Op.Conv2d.class, b.ops().get(3));
        assertTrue(conv.isDepthwise());
        assertEquals(256, conv.groups());
        assertEquals(1, conv.groupWidth());
        assertEquals(2L * 9 * 256, conv.flopsPerPixel());
    }

    @Test
    void fusedMlp() {
        TypedBlock b = sample("fusedmlp.tm");
        assertEquals(List.of("pointwise", "+", "gelu_tanh", "pointwise", "+"), kinds(b));
        assertEquals(List.of("h"), b.named().stream().map(Activation::name).toList());
        assertEquals(2L * 64 * 256 + 256 + 256 + 2L * 256 * 64 + 64, b.flopsPerPixel());
    }

    // ---- typing rules on small blocks ------------------------------------------------------

    static final String SMALL = """
            block B {
              param C = 8
              in  x : %1$s[N, H, W, C]
              w   p : %1$s[C, C]
              out y : %1$s[N, H, W, C]
              %2$s
            }
            """;

    @Test
    void bf16BlockRoundsNamedIntermediatesToBf16() {
        Frontend.Checked c = checkText(SMALL.formatted("bf16", "t = relu(x)\n  y = pointwise(t, p)"));
        assertTrue(c.ok(), c.diagnostics().all().toString());
        TypedBlock b = c.program().blocks().getFirst();
        assertEquals(DType.BF16, b.storage());
        assertActivation(b.named().getFirst(), "t", Activation.Kind.NAMED, DType.BF16, 8);
    }

    @Test
    void copyAndNegation() {
        TypedBlock copy = checkText(SMALL.formatted("f16", "y = x")).program().blocks().getFirst();
        Op.Activate id = assertInstanceOf(Op.Activate.class, copy.ops().getFirst());
        assertEquals("identity", id.fn().keyword);
        assertEquals(0, id.flopsPerPixel());

        Frontend.Checked c = checkText(SMALL.formatted("f16", "y = -x"));
        TypedBlock neg = c.program().blocks().getFirst();
        Op.Elementwise e = assertInstanceOf(Op.Elementwise.class, neg.ops().getFirst());
        assertEquals("*", e.fn().symbol);
        assertEquals(new Operand.Scalar(-1), e.right());
        assertSame(neg.outputs().getFirst(), e.out());
    }

    @Test
    void unusedNamesAreWarningsNotErrors() {
        String text = """
                block B {
                  param C = 8
                  in  x : f16[N, H, W, C]
                  in  z : f16[N, H, W, C]
                  w   p : f16[C, C]
                  w   q : f32[C]
                  out y : f16[N, H, W, C]
                  t = relu(x)
                  y = pointwise(x, p)
                }
                """;
        Frontend.Checked c = checkText(text);
        assertTrue(c.ok());
        List<String> warnings = c.diagnostics().sorted().stream().map(Diagnostic::headline).toList();
        assertEquals(List.of(
                "t.tm:4:7: warning: input 'z' is never used",
                "t.tm:6:7: warning: weight 'q' is never used",
                "t.tm:8:3: warning: 't' is computed but never used"), warnings);
        assertEquals(1, c.program().blocks().size(), "warnings do not drop the block");
    }

    // ---- --param ----------------------------------------------------------------------------

    @Test
    void parameterOverridesFlowIntoDerivedParametersAndShapes() {
        Frontend.Checked c = checkSample("convfirst.tm", Map.of("C", 128L));
        assertTrue(c.ok(), c.diagnostics().all().toString());
        TypedBlock b = c.program().blocks().getFirst();
        assertEquals(Map.of("C", 128L, "E", 512L, "GW", 8L), b.params(), "E = 4 * C follows the override");
        assertWeight(b, "w1", DType.F16, 512, 128);
        Op.Conv2d conv = assertInstanceOf(Op.Conv2d.class, b.ops().getFirst());
        assertEquals(16, conv.groups(), "C / GW = 128 / 8");
        assertEquals(2L * 9 * 8 * 128, conv.flopsPerPixel());
        assertEquals(512, c.program().plan("fused").orElseThrow().stream().extent());
    }

    @Test
    void overridingADerivedParameterReplacesItsExpression() {
        Frontend.Checked c = checkSample("convfirst.tm", Map.of("E", 384L));
        assertTrue(c.ok(), c.diagnostics().all().toString());
        assertEquals(384L, c.program().blocks().getFirst().params().get("E"));
    }

    @Test
    void overrideThatBreaksTheBlockIsReportedInTheBlock() {
        // C = 60 is not a multiple of GW = 8, so 'groups: C / GW' is not whole.
        Frontend.Checked c = checkSample("convfirst.tm", Map.of("C", 60L));
        List<Diagnostic> errors = c.diagnostics().all().stream().filter(Diagnostic::isError).toList();
        assertEquals(1, errors.size(), errors.toString());
        assertEquals("convfirst.tm:14:31: error: conv2d groups: 60 / 8 is not a whole number", errors.getFirst().headline());
    }

    @Test
    void unknownOverrideIsAnError() {
        Frontend.Checked c = checkSample("convfirst.tm", Map.of("Z", 3L));
        List<Diagnostic> errors = c.diagnostics().all().stream().filter(Diagnostic::isError).toList();
        assertEquals(1, errors.size());
        assertEquals("--param", errors.getFirst().span().file());
        assertTrue(errors.getFirst().message().contains("parameter 'Z' is not defined by any block"));
        assertTrue(errors.getFirst().hint().contains("C, E, GW"), errors.getFirst().hint());
    }

    // ---- plans ---------------------------------------------------------------------------------

    @Test
    void convFirstFusedPlan() {
        Program p = checkSample("convfirst.tm", Map.of()).program();
        assertEquals(List.of("fused", "rows", "wgmma", "specialized", "layerwise", "best"), p.plans().stream().map(PlanSpec::name).toList());
        PlanSpec fused = p.plan("fused").orElseThrow();
        assertEquals(PlanSpec.Kind.FUSED, fused.kind());
        assertEquals("ConvFirst", fused.block());
        assertEquals("sm_90", fused.arch());
        assertEquals(Map.of("N", 1, "H", 8, "W", 16), fused.tile());
        assertEquals(List.of(
                        new Placed("x", PlanSpec.Space.SHARED, 1, PlanSpec.HaloMode.LOAD),
                        new Placed("a", PlanSpec.Space.REGISTERS, 0, null),
                        new Placed("h", PlanSpec.Space.REGISTERS, 0, null),
                        new Placed("y", PlanSpec.Space.REGISTERS, 0, null)),
                fused.places().stream().map(Placed::of).toList());
        assertEquals(new PlanSpec.StreamSpec("E", 256, 64, fused.stream().span()), fused.stream());
        assertEquals(8, fused.warps());
        assertEquals(PlanSpec.MathKind.TENSOR_CORE, fused.math());
        // Where each directive was written, for budget errors that point at it.
        assertEquals(20, fused.spans().get("tile").line());
        assertEquals(21, fused.spans().get("place x").line());
        assertEquals(23, fused.spans().get("stream").line());
        assertEquals(26, fused.spans().get("warps").line());

        PlanSpec layerwise = p.plan("layerwise").orElseThrow();
        assertEquals(PlanSpec.Kind.SEPARATE, layerwise.kind());
        assertNull(layerwise.arch());
        assertTrue(layerwise.tile().isEmpty() && layerwise.places().isEmpty());
        assertNull(layerwise.warps());
        assertEquals(PlanSpec.Kind.AUTO, p.plan("best").orElseThrow().kind());
    }

    @Test
    void mbConvPlansStageOrRecomputeTheWideHalo() {
        Program p = checkSample("mbconv.tm", Map.of()).program();
        PlanSpec fused = p.plan("fused").orElseThrow();
        assertEquals(new Placed("h1", PlanSpec.Space.SHARED, 1, PlanSpec.HaloMode.STAGE),
                Placed.of(fused.placement("h1").orElseThrow()));
        assertEquals(new Placed("x", PlanSpec.Space.SHARED, 0, null), Placed.of(fused.placement("x").orElseThrow()));
        assertEquals(32, fused.stream().chunk());
        PlanSpec recompute = p.plan("recompute").orElseThrow();
        assertEquals(new Placed("h1", PlanSpec.Space.REGISTERS, 1, PlanSpec.HaloMode.RECOMPUTE),
                Placed.of(recompute.placement("h1").orElseThrow()));
        assertNull(recompute.math(), "left to the planner");
    }

    static final String MB = """
            block M {
              param C = 8, E = 4 * C
              in  x  : f16[N, H, W, C]
              w   w1 : f16[E, C]
              w   wd : f16[E, 3, 3, 1]
              w   w3 : f16[C, E]
              out y  : f16[N, H, W, C]
              h1 = relu(pointwise(x, w1))
              h2 = conv2d(h1, wd, groups: E, pad: 1)
              y  = pointwise(h2, w3) + x
            }
            plan p for M on sm_90 {
              %s
            }
            """;

    @Test
    void defaultHaloModes() {
        // An on-chip intermediate is staged by default; one placed in global memory is loaded from there.
        assertEquals(PlanSpec.HaloMode.STAGE, haloModeOf(MB.formatted("place h1 in shared halo 1"), "h1"));
        assertEquals(PlanSpec.HaloMode.LOAD, haloModeOf(MB.formatted("place h1 in global halo 1"), "h1"));
        assertEquals(PlanSpec.HaloMode.RECOMPUTE, haloModeOf(MB.formatted("place h1 in registers halo 1 recompute"), "h1"));
        // A block input is always loaded.
        String convFirst = Repo.read(Repo.path("samples", "convfirst.tm"))
                .replace("place  x in shared halo 1", "place  x in shared halo 1 load");
        assertEquals(PlanSpec.HaloMode.LOAD, haloModeOf(convFirst, "x"));
    }

    private static PlanSpec.HaloMode haloModeOf(String text, String tensor) {
        Frontend.Checked c = checkText(text);
        assertTrue(c.ok(), c.diagnostics().all().toString());
        return c.program().plans().getFirst().placement(tensor).orElseThrow().haloMode();
    }

    @Test
    void planForABlockWithErrorsStillChecksItsOwnDirectives() {
        String text = SMALL.formatted("f16", "y = pointwise(x, q)") + "plan p for B { warps 40 }\n";
        Frontend.Checked c = checkText(text);
        List<String> errors = c.diagnostics().sorted().stream().filter(Diagnostic::isError).map(Diagnostic::headline).toList();
        assertEquals(List.of("t.tm:6:20: error: unknown name 'q'", "t.tm:8:22: error: warps 40 is out of range"), errors);
        assertTrue(c.program().plans().isEmpty() && c.program().blocks().isEmpty());
    }

    static final String CF = """
            block B {
              param C = 8, E = 4 * C
              in  x  : f16[N, H, W, C]
              w   wc : f16[C, 3, 3, 8]
              w   w1 : f16[E, C]
              w   w2 : f16[C, E]
              out y  : f16[N, H, W, C]
              a = conv2d(x, wc, pad: 1)
              h = relu(pointwise(a, w1))
              y = pointwise(h, w2) + x
            }
            plan p for B on sm_90 {
              %s
            }
            """;

    /** A hint of the form "write 'X'" must lead to a plan that checks; following it must not just move the error. */
    @Test
    void followingAHaloHintFixesThePlan() {
        List<String[]> cases = List.of(
                new String[] {CF, "place x in shared"},
                new String[] {CF, "place x in registers"},
                new String[] {CF, "place x in shared halo 2"},
                new String[] {MB, "place h1 in shared"},
                new String[] {MB, "place h1 in registers halo 3 recompute"});
        for (String[] c : cases) {
            Frontend.Checked bad = checkText(c[0].formatted(c[1]));
            List<Diagnostic> errors = bad.diagnostics().all().stream().filter(Diagnostic::isError).toList();
            assertEquals(1, errors.size(), c[1] + ": " + errors);
            String hint = errors.getFirst().hint();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^write '([^']+)'$").matcher(hint);
            assertTrue(m.find(), hint);
            String fixed = m.group(1).startsWith("place") ? m.group(1) : c[1].replaceAll("halo \\d+", m.group(1));
            Frontend.Checked good = checkText(c[0].formatted(fixed));
            assertTrue(good.ok(), c[1] + " -> " + fixed + ": " + good.diagnostics().all());
        }
    }

    @Test
    void suggestions() {
        assertEquals("did you mean 'pointwise'?", Checker.suggest("pointwize", Checker.FUNCTIONS, "functions"));
        assertEquals("did you mean 'sm_90'?", Checker.suggest("sm_9", InputOptions.KNOWN_ARCHS, "targets"));
        // One-letter names are all one edit apart: a list helps more than a guess.
        assertEquals("names defined: p, x", Checker.suggest("z", java.util.Set.of("x", "p"), "names defined"));
        assertEquals("spaces: global, registers, shared",
                Checker.suggest("texture", java.util.Set.of("global", "shared", "registers"), "spaces"));
        assertNull(Checker.suggest("q", java.util.Set.of(), "names"));
        assertEquals(4, Checker.largestDivisorAtMost(32, 7));
        assertEquals(32, Checker.largestDivisorAtMost(256, 48));
        assertEquals(1, Checker.largestDivisorAtMost(7, 0));
    }

    /** A placement without its span, to compare by value. */
    record Placed(String tensor, PlanSpec.Space space, int halo, PlanSpec.HaloMode mode) {
        static Placed of(PlanSpec.Placement p) {
            return new Placed(p.tensor(), p.space(), p.halo(), p.haloMode());
        }
    }
}
