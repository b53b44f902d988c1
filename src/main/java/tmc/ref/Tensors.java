package tmc.ref;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Op;
import tmc.check.Operand;
import tmc.check.TypedBlock;
import tmc.check.Weight;

/**
 * Seeded random tensors, summaries and checksums, and reading and writing a block's tensors as a directory of
 * {@code <name>.npy} files. The CLI ({@code tmc run}) and the GPU verifier share these, so the same seed gives the
 * same tensors everywhere.
 *
 * <p><b>The generator.</b> Tensor {@code name} under seed {@code s} draws from {@code new SplittableRandom(s ^
 * fnv1a64(name))} (FNV-1a 64 over the UTF-8 bytes of the name), one {@code nextDouble()} u per element in row-major
 * order: value = mean + std * sqrt(3) * (2u - 1), a uniform distribution of the given mean and standard deviation,
 * then rounded to the tensor's dtype. Tensors of different names are independent; adding a tensor to a block does
 * not change the others.
 *
 * <p><b>Scales</b> ({@link #weightScale}), chosen so that activations stay O(1) through a block: inputs mean 0, std 1;
 * conv2d weights [C_out, k, k, C_in/G] std 1/sqrt(k * k * C_in/G) and pointwise weights [C_out, C_in] std
 * 1/sqrt(C_in) (fan-in scaling, so each layer roughly keeps the variance of its input); LayerNorm gamma mean 1 std
 * 0.1, beta std 0.1; a [C] vector that multiplies (a layer scale) mean 1 std 0.25; any other vector (a bias) std
 * 0.1; a weight nothing reads, std 0.1.
 */
public final class Tensors {
    private Tensors() {}

    /** A uniform tensor of the given mean and standard deviation; see the class comment for the exact generator. */
    public static Tensor random(DType dtype, long seed, String name, double mean, double std, int... shape) {
        int count = 1;
        for (int d : shape) count = Math.multiplyExact(count, d);
        SplittableRandom r = new SplittableRandom(seed ^ fnv1a64(name));
        float[] v = new float[count];
        double half = std * Math.sqrt(3.0);
        for (int i = 0; i < count; i++) v[i] = (float) (mean + half * (2.0 * r.nextDouble() - 1.0));
        return Tensor.adopt(dtype, shape.clone(), v);
    }

    /** FNV-1a, 64 bits, over the UTF-8 bytes of {@code s}. */
    public static long fnv1a64(String s) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    /** Mean and standard deviation of a random weight, by how the block uses it. */
    public record Scale(double mean, double std) {}

    public static Scale weightScale(TypedBlock block, Weight w) {
        for (Op op : block.ops()) {
            switch (op) {
                case Op.Conv2d c when c.weight().name().equals(w.name()) -> {
                    return new Scale(0, 1.0 / Math.sqrt((double) c.kernel() * c.kernel() * c.groupWidth()));
                }
                case Op.Pointwise p when p.weight().name().equals(w.name()) -> {
                    return new Scale(0, 1.0 / Math.sqrt(p.in().channels()));
                }
                case Op.LayerNorm l when l.gamma() != null && l.gamma().name().equals(w.name()) -> {
                    return new Scale(1, 0.1);
                }
                case Op.LayerNorm l when l.beta() != null && l.beta().name().equals(w.name()) -> {
                    return new Scale(0, 0.1);
                }
                case Op.Elementwise e when isVec(e.left(), w) || isVec(e.right(), w) -> {
                    return e.fn() == Op.ElementwiseFn.MUL ? new Scale(1, 0.25) : new Scale(0, 0.1);
                }
                default -> {}
            }
        }
        return new Scale(0, 0.1);
    }

    private static boolean isVec(Operand o, Weight w) {
        return o instanceof Operand.Vec v && v.weight().name().equals(w.name());
    }

    /** Random inputs [n, h, w, C] (mean 0, std 1) for every input of the block, in its storage dtype. */
    public static Map<String, Tensor> randomInputs(TypedBlock block, int n, int h, int w, long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Activation a : block.inputs()) m.put(a.name(), random(a.dtype(), seed, a.name(), 0, 1, n, h, w, a.channels()));
        return m;
    }

    /** Random weights for every weight of the block, scaled by {@link #weightScale}. */
    public static Map<String, Tensor> randomWeights(TypedBlock block, long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Weight w : block.weights()) {
            Scale s = weightScale(block, w);
            m.put(w.name(), random(w.dtype(), seed, w.name(), s.mean(), s.std(),
                    w.dims().stream().mapToInt(Integer::intValue).toArray()));
        }
        return m;
    }

    // ---- summaries -----------------------------------------------------------------------

    /**
     * @param checksum CRC-32 of the tensor's little-endian element bytes in its dtype, i.e. of the data part of its
     *                 .npy file (in Python: {@code zlib.crc32(a.tobytes())})
     */
    public record Summary(double min, double max, double mean, double rms, long nonFinite, long checksum) {}

    public static Summary summary(Tensor t) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        double sq = 0;
        long bad = 0;
        long finite = 0;
        for (float v : t.raw()) {
            if (!Float.isFinite(v)) {
                bad++;
                continue;
            }
            finite++;
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
            sq += (double) v * v;
        }
        double mean = finite == 0 ? Double.NaN : sum / finite;
        double rms = finite == 0 ? Double.NaN : Math.sqrt(sq / finite);
        return new Summary(finite == 0 ? Double.NaN : min, finite == 0 ? Double.NaN : max, mean, rms, bad, checksum(t));
    }

    /** CRC-32 of the little-endian element bytes in the tensor's dtype (the .npy payload). */
    public static long checksum(Tensor t) {
        CRC32 crc = new CRC32();
        crc.update(t.toBytes());
        return crc.getValue();
    }

    // ---- directories of .npy files ---------------------------------------------------------

    /** Writes each tensor as {@code dir/<name>.npy}. */
    public static void writeDir(Path dir, Map<String, Tensor> tensors) throws IOException {
        Files.createDirectories(dir);
        for (var e : tensors.entrySet()) Npy.write(dir.resolve(e.getKey() + ".npy"), e.getValue());
    }

    /** Reads {@code dir/<name>.npy} for each name that has a file; names without a file are left out. */
    public static Map<String, Tensor> readDir(Path dir, Iterable<String> names) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String name : names) {
            Path f = dir.resolve(name + ".npy");
            if (Files.isRegularFile(f)) m.put(name, Npy.read(f));
        }
        return m;
    }
}
