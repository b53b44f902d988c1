package tmc.analysis;

import java.util.ArrayList;
import java.util.List;
import tmc.check.NetLayer;
import tmc.check.Network;
import tmc.check.PlanSpec.MathKind;
import tmc.target.Target;

/**
 * Waterline analysis of a network: every kernel of its separate (one kernel per layer) and its fused (one kernel
 * per block, split at a global pool) execution with flops, DRAM bytes, the ideal time, the waterline prediction
 * and, when given, the measured time. A pure function of the checked network, the target and the measurements.
 * The definitions are in docs/analysis.md.
 */
public final class Analyzer {
    private Analyzer() {}

    public enum Execution {
        SEPARATE("separate"), FUSED("fused");

        public final String keyword;

        Execution(String keyword) {
            this.keyword = keyword;
        }
    }

    /** Times of a kernel or a sum of kernels, and what follows from them. */
    public interface Timed {
        double idealSeconds();

        double predictedSeconds();

        /** NaN when not measured. */
        double measuredSeconds();

        default boolean measured() {
            return !Double.isNaN(measuredSeconds());
        }

        /** The measured time where there is one, else the prediction. */
        default double actualSeconds() {
            return measured() ? measuredSeconds() : predictedSeconds();
        }

        /** Computational efficiency: achieved flop/s over peak flop/s, i.e. ideal time over actual time. */
        default double efficiency() {
            return idealSeconds() / actualSeconds();
        }

        /** The efficiency gap: actual time minus ideal time. */
        default double gapSeconds() {
            return actualSeconds() - idealSeconds();
        }
    }

    /**
     * One kernel.
     *
     * @param idealSeconds     flops at the target's peak (tensor-core rate for the storage type): no memory time
     * @param memorySeconds    DRAM bytes over the target's DRAM bandwidth
     * @param computeSeconds   matrix flops at the peak of the unit they run on plus vector flops at the CUDA-core rate
     * @param predictedSeconds the waterline: max(memory, compute) + launch overhead
     * @param measuredSeconds  the measured time, or NaN when none was given
     */
    public record Kernel(Execution execution, int index, int unit, String name, int firstLayer, int lastLayer,
                         long flops, long dramBytes, double idealSeconds, double memorySeconds, double computeSeconds,
                         double predictedSeconds, double measuredSeconds) implements Timed {
        /** flops per DRAM byte. */
        public double intensity() {
            return dramBytes == 0 ? Double.POSITIVE_INFINITY : (double) flops / dramBytes;
        }

        /** Achieved flop/s. */
        public double flopsPerSecond() {
            return flops / actualSeconds();
        }

        public String bound() {
            return memorySeconds >= computeSeconds ? "DRAM" : "compute";
        }
    }

    /** Sums over a block (a unit of the network) or the whole model. measuredSeconds is NaN unless every kernel has one. */
    public record Totals(String label, int kernels, long flops, long dramBytes, double idealSeconds,
                         double predictedSeconds, double measuredSeconds) implements Timed {
        static Totals of(String label, List<Kernel> ks) {
            double measured = ks.stream().allMatch(Kernel::measured)
                    ? ks.stream().mapToDouble(Kernel::measuredSeconds).sum() : Double.NaN;
            return new Totals(label, ks.size(), ks.stream().mapToLong(Kernel::flops).sum(),
                    ks.stream().mapToLong(Kernel::dramBytes).sum(), ks.stream().mapToDouble(Kernel::idealSeconds).sum(),
                    ks.stream().mapToDouble(Kernel::predictedSeconds).sum(), measured);
        }
    }

    public record ExecutionReport(Execution execution, List<Kernel> kernels, List<Totals> units, Totals model) {
        public ExecutionReport {
            kernels = List.copyOf(kernels);
            units = List.copyOf(units);
        }
    }

    /**
     * @param peakFlops      the peak the ideal time and the efficiency refer to
     * @param peakKey        which of the target's peaks that is (e.g. tensor_core_f16)
     * @param measuredSource a line on where the measurements come from, or null without measurements
     * @param measuredWholeSeconds the whole forward pass as measured (no per-layer hooks), NaN if not given
     */
    public record Report(Network network, Target target, double peakFlops, String peakKey, ExecutionReport separate,
                         ExecutionReport fused, String measuredSource, double measuredWholeSeconds) {
        public List<ExecutionReport> executions() {
            return List.of(separate, fused);
        }
    }

    /** Analyzes a network without measurements. */
    public static Report analyze(Network n, Target t) {
        return analyze(n, t, null);
    }

    /** Analyzes a network; {@code measured} (matched to the network already) gives the separate layers' times. */
    public static Report analyze(Network n, Target t, Measurements.ForNetwork measured) {
        double tensorPeak = t.peak(MathKind.TENSOR_CORE, n.dtype()).orElse(t.cudaCorePeak());
        Target.Peak ideal = t.fastestPeak(n.dtype());
        Costing costing = new Costing(n, t, tensorPeak, ideal.flopsPerSecond());
        List<Kernel> separate = new ArrayList<>();
        List<Kernel> fused = new ArrayList<>();
        for (Network.Unit u : n.units()) {
            List<NetLayer> ls = u.layersOf(n);
            for (NetLayer l : ls) {
                double m = measured == null ? Double.NaN : measured.seconds(l.index());
                separate.add(costing.kernel(Execution.SEPARATE, separate.size(), u, l.index(), l.index(), m));
            }
            if (!u.fusable()) {
                for (NetLayer l : ls) {
                    double m = measured == null ? Double.NaN : measured.seconds(l.index());
                    fused.add(costing.kernel(Execution.FUSED, fused.size(), u, l.index(), l.index(), m));
                }
                continue;
            }
            // One kernel per block, ended before each squeeze-and-excitation: its global average needs the
            // whole image before the scale can be applied.
            int start = u.first();
            for (int i = u.first() + 1; i < u.first() + u.count(); i++) {
                if (n.layers().get(i).kind() == NetLayer.Kind.SE) {
                    fused.add(costing.kernel(Execution.FUSED, fused.size(), u, start, i - 1, Double.NaN));
                    start = i;
                }
            }
            fused.add(costing.kernel(Execution.FUSED, fused.size(), u, start, u.first() + u.count() - 1, Double.NaN));
        }
        return new Report(n, t, ideal.flopsPerSecond(), ideal.key(), execution(Execution.SEPARATE, n, separate),
                execution(Execution.FUSED, n, fused), measured == null ? null : measured.source(),
                measured == null ? Double.NaN : measured.wholeSeconds());
    }

    private static ExecutionReport execution(Execution e, Network n, List<Kernel> kernels) {
        List<Totals> units = new ArrayList<>();
        for (Network.Unit u : n.units()) {
            units.add(Totals.of(u.label(), kernels.stream().filter(k -> k.unit() == u.index()).toList()));
        }
        return new ExecutionReport(e, kernels, units, Totals.of(n.name() + " (" + e.keyword + ")", kernels));
    }

    /** Counts and times one kernel running layers first..last of a unit. */
    private record Costing(Network n, Target t, double tensorPeak, double idealPeak) {
        Kernel kernel(Execution e, int index, Network.Unit u, int first, int last, double measured) {
            List<NetLayer> ls = n.layers().subList(first, last + 1);
            NetLayer in = ls.getFirst(), out = ls.getLast();
            long bytes = n.activationBytes(in.hIn(), in.wIn(), in.cin()) + n.activationBytes(out.hOut(), out.wOut(), out.cout());
            if (first == last && in.kind() == NetLayer.Kind.SE) {
                // alone, a squeeze-and-excitation reads its input twice: once to average it, once to scale it
                bytes += n.activationBytes(in.hIn(), in.wIn(), in.cin());
            }
            if (out.residual() && first != u.first()) {
                // the residual is the block's input, which this kernel did not read itself
                NetLayer blockIn = n.layers().get(u.first());
                bytes += n.activationBytes(blockIn.hIn(), blockIn.wIn(), blockIn.cin());
            }
            long flops = 0;
            double compute = 0;
            for (NetLayer l : ls) {
                bytes += l.weightBytes();
                flops += l.flops();
                compute += l.matrixFlops() / (l.tensorCores() ? tensorPeak : t.cudaCorePeak())
                        + l.vectorFlops() / t.cudaCorePeak();
            }
            double memory = bytes / t.dramBytesPerSecond();
            double predicted = Math.max(memory, compute) + t.launchOverheadSeconds();
            String name = ls.stream().map(NetLayer::describe).reduce((a, b) -> a + " + " + b).orElseThrow();
            return new Kernel(e, index, u.index(), name, first, last, flops, bytes, flops / idealPeak, memory, compute,
                    predicted, measured);
        }
    }
}
