package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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
        // Plans that are not auto are what they say, tuning or not.
        assertEquals(c.program("fused").orElseThrow().source(),
                Tmc.compile(sample, untuned.withTuning(file)).program("fused").orElseThrow().source());

        Files.writeString(file, "{ this is not json");
        assertTrue(TuningCache.load(file).entries().isEmpty());
        assertEquals(model.source(), Tmc.compile(sample, untuned.withTuning(file)).program("best").orElseThrow().source());
    }
}
