package tmc.cuda;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.Op;
import tmc.check.Operand;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.cuda.CudaEmitter.KernelSignature;
import tmc.cuda.CudaEmitter.Param;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.Layer;

/**
 * Writes one kernel. Every tile instruction becomes a loop over the elements it produces, spread over the
 * thread block so that consecutive threads touch consecutive channels (coalesced in NHWC, and conflict-free
 * in the padded shared-memory rows).
 */
final class KernelWriter {
    /** Names the emitted code uses for its own variables; a tensor with such a name gets a suffix. */
    private static final Set<String> RESERVED = Set.of("n", "h0", "w0", "tid", "i", "j", "p", "c", "oc", "ly", "lx",
            "gh", "gw", "e0", "N", "H", "W", "lane", "warp", "acc", "v", "s", "q", "d", "mean", "rstd", "inside",
            "smem", "src", "wp", "ky", "kx", "ic", "g", "e", "int", "float", "double", "char", "auto", "for", "if",
            "do", "while", "return", "const", "register", "static", "void", "switch", "case", "default", "new",
            "delete", "this", "class", "struct", "union", "template", "typename", "using", "namespace", "bool",
            "true", "false", "signed", "unsigned", "long", "short", "volatile", "sizeof", "break", "continue",
            "goto", "else", "enum", "extern", "inline", "operator", "private", "public", "protected", "virtual",
            "friend", "try", "catch", "throw", "asm", "half", "min", "max");

    private final CodeWriter w;
    private final TypedBlock block;
    private final Kernel k;
    private final KernelSignature sig;
    private final String sourceName;

    KernelWriter(CodeWriter w, TypedBlock block, Kernel k, KernelSignature sig, String sourceName) {
        this.w = w;
        this.block = block;
        this.k = k;
        this.sig = sig;
        this.sourceName = sourceName;
    }

    static String cname(String tensor) {
        boolean clash = RESERVED.contains(tensor) || tensor.endsWith("_s") || tensor.endsWith("_r")
                || tensor.endsWith("_acc") || tensor.startsWith("tm_") || tensor.startsWith("v_");
        return clash ? tensor + "_g" : tensor;
    }

    private static String upper(Buffer b) {
        return b.name().toUpperCase(Locale.ROOT);
    }

    void write() {
        header();
        StringBuilder params = new StringBuilder();
        for (Param p : sig.params()) {
            boolean written = p.role() == Param.Role.OUTPUT || p.role() == Param.Role.SCRATCH_OUT;
            params.append(written ? "" : "const ").append(CudaEmitter.ctype(p.dtype())).append("* __restrict__ ")
                    .append(cname(p.name())).append(", ");
        }
        params.append("int N, int H, int W");
        w.line("extern \"C\" __global__ void __launch_bounds__(" + k.threads() + ")");
        w.open(k.name() + "(" + params + ")");
        w.line("constexpr int THREADS = " + k.threads() + ";");
        w.line("constexpr int TILE_H = " + k.tileH() + ", TILE_W = " + k.tileW() + ";");
        for (Buffer b : k.buffers()) {
            int side = k.tileW() + 2 * b.halo();
            if (b.space() == Space.GLOBAL) continue;
            if (b.space() == Space.SHARED) {
                w.line("constexpr int " + upper(b) + "_W = " + side + ", " + upper(b) + "_PIXELS = " + b.pixels()
                        + ", " + upper(b) + "_STRIDE = " + b.rowStride() + ";");
            } else {
                w.line("constexpr int " + upper(b) + "_PER_THREAD = " + b.rowStride() + ";");
            }
        }
        w.line("(void)N;");
        w.line("const int n = blockIdx.z;");
        w.line("const int h0 = blockIdx.y * TILE_H;");
        w.line("const int w0 = blockIdx.x * TILE_W;");
        w.line("const int tid = threadIdx.x;");
        long offset = 0;
        boolean anyShared = k.buffers().stream().anyMatch(b -> b.space() == Space.SHARED);
        if (anyShared) w.line("extern __shared__ __align__(16) unsigned char smem[];");
        for (Buffer b : k.buffers()) {
            String t = CudaEmitter.ctype(b.dtype());
            if (b.space() == Space.GLOBAL) continue;
            if (b.space() == Space.SHARED) {
                w.line(t + "* " + b.name() + " = reinterpret_cast<" + t + "*>(smem + " + offset + ");  // "
                        + describe(b));
                offset += b.bytes();
            } else {
                String init = b.name().endsWith("_acc") ? " = {}" : "";
                w.line("float " + b.name() + "[" + upper(b) + "_PER_THREAD]" + init + ";  // " + describe(b));
            }
        }
        w.line();
        for (Instr i : k.body()) instr(i);
        w.close();
        w.line();
    }

    private String describe(Buffer b) {
        String where = b.origin().isReal() ? " (line " + b.origin().line() + ")" : "";
        if (b.space() == Space.REGISTERS) {
            return b.tensor() + ": " + b.pixels() + " pixels x " + b.channels() + " channels, " + b.rowStride()
                    + " per thread" + where;
        }
        int side = k.tileW() + 2 * b.halo();
        int rows = b.pixels() / side;
        return b.tensor() + ": " + rows + "x" + side + " pixels" + (b.halo() > 0 ? " (halo " + b.halo() + ")" : "")
                + " x " + b.channels() + " channels, " + b.bytes() + " B" + where;
    }

    private void header() {
        StringBuilder s = new StringBuilder();
        s.append("Kernel ").append(k.name()).append("\n");
        s.append("  grid (ceil(W / ").append(k.tileW()).append("), ceil(H / ").append(k.tileH()).append("), N),  ")
                .append(k.threads()).append(" threads (").append(k.warps()).append(" warps),  ")
                .append(k.sharedBytes()).append(" B shared,  ~").append(k.registersPerThread())
                .append(" registers per thread (planner estimate)\n");
        s.append("  math ").append(k.math().keyword).append("\n");
        for (Layer l : k.layers()) {
            s.append("  ").append(l.describe()).append("   (").append(sourceName).append(":").append(l.span().line())
                    .append(")\n");
        }
        w.comment(s.toString().stripTrailing());
    }

    // ---- instructions -----------------------------------------------------------------------------

    private void instr(Instr i) {
        switch (i) {
            case Instr.Load l -> load(l);
            case Instr.LoadWeight lw -> throw new UnsupportedOperationException("weight staging is not emitted yet");
            case Instr.Compute c -> compute(c);
            case Instr.Accumulate a -> accumulate(a);
            case Instr.Finish f -> finish(f);
            case Instr.Store s -> store(s);
            case Instr.Loop l -> {
                w.comment("stream " + l.dim() + " in " + l.trips() + " chunks of " + l.chunk());
                w.line("#pragma unroll 1");
                w.open("for (int e0 = 0; e0 < " + l.extent() + "; e0 += " + l.chunk() + ")");
                for (Instr b : l.body()) instr(b);
                w.close();
            }
            case Instr.Barrier b -> w.line("__syncthreads();");
        }
    }

    private void load(Instr.Load l) {
        Buffer b = l.dst();
        Activation a = block.activation(l.tensor()).orElseThrow();
        int r = b.halo();
        int vec = 16 / b.dtype().bytes;
        String t = CudaEmitter.ctype(b.dtype());
        String g = cname(a.name());
        w.comment("load " + a.name() + "[n, h0" + (r > 0 ? "-" + r : "") + " : h0+" + (k.tileH() + r) + ", w0"
                + (r > 0 ? "-" + r : "") + " : w0+" + (k.tileW() + r) + ", :] -> " + b.name()
                + ", zero outside the image");
        String u = upper(b);
        if (a.channels() % vec == 0) {
            int groups = a.channels() / vec;
            w.open("for (int i = tid; i < " + u + "_PIXELS * " + groups + "; i += THREADS)");
            w.line("const int p = i / " + groups + ", c = (i % " + groups + ") * " + vec + ";");
            w.line("const int gh = h0 - " + r + " + p / " + u + "_W, gw = w0 - " + r + " + p % " + u + "_W;");
            w.line("uint4 v = make_uint4(0u, 0u, 0u, 0u);");
            w.line("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
            w.line("    v = *reinterpret_cast<const uint4*>(" + g + " + ((size_t)(n * H + gh) * W + gw) * "
                    + a.channels() + " + c);");
            w.line("*reinterpret_cast<uint4*>(" + b.name() + " + p * " + u + "_STRIDE + c) = v;");
            w.close();
        } else {
            w.open("for (int i = tid; i < " + u + "_PIXELS * " + a.channels() + "; i += THREADS)");
            w.line("const int p = i / " + a.channels() + ", c = i % " + a.channels() + ";");
            w.line("const int gh = h0 - " + r + " + p / " + u + "_W, gw = w0 - " + r + " + p % " + u + "_W;");
            w.line(t + " v = tm_from_f32<" + t + ">(0.0f);");
            w.line("if (gh >= 0 && gh < H && gw >= 0 && gw < W) v = " + g + "[((size_t)(n * H + gh) * W + gw) * "
                    + a.channels() + " + c];");
            w.line(b.name() + "[p * " + u + "_STRIDE + c] = v;");
            w.close();
        }
    }

    /** Where the element loops of one instruction are: the region they cover and how channels are numbered. */
    private record Region(int halo, int side, int pixels, int channels, boolean streamed) {}

    private void compute(Instr.Compute c) {
        Layer layer = c.layer();
        Buffer dst = c.dst();
        int r = c.halo();
        int side = k.tileW() + 2 * r;
        int pixels = (k.tileH() + 2 * r) * side;
        Region region = new Region(r, side, pixels, c.out().count(), c.out().streamed());
        w.comment(layer.describe() + " over " + (k.tileH() + 2 * r) + "x" + side + " pixels"
                + (c.out().streamed() ? ", channels e0 .. e0+" + c.out().count() : "") + " -> " + dst.name()
                + "   (" + sourceName + ":" + layer.span().line() + ")"
                + (c.math() == Instr.MathPath.TENSOR_CORE ? "\n(eligible for tensor cores; this version uses CUDA cores)" : ""));
        if (layer.main() instanceof Op.LayerNorm ln) {
            if (dst.space() == Space.REGISTERS) {
                throw new UnsupportedOperationException("layernorm into registers is not emitted yet");
            }
            layerNorm(layer, ln, dst, region, c.sources());
            return;
        }
        elementLoop(dst, region, () -> evaluate(layer, region, c.sources(), null));
    }

    private void accumulate(Instr.Accumulate a) {
        Op.Pointwise pw = (Op.Pointwise) a.layer().main();
        Buffer acc = a.acc();
        Buffer in = a.input();
        int cout = pw.out().channels();
        int cin = pw.in().channels();
        int total = k.tilePixels() * cout;
        w.comment(acc.name() + "[p, :] += " + in.name() + "[p, e0 : e0+" + a.reduce().count() + "] . "
                + cname(pw.weight().name()) + "[:, e0 : e0+" + a.reduce().count() + "]^T   (" + sourceName + ":"
                + a.layer().span().line() + ")");
        int d = in.halo();
        String inRow = in.name() + " + ((p / TILE_W + " + d + ") * " + upper(in) + "_W + p % TILE_W + " + d + ") * "
                + upper(in) + "_STRIDE";
        if (k.threads() % cout == 0) {
            // Thread tid owns output channel tid % COUT for pixels tid / COUT + j * (THREADS / COUT): one weight
            // load serves all of its pixels, and the warp's threads read one input pixel at a time (broadcast).
            int pixelStep = k.threads() / cout;
            w.open("");
            w.line("const int oc = tid % " + cout + ", p0 = tid / " + cout + ";");
            w.line("const " + CudaEmitter.ctype(pw.weight().dtype()) + "* wp = " + cname(pw.weight().name())
                    + " + (size_t)oc * " + cin + " + e0;");
            w.line("#pragma unroll 2");
            w.open("for (int e = 0; e < " + a.reduce().count() + "; ++e)");
            w.line("const float wv = tm_f32(wp[e]);");
            w.line("#pragma unroll");
            w.open("for (int j = 0; j < " + upper(acc) + "_PER_THREAD; ++j)");
            w.line("const int p = p0 + j * " + pixelStep + ";");
            boolean pixelGuard = k.tilePixels() % pixelStep != 0;
            String update = acc.name() + "[j] += tm_f32((" + inRow + ")[e]) * wv;";
            w.line(pixelGuard ? "if (p < " + k.tilePixels() + ") " + update : update);
            w.close();
            w.close();
            w.close();
            return;
        }
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + upper(acc) + "_PER_THREAD; ++j)");
        w.line("const int i = tid + j * THREADS;");
        boolean guard = total % k.threads() != 0;
        if (guard) w.open("if (i < " + total + ")");
        w.line("const int p = i / " + cout + ", oc = i % " + cout + ";");
        w.line("const " + CudaEmitter.ctype(in.dtype()) + "* src = " + inRow + ";");
        w.line("const " + CudaEmitter.ctype(pw.weight().dtype()) + "* wp = " + cname(pw.weight().name())
                + " + (size_t)oc * " + cin + " + e0;");
        w.line("float s = 0.0f;");
        w.line("#pragma unroll 8");
        w.line("for (int e = 0; e < " + a.reduce().count() + "; ++e) s += tm_f32(src[e]) * tm_f32(wp[e]);");
        w.line(acc.name() + "[j] += s;");
        if (guard) w.close();
        w.close();
    }

    private void finish(Instr.Finish f) {
        Layer layer = f.layer();
        Region region = new Region(0, k.tileW(), k.tilePixels(), layer.out().channels(), false);
        w.comment("epilogue of " + layer.describe() + " -> " + f.dst().name() + "   (" + sourceName + ":"
                + layer.span().line() + ")");
        if (f.dst().space() != Space.REGISTERS || f.dst().rowStride() != f.acc().rowStride()) {
            // The accumulator's element mapping is per thread; a shared destination is written element-wise
            // with the same mapping.
            if (f.dst().space() == Space.REGISTERS) {
                throw new IllegalStateException("accumulator and destination mappings differ");
            }
        }
        elementLoopPerThread(f.dst(), region, f.acc().rowStride(),
                () -> evaluate(layer, region, f.sources(), f.acc().name() + "[j]"));
    }

    private void store(Instr.Store s) {
        Buffer src = s.src();
        Activation a = block.activation(s.tensor()).orElseGet(() -> findOut(s.tensor()));
        DType dt = block.storageFor(a);
        String t = CudaEmitter.ctype(dt);
        int ch = a.channels();
        w.comment("store " + src.name() + " -> " + a.name() + "[n, h0 : h0+" + k.tileH() + ", w0 : w0+" + k.tileW()
                + ", :], masked at the image edge");
        int total = k.tilePixels() * ch;
        if (src.space() == Space.REGISTERS) {
            w.line("#pragma unroll");
            w.open("for (int j = 0; j < " + upper(src) + "_PER_THREAD; ++j)");
            w.line("const int i = tid + j * THREADS;");
            w.line("const int p = i / " + ch + ", c = i % " + ch + ";");
            w.line("const int gh = h0 + p / TILE_W, gw = w0 + p % TILE_W;");
            String cond = (total % k.threads() != 0 ? "i < " + total + " && " : "") + "gh < H && gw < W";
            w.line("if (" + cond + ") " + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + ch
                    + " + c] = tm_from_f32<" + t + ">(" + src.name() + "[j]);");
            w.close();
        } else {
            w.open("for (int i = tid; i < " + total + "; i += THREADS)");
            w.line("const int p = i / " + ch + ", c = i % " + ch + ";");
            w.line("const int gh = h0 + p / TILE_W, gw = w0 + p % TILE_W;");
            w.line("if (gh < H && gw < W) " + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + ch
                    + " + c] = tm_from_f32<" + t + ">(tm_f32(" + src.name() + "[p * " + upper(src) + "_STRIDE + c]));");
            w.close();
        }
    }

    private Activation findOut(String name) {
        for (Layer l : k.layers()) for (Op op : l.ops()) if (op.out().name().equals(name)) return op.out();
        throw new IllegalStateException("unknown tensor " + name);
    }

    // ---- element loops ------------------------------------------------------------------------------

    /** Emits the per-element work; returns the name of the f32 variable holding the result. */
    private interface Body {
        String emit();
    }

    /** A loop over every (pixel, channel) of a region, writing {@code dst}; zero outside the image. */
    private void elementLoop(Buffer dst, Region rg, Body body) {
        if (dst.space() == Space.REGISTERS) {
            elementLoopPerThread(dst, rg, dst.rowStride(), body);
            return;
        }
        int total = rg.pixels() * rg.channels();
        w.open("for (int i = tid; i < " + total + "; i += THREADS)");
        pointHeader(rg, "i");
        String t = CudaEmitter.ctype(dst.dtype());
        if (dst.space() == Space.GLOBAL) {
            w.open("if (gh < H && gw < W)");
            String result = body.emit();
            w.line(globalElement(dst) + " = tm_from_f32<" + t + ">(" + result + ");");
            w.close();
            w.close();
            return;
        }
        w.line("float v = 0.0f;");
        w.open("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
        String result = body.emit();
        w.line("v = " + result + ";");
        w.close();
        w.line(dst.name() + "[p * " + upper(dst) + "_STRIDE + c] = tm_from_f32<" + t + ">(v);");
        w.close();
    }

    /**
     * The per-thread element mapping used by register buffers: thread {@code tid} owns elements
     * {@code tid + j * THREADS}. Unrolled, so the register array is indexed by constants only.
     */
    private void elementLoopPerThread(Buffer dst, Region rg, int perThread, Body body) {
        int total = rg.pixels() * rg.channels();
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + perThread + "; ++j)");
        w.line("const int i = tid + j * THREADS;");
        boolean guard = total % k.threads() != 0;
        if (guard) w.open("if (i < " + total + ")");
        pointHeader(rg, "i");
        w.line("float v = 0.0f;");
        w.open("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
        String result = body.emit();
        w.line("v = " + result + ";");
        w.close();
        if (dst.space() == Space.REGISTERS) {
            w.line(dst.name() + "[j] = v;");
        } else {
            w.line(dst.name() + "[p * " + upper(dst) + "_STRIDE + c] = tm_from_f32<" + CudaEmitter.ctype(dst.dtype())
                    + ">(v);");
        }
        if (guard) w.close();
        w.close();
    }

    /** The global element of activation {@code dst.tensor()} at the current pixel and channel oc. */
    private String globalElement(Buffer dst) {
        Activation a = block.activation(dst.tensor()).orElseGet(() -> findOut(dst.tensor()));
        return cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + a.channels() + " + oc]";
    }

    private void pointHeader(Region rg, String index) {
        w.line("const int p = " + index + " / " + rg.channels() + ", c = " + index + " % " + rg.channels() + ";");
        w.line("const int ly = p / " + rg.side() + ", lx = p % " + rg.side() + ";");
        w.line("const int gh = h0 - " + rg.halo() + " + ly, gw = w0 - " + rg.halo() + " + lx;");
        w.line("const int oc = " + (rg.streamed() ? "e0 + c" : "c") + ";");
    }

    // ---- evaluating a layer at one (pixel, channel) -----------------------------------------------------

    /**
     * Emits the layer's ops for the current point (ly, lx, gh, gw, oc) and returns the variable holding its
     * result. {@code mainValue}, when given, is the already computed main-op result (an accumulator).
     */
    private String evaluate(Layer layer, Region rg, Map<String, Buffer> sources, String mainValue) {
        Map<String, String> locals = new HashMap<>();
        String last = null;
        for (Op op : layer.ops()) {
            String var = "v_" + op.out().name();
            if (op == layer.main() && mainValue != null) {
                w.line("float " + var + " = " + mainValue + ";");
            } else {
                switch (op) {
                    case Op.Conv2d cv -> conv(cv, var, rg, sources);
                    case Op.Pointwise pw -> pointwise(pw, var, rg, sources);
                    case Op.LayerNorm ln -> {
                        String x = read(ln.in(), "oc", rg, locals, sources);
                        String e = "(" + x + " - mean) * rstd";
                        if (ln.gamma() != null) e += " * tm_f32(" + cname(ln.gamma().name()) + "[oc])";
                        if (ln.beta() != null) e += " + tm_f32(" + cname(ln.beta().name()) + "[oc])";
                        w.line("float " + var + " = " + e + ";");
                    }
                    case Op.Activate a -> w.line("float " + var + " = " + (a.fn() == Op.ActivationFn.IDENTITY
                            ? read(a.in(), "oc", rg, locals, sources)
                            : "tm_" + a.fn().keyword + "(" + read(a.in(), "oc", rg, locals, sources) + ")") + ";");
                    case Op.Elementwise e -> w.line("float " + var + " = " + operand(e.left(), rg, locals, sources)
                            + " " + e.fn().symbol + " " + operand(e.right(), rg, locals, sources) + ";");
                }
            }
            round(op.out().dtype(), var);
            locals.put(op.out().name(), var);
            last = var;
        }
        return last;
    }

    private void round(DType dtype, String var) {
        if (dtype == DType.F16) w.line(var + " = tm_round_f16(" + var + ");");
        else if (dtype == DType.BF16) w.line(var + " = tm_round_bf16(" + var + ");");
    }

    private String operand(Operand o, Region rg, Map<String, String> locals, Map<String, Buffer> sources) {
        return switch (o) {
            case Operand.Act a -> read(a.value(), "oc", rg, locals, sources);
            case Operand.Vec v -> "tm_f32(" + cname(v.weight().name()) + "[oc])";
            case Operand.Scalar s -> CudaEmitter.floatLiteral(s.value());
        };
    }

    /** An f32 expression reading activation {@code a} at the current pixel, channel {@code ch}. */
    private String read(Activation a, String ch, Region rg, Map<String, String> locals, Map<String, Buffer> sources) {
        if (locals.containsKey(a.name())) return locals.get(a.name());
        Buffer b = sources.get(a.name());
        if (b != null && b.space() == Space.SHARED) {
            int d = b.halo() - rg.halo();
            if (d < 0) throw new IllegalStateException(b.name() + " has halo " + b.halo() + " but is read at halo " + rg.halo());
            boolean chunked = b.channels() < a.channels();
            return "tm_f32(" + b.name() + "[((ly + " + d + ") * " + upper(b) + "_W + lx + " + d + ") * " + upper(b)
                    + "_STRIDE + " + ch + (chunked ? " - e0" : "") + "])";
        }
        if (b != null) throw new IllegalStateException("register buffer " + b.name() + " read by another instruction");
        return "tm_f32(" + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + a.channels() + " + " + ch + "])";
    }

    private Buffer sourceBuffer(Activation a, Map<String, Buffer> sources, String what) {
        Buffer b = sources.get(a.name());
        if (b == null || b.space() != Space.SHARED) {
            throw new IllegalStateException(what + " input " + a.name() + " is not staged in shared memory");
        }
        return b;
    }

    private void conv(Op.Conv2d cv, String var, Region rg, Map<String, Buffer> sources) {
        Buffer b = sourceBuffer(cv.in(), sources, "conv2d");
        int off = b.halo() - rg.halo() - cv.pad();
        if (off < 0) throw new IllegalStateException("halo of " + b.name() + " too small for the conv");
        int gw = cv.groupWidth();
        int perGroupOut = cv.out().channels() / cv.groups();
        boolean chunked = b.channels() < cv.in().channels();
        String u = upper(b);
        String wt = cname(cv.weight().name());
        String bt = CudaEmitter.ctype(b.dtype());
        String wct = CudaEmitter.ctype(cv.weight().dtype());
        w.line("float " + var + " = 0.0f;");
        w.open("");
        w.line("const int g = oc / " + perGroupOut + ";  // group of this output channel");
        w.line("#pragma unroll");
        w.open("for (int ky = 0; ky < " + cv.kernel() + "; ++ky)");
        w.line("#pragma unroll");
        w.open("for (int kx = 0; kx < " + cv.kernel() + "; ++kx)");
        w.line("const " + bt + "* src = " + b.name() + " + ((ly + ky + " + off + ") * " + u + "_W + lx + kx + " + off
                + ") * " + u + "_STRIDE + g * " + gw + (chunked ? " - e0" : "") + ";");
        w.line("const " + wct + "* wp = " + wt + " + ((size_t)(oc * " + cv.kernel() + " + ky) * " + cv.kernel()
                + " + kx) * " + gw + ";");
        w.line("#pragma unroll");
        w.line("for (int ic = 0; ic < " + gw + "; ++ic) " + var + " += tm_f32(src[ic]) * tm_f32(wp[ic]);");
        w.close();
        w.close();
        w.close();
    }

    private void pointwise(Op.Pointwise pw, String var, Region rg, Map<String, Buffer> sources) {
        Buffer b = sourceBuffer(pw.in(), sources, "pointwise");
        if (b.channels() < pw.in().channels()) {
            throw new IllegalStateException("pointwise reads chunked buffer " + b.name() + " outside an accumulation");
        }
        int d = b.halo() - rg.halo();
        String u = upper(b);
        w.line("float " + var + " = 0.0f;");
        w.open("");
        w.line("const " + CudaEmitter.ctype(b.dtype()) + "* src = " + b.name() + " + ((ly + " + d + ") * " + u
                + "_W + lx + " + d + ") * " + u + "_STRIDE;");
        w.line("const " + CudaEmitter.ctype(pw.weight().dtype()) + "* wp = " + cname(pw.weight().name())
                + " + (size_t)oc * " + pw.in().channels() + ";");
        w.line("#pragma unroll 8");
        w.line("for (int ic = 0; ic < " + pw.in().channels() + "; ++ic) " + var + " += tm_f32(src[ic]) * tm_f32(wp[ic]);");
        w.close();
    }

    /** LayerNorm: one warp per pixel computes mean and variance with shuffles, then writes its channels. */
    private void layerNorm(Layer layer, Op.LayerNorm ln, Buffer dst, Region rg, Map<String, Buffer> sources) {
        int cin = ln.in().channels();
        w.open("");
        w.line("const int lane = tid & 31, warp = tid >> 5;");
        w.open("for (int p = warp; p < " + rg.pixels() + "; p += THREADS / 32)");
        w.line("const int ly = p / " + rg.side() + ", lx = p % " + rg.side() + ";");
        w.line("const int gh = h0 - " + rg.halo() + " + ly, gw = w0 - " + rg.halo() + " + lx;");
        w.line("const bool inside = gh >= 0 && gh < H && gw >= 0 && gw < W;  // the same for the whole warp");
        w.line("float mean = 0.0f, rstd = 0.0f;");
        w.open("if (inside)");
        Map<String, String> none = Map.of();
        w.line("float s = 0.0f;");
        w.line("for (int c = lane; c < " + cin + "; c += 32) s += " + read(ln.in(), "c", rg, none, sources) + ";");
        w.line("mean = tm_warp_sum(s) / " + cin + ".0f;");
        w.line("float q = 0.0f;");
        w.open("for (int c = lane; c < " + cin + "; c += 32)");
        w.line("const float d = " + read(ln.in(), "c", rg, none, sources) + " - mean;");
        w.line("q += d * d;");
        w.close();
        w.line("rstd = 1.0f / sqrtf(tm_warp_sum(q) / " + cin + ".0f + " + CudaEmitter.floatLiteral(ln.eps()) + ");");
        w.close();
        w.open("for (int c = lane; c < " + rg.channels() + "; c += 32)");
        w.line("const int oc = " + (rg.streamed() ? "e0 + c" : "c") + ";");
        w.line("float v = 0.0f;");
        w.open("if (inside)");
        String result = evaluate(layer, rg, sources, null);
        w.line("v = " + result + ";");
        w.close();
        String t = CudaEmitter.ctype(dst.dtype());
        if (dst.space() == Space.GLOBAL) {
            w.line("if (inside) " + globalElement(dst) + " = tm_from_f32<" + t + ">(v);");
        } else {
            w.line(dst.name() + "[p * " + upper(dst) + "_STRIDE + c] = tm_from_f32<" + t + ">(v);");
        }
        w.close();
        w.close();
        w.close();
    }

    static List<String> reservedNames() {
        return List.copyOf(RESERVED);
    }
}
