package tmc.plan;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import tmc.check.TypedBlock;

/**
 * What {@code tmc tune} measured: per block, plan, target and shape class, the candidate that ran fastest
 * (named by its summary, e.g. "tile 8x16, stream E by 64, 8 warps, tensor_core"), and per target and GPU the
 * factor between measured and predicted times. {@code auto} plans use a stored winner when there is one.
 * Stored as JSON next to the kernel cache; a file that cannot be read is treated as empty, never trusted.
 */
public final class TuningCache {
    public record Entry(String block, String plan, String target, String shapeClass, String device, String winner,
                        double measuredMs, double predictedMs, String measuredAt) {}

    /**
     * Measured over predicted time on one GPU: the median over the candidates of every configuration tuned on it.
     * {@code ratios} holds each configuration's own (keyed as its entry, {@link #key}), so tuning one again replaces
     * its ratios and keeps the others': one tune of a single candidate no longer sets the factor for every plan. A
     * file written before the ratios were kept has none (null): its factor stands until the next tune on that GPU.
     */
    public record Calibration(String target, String device, double measuredOverPredicted, int candidates,
                              Map<String, List<Double>> ratios) {
        public Calibration {
            // sorted, so that the file lists the configurations in one order whatever the order of the tunes
            if (ratios != null) ratios = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(ratios));
        }

        /** A factor without the ratios behind it (a file of an earlier tmc, a test). */
        public Calibration(String target, String device, double measuredOverPredicted, int candidates) {
            this(target, device, measuredOverPredicted, candidates, null);
        }

        /** How many tuned configurations the factor pools (0: a factor without its ratios). */
        public int configurations() {
            return ratios == null ? 0 : ratios.size();
        }
    }

    private record Contents(int format, Map<String, Entry> entries, Map<String, Calibration> calibrations) {}

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private final Path file;
    private final Map<String, Entry> entries;
    private final Map<String, Calibration> calibrations;

    private TuningCache(Path file, Map<String, Entry> entries, Map<String, Calibration> calibrations) {
        this.file = file;
        this.entries = entries;
        this.calibrations = calibrations;
    }

    /** $TMC_CACHE_DIR/tuning.json, else $XDG_CACHE_HOME/tmc/tuning.json, else ~/.cache/tmc/tuning.json. */
    public static Path defaultFile(Map<String, String> env) {
        String dir = env.get("TMC_CACHE_DIR");
        if (dir != null && !dir.isBlank()) return Path.of(dir, "tuning.json");
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("tmc").resolve("tuning.json");
    }

    public static TuningCache load(Path file) {
        try {
            if (Files.isRegularFile(file)) {
                Contents c = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), Contents.class);
                if (c != null && c.entries() != null && c.calibrations() != null) {
                    return new TuningCache(file, new TreeMap<>(c.entries()), new TreeMap<>(c.calibrations()));
                }
            }
        } catch (IOException | JsonParseException | IllegalStateException e) {
            // An unreadable or damaged tuning file only loses measurements; plans fall back to the model.
        }
        return new TuningCache(file, new TreeMap<>(), new TreeMap<>());
    }

    public Path file() {
        return file;
    }

    /** Block name and parameters, plan, target and shape class. */
    public static String key(TypedBlock block, String plan, String target, LaunchShape shape) {
        return block.name() + block.params() + "|" + plan + "|" + target + "|" + shapeClass(shape);
    }

    /** Shapes that tune alike: N in 1, 2-8, 9-32, 33-128, more; the larger of H and W in 8, 16, 32, 64, more. */
    public static String shapeClass(LaunchShape s) {
        int n = s.n() <= 1 ? 1 : s.n() <= 8 ? 8 : s.n() <= 32 ? 32 : s.n() <= 128 ? 128 : 1024;
        int hw = Math.max(s.h(), s.w());
        int side = hw <= 8 ? 8 : hw <= 16 ? 16 : hw <= 32 ? 32 : hw <= 64 ? 64 : 1024;
        return "N<=" + n + ",HW<=" + side;
    }

    public Optional<Entry> lookup(TypedBlock block, String plan, String target, LaunchShape shape) {
        return Optional.ofNullable(entries.get(key(block, plan, target, shape)));
    }

    public Optional<Calibration> calibration(String target, String device) {
        return Optional.ofNullable(calibrations.get(target + "|" + device));
    }

    /** The calibration of each target (the most recently stored one when several GPUs of a target were tuned). */
    public Map<String, Calibration> calibrationsByTarget() {
        Map<String, Calibration> out = new TreeMap<>();
        for (Calibration c : calibrations.values()) out.put(c.target(), c);
        return out;
    }

    public void put(TypedBlock block, LaunchShape shape, Entry entry) {
        entries.put(key(block, entry.plan(), entry.target(), shape), entry);
    }

    public void putCalibration(Calibration c) {
        calibrations.put(c.target() + "|" + c.device(), c);
    }

    /**
     * Records one configuration's measured / predicted ratios on a GPU (replacing that configuration's earlier ones)
     * and returns the calibration that pools them with the other configurations tuned on it. A stored factor without
     * ratios cannot be pooled and is replaced.
     */
    public Calibration addRatios(String target, String device, String configuration, List<Double> ratios) {
        if (ratios.isEmpty()) throw new IllegalArgumentException("no ratios for " + configuration);
        Calibration old = calibrations.get(target + "|" + device);
        Map<String, List<Double>> all = new TreeMap<>(old == null || old.ratios() == null ? Map.of() : old.ratios());
        all.put(configuration, List.copyOf(ratios));
        List<Double> pooled = all.values().stream().flatMap(List::stream).toList();
        Calibration c = new Calibration(target, device, median(pooled), pooled.size(), all);
        putCalibration(c);
        return c;
    }

    /** The median of non-empty values (the mean of the middle two for an even count). */
    public static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        s.sort(Double::compare);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    public List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    /** Writes the file atomically (temporary file, then rename). */
    public void save() throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".tuning-", ".tmp");
        Files.writeString(tmp, GSON.toJson(new Contents(1, entries, calibrations)) + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
