package tmc.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tmc.bind.BindingGenerator;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.check.Program;
import tmc.check.TypedBlock;
import tmc.cli.Version;
import tmc.cuda.CudaEmitter;
import tmc.cuda.Manifest;
import tmc.diag.Diagnostic;
import tmc.diag.Diagnostics;
import tmc.diag.Renderer;
import tmc.diag.Span;
import tmc.ir.TmProgram;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;
import tmc.target.Target;
import tmc.target.Targets;

/**
 * The front door of the library: .tm source in, compiled programs out. Every step returns values; problems
 * come back as diagnostics with positions, never as exceptions.
 *
 * <pre>{@code
 * Tmc.Compilation c = Tmc.compile(Path.of("samples/convfirst.tm"), Tmc.Options.DEFAULTS);
 * if (!c.ok()) { System.err.print(c.report()); return; }
 * CompiledProgram fused = c.program("fused").orElseThrow();
 * try (Gpu gpu = Gpu.open(); LoadedProgram k = gpu.load(fused)) { ... }
 * }</pre>
 */
public final class Tmc {
    private Tmc() {}

    /** How many of the planner's candidates a tuned winner is looked for among (tmc tune picks from these). */
    public static final int TUNED_CANDIDATES = 1024;

    /**
     * @param params overrides of block parameters (like --param C=128)
     * @param arch   the target to plan for, or null for each plan's own 'on' target (else sm_90)
     * @param shape  the launch shape the planner ranks candidates for (kernels run at any shape)
     * @param targetFiles extra target definitions (JSON), besides the built-in ones and those next to the file
     */
    public record Options(Map<String, Long> params, String arch, LaunchShape shape, List<Path> targetFiles,
                          Path tuningFile) {
        /** No overrides, each plan's own target, the reference shape, no tuning file (reproducible). */
        public static final Options DEFAULTS = new Options(Map.of(), null, LaunchShape.REFERENCE, List.of(), null);

        public Options {
            params = Map.copyOf(params);
            targetFiles = List.copyOf(targetFiles);
        }

        public Options withArch(String a) {
            return new Options(params, a, shape, targetFiles, tuningFile);
        }

        public Options withShape(LaunchShape s) {
            return new Options(params, arch, s, targetFiles, tuningFile);
        }

        public Options withParams(Map<String, Long> p) {
            return new Options(p, arch, shape, targetFiles, tuningFile);
        }

        /** Auto plans take tmc tune's winner from this file when it has one for the block, target and shape. */
        public Options withTuning(Path file) {
            return new Options(params, arch, shape, targetFiles, file);
        }
    }

    /** A checked file, ready to plan and emit any of its plans. */
    public record Compilation(Frontend.Checked checked, Targets targets, Options options, Diagnostics targetProblems,
                              String sourceName) {
        public boolean ok() {
            return checked.ok() && !targetProblems.hasErrors();
        }

        public Program program() {
            return checked.program();
        }

        /** Every diagnostic, rendered with source excerpts. */
        public String report() {
            Diagnostics all = new Diagnostics();
            all.addAll(targetProblems);
            all.addAll(checked.diagnostics());
            return new Renderer(checked.sources()).renderAll(all.sorted());
        }

        public List<String> planNames() {
            return program().plans().stream().map(PlanSpec::name).toList();
        }

        /** Plans, emits and binds one plan: the program, or the diagnostic that refused it. */
        public Outcome compile(String planName) {
            if (!ok()) {
                // a file that failed its check may have lost the plan to error recovery, or kept a broken one:
                // say why nothing is compiled instead of "no plan"
                int errors = checked.diagnostics().errorCount() + targetProblems.errorCount();
                return new Outcome.Refused(Diagnostic.error(Span.none(sourceName), sourceName + " has " + errors
                        + (errors == 1 ? " error" : " errors") + ", so no plan of it is compiled",
                        "fix what report() lists (tmc check " + sourceName + " prints the same)"));
            }
            PlanSpec spec = program().plan(planName).orElse(null);
            if (spec == null) {
                return new Outcome.Refused(Diagnostic.error(Span.none(sourceName), "no plan '" + planName + "' in "
                        + sourceName, planNames().isEmpty() ? "add a plan" : "plans: " + String.join(", ", planNames())));
            }
            TypedBlock block = program().block(spec.block()).orElseThrow();
            String archName = options.arch() != null ? options.arch() : spec.arch() != null ? spec.arch() : Targets.DEFAULT;
            Target target = targets.get(archName).orElse(null);
            if (target == null) {
                return new Outcome.Refused(Diagnostic.error(Span.none(sourceName), "unknown target '" + archName + "'",
                        "targets: " + String.join(", ", targets.names())));
            }
            return switch (Planner.plan(block, spec, target, options.shape(), TUNED_CANDIDATES)) {
                case Planner.Refused r -> new Outcome.Refused(r.why());
                case Planner.Planned p -> notEmittable(p).<Outcome>map(Outcome.Refused::new)
                        .orElseGet(() -> new Outcome.Compiled(emit(tuned(p, block, options).program(block), sourceName)));
            };
        }

        /** Compiles every plan; refusals are in the list too. */
        public List<Outcome> compileAll() {
            List<Outcome> out = new ArrayList<>();
            for (String name : planNames()) out.add(compile(name));
            return out;
        }

        public java.util.Optional<CompiledProgram> program(String planName) {
            return compile(planName) instanceof Outcome.Compiled c ? java.util.Optional.of(c.program())
                    : java.util.Optional.empty();
        }
    }

    public sealed interface Outcome {
        record Compiled(CompiledProgram program) implements Outcome {}

        record Refused(Diagnostic why) implements Outcome {}
    }

    public static Compilation compile(Path file, Options options) {
        Targets.Loaded loaded = Targets.load(file, options.targetFiles());
        Frontend.Checked checked = Frontend.checkFile(file, options.params(), loaded.targets().names());
        return new Compilation(checked, loaded.targets(), options, loaded.diagnostics(), file.toString());
    }

    public static Compilation compileText(String name, String text, Options options) {
        Targets targets = Targets.builtin();
        Frontend.Checked checked = Frontend.checkText(name, text, options.params(), targets.names());
        return new Compilation(checked, targets, options, new Diagnostics(), name);
    }

    /**
     * For a fused plan with a tmc tune winner on record in {@code options.tuningFile()} (same block, parameters, plan,
     * target and shape class), that candidate; otherwise the planner's choice. An auto plan's winner may be any
     * candidate; a plan that writes its directives can only take a form that changes none of them (one more resident
     * block where it leaves 'resident' free, Planner#tuneForms): a winner that does not match is ignored. Plan with at
     * least {@link #TUNED_CANDIDATES} candidates so that the winner is among them.
     */
    public static Planner.Planned tuned(Planner.Planned p, TypedBlock block, Options options) {
        if (options.tuningFile() == null || p.spec().kind() == PlanSpec.Kind.SEPARATE) return p;
        return tmc.plan.TuningCache.load(options.tuningFile())
                .lookup(block, p.spec().name(), p.target().name(), p.shape())
                .flatMap(e -> p.top().stream()
                        // a candidate as the model ranked it, or the form of it tmc tune timed that the winner names
                        // (warp-specialized, one more resident block): only those forms are lowered
                        .flatMap(c -> Planner.tuneForms(c, block, p.spec(), p.target(), p.shape(),
                                e.winner().contains("(specialized)"), e.winner().contains(", resident ")).stream())
                        .filter(c -> c.summary().equals(e.winner())).findFirst())
                .map(c -> new Planner.Planned(p.spec(), p.target(), p.shape(), c, p.top(), p.stats()))
                .orElse(p);
    }

    /** Why a planned program cannot be emitted (a choice the planner knows but no emitter writes yet), if so. */
    public static java.util.Optional<Diagnostic> notEmittable(Planner.Planned p) {
        if (p.chosen().choices().math() != PlanSpec.MathKind.WGMMA) return java.util.Optional.empty();
        // wgmma runs the products of register chains (Instr.Chain); every other tensor-core layer would stay on
        // mma.sync, so a wgmma plan without a chain would silently be a tensor_core plan.
        boolean chained = p.chosen().kernels().stream().anyMatch(k -> !tmc.plan.Lowering.chains(k.body()).isEmpty());
        if (chained) return java.util.Optional.empty();
        return java.util.Optional.of(Diagnostic.error(p.spec().spans().getOrDefault("math", p.spec().span()),
                "'math wgmma' runs the two products of a register chain (a streamed chunk kept in registers and "
                        + "projected at once), and this plan has none",
                "stream the expansion (e.g. 'stream E by 64') and leave its chunk unplaced or 'place h in registers'; "
                        + "or write 'math tensor_core'"));
    }

    /** Emits CUDA, the manifest and the Java binding of a planned program. */
    public static CompiledProgram emit(TmProgram program, String sourceName) {
        CudaEmitter.Emitted e = CudaEmitter.emit(program, sourceName, Version.VERSION);
        Manifest m = Manifest.of(program, e, sourceName);
        return new CompiledProgram(program, e.fileName(), e.source(), m, BindingGenerator.generate(m, Version.VERSION));
    }
}
