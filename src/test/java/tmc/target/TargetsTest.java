package tmc.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.check.DType;
import tmc.check.Frontend;
import tmc.check.PlanSpec.MathKind;
import tmc.diag.Diagnostic;

public class TargetsTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    @Test
    void everyBuiltInTargetLoadsAndCitesEveryNumber() throws IOException {
        Targets b = Targets.builtin();
        assertEquals(List.of("sm_80", "sm_86", "sm_89", "sm_90"), List.copyOf(b.names()));
        // Every resource file is listed (a file that is not would be silently ignored).
        try (var files = Files.list(REPO.resolve("src/main/resources/targets"))) {
            assertEquals(Set.copyOf(Targets.BUILTIN), files.map(f -> f.getFileName().toString().replace(".json", ""))
                    .collect(java.util.stream.Collectors.toSet()));
        }
        for (Target t : b.all()) {
            for (String field : List.of("smCount", "clockGHz", "warpSize", "maxThreadsPerBlock", "maxThreadsPerSm",
                    "maxBlocksPerSm", "sharedPerBlockDefault", "sharedPerBlockOptIn", "sharedPerSm",
                    "sharedReservedPerBlock", "sharedBytesPerClkPerSm", "maxRegistersPerThread", "registersPerSm",
                    "registersPerBlock", "registerAllocationUnit", "l2Bytes", "dramGBps", "l2GBps", "launchOverheadUs",
                    "warpsToHideLatency", "mmaShapes", "cuda_core_f32", "tensor_core_f16", "tensor_core_bf16")) {
                assertFalse(t.source(field).isBlank(), t.name() + " cites no source for " + field);
            }
            assertTrue(t.sharedPerBlockOptIn() + t.sharedReservedPerBlock() <= t.sharedPerSm(), t.name());
            assertTrue(t.supports(MathKind.TENSOR_CORE, DType.F16) && t.supports(MathKind.TENSOR_CORE, DType.BF16));
            assertTrue(t.mmaShapes().contains("m16n8k16"), t.name());
            assertEquals(t.name(), t.arch());
        }
    }

    @Test
    void sm90UsesTheMeasuredFacts() {
        Target t = Targets.builtin().get("sm_90").orElseThrow();
        assertEquals(132, t.smCount());
        assertEquals(232448, t.sharedPerBlockOptIn());
        assertEquals(3.00e12, t.dramBytesPerSecond(), 1e6);
        assertEquals(742e12, t.peak(MathKind.TENSOR_CORE, DType.F16).orElseThrow(), 1e6);
        assertTrue(t.source("smCount").contains("measured"));
        assertTrue(t.supports(MathKind.WGMMA, DType.F16));
        assertFalse(Targets.builtin().get("sm_86").orElseThrow().supports(MathKind.WGMMA, DType.F16));
        // The opt-in limits of the other generations (CUDA C++ Programming Guide).
        assertEquals(166912, Targets.builtin().get("sm_80").orElseThrow().sharedPerBlockOptIn());
        assertEquals(101376, Targets.builtin().get("sm_86").orElseThrow().sharedPerBlockOptIn());
        assertEquals(101376, Targets.builtin().get("sm_89").orElseThrow().sharedPerBlockOptIn());
    }

    public static String rtx4090(String name) {
        return """
                {
                  "name": "%s", "arch": "sm_89", "device": "GeForce RTX 4090",
                  "smCount": 128, "clockGHz": 2.52, "warpSize": 32, "maxThreadsPerBlock": 1024, "maxThreadsPerSm": 1536,
                  "maxBlocksPerSm": 24, "sharedPerBlockDefault": 49152, "sharedPerBlockOptIn": 101376,
                  "sharedPerSm": 102400, "sharedReservedPerBlock": 1024, "sharedBytesPerClkPerSm": 128,
                  "maxRegistersPerThread": 255, "registersPerSm": 65536, "registersPerBlock": 65536,
                  "registerAllocationUnit": 256, "l2Bytes": 75497472,
                  "dramGBps": {"value": 1008, "source": "datasheet"}, "l2GBps": 5000, "launchOverheadUs": 3,
                  "warpsToHideLatency": 8,
                  "peakTflops": {"cuda_core_f32": 82.6, "tensor_core_f16": 165.2, "tensor_core_bf16": 165.2}
                }
                """.formatted(name);
    }

    @Test
    void aTargetFileNextToTheTmFileAddsATargetPlansCanName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("gpus.targets.json"), rtx4090("rtx4090"));
        Path tm = dir.resolve("mlp.tm");
        Files.writeString(tm, Files.readString(REPO.resolve("samples/fusedmlp.tm")).replace("on sm_90 { auto }",
                "on rtx4090 { auto }"));
        Targets.Loaded loaded = Targets.load(tm, List.of());
        assertTrue(loaded.diagnostics().all().isEmpty(), loaded.diagnostics().all().toString());
        Target t = loaded.targets().get("rtx4090").orElseThrow();
        assertEquals(128, t.smCount());
        assertEquals("sm_89", t.arch());
        assertEquals("datasheet", t.source("dramGBps"));
        Frontend.Checked c = Frontend.checkFile(tm, Map.of(), loaded.targets().names());
        assertTrue(c.ok(), c.diagnostics().all().toString());
        // Without the file the name is unknown.
        Frontend.Checked without = Frontend.checkFile(tm, Map.of(), Targets.builtin().names());
        assertFalse(without.ok());
    }

    @Test
    void aTargetsDirectoryAndExplicitFilesAreReadToo(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("targets"));
        Files.writeString(dir.resolve("targets/a.json"), "{\"targets\": [" + rtx4090("gpu_a") + "]}");
        Path extra = dir.resolve("elsewhere.json");
        Files.writeString(extra, "[" + rtx4090("gpu_b") + "]");
        Targets.Loaded loaded = Targets.load(dir.resolve("x.tm"), List.of(extra));
        assertTrue(loaded.diagnostics().all().isEmpty(), loaded.diagnostics().all().toString());
        assertTrue(loaded.targets().names().containsAll(List.of("sm_90", "gpu_a", "gpu_b")));
    }

    @Test
    void brokenTargetFilesAreDiagnosticsAtTheirLine(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.targets.json");
        Files.writeString(bad, rtx4090("gpu_c").replace("\"smCount\": 128", "\"smCount\": -4"));
        Diagnostic d = only(Targets.load(dir.resolve("x.tm"), List.of()));
        assertTrue(d.message().contains("smCount must be positive"), d.headline());
        assertEquals(3, d.span().line()); // the line of "smCount"

        Files.writeString(bad, "{ \"name\": \"gpu_d\",\n  \"smCount\": 12,,\n}");
        d = only(Targets.load(dir.resolve("x.tm"), List.of()));
        assertTrue(d.message().contains("not valid JSON"), d.headline());
        assertEquals(2, d.span().line());

        Files.writeString(bad, rtx4090("gpu_e").replace("\"l2GBps\": 5000,", "\"l2GBps\": 5000, \"sharedMem\": 1,"));
        d = only(Targets.load(dir.resolve("x.tm"), List.of()));
        assertTrue(d.message().contains("unknown field 'sharedMem'"), d.headline());

        Files.writeString(bad, rtx4090("gpu_f").replace("\"dramGBps\": {\"value\": 1008, \"source\": \"datasheet\"}, ", ""));
        d = only(Targets.load(dir.resolve("x.tm"), List.of()));
        assertTrue(d.message().contains("has no \"dramGBps\""), d.headline());

        Files.delete(bad);
        d = only(Targets.load(dir.resolve("x.tm"), List.of(dir.resolve("missing.json"))));
        assertTrue(d.message().contains("cannot read target file") && d.message().contains("no such file"), d.headline());
    }

    private static Diagnostic only(Targets.Loaded loaded) {
        assertEquals(1, loaded.diagnostics().all().size(), loaded.diagnostics().all().toString());
        return loaded.diagnostics().all().getFirst();
    }
}
