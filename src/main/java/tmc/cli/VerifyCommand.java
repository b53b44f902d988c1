package tmc.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.api.Gpu;
import tmc.api.LoadedProgram;
import tmc.api.Tmc;
import tmc.api.Verifier;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.diag.Renderer;
import tmc.plan.LaunchShape;
import tmc.ref.Interpreter;
import tmc.ref.Tensor;
import tmc.ref.Tensors;
import tmc.runtime.RuntimeFailure;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Run every plan of every block on the GPU at many shapes and compare with the CPU reference.",
                "Prints one line per plan, shape and output, then a summary; exits 1 on any mismatch."})
final class VerifyCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "FILE", description = "The .tm files (default: samples/*.tm).")
    List<Path> files = new ArrayList<>();

    @Option(names = "--n", split = ",", paramLabel = "N", defaultValue = "1,3,32",
            description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--hw", split = ",", paramLabel = "S", defaultValue = "7,17,56",
            description = "Image sizes, H = W (default: ${DEFAULT-VALUE}).")
    List<Integer> sizes;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "7", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--reps", paramLabel = "K", defaultValue = "5",
            description = "Timed runs per check, median reported (default: ${DEFAULT-VALUE}).")
    int reps;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (files.isEmpty()) files = samples();
        if (files.isEmpty()) {
            err.println("tmc: no .tm files given and none in ./samples");
            return Main.USER_ERROR;
        }
        int checks = 0;
        List<String> failures = new ArrayList<>();
        try (Gpu gpu = Gpu.open()) {
            out.printf(Locale.ROOT, "tmc verify on %s (%s): %d file(s), N in %s, H = W in %s, seed %d%n",
                    gpu.device().name(), gpu.arch(), files.size(), batches, sizes, seed);
            for (Path f : files) {
                Tmc.Compilation c = Tmc.compile(f, input.options(gpu.arch(), LaunchShape.REFERENCE, tuning));
                if (!c.ok()) {
                    err.print(c.report());
                    failures.add(f + ": does not check");
                    continue;
                }
                for (TypedBlock block : c.program().blocks()) {
                    Map<String, LoadedProgram> loaded = new HashMap<>();
                    try {
                        for (PlanSpec p : c.program().plansFor(block.name())) {
                            switch (c.compile(p.name())) {
                                case Tmc.Outcome.Refused r -> {
                                    err.print(new Renderer(c.checked().sources()).render(r.why()));
                                    failures.add(f + " " + p.name() + ": refused");
                                }
                                case Tmc.Outcome.Compiled compiled -> loaded.put(p.name(), gpu.load(compiled.program()));
                            }
                        }
                        Map<String, Tensor> weights = Tensors.randomWeights(block, seed);
                        for (int n : batches) {
                            for (int s : sizes) {
                                Map<String, Tensor> inputs = Tensors.randomInputs(block, n, s, s, seed + 31L * n + s);
                                Map<String, Tensor> expected = Interpreter.run(block, inputs, weights,
                                        Interpreter.Options.DEFAULT);
                                for (LoadedProgram program : loaded.values()) {
                                    for (Verifier.Check check : Verifier.run(gpu, program, block, inputs, weights,
                                            expected, reps)) {
                                        checks++;
                                        out.println(check.line());
                                        if (!check.ok()) {
                                            out.println("    " + check.report().describe(expected.get(check.output()),
                                                    check.tolerance()));
                                            failures.add(check.program() + " N=" + n + " H=W=" + s + " " + check.output());
                                        }
                                        out.flush();
                                    }
                                }
                            }
                        }
                    } finally {
                        loaded.values().forEach(LoadedProgram::close);
                    }
                }
            }
        } catch (RuntimeFailure e) {
            return GpuRuns.failed(err, e);
        }
        out.printf(Locale.ROOT, "%d checks, %d failed%n", checks, failures.size());
        for (String fail : failures) out.println("  FAILED " + fail);
        return failures.isEmpty() && checks > 0 ? Main.OK : Main.USER_ERROR;
    }

    private static List<Path> samples() throws IOException {
        Path dir = Path.of("samples");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".tm")).sorted().toList();
        }
    }
}
