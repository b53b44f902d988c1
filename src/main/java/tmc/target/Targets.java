package tmc.target;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tmc.diag.Diagnostics;
import tmc.diag.Span;

/**
 * The registry of targets: the built-in ones plus any a user adds without touching code.
 *
 * <p>Where targets come from, later ones replacing earlier ones of the same name:
 * <ol>
 *   <li>built in: {@code src/main/resources/targets/<name>.json};</li>
 *   <li>next to the .tm file: every {@code *.targets.json} in its directory, and every {@code *.json} in a
 *       {@code targets/} directory beside it (each in name order);</li>
 *   <li>files given with {@code --targets FILE}.</li>
 * </ol>
 * A file holds one target object, an array of them, or {@code {"targets": [...]}}. Each number is either
 * bare ({@code "smCount": 132}) or cited ({@code "smCount": {"value": 132, "source": "..."}}); built-in
 * targets cite every number. Problems in a file are diagnostics pointing into it, never exceptions.
 */
public final class Targets {
    /** Names of the built-in targets, each a resource {@code /targets/<name>.json}. */
    public static final List<String> BUILTIN = List.of("sm_80", "sm_86", "sm_89", "sm_90");

    /** The target a plan uses when neither the plan ('on ...') nor the command line (--arch) names one. */
    public static final String DEFAULT = "sm_90";

    private final Map<String, Target> byName;

    private Targets(Map<String, Target> byName) {
        this.byName = Collections.unmodifiableMap(new LinkedHashMap<>(byName));
    }

    public Optional<Target> get(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Target names in registry order (built-ins first). */
    public Set<String> names() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(byName.keySet()));
    }

    public List<Target> all() {
        return List.copyOf(byName.values());
    }

    /** The registry, the problems found while reading it, and the texts read (for quoting lines in messages). */
    public record Loaded(Targets targets, Diagnostics diagnostics, Map<String, String> texts) {}

    private static volatile Targets builtin;

    /** The built-in targets. They ship with tmc, so a problem in them is a bug (an exception), not a diagnostic. */
    public static Targets builtin() {
        Targets b = builtin;
        if (b != null) return b;
        Diagnostics d = new Diagnostics();
        Map<String, Target> map = new LinkedHashMap<>();
        for (String name : BUILTIN) {
            String resource = "/targets/" + name + ".json";
            try (InputStream in = Targets.class.getResourceAsStream(resource)) {
                if (in == null) throw new IllegalStateException("missing built-in target resource " + resource);
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                for (Target t : parse(resource, text, d, true)) map.put(t.name(), t);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read built-in target " + resource, e);
            }
        }
        if (d.hasErrors()) {
            throw new IllegalStateException("built-in targets are invalid: " + d.all().getFirst().headline());
        }
        builtin = b = new Targets(map);
        return b;
    }

    /**
     * The built-in targets plus those found next to {@code tmFile} (may be null) and in {@code extraFiles}.
     */
    public static Loaded load(Path tmFile, List<Path> extraFiles) {
        Diagnostics d = new Diagnostics();
        Map<String, String> texts = new LinkedHashMap<>();
        Map<String, Target> map = new LinkedHashMap<>();
        for (Target t : builtin().all()) map.put(t.name(), t);
        Map<String, String> fromFile = new LinkedHashMap<>(); // target name -> file that defined it
        List<Path> files = new ArrayList<>();
        if (tmFile != null) files.addAll(discover(tmFile));
        files.addAll(extraFiles);
        for (Path f : files) {
            String shown = f.toString();
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                d.error(Span.none(shown), "cannot read target file " + shown + ": "
                        + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()),
                        "check the path given to --targets");
                continue;
            }
            texts.put(shown, text);
            for (Target t : parse(shown, text, d, false)) {
                String earlier = fromFile.put(t.name(), shown);
                if (earlier != null) {
                    d.error(keySpan(shown, text, "name", t.name()), "target '" + t.name() + "' is defined twice (also in "
                            + earlier + ")", "rename one of them");
                    continue;
                }
                map.put(t.name(), t);
            }
        }
        return new Loaded(new Targets(map), d, texts);
    }

    /** Target files beside a .tm file, in a fixed order: *.targets.json, then targets/*.json. */
    static List<Path> discover(Path tmFile) {
        Path dir = tmFile.getParent() == null ? Path.of("") : tmFile.getParent();
        List<Path> out = new ArrayList<>();
        out.addAll(list(dir, "*.targets.json"));
        Path sub = dir.resolve("targets");
        if (Files.isDirectory(sub)) out.addAll(list(sub, "*.json"));
        return out;
    }

    private static List<Path> list(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        Path real = dir.toString().isEmpty() ? Path.of(".") : dir;
        if (!Files.isDirectory(real)) return out;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(real, glob)) {
            for (Path p : s) if (Files.isRegularFile(p)) out.add(dir.resolve(p.getFileName()));
        } catch (IOException e) {
            return out; // an unreadable directory holds no targets we could use
        }
        out.sort(null);
        return out;
    }

    // ---- parsing --------------------------------------------------------------------------------------

    private enum Kind { INT, LONG, DOUBLE }

    /** A numeric field: its JSON key, type, whether it must be given, and the scale to SI units. */
    private record Field(String key, Kind kind, double scale, String meaning) {}

    private static final List<Field> FIELDS = List.of(
            new Field("smCount", Kind.INT, 1, "streaming multiprocessors"),
            new Field("clockGHz", Kind.DOUBLE, 1e9, "SM clock, GHz"),
            new Field("warpSize", Kind.INT, 1, "threads per warp"),
            new Field("maxThreadsPerBlock", Kind.INT, 1, "threads per block"),
            new Field("maxThreadsPerSm", Kind.INT, 1, "resident threads per SM"),
            new Field("maxBlocksPerSm", Kind.INT, 1, "resident blocks per SM"),
            new Field("sharedPerBlockDefault", Kind.LONG, 1, "shared memory per block without opt-in, bytes"),
            new Field("sharedPerBlockOptIn", Kind.LONG, 1, "shared memory per block with opt-in, bytes"),
            new Field("sharedPerSm", Kind.LONG, 1, "shared memory per SM, bytes"),
            new Field("sharedReservedPerBlock", Kind.LONG, 1, "shared memory reserved by the system per block, bytes"),
            new Field("sharedBytesPerClkPerSm", Kind.INT, 1, "shared-memory bytes per clock per SM"),
            new Field("maxRegistersPerThread", Kind.INT, 1, "registers per thread"),
            new Field("registersPerSm", Kind.INT, 1, "32-bit registers per SM"),
            new Field("registersPerBlock", Kind.INT, 1, "32-bit registers per block"),
            new Field("registerAllocationUnit", Kind.INT, 1, "register allocation unit per warp"),
            new Field("l2Bytes", Kind.LONG, 1, "L2 cache, bytes"),
            new Field("dramGBps", Kind.DOUBLE, 1e9, "DRAM bandwidth, GB/s"),
            new Field("l2GBps", Kind.DOUBLE, 1e9, "L2 bandwidth to the SMs, GB/s"),
            new Field("launchOverheadUs", Kind.DOUBLE, 1e-6, "launch overhead per kernel, microseconds"),
            new Field("warpsToHideLatency", Kind.INT, 1, "resident warps per SM needed to reach the roof"));

    private static final Set<String> PEAK_KEYS = Set.of("cuda_core_f32", "tensor_core_f16", "tensor_core_bf16",
            "wgmma_f16", "wgmma_bf16");

    private static List<Target> parse(String file, String text, Diagnostics d, boolean builtin) {
        JsonElement root;
        try {
            root = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            d.error(syntaxSpan(file, e), "target file " + file + " is not valid JSON: " + cleanGsonMessage(e),
                    "fix the JSON syntax");
            return List.of();
        }
        List<JsonElement> objects = new ArrayList<>();
        if (root.isJsonArray()) {
            root.getAsJsonArray().forEach(objects::add);
        } else if (root.isJsonObject() && root.getAsJsonObject().has("targets")
                && root.getAsJsonObject().get("targets").isJsonArray()) {
            root.getAsJsonObject().getAsJsonArray("targets").forEach(objects::add);
        } else if (root.isJsonObject()) {
            objects.add(root);
        } else {
            d.error(new Span(file, 1, 1, 1), "target file " + file + " must hold a JSON object (one target), an array "
                    + "of them, or {\"targets\": [...]}", null);
            return List.of();
        }
        List<Target> out = new ArrayList<>();
        for (JsonElement e : objects) {
            if (!e.isJsonObject()) {
                d.error(new Span(file, 1, 1, 1), "every target in " + file + " must be a JSON object", null);
                continue;
            }
            Target t = target(file, text, e.getAsJsonObject(), d, builtin);
            if (t != null) out.add(t);
        }
        return out;
    }

    private static Target target(String file, String text, JsonObject o, Diagnostics d, boolean builtin) {
        int errors = d.errorCount();
        String name = string(o, "name");
        if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            d.error(keySpan(file, text, "name", null), "a target needs a \"name\" that a plan can write after 'on' "
                    + "(letters, digits, _), e.g. \"sm_90\" or \"rtx4090\"", null);
            return null;
        }
        String arch = string(o, "arch");
        if (arch == null) arch = Target.ARCH.matcher(name).matches() ? name : null;
        if (arch == null || !Target.ARCH.matcher(arch).matches()) {
            d.error(keySpan(file, text, "arch", name), "target '" + name + "' needs \"arch\": the compute "
                    + "capability to compile for, such as \"sm_89\"", null);
            return null;
        }
        String device = string(o, "device");
        Map<String, String> sources = new LinkedHashMap<>();
        Map<String, Number> values = new LinkedHashMap<>();
        for (Field f : FIELDS) {
            Number v = number(file, text, name, o, f.key(), d, sources, builtin);
            if (v == null) continue;
            if (v.doubleValue() <= 0 && !f.key().equals("launchOverheadUs")
                    || v.doubleValue() < 0) {
                d.error(keySpan(file, text, f.key(), name), "target '" + name + "': " + f.key() + " must be positive ("
                        + f.meaning() + "), not " + v, null);
                continue;
            }
            values.put(f.key(), v);
        }
        Map<String, Double> peaks = new LinkedHashMap<>();
        JsonElement pe = o.get("peakTflops");
        if (pe == null || !pe.isJsonObject()) {
            d.error(keySpan(file, text, "peakTflops", name), "target '" + name + "' needs \"peakTflops\": an object "
                    + "with TFLOP/s per math kind, at least \"cuda_core_f32\"", "keys: " + String.join(", ",
                    PEAK_KEYS.stream().sorted().toList()));
        } else {
            for (Map.Entry<String, JsonElement> e : pe.getAsJsonObject().entrySet()) {
                if (!PEAK_KEYS.contains(e.getKey())) {
                    d.error(keySpan(file, text, e.getKey(), name), "target '" + name + "': unknown peak '" + e.getKey()
                            + "'", "keys: " + String.join(", ", PEAK_KEYS.stream().sorted().toList()));
                    continue;
                }
                Number v = number(file, text, name, pe.getAsJsonObject(), e.getKey(), d, sources, builtin);
                if (v == null) continue;
                if (v.doubleValue() <= 0) {
                    d.error(keySpan(file, text, e.getKey(), name), "target '" + name + "': peak " + e.getKey()
                            + " must be positive", null);
                    continue;
                }
                peaks.put(e.getKey(), v.doubleValue() * 1e12);
            }
            if (!pe.getAsJsonObject().has("cuda_core_f32")) {
                d.error(keySpan(file, text, "peakTflops", name), "target '" + name
                        + "' needs a \"cuda_core_f32\" peak: every kernel does some CUDA-core arithmetic", null);
            }
        }
        List<String> mma = new ArrayList<>();
        JsonElement me = o.get("mmaShapes");
        if (me != null) {
            JsonElement list = me.isJsonObject() ? me.getAsJsonObject().get("value") : me;
            if (me.isJsonObject() && me.getAsJsonObject().has("source")) {
                sources.put("mmaShapes", me.getAsJsonObject().get("source").getAsString());
            }
            if (list != null && list.isJsonArray()) {
                for (JsonElement s : list.getAsJsonArray()) mma.add(s.getAsString());
            } else {
                d.error(keySpan(file, text, "mmaShapes", name), "target '" + name
                        + "': mmaShapes must be a list of strings such as \"m16n8k16\"", null);
            }
        }
        for (String unknown : o.keySet()) {
            boolean known = unknown.equals("name") || unknown.equals("arch") || unknown.equals("device")
                    || unknown.equals("peakTflops") || unknown.equals("mmaShapes") || unknown.equals("notes")
                    || FIELDS.stream().anyMatch(f -> f.key().equals(unknown));
            if (!known) {
                d.error(keySpan(file, text, unknown, name), "target '" + name + "': unknown field '" + unknown + "'",
                        "fields: name, arch, device, peakTflops, mmaShapes, notes, " + String.join(", ",
                                FIELDS.stream().map(Field::key).toList()));
            }
        }
        if (d.errorCount() > errors) return null;
        long optIn = values.get("sharedPerBlockOptIn").longValue();
        long perSm = values.get("sharedPerSm").longValue();
        long reserved = values.get("sharedReservedPerBlock").longValue();
        if (optIn + reserved > perSm) {
            d.error(keySpan(file, text, "sharedPerBlockOptIn", name), "target '" + name + "': sharedPerBlockOptIn ("
                    + optIn + ") plus sharedReservedPerBlock (" + reserved + ") exceeds sharedPerSm (" + perSm + ")",
                    null);
            return null;
        }
        if (values.get("sharedPerBlockDefault").longValue() > optIn) {
            d.error(keySpan(file, text, "sharedPerBlockDefault", name), "target '" + name
                    + "': sharedPerBlockDefault exceeds sharedPerBlockOptIn", null);
            return null;
        }
        return new Target(name, arch, device == null ? name : device, values.get("smCount").intValue(),
                values.get("clockGHz").doubleValue() * 1e9, values.get("warpSize").intValue(), values.get("maxThreadsPerBlock").intValue(),
                values.get("maxThreadsPerSm").intValue(), values.get("maxBlocksPerSm").intValue(),
                values.get("sharedPerBlockDefault").longValue(), optIn, perSm, reserved,
                values.get("sharedBytesPerClkPerSm").intValue(),
                values.get("maxRegistersPerThread").intValue(), values.get("registersPerSm").intValue(),
                values.get("registersPerBlock").intValue(), values.get("registerAllocationUnit").intValue(),
                values.get("l2Bytes").longValue(), mma, values.get("dramGBps").doubleValue() * 1e9,
                values.get("l2GBps").doubleValue() * 1e9, peaks,
                values.get("launchOverheadUs").doubleValue() * 1e-6, values.get("warpsToHideLatency").intValue(),
                sources, file);
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    /** A bare or cited number; records its source. Reports a missing or malformed value. */
    private static Number number(String file, String text, String target, JsonObject o, String key, Diagnostics d,
                                 Map<String, String> sources, boolean builtin) {
        JsonElement e = o.get(key);
        if (e == null) {
            d.error(keySpan(file, text, "name", target), "target '" + target + "' has no \"" + key + "\"",
                    "add \"" + key + "\": {\"value\": ..., \"source\": \"where the number comes from\"}");
            return null;
        }
        JsonElement v = e;
        if (e.isJsonObject()) {
            v = e.getAsJsonObject().get("value");
            JsonElement s = e.getAsJsonObject().get("source");
            if (s != null && s.isJsonPrimitive()) sources.put(key, s.getAsString());
        }
        if (builtin && !sources.containsKey(key)) {
            d.error(keySpan(file, text, key, target), "built-in target '" + target + "': \"" + key
                    + "\" has no source", null);
        }
        if (v == null || !v.isJsonPrimitive() || !((JsonPrimitive) v).isNumber()) {
            d.error(keySpan(file, text, key, target), "target '" + target + "': \"" + key + "\" must be a number or "
                    + "{\"value\": number, \"source\": \"...\"}", null);
            return null;
        }
        return v.getAsNumber();
    }

    /** The position of {@code "key"} in the file, searched after the target's name when known. */
    static Span keySpan(String file, String text, String key, String targetName) {
        int from = 0;
        if (targetName != null) {
            int at = text.indexOf("\"" + targetName + "\"");
            if (at >= 0) from = text.lastIndexOf('{', at) < 0 ? at : text.lastIndexOf('{', at);
        }
        int at = text.indexOf("\"" + key + "\"", from);
        if (at < 0) at = text.indexOf("\"" + key + "\"");
        if (at < 0) return new Span(file, 1, 1, 1);
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < at; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new Span(file, line, at - lineStart + 1, key.length() + 2);
    }

    private static final Pattern LINE_COL = Pattern.compile("line (\\d+) column (\\d+)");

    private static Span syntaxSpan(String file, JsonParseException e) {
        Matcher m = LINE_COL.matcher(String.valueOf(e.getMessage()));
        if (m.find()) return new Span(file, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), 1);
        return new Span(file, 1, 1, 1);
    }

    private static String cleanGsonMessage(JsonParseException e) {
        String m = String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        m = m.replaceFirst("^[\\w.]+Exception: ", "");
        int see = m.indexOf("\nSee ");
        if (see >= 0) m = m.substring(0, see);
        return m.replaceAll(" at line \\d+ column \\d+ path .*", "").trim();
    }
}
