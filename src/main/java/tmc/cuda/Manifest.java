package tmc.cuda;

import com.google.gson.GsonBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tmc.check.TypedBlock;
import tmc.check.Weight;
import tmc.cuda.CudaEmitter.KernelSignature;
import tmc.cuda.CudaEmitter.Param;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.ir.TmProgram;

/**
 * The launch manifest: everything a launcher (the Java runtime, the Python module, a framework) needs to
 * run the emitted kernels without reading the CUDA: entries in launch order, parameters in order with dtype,
 * shape and layout, grid as a function of N, H and W, threads, dynamic shared memory, arch (the one to compile
 * for: sm_90a when the kernels use wgmma), source hash, and the scratch tensors a separate plan passes between
 * its kernels.
 */
public record Manifest(int format, String block, String plan, String kind, String arch, String source,
                       String sourceSha256, List<Tensor> inputs, List<Tensor> weights, List<Tensor> outputs,
                       List<Tensor> scratch, List<KernelEntry> kernels, List<Map<String, Object>> ops) {

    public static final int FORMAT = 1;

    /** A tensor: activations have shape ["N", "H", "W", C] and layout NHWC; weights their declared dims. */
    public record Tensor(String name, String dtype, List<Object> shape, String layout) {}

    public record Grid(String x, String y, String z, int tileN, int tileH, int tileW) {}

    public record KernelEntry(String entry, List<String> params, Grid grid, int threads, long dynamicSharedBytes,
                              int registersEstimate, List<String> layers) {}

    public static Manifest of(TmProgram program, CudaEmitter.Emitted emitted, String sourceName) {
        TypedBlock b = program.block();
        List<Tensor> scratch = new ArrayList<>();
        Map<String, Tensor> seenScratch = new LinkedHashMap<>();
        List<KernelEntry> kernels = new ArrayList<>();
        for (KernelSignature sig : emitted.kernels()) {
            Kernel k = sig.kernel();
            List<String> params = new ArrayList<>();
            for (Param p : sig.params()) {
                params.add(p.name());
                if (p.role() == Param.Role.SCRATCH_IN || p.role() == Param.Role.SCRATCH_OUT) {
                    seenScratch.putIfAbsent(p.name(), activation(p.name(), p.dtype().keyword, p.dims().getFirst()));
                }
            }
            params.addAll(List.of("N", "H", "W"));
            Grid grid = new Grid("ceil(W / " + k.tileW() + ")", "ceil(H / " + k.tileH() + ")",
                    k.tileN() == 1 ? "N" : "ceil(N / " + k.tileN() + ")", k.tileN(), k.tileH(), k.tileW());
            kernels.add(new KernelEntry(k.name(), params, grid, k.threads(), k.sharedBytes(), k.registersPerThread(),
                    k.layers().stream().map(Layer::describe).toList()));
        }
        scratch.addAll(seenScratch.values());
        return new Manifest(FORMAT, b.name(), program.plan().name(),
                program.plan().kind().name().toLowerCase(java.util.Locale.ROOT), program.compileArch(), emitted.fileName(),
                sha256(emitted.source()),
                b.inputs().stream().map(a -> activation(a.name(), a.dtype().keyword, a.channels())).toList(),
                b.weights().stream().map(Manifest::weight).toList(),
                b.outputs().stream().map(a -> activation(a.name(), a.dtype().keyword, a.channels())).toList(),
                scratch, kernels, b.ops().stream().map(Manifest::op).toList());
    }

    /**
     * What the block computes, op by op in SSA order, so that a launcher can check or document it without
     * the .tm source. Each op's result is rounded to its "dtype" (f32: not rounded).
     */
    static Map<String, Object> op(tmc.check.Op op) {
        Map<String, Object> m = new LinkedHashMap<>();
        switch (op) {
            case tmc.check.Op.Conv2d c -> {
                m.put("op", "conv2d");
                m.put("in", c.in().name());
                m.put("weight", c.weight().name());
                m.put("groups", c.groups());
                m.put("pad", c.pad());
            }
            case tmc.check.Op.Pointwise p -> {
                m.put("op", "pointwise");
                m.put("in", p.in().name());
                m.put("weight", p.weight().name());
            }
            case tmc.check.Op.LayerNorm l -> {
                m.put("op", "layernorm");
                m.put("in", l.in().name());
                if (l.gamma() != null) m.put("gamma", l.gamma().name());
                if (l.beta() != null) m.put("beta", l.beta().name());
                m.put("eps", l.eps());
            }
            case tmc.check.Op.Activate a -> {
                m.put("op", a.fn().keyword);
                m.put("in", a.in().name());
            }
            case tmc.check.Op.Elementwise e -> {
                m.put("op", switch (e.fn()) {
                    case ADD -> "add";
                    case SUB -> "sub";
                    case MUL -> "mul";
                });
                m.put("left", operand(e.left()));
                m.put("right", operand(e.right()));
            }
        }
        m.put("out", op.out().name());
        m.put("dtype", op.out().dtype().keyword);
        return m;
    }

    private static Object operand(tmc.check.Operand o) {
        return switch (o) {
            case tmc.check.Operand.Act a -> Map.of("activation", a.value().name());
            case tmc.check.Operand.Vec v -> Map.of("vector", v.weight().name());
            case tmc.check.Operand.Scalar s -> Map.of("scalar", s.value());
        };
    }

    private static Tensor activation(String name, String dtype, int channels) {
        return new Tensor(name, dtype, List.of("N", "H", "W", channels), "NHWC");
    }

    private static Tensor weight(Weight w) {
        return new Tensor(w.name(), w.dtype().keyword, List.copyOf(w.dims()), "row-major");
    }

    public String toJson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(this) + "\n";
    }

    public static Manifest fromJson(String json) {
        return new com.google.gson.Gson().fromJson(json, Manifest.class);
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
