package tmc.analysis;

import com.google.gson.GsonBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tmc.analysis.Analyzer.ExecutionReport;
import tmc.analysis.Analyzer.Kernel;
import tmc.analysis.Analyzer.Report;
import tmc.analysis.Analyzer.Timed;
import tmc.analysis.Analyzer.Totals;
import tmc.check.Network;

/** An analysis as text: the terminal table, CSV (one row per kernel, block and model) and JSON. */
public final class Reports {
    private Reports() {}

    /** The terminal report: per execution, every kernel under its block, block subtotals, the model's totals. */
    public static String table(Report r, boolean kernels) {
        StringBuilder b = new StringBuilder();
        Network n = r.network();
        b.append(n.name()).append(": ").append(n.layers().size()).append(" layers, ").append(n.units().size())
                .append(" blocks, input ").append(n.batch()).append("x").append(n.height()).append("x").append(n.width())
                .append("x").append(n.channels()).append(" ").append(n.dtype());
        if (n.accuracy() != null) b.append(String.format(Locale.ROOT, ", top-1 %.1f %%", n.accuracy().percent()));
        b.append('\n');
        b.append(String.format(Locale.ROOT, "target %s (%s): peak %.0f TFLOP/s (%s), DRAM %.0f GB/s, launch %.1f us%n",
                r.target().name(), r.target().device(), r.peakFlops() / 1e12, r.peakKey(),
                r.target().dramBytesPerSecond() / 1e9, r.target().launchOverheadSeconds() * 1e6));
        if (r.measuredSource() != null) b.append("measured: ").append(r.measuredSource()).append('\n');
        for (ExecutionReport e : r.executions()) {
            b.append('\n').append(e.execution().keyword).append(" execution: ").append(e.kernels().size())
                    .append(" kernels\n");
            String header = String.format(Locale.ROOT, "  %-4s %-58s %9s %9s %8s %9s %9s %9s %7s %9s%n", "#",
                    kernels ? "kernel" : "block", "GFLOP", "MB", "flop/B", "ideal ms", "pred ms", "meas ms", "eff",
                    "gap ms");
            b.append(header);
            for (int u = 0; u < n.units().size(); u++) {
                final int unit = u;
                List<Kernel> ks = e.kernels().stream().filter(k -> k.unit() == unit).toList();
                Totals t = e.units().get(u);
                if (kernels && (ks.size() > 1 || !t.label().equals(ks.getFirst().name()))) {
                    b.append("  ").append(t.label()).append('\n');
                }
                if (kernels) {
                    for (Kernel k : ks) b.append(row("#" + k.index(), (ks.size() > 1 ? "  " : "") + k.name(), k.flops(),
                            k.dramBytes(), k));
                }
                if (!kernels || ks.size() > 1) {
                    b.append(row(kernels ? "" : "" + u, kernels ? "  = block" : t.label(), t.flops(), t.dramBytes(), t));
                }
            }
            Totals m = e.model();
            b.append(row("", "= " + m.label(), m.flops(), m.dramBytes(), m));
        }
        Totals s = r.separate().model(), f = r.fused().model();
        b.append('\n').append(String.format(Locale.ROOT,
                "model: ideal %.3f ms; separate %.3f ms predicted%s; fused %.3f ms predicted (%.2fx less DRAM traffic, "
                        + "%.2fx faster predicted)%n",
                s.idealSeconds() * 1e3, s.predictedSeconds() * 1e3,
                s.measured() ? String.format(Locale.ROOT, ", %.3f ms measured (efficiency %.1f %%)",
                        s.measuredSeconds() * 1e3, 100 * s.efficiency()) : "",
                f.predictedSeconds() * 1e3, (double) s.dramBytes() / f.dramBytes(),
                s.predictedSeconds() / f.predictedSeconds()));
        if (!Double.isNaN(r.measuredWholeSeconds())) {
            b.append(String.format(Locale.ROOT, "measured whole forward pass (no per-layer events): %.3f ms, "
                    + "efficiency %.1f %%%n", r.measuredWholeSeconds() * 1e3,
                    100 * s.idealSeconds() / r.measuredWholeSeconds()));
        }
        return b.toString();
    }

    private static String row(String index, String name, long flops, long bytes, Timed t) {
        String shown = name.length() > 58 ? name.substring(0, 55) + "..." : name;
        return String.format(Locale.ROOT, "  %-4s %-58s %9.3f %9.2f %8.1f %9.4f %9.4f %9s %6.1f%% %9.4f%n", index, shown,
                flops / 1e9, bytes / 1e6, bytes == 0 ? 0.0 : (double) flops / bytes, t.idealSeconds() * 1e3,
                t.predictedSeconds() * 1e3, t.measured() ? String.format(Locale.ROOT, "%.4f", t.measuredSeconds() * 1e3) : "-",
                100 * t.efficiency(), t.gapSeconds() * 1e3);
    }

    /** CSV: one row per kernel, per block and per model, for both executions. Times in ms, bytes and flops exact. */
    public static String csv(Report r) {
        StringBuilder b = new StringBuilder("network,execution,row,index,block,name,layers,flops,dram_bytes,intensity,"
                + "ideal_ms,predicted_ms,measured_ms,efficiency,gap_ms,bound\n");
        String net = r.network().name();
        for (ExecutionReport e : r.executions()) {
            for (Kernel k : e.kernels()) {
                b.append(String.join(",", net, e.execution().keyword, "kernel", "" + k.index(), "" + k.unit(),
                        quote(k.name()), k.firstLayer() + "-" + k.lastLayer(), "" + k.flops(), "" + k.dramBytes(),
                        num(k.intensity()), num(k.idealSeconds() * 1e3), num(k.predictedSeconds() * 1e3),
                        k.measured() ? num(k.measuredSeconds() * 1e3) : "", num(k.efficiency()),
                        num(k.gapSeconds() * 1e3), k.bound())).append('\n');
            }
            for (int u = 0; u < e.units().size(); u++) b.append(totalsRow(net, e, "block", "" + u, e.units().get(u)));
            b.append(totalsRow(net, e, "model", "", e.model()));
        }
        return b.toString();
    }

    private static String totalsRow(String net, ExecutionReport e, String kind, String index, Totals t) {
        return String.join(",", net, e.execution().keyword, kind, index, index, quote(t.label()), "", "" + t.flops(),
                "" + t.dramBytes(), num(t.dramBytes() == 0 ? 0 : (double) t.flops() / t.dramBytes()),
                num(t.idealSeconds() * 1e3), num(t.predictedSeconds() * 1e3),
                t.measured() ? num(t.measuredSeconds() * 1e3) : "", num(t.efficiency()), num(t.gapSeconds() * 1e3), "")
                + "\n";
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    /** JSON: the network, the target, and for each execution its kernels, blocks and model totals. */
    public static String json(Report r) {
        Map<String, Object> root = new LinkedHashMap<>();
        Network n = r.network();
        root.put("network", n.name());
        root.put("input", ordered("N", n.batch(), "H", n.height(), "W", n.width(), "C", n.channels(), "dtype",
                n.dtype().keyword));
        if (n.accuracy() != null) root.put("accuracy", ordered("top1_percent", n.accuracy().percent(), "source",
                n.accuracy().source()));
        root.put("target", ordered("name", r.target().name(), "device", r.target().device(), "peak_flops", r.peakFlops(),
                "peak", r.peakKey(), "dram_bytes_per_second", r.target().dramBytesPerSecond(),
                "launch_overhead_seconds", r.target().launchOverheadSeconds()));
        if (r.measuredSource() != null) root.put("measured", r.measuredSource());
        if (!Double.isNaN(r.measuredWholeSeconds())) root.put("measured_whole_forward_ms", r.measuredWholeSeconds() * 1e3);
        for (ExecutionReport e : r.executions()) {
            Map<String, Object> ex = new LinkedHashMap<>();
            List<Object> ks = new ArrayList<>();
            for (Kernel k : e.kernels()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("index", k.index());
                m.put("block", k.unit());
                m.put("name", k.name());
                m.put("first_layer", k.firstLayer());
                m.put("last_layer", k.lastLayer());
                putTimes(m, k.flops(), k.dramBytes(), k);
                m.put("bound", k.bound());
                ks.add(m);
            }
            ex.put("kernels", ks);
            List<Object> us = new ArrayList<>();
            for (Totals t : e.units()) us.add(totals(t));
            ex.put("blocks", us);
            ex.put("model", totals(e.model()));
            root.put(e.execution().keyword, ex);
        }
        return new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(root) + "\n";
    }

    /** A JSON object with its keys in the order given (Map.of's order changes from one JVM run to the next). */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }

    private static Map<String, Object> totals(Totals t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("label", t.label());
        m.put("kernels", t.kernels());
        putTimes(m, t.flops(), t.dramBytes(), t);
        return m;
    }

    private static void putTimes(Map<String, Object> m, long flops, long bytes, Timed t) {
        m.put("flops", flops);
        m.put("dram_bytes", bytes);
        m.put("intensity", bytes == 0 ? null : (double) flops / bytes);
        m.put("ideal_ms", t.idealSeconds() * 1e3);
        m.put("predicted_ms", t.predictedSeconds() * 1e3);
        if (t.measured()) m.put("measured_ms", t.measuredSeconds() * 1e3);
        m.put("efficiency", t.efficiency());
        m.put("gap_ms", t.gapSeconds() * 1e3);
    }
}
