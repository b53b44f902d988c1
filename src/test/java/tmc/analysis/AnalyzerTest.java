package tmc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.analysis.Analyzer.Execution;
import tmc.analysis.Analyzer.Kernel;
import tmc.check.Frontend;
import tmc.check.NetLayer;
import tmc.check.Network;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * The analysis numbers against counts made here independently: bytes of a small network by hand, the multiply-adds
 * of EfficientNet-B0 and ConvNeXt-T from their architecture tables (and against the published totals), the kernel
 * split of the fused execution, and the arithmetic of efficiency and gap with measurements.
 */
class AnalyzerTest {
    static final Target H100 = Targets.builtin().get("sm_90").orElseThrow();

    static Network network(String text) {
        Frontend.Checked c = Frontend.checkText("net.tm", text, Map.of(), Set.of("sm_90"));
        assertTrue(c.ok(), () -> c.diagnostics().all().toString());
        return c.program().networks().getFirst();
    }

    static Network sample(String file) {
        Frontend.Checked c = Frontend.checkFile(Repo.path("samples", "networks", file), Map.of(), Set.of("sm_90"));
        assertTrue(c.ok(), () -> c.diagnostics().all().toString());
        return c.program().networks().getFirst();
    }

    // An MBConv-with-SE block on 2 x 8 x 8 x 16, f16: every byte below is counted by hand.
    static final String SMALL = """
            network Small {
              input(N: 2, H: 8, W: 8, C: 16)
              fuse { pointwise(64, act: silu)  depthwise(k: 3, act: silu)  se(4)  pointwise(16)  residual }
            }
            """;

    @Test
    void bytesOfEachKernelMatchAHandCount() {
        Analyzer.Report r = Analyzer.analyze(network(SMALL), H100);
        long x = 2 * 8 * 8 * 16 * 2;   // 4096 B: the block input (and output), f16
        long h = 2 * 8 * 8 * 64 * 2;   // 16384 B: a 64-channel hidden tensor
        long w1 = 64 * 16 * 2 + 64 * 4; // expand weights f16 + bias f32
        long wd = 64 * 9 * 2 + 64 * 4;  // depthwise 3x3
        long se = 2 * 64 * 4 * 2 + (4 + 64) * 4; // two 64x4 linears + their biases
        long w2 = 16 * 64 * 2 + 16 * 4;
        List<Kernel> sep = r.separate().kernels();
        assertEquals(4, sep.size());
        assertEquals(x + h + w1, sep.get(0).dramBytes());
        assertEquals(h + h + wd, sep.get(1).dramBytes());
        assertEquals(h + h + h + se, sep.get(2).dramBytes(), "alone, the SE reads its input twice");
        assertEquals(h + x + w2 + x, sep.get(3).dramBytes(), "the projection also reads the residual");
        List<Kernel> fused = r.fused().kernels();
        assertEquals(2, fused.size(), "the fused block splits at the squeeze-and-excitation");
        assertEquals(x + h + w1 + wd, fused.get(0).dramBytes());
        assertEquals(h + x + se + w2 + x, fused.get(1).dramBytes(), "after the split the residual is re-read");
        assertEquals(r.separate().model().flops(), r.fused().model().flops(), "fusion moves bytes, not flops");
    }

    @Test
    void flopsOfEachLayerMatchAHandCount() {
        Network n = network(SMALL);
        long px = 2 * 8 * 8;
        List<NetLayer> l = n.layers();
        assertEquals(2 * px * 64 * 16, l.get(0).matrixFlops());
        assertEquals(px * 64 * 2, l.get(0).vectorFlops(), "bias and silu");
        assertEquals(2 * px * 64 * 9, l.get(1).matrixFlops());
        assertFalse(l.get(1).tensorCores(), "depthwise runs on CUDA cores");
        assertEquals(2L * 2 * 2 * 64 * 4, l.get(2).matrixFlops(), "two 64x4 linears per image");
        assertEquals(2 * px * 16 * 64, l.get(3).matrixFlops());
        assertEquals(px * 16 * 2, l.get(3).vectorFlops(), "bias and the residual add");
        assertTrue(l.get(3).residual());
    }

    @Test
    void predictionIsTheWaterlineOfEachKernel() {
        Analyzer.Report r = Analyzer.analyze(network(SMALL), H100);
        for (Kernel k : r.separate().kernels()) {
            assertEquals(k.dramBytes() / H100.dramBytesPerSecond(), k.memorySeconds(), 1e-15);
            assertEquals(Math.max(k.memorySeconds(), k.computeSeconds()) + H100.launchOverheadSeconds(),
                    k.predictedSeconds(), 1e-15);
            assertEquals(k.flops() / r.peakFlops(), k.idealSeconds(), 1e-15);
            assertEquals(k.idealSeconds() / k.predictedSeconds(), k.efficiency(), 1e-12);
        }
        double sum = r.separate().kernels().stream().mapToDouble(Kernel::predictedSeconds).sum();
        assertEquals(sum, r.separate().model().predictedSeconds(), 1e-15);
    }

    /** EfficientNet-B0 from its table (Tan and Le 2019, Table 1): expansion, kernel, stride, channels, repeats. */
    @Test
    void efficientNetB0MultiplyAddsMatchItsArchitectureTable() {
        int[][] stages = {{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2}, {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3}, {6, 5, 1, 112, 3},
                {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}};
        long res = 112, c = 32;
        long macs = res * res * 32 * 27; // stem 3x3 s2, 3 -> 32
        for (int[] s : stages) {
            for (int i = 0; i < s[4]; i++) {
                long stride = i == 0 ? s[2] : 1, e = c * s[0], out = s[3], se = Math.max(1, c / 4);
                if (s[0] != 1) macs += res * res * c * e;   // expand
                res /= stride;
                macs += res * res * e * s[1] * s[1];        // depthwise
                macs += 2 * e * se;                          // squeeze-and-excitation linears
                macs += res * res * e * out;                 // project
                c = out;
            }
        }
        macs += res * res * 320 * 1280 + 1280 * 1000;     // head and classifier
        Network n = sample("efficientnet_b0.tm");
        long matrix = n.layers().stream().mapToLong(NetLayer::matrixFlops).sum();
        assertEquals(2 * macs * n.batch(), matrix);
        // Published: 0.39 B multiply-adds per image.
        assertEquals(0.39e9, macs, 0.02e9);
        assertEquals(67, n.layers().size());
        Analyzer.Report r = Analyzer.analyze(n, H100);
        assertEquals(36, r.fused().kernels().size(), "16 blocks split at their SE, plus 4 plain layers");
    }

    @Test
    void convNeXtTMultiplyAddsMatchItsArchitectureTable() {
        int[] depths = {3, 3, 9, 3}, widths = {96, 192, 384, 768};
        long res = 56;
        long macs = res * res * 96 * 3 * 16; // stem 4x4 s4
        for (int s = 0; s < 4; s++) {
            long c = widths[s];
            if (s > 0) {
                res /= 2;
                macs += res * res * c * widths[s - 1] * 4; // 2x2 s2 downsample
            }
            macs += depths[s] * (res * res * c * 49 + 2 * res * res * c * 4 * c); // dw 7x7, two pointwise
        }
        macs += 768 * 1000;
        Network n = sample("convnext_t.tm");
        long matrix = n.layers().stream().mapToLong(NetLayer::matrixFlops).sum();
        assertEquals(2 * macs * n.batch(), matrix);
        assertEquals(4.5e9, macs, 0.05e9); // published: 4.5 G (multiply-adds) per image
        Analyzer.Report r = Analyzer.analyze(n, H100);
        assertEquals(83, r.separate().kernels().size());
        assertEquals(29, r.fused().kernels().size(), "18 blocks fused, 11 plain layers");
        assertTrue(r.fused().model().dramBytes() * 3 < r.separate().model().dramBytes(),
                "fusing the blocks removes most DRAM traffic");
    }

    @Test
    void measuredTimesGiveEfficiencyAndGap() throws Exception {
        Network n = network(SMALL);
        Path json = Files.createTempFile("measured", ".json");
        Files.writeString(json, """
                {"gpu": "test", "date": "2026-11-22", "torch": "x", "dtype": "f16", "batch": 2, "command": "none",
                 "networks": [{"name": "Small", "total_ms": 0.05, "layers": [
                   {"module": "a", "kind": "pointwise", "cin": 16, "cout": 64, "k": 1, "stride": 1, "groups": 1, "h_out": 8, "w_out": 8, "ms": 0.010},
                   {"module": "b", "kind": "conv", "cin": 64, "cout": 64, "k": 3, "stride": 1, "groups": 64, "h_out": 8, "w_out": 8, "ms": 0.011},
                   {"module": "c", "kind": "se", "cin": 64, "cout": 64, "k": 4, "stride": 1, "groups": 1, "h_out": 8, "w_out": 8, "ms": 0.012},
                   {"module": "d", "kind": "pointwise", "cin": 64, "cout": 16, "k": 1, "stride": 1, "groups": 1, "h_out": 8, "w_out": 8, "ms": 0.013}]}]}
                """);
        var loaded = assertInstanceOf(Measurements.Loaded.Ok.class, Measurements.load(json));
        var matched = assertInstanceOf(Measurements.Matched.Ok.class, Measurements.match(loaded.data(), n));
        Analyzer.Report r = Analyzer.analyze(n, H100, matched.times());
        Kernel k = r.separate().kernels().get(2);
        assertEquals(0.012e-3, k.measuredSeconds(), 1e-12);
        assertEquals(k.idealSeconds() / 0.012e-3, k.efficiency(), 1e-9);
        assertEquals(0.012e-3 - k.idealSeconds(), k.gapSeconds(), 1e-12);
        assertEquals(0.046e-3, r.separate().model().measuredSeconds(), 1e-12);
        assertTrue(r.fused().kernels().stream().noneMatch(Kernel::measured), "the fused execution was not measured");
        assertEquals(Execution.FUSED, r.fused().execution());

        // One layer with another shape: refused with both descriptions.
        Files.writeString(json, Files.readString(json).replace("\"groups\": 64", "\"groups\": 1"));
        var loaded2 = assertInstanceOf(Measurements.Loaded.Ok.class, Measurements.load(json));
        var failed = assertInstanceOf(Measurements.Matched.Failed.class, Measurements.match(loaded2.data(), n));
        assertTrue(failed.problem().message().contains("measured layer 1 of Small (b: conv 64->64 k3 at 8x8)"),
                failed.problem().message());
        assertTrue(failed.problem().message().contains("depthwise 3x3 64"), failed.problem().message());
        Files.writeString(json, Files.readString(json).replace("\"batch\": 2", "\"batch\": 4"));
        var loaded3 = assertInstanceOf(Measurements.Loaded.Ok.class, Measurements.load(json));
        var batch = assertInstanceOf(Measurements.Matched.Failed.class, Measurements.match(loaded3.data(), n));
        assertTrue(batch.problem().hint().contains("--batch 2"), batch.problem().hint());
        Files.writeString(json, "{\"networks\": 3}");
        assertInstanceOf(Measurements.Loaded.Failed.class, Measurements.load(json));
    }
}
