package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tmc.check.PlanSpec;
import tmc.check.PlanSpec.MathKind;
import tmc.check.PlanSpec.Space;
import tmc.check.Program;
import tmc.check.TypedBlock;
import tmc.diag.Diagnostic;
import tmc.ir.Buffer;
import tmc.ir.Kernel;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * Properties of the planner over random blocks and every built-in target: what it returns fits every budget,
 * checked here from the buffers themselves; a fixed plan over a budget is refused, at the line of the directive
 * that alone can fix it.
 */
class PlannerPropertyTest {
    static final LaunchShape SHAPE = new LaunchShape(8, 28, 28);

    /** Budgets recomputed from the buffers, independent of Budgets.check. Empty when the kernel fits. */
    static List<String> overBudget(Kernel k, Target t) {
        List<String> out = new ArrayList<>();
        long shared = 0;
        for (Buffer b : k.buffers()) {
            if (b.space() != Space.SHARED) continue;
            long raw = (long) b.pixels() * b.rowStride() * b.dtype().bytes;
            assertTrue(b.bytes() >= raw, b.name() + ": " + b.bytes() + " B < its " + raw + " B of content");
            assertEquals(0, b.bytes() % 16, b.name() + " is not padded to 16 bytes");
            // Buffers that share bytes (never live together, SharedLifetimesTest checks that) end where the last ends.
            shared = k.sharesSharedMemory() ? Math.max(shared, k.sharedOffset(b) + b.bytes()) : shared + b.bytes();
        }
        if (k.sharesSharedMemory()) SharedLifetimesTest.assertSound(k, k.name() + " on " + t.name());
        if (shared > t.sharedPerBlockOptIn()) out.add("shared " + shared);
        if (shared > 0 && shared + t.sharedReservedPerBlock() > t.sharedPerSm()) out.add("shared per SM");
        if (k.registersPerThread() > t.maxRegistersPerThread()) out.add("registers " + k.registersPerThread());
        if (k.threads() > t.maxThreadsPerBlock() || k.threads() % 32 != 0) out.add("threads " + k.threads());
        long perWarp = (k.registersPerThread() * 32L + 255) / 256 * 256;
        if (perWarp * k.warps() > t.registersPerSm()) out.add("registers per block " + perWarp * k.warps());
        return out;
    }

    @Test
    void whateverThePlannerReturnsFitsEveryBudget() {
        int planned = 0;
        for (RandomBlocks.Spec spec : RandomBlocks.sample(20250604L, 16)) {
            String text = spec.blockText() + "plan best for B { auto }\nplan sep for B { separate }\n";
            Program p = RandomBlocks.check(text);
            TypedBlock block = RandomBlocks.block(p);
            for (Target t : Targets.builtin().all()) {
                for (String name : List.of("best", "sep")) {
                    Planner.Outcome o = Planner.plan(block, RandomBlocks.plan(p, name), t, SHAPE, 3);
                    switch (o) {
                        case Planner.Planned pl -> {
                            planned++;
                            for (Planner.Candidate c : pl.top()) {
                                for (Kernel k : c.kernels()) {
                                    assertEquals(List.of(), overBudget(k, t), spec.name() + " " + name + " on " + t.name()
                                            + ": " + c.summary());
                                    if (name.equals("best")) assertEquals(1, k.tileN());
                                }
                                assertTrue(c.seconds() > 0 && Double.isFinite(c.seconds()));
                            }
                            assertEquals(pl.top().getFirst(), pl.chosen());
                        }
                        case Planner.Refused r -> {
                            // Only auto may find nothing, and then it says which budget and by how much.
                            assertEquals("best", name, spec.name() + " separate refused: " + r.why().headline());
                            assertTrue(r.why().message().contains("limit"), r.why().headline());
                            assertTrue(r.why().message().contains(t.name()), r.why().headline());
                        }
                    }
                }
            }
        }
        assertTrue(planned > 50, "too few plans succeeded to mean anything: " + planned);
    }

    /** One fixed choice of a generated plan and where it is written. */
    record Directive(String key, int line) {}

    @Test
    void overBudgetFixedPlansAreRefusedAtTheLineOfTheDirectiveToChange() {
        Random r = new Random(7);
        int refused = 0;
        int accepted = 0;
        for (RandomBlocks.Spec spec : RandomBlocks.sample(99L, 40)) {
            Target t = Targets.builtin().all().get(r.nextInt(4));
            int th = List.of(4, 8, 16, 32, 64).get(r.nextInt(5));
            int tw = List.of(4, 8, 16, 32, 64).get(r.nextInt(5));
            List<Integer> chunks = new ArrayList<>();
            for (int d = 16; d < spec.e(); d += 16) if (spec.e() % d == 0) chunks.add(d);
            chunks.add(spec.e());
            int chunk = chunks.get(r.nextInt(chunks.size()));
            int warps = List.of(1, 2, 4, 8, 16, 32).get(r.nextInt(6));
            boolean recompute = spec.haloIntermediate() != null && r.nextBoolean();
            StringBuilder plan = new StringBuilder("plan fixed for B on " + t.name() + " {\n");
            plan.append("  tile   N 1, H ").append(th).append(", W ").append(tw).append('\n');
            plan.append("  stream E by ").append(chunk).append('\n');
            plan.append("  warps  ").append(warps).append('\n');
            plan.append("  math   tensor_core\n");
            if (recompute) plan.append("  place  h1 in registers halo ").append(spec.k() / 2).append(" recompute\n");
            plan.append("}\n");
            String text = spec.blockText() + plan;
            Program p = RandomBlocks.check(text);
            TypedBlock block = RandomBlocks.block(p);
            PlanSpec ps = RandomBlocks.plan(p, "fixed");
            List<Directive> directives = new ArrayList<>(List.of(
                    new Directive("tile H", RandomBlocks.lineOf(text, "tile   N")),
                    new Directive("tile W", RandomBlocks.lineOf(text, "tile   N")),
                    new Directive("stream", RandomBlocks.lineOf(text, "stream E")),
                    new Directive("warps", RandomBlocks.lineOf(text, "warps  ")),
                    new Directive("math", RandomBlocks.lineOf(text, "math   "))));
            if (recompute) directives.add(new Directive("place h1", RandomBlocks.lineOf(text, "place  h1")));

            // What the plan fixes; the halo strategy of an unplaced h1 is still the planner's to choose.
            List<Map<String, PlanSpec.Placement>> placeOptions = placeOptions(ps, block);
            Planner.Outcome o = Planner.plan(block, ps, t, SHAPE, 1);
            String what = spec.name() + " with tile " + th + "x" + tw + ", E by " + chunk + ", warps " + warps
                    + (recompute ? ", h1 recompute" : "") + " on " + t.name();
            List<Choices> fitting = new ArrayList<>();
            Kernel k = null;
            Diagnostic loweringRefusal = null;
            for (Map<String, PlanSpec.Placement> places : placeOptions) {
                Choices c = new Choices(1, th, tw, warps, MathKind.TENSOR_CORE, "E", chunk, places);
                switch (Lowering.fused(block, "fixed", c, ps.span(), t)) {
                    case Lowering.Result.Refused no -> {
                        if (loweringRefusal == null) loweringRefusal = no.why();
                    }
                    case Lowering.Result.Ok ok -> {
                        if (k == null) k = ok.kernels().getFirst();
                        if (overBudget(ok.kernels().getFirst(), t).isEmpty()) fitting.add(c);
                    }
                }
            }
            if (k == null) {
                assertTrue(o instanceof Planner.Refused, what);
                assertEquals(loweringRefusal.message(), ((Planner.Refused) o).why().message(), what);
                continue;
            }
            if (!fitting.isEmpty()) {
                accepted++;
                Planner.Planned pl = assertInstanceOf(o, what);
                assertTrue(fitting.stream().anyMatch(c -> c.toString().equals(pl.chosen().choices().toString())),
                        what + ": chose " + pl.chosen().summary());
                continue;
            }
            List<String> over = overBudget(k, t);
            Choices fixed = new Choices(1, th, tw, warps, MathKind.TENSOR_CORE, "E", chunk, placeOptions.getFirst());
            refused++;
            if (!(o instanceof Planner.Refused rf)) {
                fail(what + " is over budget (" + over + ") but was planned");
                return;
            }
            Diagnostic d = rf.why();
            int expected = ps.span().line();
            boolean single = false;
            for (Directive dir : directives) {
                if (someAlternativeFits(dir.key(), block, ps, fixed, t, placeOptions)) {
                    expected = dir.line();
                    single = true;
                    break;
                }
            }
            // no single directive: the tile as a whole, if another tile fits
            if (!single && someAlternativeFits("tile", block, ps, fixed, t, placeOptions)) {
                expected = RandomBlocks.lineOf(text, "tile   N");
            }
            assertEquals(expected, d.span().line(), what + ": " + d.headline() + "\n  hint: " + d.hint());
            assertTrue(d.message().contains("limit"), d.headline());
            assertFalse(d.details().isEmpty(), "no breakdown: " + d.headline());
            if (d.message().contains("shared memory")) {
                // Each shared buffer with the .tm line it comes from, and the total against the limit.
                assertTrue(d.details().stream().filter(l -> l.matches(".* B .*\\(line \\d+\\)")).count() >= 2,
                        d.details().toString());
                assertTrue(d.details().stream().anyMatch(l -> l.startsWith("total") && l.contains("limit")),
                        d.details().toString());
            }
        }
        assertTrue(refused >= 5, "too few over-budget plans to mean anything: " + refused);
        assertTrue(accepted >= 3, "too few fitting plans to mean anything: " + accepted);
    }

    private static Planner.Planned assertInstanceOf(Planner.Outcome o, String what) {
        if (o instanceof Planner.Planned p) return p;
        fail(what + " fits but was refused: " + ((Planner.Refused) o).why().headline());
        return null;
    }

    /** The placements as written, plus, for an intermediate a conv reads with a halo that the plan does not
     *  place, the recompute strategy (staging is the lowering's default). */
    static List<Map<String, PlanSpec.Placement>> placeOptions(PlanSpec ps, TypedBlock block) {
        Map<String, PlanSpec.Placement> written = new LinkedHashMap<>();
        ps.places().forEach(pl -> written.put(pl.tensor(), pl));
        List<Map<String, PlanSpec.Placement>> out = new ArrayList<>(List.of(written));
        Map<String, Integer> halo = Lowering.regions(block, tmc.ir.Layer.of(block));
        if (block.activation("h1").isPresent() && !written.containsKey("h1")) {
            Map<String, PlanSpec.Placement> r = new LinkedHashMap<>(written);
            r.put("h1", new PlanSpec.Placement("h1", Space.REGISTERS, halo.get("h1"), PlanSpec.HaloMode.RECOMPUTE,
                    ps.span()));
            out.add(r);
        }
        return out;
    }

    /** Brute force: does some other value of this one directive, all else as written, lower and fit? */
    static boolean someAlternativeFits(String key, TypedBlock block, PlanSpec ps, Choices fixed, Target t,
                                       List<Map<String, PlanSpec.Placement>> placeOptions) {
        List<Choices> alternatives = new ArrayList<>();
        for (Map<String, PlanSpec.Placement> places : placeOptions) {
            Choices f = new Choices(1, fixed.tileH(), fixed.tileW(), fixed.warps(), fixed.math(), fixed.streamDim(),
                    fixed.streamChunk(), places);
            switch (key) {
                case "tile" -> {  // both sides at once
                    for (int h : Planner.TILE_SIZES) {
                        for (int w : Planner.TILE_SIZES) {
                            if (h * w < 16 || h * w > 512) continue;
                            alternatives.add(new Choices(1, h, w, f.warps(), f.math(), f.streamDim(), f.streamChunk(),
                                    f.places()));
                        }
                    }
                }
                case "tile H", "tile W" -> {
                    for (int v : Planner.TILE_SIZES) {
                        int h = key.equals("tile H") ? v : f.tileH();
                        int w = key.equals("tile W") ? v : f.tileW();
                        if (h * w < 16 || h * w > 512) continue;
                        alternatives.add(new Choices(1, h, w, f.warps(), f.math(), f.streamDim(), f.streamChunk(),
                                f.places()));
                    }
                }
                case "stream" -> {
                    alternatives.add(new Choices(1, f.tileH(), f.tileW(), f.warps(), f.math(), null, 0, f.places()));
                    for (Map.Entry<String, Long> param : block.params().entrySet()) {
                        long v = param.getValue();
                        for (int d = 16; d < v; d += 16) {
                            if (v % d != 0) continue;
                            alternatives.add(new Choices(1, f.tileH(), f.tileW(), f.warps(), f.math(), param.getKey(), d,
                                    f.places()));
                        }
                    }
                }
                case "warps" -> {
                    for (int w : Planner.WARPS) {
                        if (w > Planner.maxUsefulWarps(block, f.tilePixels())) continue;
                        alternatives.add(new Choices(1, f.tileH(), f.tileW(), w, f.math(), f.streamDim(),
                                f.streamChunk(), f.places()));
                    }
                }
                case "math" -> { } // tensor_core is the only kind searched for f16 blocks: no alternative
                case "place h1" -> {
                    // Without the placement the planner may stage h1 (the default) or recompute it.
                    alternatives.add(new Choices(1, f.tileH(), f.tileW(), f.warps(), f.math(), f.streamDim(),
                            f.streamChunk(), Map.of()));
                    alternatives.add(f);
                }
                default -> throw new AssertionError(key);
            }
        }
        for (Choices c : alternatives) {
            if (Lowering.fused(block, "fixed", c, ps.span(), t) instanceof Lowering.Result.Ok ok
                    && overBudget(ok.kernels().getFirst(), t).isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
