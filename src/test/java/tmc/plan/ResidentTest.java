package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.api.CompiledProgram;
import tmc.api.Tmc;
import tmc.check.TypedBlock;
import tmc.diag.Diagnostic;
import tmc.ir.Kernel;

/**
 * The {@code resident N} directive (a kernel compiled for N blocks per SM) and the forms {@code tmc tune} times with
 * one more resident block than the register estimate allows.
 */
public class ResidentTest {
    public static final String PLAN = """

            plan small for ConvFirst on sm_90 {
              tile   N 1, H 8, W 8
              stream E by 64
              place  h in registers
              warps  4
              resident %d
            }
            """;

    public static String convFirst(String plans) throws Exception {
        return Files.readString(Repo.path("samples", "convfirst.tm")) + plans;
    }

    static Tmc.Outcome compile(String text, String plan, long c) {
        Tmc.Compilation comp = Tmc.compileText("cf.tm", text, Tmc.Options.DEFAULTS.withArch("sm_90")
                .withParams(Map.of("C", c)));
        assertTrue(comp.ok(), comp.report());
        return comp.compile(plan);
    }

    @Test
    void residentSetsTheLaunchBoundsAndTheRegisterLimit() throws Exception {
        for (int n : new int[]{3, 4, 5}) {
            Tmc.Outcome o = compile(convFirst(PLAN.formatted(n)), "small", 64);
            assertTrue(o instanceof Tmc.Outcome.Compiled, n + ": " + o);
            CompiledProgram p = ((Tmc.Outcome.Compiled) o).program();
            Kernel k = p.program().kernels().getFirst();
            assertEquals(n, k.residentBlocks());
            assertEquals(n, k.minBlocksPerSm());
            // 4 warps a block: n blocks put n warps on each of the 4 sub-partitions, a quarter of 64K registers each
            assertEquals(Math.min(255, 16384 / (n * 32) / 8 * 8), k.registerLimit(), "n = " + n);
            assertTrue(p.source().contains("__launch_bounds__(128, " + n + ")"), p.source());
            assertTrue(p.source().contains("the plan's 'resident " + n + "'"));
            assertEquals(n, p.program().plan().residentBlocks(), "the filled plan keeps the directive");
        }
        // without the directive the estimate sets the bounds: fewer blocks than 5 for this kernel
        Tmc.Outcome o = compile(convFirst(PLAN.formatted(5).replace("  resident 5\n", "")), "small", 64);
        Kernel k = ((Tmc.Outcome.Compiled) o).program().program().kernels().getFirst();
        assertEquals(0, k.residentBlocks());
        assertTrue(k.minBlocksPerSm() < 5, "estimate " + k.registersPerThread() + ": " + k.minBlocksPerSm());
    }

    @Test
    void residentAboveWhatTheSmHoldsIsRefusedAtTheDirective() throws Exception {
        String text = convFirst(PLAN.formatted(5));
        int line = (int) text.lines().takeWhile(l -> !l.contains("resident 5")).count() + 1;
        // at C = 128 the 8x8 tile's shared memory leaves room for fewer than 5 blocks
        Tmc.Outcome o = compile(text, "small", 128);
        assertTrue(o instanceof Tmc.Outcome.Refused, o.toString());
        Diagnostic d = ((Tmc.Outcome.Refused) o).why();
        assertTrue(d.message().contains("needs 5 resident blocks per SM on sm_90 (limit "), d.message());
        assertEquals(line, d.span().line(), "points at 'resident'");
        assertTrue(d.hint().startsWith("without 'resident 5' it fits"), d.hint());
        assertTrue(String.join("\n", d.details()).contains("B of shared memory"), d.details().toString());
    }

    @Test
    void residentOutOfRangeOrTwiceIsAnError() throws Exception {
        for (String bad : List.of("  resident 0\n", "  resident 33\n", "  resident 2\n  resident 3\n")) {
            String text = convFirst(PLAN.formatted(5).replace("  resident 5\n", bad));
            Tmc.Compilation comp = Tmc.compileText("cf.tm", text, Tmc.Options.DEFAULTS);
            assertFalse(comp.ok(), bad);
            String report = comp.report();
            assertTrue(report.contains(bad.contains("resident 2") ? "'resident' is given twice" : "is out of range"), report);
            assertTrue(report.contains("cf.tm:"), "file:line:col: " + report);
        }
    }

    /** The forms tune times: one more block, only where registers are what holds the candidate back. */
    @Test
    void tuneOffersOneMoreBlockWhereTheRegistersLimitIt() throws Exception {
        int offered = 0;
        for (String sample : List.of("convfirst.tm", "mbconv.tm", "mbconv_dw.tm", "convnext.tm")) {
            Tmc.Compilation c = Tmc.compile(Repo.path("samples", sample), Tmc.Options.DEFAULTS.withArch("sm_90"));
            var spec = c.program().plans().stream().filter(p -> p.kind() == tmc.check.PlanSpec.Kind.AUTO).findFirst()
                    .orElseThrow();
            TypedBlock block = c.program().block(spec.block()).orElseThrow();
            var target = c.targets().get("sm_90").orElseThrow();
            var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, 20);
            for (Planner.Candidate cand : planned.top()) {
                Budgets.Check check = cand.checks().getFirst();
                List<Planner.Candidate> more = Planner.moreResident(cand, block, spec, target, LaunchShape.REFERENCE);
                boolean room = check.occupancy().limitedBy().equals("registers")
                        && Budgets.roomWithoutRegisters(check.kernel(), target) > check.occupancy().blocksPerSm();
                assertEquals(room, !more.isEmpty(), sample + " " + cand.summary() + ": " + check.occupancy());
                for (Planner.Candidate m : more) {
                    offered++;
                    int blocks = check.occupancy().blocksPerSm() + 1;
                    assertEquals(blocks, m.choices().residentBlocks());
                    assertEquals(blocks, m.checks().getFirst().occupancy().blocksPerSm(), m.summary() + ": "
                            + m.checks().getFirst() .occupancy() + " from " + check.occupancy() + ", shared "
                            + check.sharedBytes() + " -> " + m.maxShared());
                    assertTrue(m.fits());
                    assertTrue(m.summary().contains(", resident " + blocks), m.summary());
                    assertTrue(Planner.moreResident(m, block, spec, target, LaunchShape.REFERENCE).isEmpty());
                    assertTrue(Planner.tuneForms(cand, block, spec, target, LaunchShape.REFERENCE, false, true)
                            .contains(m));
                }
                assertEquals(List.of(cand), Planner.tuneForms(cand, block, spec, target, LaunchShape.REFERENCE, false,
                        false));
            }
        }
        assertTrue(offered >= 5, "resident forms offered: " + offered);
    }

    @Test
    void aStoredResidentWinnerIsWhatAutoCompiles() throws Exception {
        Path sample = Repo.path("samples", "convfirst.tm");
        Tmc.Options untuned = Tmc.Options.DEFAULTS.withArch("sm_90");
        Tmc.Compilation c = Tmc.compile(sample, untuned);
        TypedBlock block = c.program().block("ConvFirst").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        Planner.Candidate more = planned.top().stream()
                .flatMap(x -> Planner.moreResident(x, block, spec, target, LaunchShape.REFERENCE).stream())
                .findFirst().orElseThrow();
        Path file = Files.createTempDirectory("tmc-tuning-").resolve("tuning.json");
        TuningCache cache = TuningCache.load(file);
        cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("ConvFirst", "best", "sm_90",
                TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", more.summary(), 0.1, 0.05, "2026-12-07"));
        cache.save();
        CompiledProgram tuned = Tmc.compile(sample, untuned.withTuning(file)).program("best").orElseThrow();
        Kernel k = tuned.program().kernels().getFirst();
        assertEquals(more.choices().residentBlocks(), k.residentBlocks(), more.summary());
        assertTrue(tuned.source().contains("__launch_bounds__(" + k.threads() + ", " + k.residentBlocks() + ")"));
    }
}
