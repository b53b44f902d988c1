package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.Repo;

/** tmc analyze end to end: every network sample, with and without the committed measurements, and its errors. */
class AnalyzeCommandTest {
    static final Path MEASURED = Repo.path("docs", "measurements", "2026-11-22-h100", "networks", "measured-f16.json");

    static String[] samples() {
        return new String[] {Repo.path("samples", "networks", "convfirstnet.tm").toString(),
                Repo.path("samples", "networks", "convnext_t.tm").toString(),
                Repo.path("samples", "networks", "efficientnet_b0.tm").toString()};
    }

    static String[] args(String[] head, String... tail) {
        String[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }

    @Test
    void anUnknownNetworkNameListsTheNetworksThereAre() {
        MainTest.Result r = MainTest.run(args(args(new String[] {"analyze"}, samples()), "--network", "Nope"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no network named 'Nope'"), r.err());
        assertTrue(r.err().strip().endsWith("networks: ConvFirstNet, ConvNeXtT, EfficientNetB0"), r.err());
    }

    @Test
    void writesTablesCsvJsonAndPlotsForEveryNetwork(@TempDir Path out) throws Exception {
        String[] a = args(new String[] {"analyze"}, samples());
        MainTest.Result r = MainTest.run(args(a, "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        for (String net : List.of("ConvFirstNet", "ConvNeXtT", "EfficientNetB0")) {
            assertTrue(r.out().contains("= " + net + " (separate)"), r.out());
            assertTrue(r.out().contains("= " + net + " (fused)"), r.out());
            for (String plot : List.of("-roofline.png", "-waterline.png")) {
                BufferedImage img = ImageIO.read(out.resolve(net + plot).toFile());
                assertEquals(1000, img.getWidth(), net + plot);
            }
            JsonObject json = JsonParser.parseString(Files.readString(out.resolve(net + ".json"))).getAsJsonObject();
            int kernels = json.getAsJsonObject("separate").getAsJsonArray("kernels").size()
                    + json.getAsJsonObject("fused").getAsJsonArray("kernels").size();
            int blocks = json.getAsJsonObject("separate").getAsJsonArray("blocks").size();
            List<String> csv = Files.readAllLines(out.resolve(net + ".csv"));
            assertEquals(1 + kernels + 2 * blocks + 2, csv.size(), "header, kernels, blocks and model rows");
            // The CSV's kernel rows add up to its model row.
            long flops = csv.stream().filter(l -> l.contains(",separate,kernel,"))
                    .mapToLong(l -> Long.parseLong(l.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")[7])).sum();
            assertEquals(json.getAsJsonObject("separate").getAsJsonObject("model").get("flops").getAsLong(), flops);
        }
        assertTrue(Files.size(out.resolve("efficiency-gap.png")) > 10_000);
        assertTrue(r.out().contains("not on efficiency-gap.png (no accuracy stated): ConvFirstNet"), r.out());
    }

    @Test
    void measuredTimesAppearAndSumToTheModelTotal(@TempDir Path out) throws Exception {
        MainTest.Result r = MainTest.run("analyze", Repo.path("samples", "networks", "efficientnet_b0.tm").toString(),
                "--measured", MEASURED.toString(), "--out", out.toString(), "--blocks");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("measured whole forward pass"), r.out());
        JsonObject measured = JsonParser.parseString(Files.readString(MEASURED)).getAsJsonObject();
        double sum = 0;
        for (JsonElement n : measured.getAsJsonArray("networks")) {
            if (!n.getAsJsonObject().get("name").getAsString().equals("EfficientNetB0")) continue;
            for (JsonElement l : n.getAsJsonObject().getAsJsonArray("layers")) sum += l.getAsJsonObject().get("ms").getAsDouble();
        }
        JsonObject report = JsonParser.parseString(Files.readString(out.resolve("EfficientNetB0.json"))).getAsJsonObject();
        JsonObject model = report.getAsJsonObject("separate").getAsJsonObject("model");
        assertEquals(sum, model.get("measured_ms").getAsDouble(), 1e-9);
        assertEquals(model.get("ideal_ms").getAsDouble() / sum, model.get("efficiency").getAsDouble(), 1e-9);
        assertTrue(report.getAsJsonObject("fused").getAsJsonObject("model").get("measured_ms") == null);
    }

    /** docs/analysis/ shows what tmc analyze computes today (the plots are drawn from the same numbers). */
    @Test
    void committedTablesAreFresh(@TempDir Path out) throws Exception {
        String[] a = args(new String[] {"analyze"}, samples());
        MainTest.Result r = MainTest.run(args(a, "--measured", MEASURED.toString(), "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        for (String net : List.of("ConvFirstNet", "ConvNeXtT", "EfficientNetB0")) {
            assertEquals(Files.readString(out.resolve(net + ".csv")),
                    Files.readString(Repo.path("docs", "analysis", net + ".csv")),
                    "docs/analysis/" + net + ".csv is stale: rerun the command in docs/analysis.md");
            // The JSON too, but for the line naming the measurement file as the command line gave it.
            assertEquals(withoutMeasuredLine(Files.readString(Repo.path("docs", "analysis", net + ".json"))),
                    withoutMeasuredLine(Files.readString(out.resolve(net + ".json"))),
                    "docs/analysis/" + net + ".json is stale, or its key order is not fixed");
        }
    }

    private static String withoutMeasuredLine(String json) {
        return json.replaceAll("(?m)^  \"measured\": .*\n", "");
    }

    @Test
    void explainsWhatIsWrong(@TempDir Path dir) throws Exception {
        MainTest.Result missing = MainTest.run("analyze", samples()[2], "--measured", dir.resolve("none.json").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());

        MainTest.Result other = MainTest.run("analyze", samples()[0], "--measured", MEASURED.toString());
        assertEquals(1, other.code());
        assertTrue(other.err().contains("has no measurements for ConvFirstNet"), other.err());

        MainTest.Result noNetworks = MainTest.run("analyze", Repo.path("samples", "convfirst.tm").toString());
        assertEquals(1, noNetworks.code());
        assertTrue(noNetworks.err().contains("has no networks"), noNetworks.err());

        // A network that differs from the measured model: the first differing layer is named.
        Path changed = dir.resolve("b0.tm");
        Files.writeString(changed, Files.readString(Repo.path("samples", "networks", "efficientnet_b0.tm"))
                .replace("conv(32, k: 3, stride: 2, act: silu)", "conv(32, k: 5, stride: 2, act: silu)"));
        MainTest.Result mismatch = MainTest.run("analyze", changed.toString(), "--measured", MEASURED.toString());
        assertEquals(1, mismatch.code());
        assertTrue(mismatch.err().contains("measured layer 0 of EfficientNetB0"), mismatch.err());
        assertTrue(mismatch.err().contains("b0.tm:9:3"), mismatch.err());
    }
}
