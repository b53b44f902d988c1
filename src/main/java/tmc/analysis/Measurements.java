package tmc.analysis;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tmc.check.NetLayer;
import tmc.check.Network;

/**
 * Measured layer times, as scripts/gpu/measure_networks.py writes them (schema in scripts/gpu/README.md), matched
 * layer by layer to a checked network. Errors are values: a file that cannot be read, or layers that do not match
 * the network, come back as {@link Problem}s for the CLI to print.
 */
public final class Measurements {
    /** One measured layer: what the script saw (kind and shape) and its median time. */
    public record Layer(String module, String kind, int cin, int cout, int k, int stride, int groups, int hOut,
                        int wOut, double ms) {
        String describe() {
            return kind + " " + cin + "->" + cout + (k > 1 ? " k" + k : "") + (stride > 1 ? " s" + stride : "")
                    + (groups > 1 ? " g" + groups : "") + " at " + hOut + "x" + wOut;
        }
    }

    public record NetworkData(String name, double totalMs, List<Layer> layers) {
        public NetworkData {
            layers = List.copyOf(layers);
        }
    }

    /** A whole measurement file. */
    public record Data(Path file, String gpu, String date, String torch, String dtype, int batch, String command,
                       List<NetworkData> networks) {
        public Data {
            networks = List.copyOf(networks);
        }

        public String describe() {
            return file + " (" + gpu + ", " + date + ", PyTorch " + torch + ", " + dtype + ", batch " + batch + ")";
        }
    }

    /** The measured times of one network's layers, in its layer order. */
    public record ForNetwork(String source, double wholeSeconds, double[] layerSeconds) {
        public double seconds(int layer) {
            return layerSeconds[layer];
        }
    }

    /** What is wrong with a file or a match, and how to fix it. */
    public record Problem(String message, String hint) {}

    public sealed interface Loaded {
        record Ok(Data data) implements Loaded {}

        record Failed(Problem problem) implements Loaded {}
    }

    public sealed interface Matched {
        /** The file has times for this network. */
        record Ok(ForNetwork times) implements Matched {}

        /** The file has nothing for this network: analyze it without measurements. */
        record Absent() implements Matched {}

        record Failed(Problem problem) implements Matched {}
    }

    private Measurements() {}

    public static Loaded load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            return failed("cannot read " + file + ": " + (e instanceof java.nio.file.NoSuchFileException
                    ? "no such file" : e.getMessage()), "give the JSON that scripts/gpu/measure_networks.py wrote");
        }
        try {
            return new Loaded.Ok(parse(file, JsonParser.parseString(text).getAsJsonObject()));
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | NullPointerException
                 | NumberFormatException e) {
            return failed(file + " is not a measurement file: " + e.getMessage(),
                    "use the JSON that scripts/gpu/measure_networks.py writes (schema in scripts/gpu/README.md)");
        }
    }

    private static Loaded failed(String message, String hint) {
        return new Loaded.Failed(new Problem(message, hint));
    }

    private static Data parse(Path file, JsonObject o) {
        List<NetworkData> networks = new ArrayList<>();
        JsonArray nets = required(o, "networks").getAsJsonArray();
        for (JsonElement e : nets) {
            JsonObject n = e.getAsJsonObject();
            List<Layer> layers = new ArrayList<>();
            for (JsonElement le : required(n, "layers").getAsJsonArray()) {
                JsonObject l = le.getAsJsonObject();
                layers.add(new Layer(string(l, "module"), required(l, "kind").getAsString(), integer(l, "cin"),
                        integer(l, "cout"), integer(l, "k"), integer(l, "stride"), integer(l, "groups"),
                        integer(l, "h_out"), integer(l, "w_out"), required(l, "ms").getAsDouble()));
            }
            networks.add(new NetworkData(required(n, "name").getAsString(),
                    n.has("total_ms") ? n.get("total_ms").getAsDouble() : Double.NaN, layers));
        }
        return new Data(file, string(o, "gpu"), string(o, "date"), string(o, "torch"), string(o, "dtype"),
                integer(o, "batch"), string(o, "command"), networks);
    }

    private static JsonElement required(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) throw new JsonParseException("field '" + key + "' is missing");
        return e;
    }

    private static int integer(JsonObject o, String key) {
        return required(o, key).getAsInt();
    }

    private static String string(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : "?";
    }

    /** Matches the file's layers of {@code network} one by one to the network's layers (kind and shape). */
    public static Matched match(Data data, Network network) {
        NetworkData nd = data.networks().stream().filter(d -> d.name().equals(network.name())).findFirst().orElse(null);
        if (nd == null) return new Matched.Absent();
        if (data.batch() != network.batch()) {
            return new Matched.Failed(new Problem(data.file() + " measured " + network.name() + " at batch "
                    + data.batch() + ", but the network's input has N: " + network.batch(),
                    "measure with --batch " + network.batch() + ", or set N: " + data.batch() + " in input(...)"));
        }
        if (!data.dtype().equals(network.dtype().keyword)) {
            return new Matched.Failed(new Problem(data.file() + " measured " + network.name() + " in " + data.dtype()
                    + ", but the network's input is " + network.dtype(), "measure with --dtype " + network.dtype()));
        }
        if (nd.layers().size() != network.layers().size()) {
            return new Matched.Failed(new Problem(data.file() + " has " + nd.layers().size() + " layers of "
                    + network.name() + ", the network " + network.layers().size(),
                    "the network description and the measured model differ; compare them layer by layer"));
        }
        double[] seconds = new double[nd.layers().size()];
        for (int i = 0; i < seconds.length; i++) {
            Layer m = nd.layers().get(i);
            NetLayer l = network.layers().get(i);
            if (!sameLayer(m, l)) {
                return new Matched.Failed(new Problem("measured layer " + i + " of " + network.name() + " (" + m.module()
                        + ": " + m.describe() + ") does not match layer " + i + " of the network (" + l.describe()
                        + " at " + l.hOut() + "x" + l.wOut() + ", " + l.span() + ")",
                        "the network description and the measured model differ here; fix the .tm file or the script"));
            }
            if (!(m.ms() >= 0) || Double.isInfinite(m.ms())) {
                return new Matched.Failed(new Problem("measured layer " + i + " of " + network.name() + " has time "
                        + m.ms() + " ms", "re-run the measurement"));
            }
            seconds[i] = m.ms() / 1e3;
        }
        return new Matched.Ok(new ForNetwork(data.describe(), nd.totalMs() / 1e3, seconds));
    }

    private static boolean sameLayer(Layer m, NetLayer l) {
        if (!m.kind().equals(l.kind().keyword) || m.cin() != l.cin() || m.cout() != l.cout()) return false;
        if (m.hOut() != l.hOut() || m.wOut() != l.wOut()) return false;
        return switch (l.kind()) {
            case CONV -> m.k() == l.k() && m.stride() == l.stride() && m.groups() == l.groups();
            case SE -> m.k() == l.k();
            default -> true;
        };
    }
}
