package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.check.Frontend;
import tmc.check.TypedBlock;
import tmc.ref.Interpreter;
import tmc.ref.Npy;
import tmc.ref.Tensor;
import tmc.ref.Tensors;

class RunCommandTest {
    static final Path REPO = Path.of(System.getProperty("tmc.repo", "."));

    record Outcome(int code, String out, String err) {}

    static Outcome tmc(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Outcome(code, out.toString(), err.toString());
    }

    static String sample(String name) {
        return REPO.resolve("samples/" + name + ".tm").toString();
    }

    private static final Pattern CRC = Pattern.compile("crc32 ([0-9a-f]{8})");

    static String crc(String out) {
        Matcher m = CRC.matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }

    @Test
    void badRunOptionsSayWhatIsWrong(@org.junit.jupiter.api.io.TempDir Path dir) throws java.io.IOException {
        Outcome reps = tmc("run", sample("convfirst"), "--cpu", "--reps", "-3");
        assertEquals(1, reps.code());
        assertEquals("tmc: --reps must be at least 1", reps.err().strip());
        Path file = java.nio.file.Files.writeString(dir.resolve("taken"), "");
        Outcome out = tmc("run", sample("convfirst"), "--cpu", "--shape", "N=1,H=9,W=9", "--out", file.toString());
        assertEquals(1, out.code());
        assertTrue(out.err().contains("tmc: cannot write to " + file + ": a file of that name is in the way"), out.err());
    }

    @Test
    void runsTheReferenceAndSummarisesEachOutput() {
        Outcome o = tmc("run", sample("convfirst"), "--cpu", "--shape", "N=2,H=9,W=9");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("ConvFirst at N=2,H=9,W=9 on the CPU reference (f32 accumulation)"), o.out());
        assertTrue(o.out().contains("random (seed 1): x, wc, bc, w1, b1, w2, b2"), o.out());
        assertTrue(o.out().matches("(?s).*\\by\\s+f16\\[2, 9, 9, 64]\\s+min -?\\d.*max -?\\d.*mean -?\\d.*crc32 [0-9a-f]{8}.*"),
                o.out());
    }

    @Test
    void checksumIsTheCrcOfTheReferenceOutput() {
        Frontend.Checked c = Frontend.checkFile(Path.of(sample("mbconv_dw")), Map.of(), InputOptions.KNOWN_ARCHS);
        TypedBlock b = c.program().blocks().getFirst();
        Tensor y = Interpreter.run(b, Tensors.randomInputs(b, 1, 7, 5, 3), Tensors.randomWeights(b, 3),
                Interpreter.Options.DEFAULT).get("y");
        Outcome o = tmc("run", sample("mbconv_dw"), "--cpu", "--shape", "N=1,H=7,W=5", "--seed", "3");
        assertEquals(String.format(Locale.ROOT, "%08x", Tensors.checksum(y)), crc(o.out()));
    }

    @Test
    void seedsAreReproducibleAndMatter() {
        String a = crc(tmc("run", sample("fusedmlp"), "--cpu", "--shape", "N=1,H=4,W=4", "--seed", "5").out());
        String b = crc(tmc("run", sample("fusedmlp"), "--cpu", "--shape", "N=1,H=4,W=4", "--seed", "5").out());
        String c = crc(tmc("run", sample("fusedmlp"), "--cpu", "--shape", "N=1,H=4,W=4", "--seed", "6").out());
        assertEquals(a, b);
        assertNotEquals(a, c);
    }

    @Test
    void outWritesTensorsThatInputsReadBack(@TempDir Path dir) throws IOException {
        Outcome first = tmc("run", sample("convnext"), "--cpu", "--shape", "N=1,H=5,W=6", "--seed", "9", "--out",
                dir.toString());
        assertEquals(0, first.code(), first.err());
        for (String name : new String[] {"x", "wd", "bd", "g", "beta", "w1", "b1", "w2", "b2", "gamma", "y"}) {
            assertTrue(Files.isRegularFile(dir.resolve(name + ".npy")), name);
        }
        Tensor y = Npy.read(dir.resolve("y.npy"));
        assertEquals("f16[1, 5, 6, 96]", y.toString());
        assertEquals(String.format(Locale.ROOT, "%08x", Tensors.checksum(y)), crc(first.out()));
        // Read back (with another seed, which then must not matter): same output, shape taken from the files.
        Outcome again = tmc("run", sample("convnext"), "--cpu", "--inputs", dir.toString(), "--seed", "1");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("at N=1,H=5,W=6"), again.out());
        assertTrue(again.out().contains("from " + dir + ": x, wd, bd, g, beta, w1, b1, w2, b2, gamma"), again.out());
        assertEquals(crc(first.out()), crc(again.out()));
    }

    @Test
    void runsAGoldenCaseDirectory() {
        Path golden = REPO.resolve("test-data/golden/convfirst/n3_h9_w13");
        Outcome o = tmc("run", sample("convfirst"), "--cpu", "-p", "C=32", "--inputs", golden.toString(), "--f64");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("ConvFirst at N=3,H=9,W=13 on the CPU reference (f64 accumulation)"), o.out());
        assertTrue(!o.out().contains("random"), "every tensor comes from the directory: " + o.out());
        Outcome clash = tmc("run", sample("convfirst"), "--cpu", "-p", "C=32", "--inputs", golden.toString(),
                "--shape", "N=1,H=9,W=13");
        assertEquals(1, clash.code());
        assertTrue(clash.err().contains("disagrees"), clash.err());
        Outcome wrongC = tmc("run", sample("convfirst"), "--cpu", "--inputs", golden.toString());
        assertEquals(1, wrongC.code());
        assertTrue(wrongC.err().contains("must be [N, H, W, 64]"), wrongC.err());
    }

    @Test
    void withoutCpuItSaysGpuRunsComeLater() {
        Outcome o = tmc("run", sample("convfirst"), "--shape", "N=1,H=8,W=8");
        assertEquals(1, o.code());
        assertTrue(o.err().contains("--cpu"), o.err());
        assertTrue(o.err().contains("GPU"), o.err());
    }

    @Test
    void planAndBlockSelection() {
        Outcome byPlan = tmc("run", sample("mbconv"), "--cpu", "--plan", "recompute", "--shape", "N=1,H=3,W=3");
        assertEquals(0, byPlan.code(), byPlan.err());
        assertTrue(byPlan.out().startsWith("MBConv at"), byPlan.out());
        Outcome noPlan = tmc("run", sample("mbconv"), "--cpu", "--plan", "nope");
        assertEquals(1, noPlan.code());
        assertTrue(noPlan.err().contains("no plan 'nope'; plans: fused, recompute, rows, narrow, specialized, wgmma, layerwise, best"), noPlan.err());
        Outcome noBlock = tmc("run", sample("mbconv"), "--cpu", "--block", "Nope");
        assertEquals(1, noBlock.code());
        assertTrue(noBlock.err().contains("no block 'Nope'; blocks: MBConv"), noBlock.err());
        Outcome clash = tmc("run", sample("mbconv"), "--cpu", "--block", "Other", "--plan", "fused");
        assertEquals(1, clash.code());
        assertTrue(clash.err().contains("is for block 'MBConv'"), clash.err());
    }

    @Test
    void badInputFilesAreUserErrors(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("x.npy"), "not numpy");
        Outcome o = tmc("run", sample("fusedmlp"), "--cpu", "--inputs", dir.toString());
        assertEquals(1, o.code());
        assertTrue(o.err().contains("x.npy: not a .npy file"), o.err());
        Outcome missing = tmc("run", sample("fusedmlp"), "--cpu", "--inputs", dir.resolve("nowhere").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("is not a directory"), missing.err());
    }

    @Test
    void isListedInHelp() {
        Outcome o = tmc("--help");
        assertTrue(java.util.Arrays.asList(o.out().split("\\s+")).contains("run"), o.out());
    }
}
