package tmc.analysis;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tmc.analysis.Analyzer.ExecutionReport;
import tmc.analysis.Analyzer.Kernel;
import tmc.analysis.Analyzer.Report;
import tmc.analysis.Analyzer.Totals;

/** The analysis as pictures (PNG, drawn by XChart): roofline, waterline and efficiency gap. */
public final class Plots {
    private Plots() {}

    private static final int WIDTH = 1000, HEIGHT = 650;
    private static final Color SEPARATE = new Color(0xD6, 0x27, 0x28), FUSED = new Color(0x1F, 0x77, 0xB4),
            MEASURED = new Color(0x2C, 0xA0, 0x2C), IDEAL = new Color(0x55, 0x55, 0x55);

    static {
        System.setProperty("java.awt.headless", "true"); // plots are files; no display is needed or wanted
    }

    /**
     * Roofline: every kernel as a point at its operational intensity (flop per DRAM byte) and its achieved
     * throughput (flops over its measured time, else its predicted time), under the roofs of the target.
     */
    public static void roofline(Report r, Path png) throws IOException {
        XYChart c = chart(r.network().name() + ": roofline on " + r.target().name() + " (" + r.target().device() + ")",
                "operational intensity (flop / DRAM byte, log)", "achieved throughput (TFLOP/s, log)");
        c.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true).setLegendPosition(Styler.LegendPosition.InsideSE);
        double lo = Double.MAX_VALUE, hi = 0, bottom = Double.MAX_VALUE;
        List<Kernel> all = new ArrayList<>(r.separate().kernels());
        all.addAll(r.fused().kernels());
        for (Kernel k : all) {
            if (k.flops() == 0 || k.dramBytes() == 0) continue;
            lo = Math.min(lo, k.intensity());
            hi = Math.max(hi, k.intensity());
            bottom = Math.min(bottom, k.flopsPerSecond() / 1e12);
        }
        lo = Math.max(lo / 2, 1e-3);
        hi = Math.max(hi * 2, 2 * r.peakFlops() / r.target().dramBytesPerSecond());
        roof(c, "roof: DRAM " + Math.round(r.target().dramBytesPerSecond() / 1e9) + " GB/s, "
                + r.peakKey() + " " + Math.round(r.peakFlops() / 1e12) + " TFLOP/s", r.peakFlops(), r, lo, hi, IDEAL);
        roof(c, "roof: CUDA cores " + Math.round(r.target().cudaCorePeak() / 1e12) + " TFLOP/s", r.target().cudaCorePeak(),
                r, lo, hi, Color.GRAY);
        boolean measured = r.separate().kernels().stream().anyMatch(Kernel::measured);
        points(c, measured ? "separate kernels, measured" : "separate kernels, predicted", r.separate(), true,
                measured ? MEASURED : SEPARATE, SeriesMarkers.CIRCLE);
        if (measured) points(c, "separate kernels, predicted", r.separate(), false, SEPARATE, SeriesMarkers.DIAMOND);
        points(c, "fused kernels, predicted", r.fused(), false, FUSED, SeriesMarkers.SQUARE);
        c.getStyler().setYAxisMin(Math.max(bottom / 3, 1e-4)).setYAxisMax(r.peakFlops() / 1e12 * 2);
        save(c, png);
    }

    private static void roof(XYChart c, String name, double peak, Report r, double lo, double hi, Color color) {
        double knee = peak / r.target().dramBytesPerSecond();
        double[] x = knee > lo && knee < hi ? new double[] {lo, knee, hi} : new double[] {lo, hi};
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.min(peak, r.target().dramBytesPerSecond() * x[i]) / 1e12;
        XYSeries s = c.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line).setMarker(SeriesMarkers.NONE).setLineColor(color);
    }

    private static void points(XYChart c, String name, ExecutionReport e, boolean actual, Color color, Marker marker) {
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (Kernel k : e.kernels()) {
            if (k.flops() == 0 || k.dramBytes() == 0) continue;
            x.add(k.intensity());
            y.add(k.flops() / (actual ? k.actualSeconds() : k.predictedSeconds()) / 1e12);
        }
        if (x.isEmpty()) return;
        XYSeries s = c.addSeries(name + " (" + x.size() + ")", x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter).setMarker(marker).setMarkerColor(color);
    }

    /**
     * Waterline: time accumulated kernel by kernel against flops accumulated, for the ideal execution (every
     * flop at peak), each execution's prediction and the measurement. The vertical distance at the right end is
     * the efficiency gap of the whole model; where a line climbs steeply, kernels spend time on little work.
     */
    public static void waterline(Report r, Path png) throws IOException {
        XYChart c = chart(r.network().name() + ": waterline on " + r.target().name() + " (batch " + r.network().batch() + ")",
                "cumulative work (GFLOP)", "cumulative time (ms)");
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        Totals s = r.separate().model();
        XYSeries ideal = c.addSeries(String.format(Locale.ROOT, "ideal: flops at peak (%.2f ms)", s.idealSeconds() * 1e3),
                new double[] {0, s.flops() / 1e9}, new double[] {0, s.idealSeconds() * 1e3});
        ideal.setMarker(SeriesMarkers.NONE).setLineColor(IDEAL).setLineStyle(dashed());
        cumulative(c, "separate, predicted", r.separate(), false, SEPARATE);
        cumulative(c, "fused, predicted", r.fused(), false, FUSED);
        if (r.separate().kernels().stream().allMatch(Kernel::measured)) {
            cumulative(c, "separate, measured (PyTorch eager)", r.separate(), true, MEASURED);
        }
        save(c, png);
    }

    private static void cumulative(XYChart c, String name, ExecutionReport e, boolean measured, Color color) {
        double[] x = new double[e.kernels().size() + 1], y = new double[x.length];
        for (int i = 0; i < e.kernels().size(); i++) {
            Kernel k = e.kernels().get(i);
            x[i + 1] = x[i] + k.flops() / 1e9;
            y[i + 1] = y[i] + (measured ? k.measuredSeconds() : k.predictedSeconds()) * 1e3;
        }
        XYSeries s = c.addSeries(String.format(Locale.ROOT, "%s (%.2f ms, %d kernels)", name, y[y.length - 1],
                e.kernels().size()), x, y);
        s.setMarker(SeriesMarkers.NONE).setLineColor(color).setLineWidth(2f);
    }

    /** One network's point set on the efficiency-gap plot. */
    public record GapPoint(String network, double accuracy, double idealMs, double fusedMs, double separateMs,
                           boolean separateMeasured) {}

    /**
     * Efficiency gap: accuracy against latency; each model's ideal latency and its actual latencies (fused,
     * separate) lie on one horizontal line, whose length is the gap. Models without a published accuracy are left
     * out by the caller.
     */
    public static void efficiencyGap(List<GapPoint> points, String target, int batch, Path png) throws IOException {
        XYChart c = chart("Efficiency gap on " + target + " (batch " + batch + ")", "latency per batch (ms, log)",
                "ImageNet top-1 accuracy (%)");
        c.getStyler().setXAxisLogarithmic(true).setLegendPosition(Styler.LegendPosition.OutsideS)
                .setLegendLayout(Styler.LegendLayout.Horizontal);
        double lo = Double.MAX_VALUE, hi = 0, ymin = 100, ymax = 0;
        for (GapPoint p : points) {
            XYSeries s = c.addSeries(p.network(), new double[] {p.idealMs(), p.fusedMs(), p.separateMs()},
                    new double[] {p.accuracy(), p.accuracy(), p.accuracy()});
            s.setMarker(SeriesMarkers.NONE).setLineWidth(2f);
            lo = Math.min(lo, p.idealMs());
            hi = Math.max(hi, Math.max(p.separateMs(), p.fusedMs()));
            ymin = Math.min(ymin, p.accuracy());
            ymax = Math.max(ymax, p.accuracy());
        }
        marks(c, "ideal (flops at peak)", points, GapPoint::idealMs, IDEAL, SeriesMarkers.CIRCLE);
        marks(c, "fused (predicted)", points, GapPoint::fusedMs, FUSED, SeriesMarkers.SQUARE);
        boolean anyMeasured = points.stream().anyMatch(GapPoint::separateMeasured);
        marks(c, anyMeasured ? "separate (PyTorch measured where given, else predicted)" : "separate (predicted)",
                points, GapPoint::separateMs, anyMeasured ? MEASURED : SEPARATE, SeriesMarkers.DIAMOND);
        c.getStyler().setXAxisMin(lo / 2).setXAxisMax(hi * 2).setYAxisMin(Math.floor(ymin - 2))
                .setYAxisMax(Math.ceil(ymax + 2));
        save(c, png);
    }

    private static void marks(XYChart c, String name, List<GapPoint> points,
                              java.util.function.ToDoubleFunction<GapPoint> x, Color color, Marker marker) {
        if (points.isEmpty()) return;
        XYSeries s = c.addSeries(name, points.stream().mapToDouble(x).toArray(),
                points.stream().mapToDouble(GapPoint::accuracy).toArray());
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter).setMarker(marker).setMarkerColor(color);
    }

    private static XYChart chart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setPlotGridLinesVisible(true);
        c.getStyler().setChartBackgroundColor(Color.WHITE).setAntiAlias(true)
                .setLegendBackgroundColor(new Color(255, 255, 255, 220));
        return c;
    }

    private static BasicStroke dashed() {
        return new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
    }

    private static void save(XYChart c, Path png) throws IOException {
        BitmapEncoder.saveBitmap(c, png.toString().replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
    }
}
