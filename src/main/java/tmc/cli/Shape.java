package tmc.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;

/** The launch shape N, H, W, given as {@code N=2,H=9,W=9}. */
public record Shape(int n, int h, int w) {
    public static final Shape DEFAULT = new Shape(1, 56, 56);

    @Override
    public String toString() {
        return "N=" + n + ",H=" + h + ",W=" + w;
    }

    /** The same shape as the planner takes it. */
    public tmc.plan.LaunchShape launch() {
        return new tmc.plan.LaunchShape(n, h, w);
    }

    public long pixels() {
        return (long) n * h * w;
    }

    /**
     * picocli converter: each of N, H and W exactly once, positive. A partial shape is refused rather than
     * completed: the commands differ in their defaults (run N=1, plan and compile N=128), so a silently filled
     * dimension would be a surprise either way.
     */
    public static final class Converter implements CommandLine.ITypeConverter<Shape> {
        @Override
        public Shape convert(String value) {
            Map<String, Integer> dims = new LinkedHashMap<>();
            for (String part : value.split(",")) {
                String[] kv = part.trim().split("=", 2);
                if (kv.length != 2 || !(kv[0].trim().equals("N") || kv[0].trim().equals("H") || kv[0].trim().equals("W"))) {
                    throw new CommandLine.TypeConversionException(
                            "'" + part.trim() + "' is not of the form N=<n>, H=<h> or W=<w> (example: --shape N=2,H=9,W=9)");
                }
                int v;
                try {
                    v = Integer.parseInt(kv[1].trim());
                } catch (NumberFormatException e) {
                    throw new CommandLine.TypeConversionException("'" + kv[1].trim() + "' is not an integer in --shape");
                }
                if (v <= 0) throw new CommandLine.TypeConversionException(kv[0].trim() + " must be positive in --shape");
                if (dims.put(kv[0].trim(), v) != null) {
                    throw new CommandLine.TypeConversionException(kv[0].trim() + " is given twice in --shape");
                }
            }
            java.util.List<String> missing = java.util.stream.Stream.of("N", "H", "W").filter(d -> !dims.containsKey(d)).toList();
            if (!missing.isEmpty()) {
                throw new CommandLine.TypeConversionException("--shape needs N, H and W; " + String.join(" and ", missing)
                        + (missing.size() == 1 ? " is" : " are") + " missing (example: --shape N=2,H=9,W=9)");
            }
            return new Shape(dims.get("N"), dims.get("H"), dims.get("W"));
        }
    }
}
