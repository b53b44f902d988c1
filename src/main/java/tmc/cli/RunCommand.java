package tmc.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tmc.api.Gpu;
import tmc.api.LoadedProgram;
import tmc.api.Tmc;
import tmc.api.Verifier;
import tmc.check.Activation;
import tmc.diag.Renderer;
import tmc.runtime.RuntimeFailure;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.check.Weight;
import tmc.ref.Interpreter;
import tmc.ref.Tensor;
import tmc.ref.Tensors;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run a block on seeded random (or given) tensors and summarise its outputs.",
                "Prints each output's shape, min, max, mean and a CRC-32 of its data. With --cpu the CPU "
                        + "reference interpreter runs it (the oracle for every kernel; docs/semantics.md says "
                        + "where it rounds)."})
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .tm file.")
    Path file;

    @Option(names = "--cpu", description = "Run on the CPU reference interpreter only (no GPU needed).")
    boolean cpu;

    @Option(names = "--reps", paramLabel = "K", defaultValue = "20",
            description = "GPU runs timed per plan, median reported (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--arch", paramLabel = "TARGET",
            description = "Plan for this target (default: the GPU's own, e.g. sm_90).")
    String arch;

    @Option(names = "--block", paramLabel = "NAME", description = "The block to run (needed when FILE has several).")
    String blockName;

    @Option(names = "--plan", paramLabel = "NAME",
            description = "On the GPU: run this plan (default: every plan of the block). With --cpu: run the block this "
                    + "plan is for (a plan only changes how a kernel computes the block, not what).")
    String planName;

    @Option(names = "--shape", paramLabel = "N=..,H=..,W=..", converter = Shape.Converter.class,
            description = "Launch shape (default: the shape of the tensors in --inputs, else N=1,H=56,W=56).")
    Shape shape;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the random tensors (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--inputs", paramLabel = "DIR",
            description = "Read inputs and weights from DIR/<name>.npy (.npy of <f2, <f4 or <u2 = bf16 bits); "
                    + "those without a file are random.")
    Path inputsDir;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Write the inputs, weights and outputs to DIR/<name>.npy.")
    Path outDir;

    @Option(names = "--f64", description = "Accumulate sums in f64 instead of f32.")
    boolean f64;

    @CommandLine.Mixin
    InputOptions input;

    @CommandLine.Mixin
    TuningOption tuning;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (reps < 1) {
            err.println("tmc: --reps must be at least 1");
            return Main.USER_ERROR;
        }
        Frontend.Checked c = input.check(file, input.overrides(), err);
        if (!c.ok()) return Main.USER_ERROR;
        TypedBlock block = chooseBlock(c, err);
        if (block == null) return Main.USER_ERROR;

        List<String> names = new ArrayList<>();
        block.inputs().forEach(a -> names.add(a.name()));
        block.weights().forEach(w -> names.add(w.name()));
        Map<String, Tensor> given = Map.of();
        if (inputsDir != null) {
            if (!Files.isDirectory(inputsDir)) {
                err.println("tmc: --inputs " + inputsDir + " is not a directory");
                return Main.USER_ERROR;
            }
            try {
                given = Tensors.readDir(inputsDir, names);
            } catch (IOException e) {
                err.println("tmc: " + e.getMessage());
                return Main.USER_ERROR;
            }
        }
        Shape run = resolveShape(block, given, err);
        if (run == null) return Main.USER_ERROR;

        Map<String, Tensor> randomIn = Tensors.randomInputs(block, run.n(), run.h(), run.w(), seed);
        Map<String, Tensor> randomW = Tensors.randomWeights(block, seed);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        Map<String, Tensor> weights = new LinkedHashMap<>();
        List<String> fromFile = new ArrayList<>();
        List<String> random = new ArrayList<>();
        for (Activation a : block.inputs()) {
            inputs.put(a.name(), pick(a.name(), given, randomIn, fromFile, random));
        }
        for (Weight w : block.weights()) {
            weights.put(w.name(), pick(w.name(), given, randomW, fromFile, random));
        }

        if (!cpu) return runOnGpu(block, run, inputs, weights, out, err);

        Interpreter.Options options = Interpreter.Options.DEFAULT.withF64Accumulation(f64);
        long t0 = System.nanoTime();
        Interpreter.Result result;
        try {
            result = Interpreter.evaluate(block, inputs, weights, options);
        } catch (IllegalArgumentException e) {
            err.println("tmc: " + e.getMessage());
            return Main.USER_ERROR;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;

        out.printf(Locale.ROOT, "%s at %s on the CPU reference (%s accumulation)%n", block.name(), run,
                f64 ? "f64" : "f32");
        if (!fromFile.isEmpty()) out.println("  from " + inputsDir + ": " + String.join(", ", fromFile));
        if (!random.isEmpty()) out.println("  random (seed " + seed + "): " + String.join(", ", random));
        for (var e : result.outputs().entrySet()) {
            Tensor t = e.getValue();
            Tensors.Summary s = Tensors.summary(t);
            out.printf(Locale.ROOT, "  %-8s %-22s min %-11.5g max %-11.5g mean %-12.5g crc32 %08x%s%n", e.getKey(), t,
                    s.min(), s.max(), s.mean(), s.checksum(),
                    s.nonFinite() > 0 ? "  (" + s.nonFinite() + " not finite)" : "");
        }
        out.printf(Locale.ROOT, "  %.3f s%n", seconds);

        if (outDir != null) {
            Map<String, Tensor> all = new LinkedHashMap<>();
            for (Activation a : block.inputs()) all.put(a.name(), result.values().get(a.name()));
            all.putAll(weights);
            all.putAll(result.outputs());
            try {
                Tensors.writeDir(outDir, all);
            } catch (IOException e) {
                // the exception's message is often just the path again; say what failed instead
                String why = switch (e) {
                    case java.nio.file.AccessDeniedException x -> "permission denied";
                    case java.nio.file.FileAlreadyExistsException x -> "a file of that name is in the way";
                    case java.nio.file.NoSuchFileException x -> "its parent cannot hold a new directory";
                    case java.nio.file.FileSystemException x when x.getReason() != null -> x.getReason();
                    default -> e.getMessage();
                };
                err.println("tmc: cannot write to " + outDir + ": " + why + " (--out names a directory to create or fill)");
                return Main.USER_ERROR;
            }
            out.println("  wrote " + all.size() + " .npy files to " + outDir);
        }
        return Main.OK;
    }

    /**
     * Plans, compiles and runs each plan of the block on the GPU, comparing every output with the CPU reference
     * on the same tensors. Exit 1 when a plan is refused or an output is outside the tolerance.
     */
    private int runOnGpu(TypedBlock block, Shape run, Map<String, Tensor> inputs, Map<String, Tensor> weights,
                         PrintWriter out, PrintWriter err) {
        try (Gpu gpu = Gpu.open()) {
            String target = arch != null ? arch : gpu.arch();
            Tmc.Compilation c = Tmc.compile(file, input.options(target, run.launch(), tuning));
            if (!c.ok()) {
                err.print(c.report());
                return Main.USER_ERROR;
            }
            Map<String, Tensor> expected = Interpreter.run(block, inputs, weights,
                    Interpreter.Options.DEFAULT.withF64Accumulation(f64));
            List<String> plans = planName != null ? List.of(planName)
                    : c.program().plansFor(block.name()).stream().map(PlanSpec::name).toList();
            out.printf(Locale.ROOT, "%s at %s on %s (%s), against the CPU reference; kernel time: median of %d%n",
                    block.name(), run, gpu.device().name(), target, reps);
            boolean ok = true;
            for (String p : plans) {
                switch (c.compile(p)) {
                    case Tmc.Outcome.Refused r -> {
                        err.print(new Renderer(c.checked().sources()).render(r.why()));
                        ok = false;
                    }
                    case Tmc.Outcome.Compiled compiled -> {
                        try (LoadedProgram loaded = gpu.load(compiled.program())) {
                            for (Verifier.Check check : Verifier.run(gpu, loaded, block, inputs, weights, expected, reps)) {
                                out.println("  " + check.line());
                                if (!check.ok()) {
                                    out.println("    " + check.report().describe(expected.get(check.output()), check.tolerance()));
                                    ok = false;
                                }
                            }
                        }
                    }
                }
            }
            return ok ? Main.OK : Main.USER_ERROR;
        } catch (RuntimeFailure e) {
            return GpuRuns.failed(err, e);
        }
    }

    private static Tensor pick(String name, Map<String, Tensor> given, Map<String, Tensor> random, List<String> fromFile,
                               List<String> randomNames) {
        Tensor t = given.get(name);
        if (t != null) {
            fromFile.add(name);
            return t;
        }
        randomNames.add(name);
        return random.get(name);
    }

    private TypedBlock chooseBlock(Frontend.Checked c, PrintWriter err) {
        List<TypedBlock> blocks = c.program().blocks();
        String wanted = blockName;
        if (planName != null) {
            PlanSpec plan = c.program().plan(planName).orElse(null);
            if (plan == null) {
                err.println("tmc: " + file + " has no plan '" + planName + "'; plans: "
                        + names(c.program().plans().stream().map(PlanSpec::name).toList()));
                return null;
            }
            if (wanted != null && !wanted.equals(plan.block())) {
                err.println("tmc: plan '" + planName + "' is for block '" + plan.block() + "', not '" + wanted + "'");
                return null;
            }
            wanted = plan.block();
        }
        if (wanted == null) {
            if (blocks.size() == 1) return blocks.getFirst();
            err.println("tmc: " + file + " has " + blocks.size() + " blocks; choose one with --block: "
                    + names(blocks.stream().map(TypedBlock::name).toList()));
            return null;
        }
        String w = wanted;
        TypedBlock b = blocks.stream().filter(x -> x.name().equals(w)).findFirst().orElse(null);
        if (b == null) {
            err.println("tmc: " + file + " has no block '" + wanted + "'; blocks: "
                    + names(blocks.stream().map(TypedBlock::name).toList()));
        }
        return b;
    }

    /** --shape, else the shape of the first input read from --inputs, else the default; they must agree. */
    private Shape resolveShape(TypedBlock block, Map<String, Tensor> given, PrintWriter err) {
        for (Activation a : block.inputs()) {
            Tensor t = given.get(a.name());
            if (t == null) continue;
            if (t.rank() != 4) {
                err.println("tmc: " + inputsDir.resolve(a.name() + ".npy") + " is " + t
                        + "; input '" + a.name() + "' must be [N, H, W, " + a.channels() + "]");
                return null;
            }
            Shape fromFile = new Shape(t.dim(0), t.dim(1), t.dim(2));
            if (shape != null && !shape.equals(fromFile)) {
                err.println("tmc: --shape " + shape + " disagrees with " + inputsDir.resolve(a.name() + ".npy")
                        + " (" + fromFile + ")");
                return null;
            }
            return fromFile;
        }
        return shape != null ? shape : Shape.DEFAULT;
    }

    private static String names(List<String> list) {
        return list.isEmpty() ? "none" : String.join(", ", list);
    }
}
