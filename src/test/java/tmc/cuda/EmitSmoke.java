package tmc.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import tmc.check.Frontend;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;
import tmc.ir.TmProgram;
import tmc.plan.Choices;
import tmc.plan.Lowering;

/** Development aid: emits every sample's fused and separate plan into a directory (args[0]). */
public final class EmitSmoke {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        try (var files = Files.list(Path.of("samples"))) {
            for (Path f : files.sorted().toList()) {
                var checked = Frontend.checkFile(f, Map.of(), Set.of("sm_80", "sm_86", "sm_89", "sm_90"));
                for (PlanSpec p : checked.program().plans()) {
                    TypedBlock b = checked.program().block(p.block()).orElseThrow();
                    Lowering.Result r;
                    if (p.kind() == PlanSpec.Kind.SEPARATE) {
                        r = Lowering.separate(b, p.name(), 4, 16, 8, PlanSpec.MathKind.TENSOR_CORE);
                    } else if (p.kind() == PlanSpec.Kind.FUSED) {
                        Map<String, PlanSpec.Placement> places = new LinkedHashMap<>();
                        for (var pl : p.places()) places.put(pl.tensor(), pl);
                        Choices c = new Choices(p.tile().getOrDefault("N", 1), p.tile().getOrDefault("H", 8),
                                p.tile().getOrDefault("W", 8), p.warps() == null ? 4 : p.warps(),
                                p.math() == null ? PlanSpec.MathKind.CUDA_CORE : p.math(),
                                p.stream() == null ? null : p.stream().dim(),
                                p.stream() == null ? 0 : p.stream().chunk(), places);
                        r = Lowering.fused(b, p.name(), c, p.span());
                    } else {
                        continue;
                    }
                    switch (r) {
                        case Lowering.Result.Refused ref -> System.out.println(f + " " + p.name() + ": refused: "
                                + ref.why().headline());
                        case Lowering.Result.Ok ok -> {
                            var e = CudaEmitter.emit(new TmProgram(b, p, "sm_90", ok.kernels()), f.toString(), "dev");
                            Files.writeString(out.resolve(e.fileName()), e.source());
                            TmProgram prog = new TmProgram(b, p, "sm_90", ok.kernels());
                            Files.writeString(out.resolve(prog.name() + ".json"),
                                    Manifest.of(prog, e, f.toString()).toJson());
                            Manifest man = Manifest.of(prog, e, f.toString());
                            Files.writeString(out.resolve(tmc.bind.BindingGenerator.className(man) + ".java"),
                                    tmc.bind.BindingGenerator.generate(man, "dev"));
                            System.out.println(f + " " + p.name() + ": " + e.fileName());
                        }
                    }
                }
            }
        }
    }
}
