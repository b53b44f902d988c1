package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

class TuningCacheTest {
    @Test
    void shapeClassesGroupSimilarShapes() {
        assertEquals(TuningCache.shapeClass(new LaunchShape(128, 56, 56)), TuningCache.shapeClass(new LaunchShape(100, 50, 64)));
        assertNotEquals(TuningCache.shapeClass(new LaunchShape(128, 56, 56)), TuningCache.shapeClass(new LaunchShape(8, 56, 56)));
        assertNotEquals(TuningCache.shapeClass(new LaunchShape(128, 56, 56)), TuningCache.shapeClass(new LaunchShape(128, 14, 14)));
    }

    @Test
    void planReportsShowCalibratedPredictionsOnlyWhenTheyHaveACalibration() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "fusedmlp.tm"), Tmc.Options.DEFAULTS);
        var options = new tmc.cli.PlanReport.Options("sm_90", "best", LaunchShape.REFERENCE, false, 1);
        String plain = tmc.cli.PlanReport.render(c.program(), c.targets(), options, c.checked().sources()).text();
        assertTrue(!plain.contains("calibrated"), plain);
        var calibrated = new tmc.cli.PlanReport.Options("sm_90", "best", LaunchShape.REFERENCE, false, 1,
                Map.of("sm_90", new TuningCache.Calibration("sm_90", "test GPU", 10.0, 5)));
        String text = tmc.cli.PlanReport.render(c.program(), c.targets(), calibrated, c.checked().sources()).text();
        // Ten times the planner's own prediction for the chosen candidate is shown beside it.
        TypedBlock block = c.program().block("FusedMLP").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, c.program().plan("best").orElseThrow(),
                c.targets().get("sm_90").orElseThrow(), LaunchShape.REFERENCE, 1);
        String expected = String.format(java.util.Locale.ROOT, "calibrated %.1f us (x10.00", planned.chosen().seconds() * 1e7);
        assertTrue(text.contains(expected), expected + "\n" + text);
    }

    @Test
    void theCalibrationPoolsEveryTunedConfigurationAndARetuneReplacesOnlyItsOwn() throws Exception {
        Path file = Files.createTempDirectory("tmc-tuning-").resolve("tuning.json");
        TuningCache cache = TuningCache.load(file);
        // a file of an earlier tmc: a factor without ratios, replaced by the first pooled one
        cache.putCalibration(new TuningCache.Calibration("sm_90", "test GPU", 4.6, 6));
        var first = cache.addRatios("sm_90", "test GPU", "A|best|sm_90|N<=128,HW<=64", List.of(3.0, 4.0, 5.0, 6.0, 7.0));
        assertEquals(5.0, first.measuredOverPredicted());
        assertEquals(5, first.candidates());
        assertEquals(1, first.configurations());
        // one more configuration of a single candidate moves the median half a place, not to its own ratio
        var second = cache.addRatios("sm_90", "test GPU", "B|rows|sm_90|N<=128,HW<=32", List.of(2.8));
        assertEquals(4.5, second.measuredOverPredicted(), "median of 2.8, 3, 4, 5, 6, 7");
        assertEquals(6, second.candidates());
        assertEquals(2, second.configurations());
        // tuning A again replaces A's ratios and keeps B's
        var third = cache.addRatios("sm_90", "test GPU", "A|best|sm_90|N<=128,HW<=64", List.of(9.0, 10.0));
        assertEquals(9.0, third.measuredOverPredicted(), "median of 2.8, 9, 10");
        assertEquals(3, third.candidates());
        // another GPU of the same target has its own
        assertEquals(1.5, cache.addRatios("sm_90", "other GPU", "A|best|sm_90|N<=128,HW<=64", List.of(1.5))
                .measuredOverPredicted());
        cache.save();
        var again = TuningCache.load(file).calibration("sm_90", "test GPU").orElseThrow();
        assertEquals(third, again);
        assertEquals(List.of(2.8), again.ratios().get("B|rows|sm_90|N<=128,HW<=32"));
    }

    @Test
    void planReportsSayWhatACalibrationPools() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "fusedmlp.tm"), Tmc.Options.DEFAULTS);
        var pooled = new TuningCache.Calibration("sm_90", "test GPU", 3.0, 4,
                Map.of("A|best|sm_90|N<=128,HW<=64", List.of(2.0, 3.0, 4.0), "B|best|sm_90|N<=8,HW<=64", List.of(3.0)));
        var options = new tmc.cli.PlanReport.Options("sm_90", "best", LaunchShape.REFERENCE, false, 1,
                Map.of("sm_90", pooled));
        String text = tmc.cli.PlanReport.render(c.program(), c.targets(), options, c.checked().sources()).text();
        assertTrue(text.contains("(x3.00: measured / predicted median of 4 candidates of the 2 configurations tuned on test GPU)"),
                text);
    }

    @Test
    void aStoredWinnerIsWhatAutoCompilesAndADamagedFileIsIgnored() throws Exception {
        Path dir = Files.createTempDirectory("tmc-tuning-");
        Path file = dir.resolve("tuning.json");
        Path sample = Repo.path("samples", "convfirst.tm");
        Tmc.Options untuned = Tmc.Options.DEFAULTS.withArch("sm_90");
        Tmc.Compilation c = Tmc.compile(sample, untuned);
        TypedBlock block = c.program().block("ConvFirst").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        Planner.Candidate other = planned.top().get(planned.top().size() - 1);
        assertNotEquals(planned.chosen().summary(), other.summary(), "the test needs a candidate other than the model's");

        TuningCache cache = TuningCache.load(file);
        cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("ConvFirst", "best", "sm_90",
                TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", other.summary(), 0.1, 0.05, "2026-11-22"));
        cache.putCalibration(new TuningCache.Calibration("sm_90", "test GPU", 8.5, 5));
        cache.save();
        TuningCache again = TuningCache.load(file);
        assertEquals(other.summary(), again.lookup(block, "best", "sm_90", LaunchShape.REFERENCE).orElseThrow().winner());
        assertEquals(8.5, again.calibration("sm_90", "test GPU").orElseThrow().measuredOverPredicted());

        CompiledProgram tuned = Tmc.compile(sample, untuned.withTuning(file)).program("best").orElseThrow();
        CompiledProgram model = c.program("best").orElseThrow();
        String tile = "tile N 1, H " + other.choices().tileH() + ", W " + other.choices().tileW();
        assertEquals(other.choices().tileH(), tuned.program().kernels().getFirst().tileH(), tile);
        assertEquals(other.choices().tileW(), tuned.program().kernels().getFirst().tileW(), tile);
        assertNotEquals(model.source(), tuned.source());
        // A plan that writes its directives is what it says: the winner stored for 'best' is not its.
        assertEquals(c.program("fused").orElseThrow().source(),
                Tmc.compile(sample, untuned.withTuning(file)).program("fused").orElseThrow().source());

        Files.writeString(file, "{ this is not json");
        assertTrue(TuningCache.load(file).entries().isEmpty());
        assertEquals(model.source(), Tmc.compile(sample, untuned.withTuning(file)).program("best").orElseThrow().source());
    }
    @Test
    void aStoredSplitWinnerOfTuneSpecializeIsWhatAutoCompiles() throws Exception {
        Path sample = Repo.path("samples", "mbconv.tm");
        Tmc.Options untuned = Tmc.Options.DEFAULTS.withArch("sm_90");
        Tmc.Compilation c = Tmc.compile(sample, untuned);
        TypedBlock block = c.program().block("MBConv").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        // both forms tmc tune --specialize times: a candidate's warps in halves (W/2 + W/2) and with a producer side
        // added (W + W); the first split of each form among the ranked candidates
        for (int factor : new int[]{1, 2}) {
            Planner.Candidate split = planned.top().stream()
                    .flatMap(x -> Planner.specialized(x, block, spec, target, LaunchShape.REFERENCE).stream()
                            .filter(y -> y.choices().warps() == factor * x.choices().warps()))
                    .findFirst().orElseThrow();
            assertTrue(split.summary().contains("(specialized)"), split.summary());
            assertEquals(split.choices().warps() / 2, split.choices().producerWarps());
            Path file = Files.createTempDirectory("tmc-tuning-").resolve("tuning.json");
            TuningCache cache = TuningCache.load(file);
            cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("MBConv", "best", "sm_90",
                    TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", split.summary(), 0.1, 0.05, "2026-12-07"));
            cache.save();
            CompiledProgram tuned = Tmc.compile(sample, untuned.withTuning(file)).program("best").orElseThrow();
            tmc.ir.Kernel k = tuned.program().kernels().getFirst();
            assertEquals(split.choices().warps() * 32, k.threads(), split.summary());
            assertEquals(2, WarpSpecialization.sides(k).size(), "auto compiles the split the tuning file names");
            // a split has no split of its own
            assertTrue(Planner.specialized(split, block, spec, target, LaunchShape.REFERENCE).isEmpty());
        }
    }

    @Test
    void aFusedPlanTakesAStoredWinnerOnlyWhereItKeepsThePlansDirectives() throws Exception {
        // ConvFirst's 'rows' writes its tile, stream, place, warps and math but not 'resident': tmc tune --plan rows
        // times it against its one-more-resident form, and a tuning file naming that form is what it compiles to.
        Path sample = Repo.path("samples", "convfirst.tm");
        Tmc.Options untuned = Tmc.Options.DEFAULTS.withArch("sm_90");
        Tmc.Compilation c = Tmc.compile(sample, untuned);
        TypedBlock block = c.program().block("ConvFirst").orElseThrow();
        var spec = c.program().plan("rows").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        var forms = Planner.tuneForms(planned.chosen(), block, spec, target, LaunchShape.REFERENCE, true, true);
        // the plan, one more resident block, and that block with the chain's slices narrowed; no split of its fixed
        // 7 warps
        assertEquals(3, forms.size(), forms.toString());
        Planner.Candidate more = forms.get(1);
        assertEquals(3, more.choices().residentBlocks(), more.summary());
        assertEquals(7, more.choices().warps());
        assertTrue(!more.choices().narrowSlices() && forms.get(2).choices().narrowSlices(), forms.toString());
        assertEquals(more.summary() + ", slices of 16", forms.get(2).summary());

        Path file = Files.createTempDirectory("tmc-tuning-").resolve("tuning.json");
        TuningCache cache = TuningCache.load(file);
        cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("ConvFirst", "rows", "sm_90",
                TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", more.summary(), 0.15, 0.05, "2026-12-07"));
        cache.save();
        String rows = c.program("rows").orElseThrow().source();
        assertTrue(rows.contains("__launch_bounds__(224, 2)"), "untuned: as many blocks as the registers allow");
        String tuned = Tmc.compile(sample, untuned.withTuning(file)).program("rows").orElseThrow().source();
        assertTrue(tuned.contains("__launch_bounds__(224, 3)"), "the tuned form: 3 blocks per SM");
        assertTrue(tuned.contains("TILE_H = 4, TILE_W = 28"), "the plan's own tile");
        assertTrue(tuned.contains("for (int sl = 0; sl < 64; sl += 32) {"), "32 channels of h a slice");
        cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("ConvFirst", "rows", "sm_90",
                TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", forms.get(2).summary(), 0.15, 0.05, "2026-12-07"));
        cache.save();
        String narrow = Tmc.compile(sample, untuned.withTuning(file)).program("rows").orElseThrow().source();
        assertTrue(narrow.contains("__launch_bounds__(224, 3)") && narrow.contains("for (int sl = 0; sl < 64; sl += 16) {"),
                "the narrow form the tuning file names");
        // the other plans of the file are untouched by the winner of 'rows'
        assertEquals(c.program("fused").orElseThrow().source(),
                Tmc.compile(sample, untuned.withTuning(file)).program("fused").orElseThrow().source());

        // A winner that changes a directive the plan writes (another tile) is not the plan's: it compiles as written.
        var best = (Planner.Planned) Planner.plan(block, c.program().plan("best").orElseThrow(), target,
                LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        cache.put(block, LaunchShape.REFERENCE, new TuningCache.Entry("ConvFirst", "rows", "sm_90",
                TuningCache.shapeClass(LaunchShape.REFERENCE), "test GPU", best.chosen().summary(), 0.1, 0.05, "2026-12-07"));
        cache.save();
        assertEquals(rows, Tmc.compile(sample, untuned.withTuning(file)).program("rows").orElseThrow().source());
    }
}
