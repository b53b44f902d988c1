package tmc.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.TypedBlock;
import tmc.ref.Compare;
import tmc.ref.Tensor;
import tmc.runtime.RuntimeFailure;

/**
 * Runs a loaded program on the GPU and compares every output with the CPU reference. Outputs are poisoned
 * (all bytes 0xFF, a NaN in every dtype) before the launch, so an element the kernel never writes fails.
 */
public final class Verifier {
    private Verifier() {}

    /** One output of one run: its comparison with the reference and the kernel time. */
    public record Check(String program, String output, int n, int h, int w, Compare.Report report,
                        Compare.Tolerance tolerance, double kernelMs) {
        public boolean ok() {
            return report.ok();
        }

        /** max |err| over the rms of the reference output. */
        public double relativeError() {
            return report.rms() == 0 ? report.maxAbs() : report.maxAbs() / report.rms();
        }

        public String line() {
            return String.format(Locale.ROOT, "%-22s N=%-3d H=%-3d W=%-3d %-4s max|err| %-9.3g rel %-9.3g (%5.2f of tol) %s  %8.4f ms",
                    program, n, h, w, output, report.maxAbs(), relativeError(), report.worstRatio(),
                    ok() ? "PASS" : "FAIL", kernelMs);
        }
    }

    /**
     * The GPU tolerance: 2 ulp of the value plus 2 ulp of the output's rms, in the coarser of the output type
     * and the block's storage type (f32: 64 + 64 ulp). One ulp more than the golden test allows the reference
     * against PyTorch, because a kernel sums in yet another order (tensor-core k steps, chunks of a stream),
     * which can flip the rounding of a named intermediate and carry one more ulp to the output.
     */
    public static Compare.Tolerance tolerance(TypedBlock block, Activation output) {
        DType s = coarser(output.dtype(), block.storage());
        return s == DType.F32 ? new Compare.Tolerance(s, 64, 64) : new Compare.Tolerance(s, 2, 2);
    }

    private static DType coarser(DType a, DType b) {
        if (a == DType.BF16 || b == DType.BF16) return DType.BF16;
        if (a == DType.F16 || b == DType.F16) return DType.F16;
        return DType.F32;
    }

    /**
     * Uploads inputs and weights, launches once on poisoned outputs, compares with {@code expected}, then times
     * {@code reps} launches (median, CUDA events) after a few warm-up runs.
     */
    public static List<Check> run(Gpu gpu, LoadedProgram program, TypedBlock block, Map<String, Tensor> inputs,
                                  Map<String, Tensor> weights, Map<String, Tensor> expected, int reps)
            throws RuntimeFailure {
        try (Launch l = Launch.prepare(gpu, block, inputs, weights)) {
            Map<String, DeviceTensor> args = l.args();
            int n = l.n(), h = l.h(), w = l.w();
            Map<String, tmc.api.Tensor> outs = l.outputs();
            for (tmc.api.Tensor t : outs.values()) gpu.fill(t, 0xFF);
            program.launchChecked(args, n, h, w);
            gpu.synchronize();
            Map<String, Tensor> got = new LinkedHashMap<>();
            for (var e : outs.entrySet()) got.put(e.getKey(), gpu.download(e.getValue()));
            double ms = reps > 0 ? gpu.time(() -> program.launchChecked(args, n, h, w), 3, reps).medianMs() : 0;
            List<Check> checks = new ArrayList<>();
            for (Activation o : block.outputs()) {
                Compare.Tolerance tol = tolerance(block, o);
                checks.add(new Check(program.program().name(), o.name(), n, h, w,
                        Compare.compare(got.get(o.name()), expected.get(o.name()), tol), tol, ms));
            }
            return checks;
        }
    }

    /**
     * Median time of {@code reps} launches (after 3 warm-up runs and 25 ms of warm-up bursts, {@link Gpu#time}) on
     * these inputs, outputs not checked.
     */
    public static double timeMs(Gpu gpu, LoadedProgram program, TypedBlock block, Map<String, Tensor> inputs,
                                Map<String, Tensor> weights, int reps) throws RuntimeFailure {
        try (Launch l = Launch.prepare(gpu, block, inputs, weights)) {
            return gpu.time(() -> program.launchChecked(l.args(), l.n(), l.h(), l.w()), 3, reps).medianMs();
        }
    }

    /** Device copies of a run's inputs and weights and freshly allocated outputs, freed together. */
    private record Launch(Map<String, DeviceTensor> args, Map<String, tmc.api.Tensor> outputs, List<tmc.api.Tensor> owned,
                          int n, int h, int w) implements AutoCloseable {
        static Launch prepare(Gpu gpu, TypedBlock block, Map<String, Tensor> inputs, Map<String, Tensor> weights)
                throws RuntimeFailure {
            List<tmc.api.Tensor> owned = new ArrayList<>();
            try {
                Map<String, DeviceTensor> args = new LinkedHashMap<>();
                for (var e : inputs.entrySet()) args.put(e.getKey(), add(owned, gpu.upload(e.getValue())));
                for (var e : weights.entrySet()) args.put(e.getKey(), add(owned, gpu.upload(e.getValue())));
                Tensor first = inputs.values().iterator().next();
                int n = first.dim(0), h = first.dim(1), w = first.dim(2);
                Map<String, tmc.api.Tensor> outs = new LinkedHashMap<>();
                for (Activation o : block.outputs()) {
                    tmc.api.Tensor t = add(owned, gpu.alloc(o.dtype(), List.of(n, h, w, o.channels())));
                    outs.put(o.name(), t);
                    args.put(o.name(), t);
                }
                return new Launch(args, outs, owned, n, h, w);
            } catch (RuntimeFailure | RuntimeException e) {
                owned.forEach(tmc.api.Tensor::close);
                throw e;
            }
        }

        private static tmc.api.Tensor add(List<tmc.api.Tensor> owned, tmc.api.Tensor t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() {
            owned.forEach(tmc.api.Tensor::close);
        }
    }
}
