package tmc.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Option;
import tmc.api.Gpu;
import tmc.api.LoadedProgram;
import tmc.api.Verifier;
import tmc.check.TypedBlock;
import tmc.plan.LaunchShape;
import tmc.ref.Interpreter;
import tmc.ref.Tensor;
import tmc.ref.Tensors;
import tmc.runtime.RuntimeFailure;

/** What the commands that time kernels on the GPU (bench, tune) share: shapes, test data, the check, failures. */
final class GpuRuns {
    private GpuRuns() {}

    /** --shape (timing) and --check-shape (correctness before timing). */
    static final class Shapes {
        @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
                defaultValue = "N=128,H=56,W=56", description = "Shape to time at (default: ${DEFAULT-VALUE}).")
        Shape timing;

        @Option(names = "--check-shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
                defaultValue = "N=2,H=17,W=13",
                description = "Shape of the check against the CPU reference before timing (default: ${DEFAULT-VALUE}).")
        Shape check;

        LaunchShape launch() {
            return timing.launch();
        }
    }

    /** Seeded weights, the check's inputs and reference outputs, and the timing inputs of one block. */
    record Data(Map<String, Tensor> weights, Map<String, Tensor> checkInputs, Map<String, Tensor> expected,
                Map<String, Tensor> timingInputs) {
        static Data of(TypedBlock block, Shapes shapes, long seed) {
            Map<String, Tensor> weights = Tensors.randomWeights(block, seed);
            Shape c = shapes.check;
            Map<String, Tensor> small = Tensors.randomInputs(block, c.n(), c.h(), c.w(), seed + 1);
            Map<String, Tensor> expected = Interpreter.run(block, small, weights, Interpreter.Options.DEFAULT);
            Shape t = shapes.timing;
            return new Data(weights, small, expected, Tensors.randomInputs(block, t.n(), t.h(), t.w(), seed + 2));
        }

        /** Whether every output of the program matches the reference at the check shape. */
        boolean correct(Gpu gpu, LoadedProgram program, TypedBlock block) throws RuntimeFailure {
            return Verifier.run(gpu, program, block, checkInputs, weights, expected, 0).stream().allMatch(Verifier.Check::ok);
        }

        double timeMs(Gpu gpu, LoadedProgram program, TypedBlock block, int reps) throws RuntimeFailure {
            return Verifier.timeMs(gpu, program, block, timingInputs, weights, reps);
        }
    }

    /** Reports a runtime failure (no GPU, no NVRTC, a launch error) and returns the user-error exit code. */
    static int failed(PrintWriter err, RuntimeFailure e) {
        err.println("tmc: " + e.problem().render().stripTrailing());
        err.println("  (tmc doctor shows what was found; tmc run --cpu needs no GPU)");
        return Main.USER_ERROR;
    }
}
