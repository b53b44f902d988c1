package tmc.cuda;

import java.util.ArrayList;
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
import tmc.ir.MmaTiling;

/**
 * Writes one kernel. Every tile instruction becomes a loop over the elements it produces, spread over the
 * thread block so that consecutive threads touch consecutive channels (coalesced in NHWC, and conflict-free
 * in the padded shared-memory rows).
 */
final class KernelWriter {
    /** Names the emitted code uses for its own variables; a tensor with such a name gets a suffix. */
    private static final Set<String> RESERVED = Set.copyOf(List.of("n", "h0", "w0", "tid", "i", "j", "p", "c", "oc", "ly", "lx",
            "gh", "gw", "e0", "trip", "N", "H", "W", "lane", "warp", "acc", "v", "s", "q", "d", "mean", "rstd", "inside",
            "smem", "src", "wp", "ky", "kx", "ic", "g", "e", "lane_row", "lane_col", "grp", "mt", "nb", "ni", "r",
            "k0", "img", "a", "mb", "af", "hf", "kk", "sl", "h_type", "brow2", "a0", "a1", "a2", "a3", "a0p", "a1p", "p0", "p1", "wrow", "wv", "pw", "item", "y0", "x0", "y1", "x1",
            "cin", "wg", "icr", "arow", "brow", "pa", "ya", "xa", "mi", "nj", "b", "row", "col", "wb0", "wb1", "rh", "c0", "tap", "cp", "seg", "x0", "xs", "in", "stage", "wv", "ly_c", "lx_c", "gh_c", "gw_c", "oc_c", "int", "float", "double", "char", "auto", "for", "if",
            "do", "while", "return", "const", "register", "static", "void", "switch", "case", "default", "new",
            "delete", "this", "class", "struct", "union", "template", "typename", "using", "namespace", "bool",
            "true", "false", "signed", "unsigned", "long", "short", "volatile", "sizeof", "break", "continue",
            "goto", "else", "enum", "extern", "inline", "operator", "private", "public", "protected", "virtual",
            "friend", "try", "catch", "throw", "asm", "half", "min", "max"));

    private final CodeWriter w;
    private final TypedBlock block;
    private final Kernel k;
    private final KernelSignature sig;
    private final String sourceName;

    /**
     * Accumulators written by tensor-core accumulations keep the mma fragment layout through the epilogue
     * and the store; this maps each such buffer to its tiling.
     */
    private final Map<String, MmaTiling> fragments = new HashMap<>();

    /** The buffers that hold weight slices (the destinations of weight loads): described by rows and columns. */
    private final java.util.Set<String> weightSlices;

    /**
     * Element loops into a register buffer that the next instruction only stores (an MLP block's last, elementwise
     * layer; the epilogue of an accumulator kept a value a thread, on CUDA cores): the loop stores each element
     * straight to global memory instead, and the store writes nothing. Kept in an unrolled array until the store, the
     * elements of every iteration were live at once (ptxas hoists the loads of all of them): 116 bytes spilled at 128
     * registers for a random block's 24 elements a thread, 58 registers without the array.
     */
    private final java.util.Set<Instr> storesStraight = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    /** The register buffers of {@link #storesStraight} whose store is written by the loop; those not accumulators are never declared. */
    private final java.util.Set<String> storedStraight = new java.util.HashSet<>();

    KernelWriter(CodeWriter w, TypedBlock block, Kernel k, KernelSignature sig, String sourceName) {
        this.w = w;
        this.block = block;
        this.k = k;
        this.sig = sig;
        this.sourceName = sourceName;
        this.weightSlices = Instr.weightSlices(k.body());
        accumulators(k.body(), null);
        straightStores(k.body());
        Instr.flatten(k.body()).forEach(i -> {
            if (i instanceof Instr.ImageLoop il) straightStores(il.body());
        });
    }

    /**
     * Fills {@link #storesStraight} from the element loops of {@code body} that the next instruction stores: a
     * Compute or a Finish right before it, or the last instruction of the warp-specialized side right before it (the
     * side that holds the buffer, which the store opens again).
     */
    private void straightStores(List<Instr> body) {
        for (int i = 0; i + 1 < body.size(); i++) {
            Instr last = body.get(i) instanceof Instr.Side sd && !sd.body().isEmpty() ? sd.body().getLast() : body.get(i);
            if (!(body.get(i + 1) instanceof Instr.Store st)) continue;
            Buffer dst = switch (last) {
                case Instr.Compute c when elementLoopComputes(c) -> c.dst();
                case Instr.Finish f when f.dst().rowStride() == f.acc().rowStride() -> f.dst();
                default -> null;
            };
            if (dst != null && st.src() == dst && dst.space() == Space.REGISTERS && dst.layout() != Buffer.Layout.A_FRAGMENTS
                    && !fragments.containsKey(dst.name()) && readersBesides(dst, last) == 1) {
                storesStraight.add(last);
                storedStraight.add(dst.name());
            }
        }
    }

    /** Whether {@link #compute} writes {@code c} with {@link #elementLoop} (not an mma, a blocked depthwise conv or a LayerNorm). */
    private boolean elementLoopComputes(Instr.Compute c) {
        Op main = c.layer().main();
        boolean mma = c.math() == Instr.MathPath.TENSOR_CORE && (main instanceof Op.Pointwise || main instanceof Op.Conv2d);
        boolean blocked = main instanceof Op.Conv2d conv && depthwiseBlockable(conv, c.dst(), regionOf(c), c.sources());
        return !mma && !blocked && !(main instanceof Op.LayerNorm);
    }

    /**
     * The instructions of the kernel besides {@code writer} that read buffer {@code b} (an accumulation into it reads
     * only what it writes: a Finish in place follows its accumulations).
     */
    private long readersBesides(Buffer b, Instr writer) {
        return Instr.flatten(k.body()).filter(i -> i != writer && switch (i) {
            case Instr.Compute c -> c.sources().containsValue(b);
            case Instr.Accumulate a -> a.input() == b;
            case Instr.Chain ch -> ch.producer().sources().containsValue(b) || ch.consumer().input() == b;
            case Instr.Finish f -> f.acc() == b || f.sources().containsValue(b);
            case Instr.Store st -> st.src() == b;
            default -> false;
        }).count();
    }

    /** Whether an accumulation adds into register buffer {@code b} (so it is declared even where its store is written by its Finish). */
    private boolean isAccumulated(Buffer b) {
        return Instr.flatten(k.body()).anyMatch(i -> i instanceof Instr.Accumulate a && a.acc() == b);
    }

    /** The mma tilings of the accumulators in {@code body}, dealt over the warps of {@code side} (null: the block's). */
    private void accumulators(List<Instr> body, Instr.Side side) {
        int warps = side == null ? k.warps() : side.warps();
        for (Instr i : body) {
            switch (i) {
                case Instr.Accumulate a when a.math() == Instr.MathPath.TENSOR_CORE ->
                        fragments.put(a.acc().name(), MmaTiling.of(k.tilePixels(), a.layer().out().channels(), warps));
                case Instr.Chain ch -> fragments.put(ch.consumer().acc().name(), MmaTiling.rows(k.tilePixels(),
                        ch.consumer().layer().out().channels(), warps));
                case Instr.Loop l -> accumulators(l.body(), side);
                case Instr.ImageLoop il -> accumulators(il.body(), side);
                case Instr.Side sd -> accumulators(sd.body(), sd);
                default -> { }
            }
        }
    }

    /** The side being written, or null: inside it THREADS, tid and warp count its own threads. */
    private Instr.Side side;

    /** The warps that run the instruction being written: its side's, else the block's. */
    private int warps() {
        return side == null ? k.warps() : side.warps();
    }

    /**
     * This thread's index among the threads that run the instruction being written: tid, or inside a side that does
     * not start at warp 0 its offset from the side's first thread (computed where it is used: a variable held for the
     * whole side costs the consumer a register it does not have at 128).
     */
    private String tid() {
        return side == null || side.firstWarp() == 0 ? "tid" : "(threadIdx.x - " + side.firstWarp() * 32 + ")";
    }

    /** This warp's index among the warps that run the instruction being written (see {@link #tid()}). */
    private String warp() {
        return side == null || side.firstWarp() == 0 ? "warp" : "(warp - " + side.firstWarp() + ")";
    }

    /** The threads that run the instruction being written. */
    private int threads() {
        return warps() * 32;
    }

    static String cname(String tensor) {
        boolean clash = RESERVED.contains(tensor) || tensor.endsWith("_s") || tensor.endsWith("_r") || tensor.endsWith("_buf")
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
        w.comment("At most " + k.registerLimit() + " registers per thread, so that " + k.minBlocksPerSm()
                + " block" + (k.minBlocksPerSm() == 1 ? "" : "s") + " of " + k.threads() + " threads fit an SM's registers"
                + (k.residentFixed() ? " (the plan's 'resident " + k.residentBlocks() + "'; the planner estimated "
                + k.registersPerThread() + ")." : "."));
        w.line("extern \"C\" __global__ void __launch_bounds__(" + k.threads() + ", " + k.minBlocksPerSm() + ")");
        w.open(k.name() + "(" + params + ")");
        int constantsFrom = w.mark();
        w.line("constexpr int THREADS = " + k.threads() + ";");
        w.line("constexpr int TILE_H = " + k.tileH() + ", TILE_W = " + k.tileW() + ";");
        for (Buffer b : k.buffers()) {
            int side = k.tileW() + 2 * b.halo();
            if (b.space() == Space.GLOBAL) continue;
            if (b.space() == Space.SHARED && weightSlices.contains(b.name())) {
                // a weight slice has rows of the weight, not pixels of the tile
                w.line("constexpr int " + upper(b) + "_ROWS = " + b.pixels() + ", " + upper(b) + "_STRIDE = "
                        + b.rowStride() + ";");
                if (b.stages() == 2) {
                    w.line("constexpr int " + upper(b) + "_COPY = " + b.stageBytes() / b.dtype().bytes
                            + ";  // elements per copy of the double buffer");
                }
            } else if (b.space() == Space.SHARED) {
                w.line("constexpr int " + upper(b) + "_W = " + side + ", " + upper(b) + "_PIXELS = " + b.pixels()
                        + ", " + upper(b) + "_STRIDE = " + b.rowStride() + ";");
                if (b.stages() == 2) {
                    w.line("constexpr int " + upper(b) + "_COPY = " + b.stageBytes() / b.dtype().bytes
                            + ";  // elements per copy of the double buffer");
                }
            } else if (b.layout() == Buffer.Layout.A_FRAGMENTS) {
                continue;  // declared as [k16 steps][4] below
            } else if (fragments.containsKey(b.name())) {
                MmaTiling f = fragments.get(b.name());
                w.line("constexpr int " + upper(b) + "_BLOCKS_PER_WARP = " + f.perWarp() + ";  // mma fragments: " + f.mt()
                        + "x" + f.nt() + " m16n8 tiles in blocks of " + f.wm() + "x" + f.wn());
            } else if (!storedStraight.contains(b.name()) || isAccumulated(b)) {
                w.line("constexpr int " + upper(b) + "_PER_THREAD = " + b.rowStride() + ";");
            }
        }
        int constantsTo = w.mark();
        w.line("(void)N;");
        if (k.tileN() == 1) w.line("const int n = blockIdx.z;");
        w.line("const int h0 = blockIdx.y * TILE_H;");
        w.line("const int w0 = blockIdx.x * TILE_W;");
        w.line("const int tid = threadIdx.x;");
        if (usesMma(k.body()) || !k.sides().isEmpty()) {
            w.line("const int warp = tid >> 5, lane = tid & 31;");
            w.line("const int lane_row = lane >> 2, lane_col = lane & 3;  // mma fragment coordinates");
        }
        long end = 0;
        boolean anyShared = k.buffers().stream().anyMatch(b -> b.space() == Space.SHARED);
        if (anyShared) w.line("extern __shared__ __align__(16) unsigned char smem[];");
        if (k.sharesSharedMemory()) {
            w.comment("buffers that are never live at the same time share bytes (a barrier lies between the last use of one and the first of the other)");
        }
        for (Buffer b : k.buffers()) {
            String t = CudaEmitter.ctype(b.dtype());
            if (b.space() == Space.GLOBAL) continue;
            if (b.space() == Space.SHARED) {
                long offset = k.sharedOffset(b);
                if (b.stages() == 2) {
                    // The loop declares b.name() as the copy of the current chunk (see loop()).
                    w.line(t + "* " + b.name() + "_buf = reinterpret_cast<" + t + "*>(smem + " + offset + ");  // "
                            + b.tensor() + ": 2 copies of " + b.pixels() + (weightSlices.contains(b.name()) ? " rows x "
                            + b.channels() + " columns" : " pixels x " + b.channels() + " channels")
                            + (b.layout() == Buffer.Layout.CORE_MATRICES ? " (8x8 core matrices for wgmma)"
                            : rowPadding(b))
                            + ", " + b.stageBytes() + " B each, " + b.bytes() + " B"
                            + (b.origin().isReal() ? " (line " + b.origin().line() + ")" : "") + sharedWith(b));
                } else {
                    w.line(t + "* " + b.name() + " = reinterpret_cast<" + t + "*>(smem + " + offset + ");  // "
                            + describe(b) + sharedWith(b));
                }
                end = Math.max(end, offset + b.bytes());
            } else if (k.tileN() == 1) {
                declareRegisters(b);
            }
        }
        if (end != k.sharedBytes()) {
            throw new IllegalStateException(k.name() + ": shared buffers end at " + end + " B, the plan says " + k.sharedBytes());
        }
        w.line();
        for (Instr i : k.body()) instr(i);
        w.dropUnusedConstants(constantsFrom, constantsTo);
        w.close();
        w.line();
        // The last line of defence against a lowering bug that would emit a race, after the loops' own checks (which
        // say more precisely what broke): a kernel that writes and reads the same shared bytes without a barrier
        // between (tmc.ir.SharedRaces) is an internal error, never emitted.
        List<String> races = tmc.ir.SharedRaces.of(k);
        if (!races.isEmpty()) {
            throw new IllegalStateException(k.name() + ": shared-memory race in the lowered kernel: " + races.getFirst()
                    + (races.size() > 1 ? " (and " + (races.size() - 1) + " more)" : ""));
        }
    }

    private String describe(Buffer b) {
        String where = b.origin().isReal() ? " (line " + b.origin().line() + ")" : "";
        if (b.space() == Space.REGISTERS) {
            return b.tensor() + ": " + b.pixels() + " pixels x " + b.channels() + " channels, " + b.rowStride()
                    + " per thread" + where;
        }
        if (b.layout() == Buffer.Layout.CORE_MATRICES) {
            return b.tensor() + ": " + b.pixels() + "x" + b.channels() + " in 8x8 core matrices for wgmma, " + b.bytes() + " B" + where;
        }
        if (weightSlices.contains(b.name())) {
            // a weight slice has rows and columns, not pixels: rows of the weight matrix (a chunk of a streamed
            // dimension, or all of it), each padded to rowStride elements against bank conflicts
            return b.tensor() + ": " + b.pixels() + " rows x " + b.channels() + " columns" + rowPadding(b) + ", "
                    + b.bytes() + " B" + where;
        }
        int side = k.tileW() + 2 * b.halo();
        int rows = b.pixels() / side;
        return b.tensor() + ": " + rows + "x" + side + " pixels" + (b.halo() > 0 ? " (halo " + b.halo() + ")" : "")
                + " x " + b.channels() + " channels, " + b.bytes() + " B" + where;
    }

    /** " (rows padded to 72)" when a buffer's rows are padded against bank conflicts, else nothing. */
    private static String rowPadding(Buffer b) {
        return b.rowStride() != b.channels() ? " (rows padded to " + b.rowStride() + ")" : "";
    }

    private void header() {
        StringBuilder s = new StringBuilder();
        s.append("Kernel ").append(k.name()).append("\n");
        s.append("  grid (ceil(W / ").append(k.tileW()).append("), ceil(H / ").append(k.tileH()).append("), ")
                .append(k.tileN() == 1 ? "N" : "ceil(N / " + k.tileN() + ")").append("),  ")
                .append(k.threads()).append(" threads (").append(k.warps()).append(" warps").append(k.sidesSummary()).append("),  ")
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
            case Instr.LoadWeight lw -> loadWeight(lw);
            case Instr.Compute c when storesStraight.contains(c) -> computeStoredStraight(c);
            case Instr.Compute c -> compute(c);
            case Instr.Store st when storedStraight.contains(st.src().name()) -> { }  // the element loop stored it
            case Instr.Accumulate a -> accumulate(a);
            case Instr.Chain ch -> chain(ch);
            case Instr.Finish f when storesStraight.contains(f) -> finishStoredStraight(f);
            case Instr.Finish f -> finish(f);
            case Instr.Store s -> store(s);
            case Instr.Loop l -> loop(l);
            case Instr.ImageLoop il -> imageLoop(il);
            case Instr.Barrier b -> {
                // wgmma reads shared memory through the async proxy: what this thread wrote before the barrier
                // (cp.async copies it waited for, plain stores) is visible to it only after this fence.
                if (k.usesWgmma()) w.line("tm_fence_proxy_async();");
                w.line("__syncthreads();");
            }
            case Instr.Side sd -> {
                openSide(sd);
                for (Instr x : sd.body()) instr(x);
                closeSide();
            }
            case Instr.SideBarrier b -> w.line("asm volatile(\"bar.sync " + b.id() + ", " + b.threads()
                    + ";\" ::: \"memory\");  // this side's " + b.threads() / 32 + " warps only (named barrier " + b.id() + ")");
            case Instr.AsyncCommit ac -> w.line("tm_cp_async_commit();");
            case Instr.AsyncWait aw -> {
                if (loop == null && inImages) {
                    w.line("tm_cp_async_wait<" + aw.pending() + ">();  // this image's tile has landed; only the next "
                            + "image's may still be in flight");
                } else if (loop == null) {
                    w.line("tm_cp_async_wait<" + aw.pending() + ">();  // " + (aw.pending() == 1
                            ? "all but the newest group (chunk 0's slices) have landed" : aw.pending() == 0
                            ? "every copy has landed" : "all but the newest " + aw.pending() + " groups have landed"));
                } else if (aw.pending() == 0 && lateIssue) {
                    w.line("tm_cp_async_wait<0>();  // chunk e0 has landed (its copies were the only ones in flight)");
                } else if (aw.pending() == 0) {
                    w.line("tm_cp_async_wait<0>();  // every refill this thread issued has landed");
                } else {
                    w.line("tm_cp_async_wait<" + aw.pending() + ">();  // chunk e0 has landed; only chunk e0+" + loop.chunk()
                            + "'s group may still be in flight");
                }
            }
        }
    }

    /** A register buffer's declaration; accumulators start at zero. */
    private void declareRegisters(Buffer b) {
        if (storedStraight.contains(b.name()) && !isAccumulated(b)) return;
        if (b.layout() == Buffer.Layout.A_FRAGMENTS) {
            w.line("unsigned " + b.name() + "[" + b.channels() / 16 + "][4];  // " + b.tensor() + ": the A fragments of the warp's "
                    + "16 pixels, " + b.channels() + " channels, two packed " + b.dtype().keyword + " per register"
                    + (b.origin().isReal() ? " (line " + b.origin().line() + ")" : ""));
            return;
        }
        if (fragments.containsKey(b.name())) {
            MmaTiling f = fragments.get(b.name());
            w.line("float " + b.name() + "[" + upper(b) + "_BLOCKS_PER_WARP][" + f.wm() + "][" + f.wn() + "][4] = {};  // "
                    + describe(b));
            return;
        }
        String init = b.name().endsWith("_acc") ? " = {}" : "";
        w.line("float " + b.name() + "[" + upper(b) + "_PER_THREAD]" + init + ";  // " + describe(b));
    }

    /** The images of a tile-N block, one after another (Instr.ImageLoop); register buffers start afresh for each. */
    private void imageLoop(Instr.ImageLoop il) {
        w.comment("images blockIdx.z * " + il.images() + " .. + " + (il.images() - 1) + ", one after another: the weights "
                + "staged above serve them all");
        w.line("#pragma unroll 1");
        w.open("for (int img = 0; img < " + il.images() + "; ++img)");
        w.line("const int n = blockIdx.z * " + il.images() + " + img;");
        w.line("if (n >= N) break;  // the last block's images past the batch");
        for (Buffer b : k.buffers()) {
            if (b.space() == Space.SHARED && b.stages() == 2 && block.activation(b.tensor()).isPresent()) {
                String t = CudaEmitter.ctype(b.dtype());
                w.line(t + "* const " + b.name() + " = " + b.name() + "_buf + (img & 1) * " + upper(b)
                        + "_COPY;  // this image's copy; the next image's goes to the other");
            }
        }
        for (Buffer b : k.buffers()) if (b.space() == Space.REGISTERS) declareRegisters(b);
        inImages = true;
        for (Instr i : il.body()) instr(i);
        inImages = false;
        w.close();
    }

    /** Whether the instructions being written are inside the image loop of a tile-N block. */
    private boolean inImages;

    /** The loop being written, or null. */
    private Instr.Loop loop;

    /*
     * Double buffering of the weight slices of a streamed loop (cp.async). Who reads and writes each copy:
     *
     *   before the loop    issue chunk 0 into copy 0; commit; wait_group 1 (only chunk 0 may still be in flight);
     *                      __syncthreads() (the tile and the unstreamed weights are visible)
     *   trip j (chunk e0)  stage = j % 2
     *                      issue chunk j+1 into copy stage ^ 1 (if there is a chunk j+1); commit (possibly empty)
     *                      wait_group 1: this thread's copies of chunk j have landed (only chunk j+1's may not)
     *                      __syncthreads()  [A]: every thread's copies of chunk j are visible to every thread
     *                      ... layers read copy stage ...
     *                      __syncthreads()  [Z]: the trip's last instruction
     *
     * The writes of trip j go to copy (j+1) % 2 = (j-1) % 2, which trip j-1 read. A thread issues them only after
     * passing [Z] of trip j-1, which no thread passes before every thread has finished trip j-1, so no read of that
     * copy is outstanding. Trip 0 writes copy 1, which nobody read before. The reads of trip j come after [A], and
     * every thread waited for its own copies of chunk j before reaching [A]. The zero padding of the tile and the
     * synchronous copies (tap-major conv weights) are plain stores, visible after the same barriers. So loop()
     * insists on [Z] and on a wait and a barrier before the first instruction that computes.
     *
     * The late-issue form (tmc.plan.TripBarriers), where a trip has no other copies:
     *
     *   trip j (chunk e0)  wait_group 0: this thread's copies of chunk j have landed (they were the only ones in flight)
     *                      __syncthreads()  [A]: they are visible, and every thread has finished trip j-1
     *                      issue chunk j+1 into copy stage ^ 1 (if there is a chunk j+1); commit
     *                      ... layers read copy stage ...
     *   after the loop     __syncthreads(): what [Z] gave the last trip, for the epilogue
     *
     * The copies of trip j come after [A] of trip j, which no thread passes before every thread has finished trip j-1:
     * the copy they overwrite has no read outstanding, without [Z]. So loop() insists, in this form, on the wait and
     * the barrier before the copies, and on no copy after them.
     */
    private void loop(Instr.Loop l) {
        if (!l.sides().isEmpty()) {
            specializedLoop(l);
            return;
        }
        // The double-buffered weight slices this loop copies (a double-buffered input tile belongs to the images).
        java.util.Set<String> sliced = new java.util.HashSet<>();
        for (Instr i : l.body()) if (i instanceof Instr.LoadWeight lw) sliced.add(lw.dst().name());
        List<Buffer> doubled = k.buffers().stream().filter(b -> b.stages() == 2 && sliced.contains(b.name())).toList();
        boolean prefetches = l.body().stream().anyMatch(KernelWriter::isPrefetch);
        // Prefetches into single buffers are refills during the phases that do not read them (tmc.plan.SliceRefill).
        boolean refills = prefetches && doubled.isEmpty();
        boolean late = prefetches && !refills && l.body().getFirst() instanceof Instr.AsyncWait w0 && w0.pending() == 0;
        if (refills) checkRefills(l);
        else if (late) checkLateIssue(l);
        else if (prefetches) checkPipeline(l);
        hoistRowMasks(l.body());
        w.comment("stream " + l.dim() + " in " + l.trips() + " chunks of " + l.chunk()
                + (l.note() == null ? "" : "\n" + l.note()));
        w.line("#pragma unroll 1");
        w.open("for (int e0 = 0; e0 < " + l.extent() + "; e0 += " + l.chunk() + ")");
        loop = l;
        lateIssue = late;
        if (prefetches && !refills) {
            w.line("const int stage = (e0 / " + l.chunk() + ") & 1;  // the copy that holds chunk e0; chunk e0+" + l.chunk()
                    + " goes to copy stage ^ 1");
        }
        int copiesAt = w.mark();  // the pointers to this trip's copies, declared there once the trip shows which it uses
        if (late) firstChain(l.body()).ifPresent(this::loadBiasAhead);
        tripBody(l, l.body(), refills
                ? "refill for chunk e0+" + l.chunk() + ": this trip's last read of the slice came before the barrier above; the copy\n"
                + "lands while the phases that do not read it compute, and is waited for before the next barrier"
                : late
                ? "prefetch chunk e0+" + l.chunk() + " while computing chunk e0: the copy it overwrites was last read in the\n"
                + "previous trip, which every thread finished before the barrier above (so no barrier ends a trip)"
                : "prefetch chunk e0+" + l.chunk() + " while computing chunk e0: the copy it overwrites was last read\n"
                + "in the previous trip, before the barrier that ended it");
        // Not for the data (no other warp's writes are waited for): without a fence at the end of the trip ptxas moves
        // work across it and needs more registers (ConvFirst 'rows' on sm_90: 128 and 20 bytes spilled, against 123
        // and none with it, and 125 with the barrier this form saves).
        if (late) w.line("__syncwarp();  // keeps ptxas from scheduling across trips (registers; see KernelWriter.loop)");
        if (prefetches && !refills) {
            for (Buffer b : doubled.reversed()) {
                if (!w.usedSince(copiesAt, b.name())) continue;
                String t = CudaEmitter.ctype(b.dtype());
                w.insertAt(copiesAt, t + "* const " + b.name() + " = " + b.name() + "_buf + stage * " + upper(b) + "_COPY;");
            }
        }
        loop = null;
        lateIssue = false;
        biasAhead.clear();
        w.close();
    }

    /**
     * The register chain a trip computes first, right after its barrier and the copies it issues: the one whose bias
     * loadBiasAhead loads. A chain after another phase is left alone (its bias would hold registers through that phase:
     * MBConv's and MBConvDW's 'rows' spilled 16 bytes at 128 registers).
     */
    private static java.util.Optional<Instr.Chain> firstChain(List<Instr> body) {
        boolean barrier = false;
        for (Instr i : body) {
            switch (i) {
                case Instr.Barrier b -> barrier = true;
                case Instr.AsyncWait aw -> { }
                case Instr.AsyncCommit ac -> { }
                case Instr.LoadWeight lw -> { }
                case Instr.Load ld when ld.beforeLastTrip() -> { }
                case Instr.Chain ch -> { return barrier ? java.util.Optional.of(ch) : java.util.Optional.empty(); }
                default -> { return java.util.Optional.empty(); }
            }
        }
        return java.util.Optional.empty();
    }

    /** A register chain's producer bias, loaded for the whole chunk before the trip's barrier (see loadBiasAhead). */
    private record BiasAhead(String name, int slices) { }

    /** The chains of the loop being written whose bias is loaded ahead, and the array that holds it. */
    private final Map<Instr.Chain, BiasAhead> biasAhead = new HashMap<>();

    /**
     * Loads chunk e0's producer bias of a register chain into registers before the trip's wait and barrier, where the
     * chain would load each slice's after them and its first mma would wait for the load: the latency passes during the
     * barrier. Only where the slices are unrolled (the array is indexed by constants) and the bias starts the
     * accumulators. Measured on the H100 (22nd session, hand-edited): ConvNeXt and ConvFirst 'rows' at C = 64 1.011x
     * each.
     */
    private void loadBiasAhead(Instr.Chain ch) {
        Instr.Compute prod = ch.producer();
        int chunk = prod.out().count();
        int width = ch.sliceWidth();
        if (chunk > 2 * width || (k.usesWgmma() && ch.producerOnWgmma())) return;  // rolled slices; no bias start
        // Not under a register cap the plan forced ('resident'): ConvFirst's 'rows' at 3 blocks spilled 120 bytes
        // with the bias held through the barrier, against 8 without. Nor at one block per SM, where it was slower
        // (ConvFirst 'rows' at C = 128: 0.985x, 22nd session).
        if (k.residentFixed() || k.minBlocksPerSm() < 2) return;
        Op.Elementwise bias = foldableBias(prod.layer());
        if (bias == null) return;
        BiasAhead ba = new BiasAhead(cname(biasOf(bias).name()) + "_ahead", chunk / width);
        int tiles = 2 * ch.group();
        w.line("float2 " + ba.name() + "[" + ba.slices() + "][" + tiles + "];  // chunk e0's " + cname(biasOf(bias).name())
                + " for the chain's slices, loaded before the barrier: its latency passes there");
        w.line("#pragma unroll");
        w.open("for (int s = 0; s < " + ba.slices() + "; ++s)");
        w.line("#pragma unroll");
        w.line("for (int nj = 0; nj < " + tiles + "; ++nj) " + ba.name() + "[s][nj] = "
                + biasPair(bias, "e0 + s * " + width + " + ", "nj") + ";");
        w.close();
        biasAhead.put(ch, ba);
    }

    /** Whether the loop being written issues its next chunk's copies after its first barrier (see loop()). */
    private boolean lateIssue;

    /**
     * The instructions of one trip of {@code l}; each run of copies of the next chunk's slices goes under one
     * {@code if (e0 + chunk < extent)} (there is no chunk after the last), with {@code why} above it.
     */
    private void tripBody(Instr.Loop l, List<Instr> body, String why) {
        for (int i = 0; i < body.size(); i++) {
            if (!isPrefetch(body.get(i))) {
                instr(body.get(i));
                continue;
            }
            w.comment(why);
            w.open("if (e0 + " + l.chunk() + " < " + l.extent() + ")");
            for (; i < body.size() && isPrefetch(body.get(i)); i++) instr(body.get(i));
            i--;
            w.close();
        }
    }

    /*
     * A warp-specialized stream loop (tmc.plan.WarpSpecialization). Each side runs the loop on its own warps: trip t of
     * chunks + lag, it works on chunk t - lag when that is a chunk (its refills come after its own named barrier), then
     * waits for its copies and meets the other side at the block barrier that ends the trip. The loop is written once
     * per side, not once with a branch per side inside: ptxas then allocates each side's registers apart (one loop with
     * both sides spilled at 128 registers, MBConv at C = 128). Both sides reach the trip's barrier at different
     * instructions, so it is PTX's unaligned barrier.sync 0, not __syncthreads() (bar.sync, which expects every thread
     * at the same instruction). No block barrier may appear inside a side's work: the other side would never reach it.
     */
    private void specializedLoop(Instr.Loop l) {
        checkSides(l);
        int trips = l.trips() + l.lag();
        List<Instr> body = l.body();
        List<Instr> tripEnd = body.stream().filter(i -> !(i instanceof Instr.Side)).toList();
        w.comment("stream " + l.dim() + " in " + l.trips() + " chunks of " + l.chunk() + ", " + trips + " trips"
                + (l.note() == null ? "" : "\n" + l.note()));
        loop = l;
        List<Instr.Side> sides = l.sides();
        for (int s = 0; s < sides.size(); s++) {
            Instr.Side sd = sides.get(s);
            int end = sd.firstWarp() + sd.warps();
            String open = s == sides.size() - 1 ? "else" : "if (warp < " + end + ")";
            if (s == 0) w.open(open);
            else w.reopen(open);
            sideHeader(sd);
            side = sd;
            hoistRowMasks(sd.body());
            side = null;
            String chunk = sd.lag() == 0 ? "trip" : "trip - " + sd.lag();
            w.line("#pragma unroll 1");
            w.open("for (int trip = 0; trip < " + trips + "; ++trip)");
            List<String> when = new ArrayList<>();
            if (sd.lag() > 0) when.add("trip >= " + sd.lag());
            if (sd.lag() < l.lag()) when.add(chunk + " < " + l.trips());
            w.open(when.isEmpty() ? "" : "if (" + String.join(" && ", when) + ")");
            String chunkTerm = sd.lag() == 0 ? chunk : "(" + chunk + ")";
            w.line("const int e0 = " + chunkTerm + " * " + l.chunk() + ";");
            for (Buffer b : k.buffers()) {
                if (b.space() == Space.SHARED && b.stages() == 2 && !weightSlices.contains(b.name())
                        && sd.body().stream().anyMatch(x -> Instr.touched(x, List.of(b)).contains(b))) {
                    String t = CudaEmitter.ctype(b.dtype());
                    w.line(t + "* const " + b.name() + " = " + b.name() + "_buf + (" + chunkTerm + " & 1) * " + upper(b)
                            + "_COPY;  // chunk e0's copy");
                }
            }
            side = sd;
            tripBody(l, sd.body(), "refill for chunk e0+" + l.chunk() + ": the barrier above ended this side's last read "
                    + "of the slice; the copy lands\nbefore the block's barrier at the end of the trip");
            side = null;
            w.close();
            for (Instr i : tripEnd) {
                if (i instanceof Instr.Barrier) {
                    w.line("asm volatile(\"barrier.sync 0;\" ::: \"memory\");  // the trip's end for the whole block; the "
                            + "other side meets it in its own loop");
                } else {
                    instr(i);
                }
            }
            w.close();
        }
        w.close();
        loop = null;
    }

    /** The comment and THREADS at the top of a side's block. */
    private void sideHeader(Instr.Side sd) {
        w.line("// " + sd.role() + ": warps " + sd.firstWarp() + "-" + (sd.firstWarp() + sd.warps() - 1)
                + "; THREADS is this side's threads" + (sd.firstWarp() > 0 ? ", numbered from threadIdx.x "
                + sd.firstWarp() * 32 : ""));
        w.line("constexpr int THREADS = " + sd.threads() + ";");
    }

    /**
     * Opens the block that only {@code sd}'s warps run (after the loop: the accumulators' owners), and THREADS there
     * counts the side's threads, so that every instruction deals its work over them (see {@link #tid()}).
     */
    private void openSide(Instr.Side sd) {
        int end = sd.firstWarp() + sd.warps();
        List<String> cond = new ArrayList<>();
        if (sd.firstWarp() > 0) cond.add("warp >= " + sd.firstWarp());
        if (end < k.warps()) cond.add("warp < " + end);
        w.open(cond.isEmpty() ? "" : "if (" + String.join(" && ", cond) + ")");
        sideHeader(sd);
        side = sd;
    }

    private void closeSide() {
        side = null;
        w.close();
    }

    /** What specializedLoop relies on; a lowering that breaks it is a bug (a deadlock or a race, not a slow kernel). */
    private void checkSides(Instr.Loop l) {
        List<Instr> body = l.body();
        if (!(body.getLast() instanceof Instr.Barrier)) {
            throw new IllegalStateException(k.name() + ": a warp-specialized loop must end with the block's barrier");
        }
        boolean refills = false;
        for (Instr i : body) {
            if (!(i instanceof Instr.Side sd)) continue;
            boolean ownBarrier = false;
            for (Instr x : sd.body()) {
                if (Instr.flatten(List.of(x)).anyMatch(y -> y instanceof Instr.Barrier)) {
                    throw new IllegalStateException(k.name() + ": a block barrier inside the " + sd.role() + " side");
                }
                if (x instanceof Instr.SideBarrier) ownBarrier = true;
                if (isPrefetch(x)) {
                    if (!ownBarrier) throw new IllegalStateException(k.name() + ": a refill before its side's barrier");
                    refills |= ((Instr.LoadWeight) x).async();
                }
            }
        }
        if (refills && !(body.get(body.size() - 2) instanceof Instr.AsyncWait w0 && w0.pending() == 0)) {
            throw new IllegalStateException(k.name() + ": the block barrier after the sides' refills without a wait for them");
        }
    }

    private static boolean isPrefetch(Instr i) {
        return i instanceof Instr.LoadWeight lw && lw.streamed() != null && lw.streamed().start() > 0;
    }

    /**
     * The discipline of refilled single buffers (tmc.plan.SliceRefill), a lowering that breaks it is a bug: the loop
     * ends with a barrier, a wait for every copy precedes each barrier, and no instruction between two barriers both
     * reads a buffer and refills it (the refill must come after the barrier that ends the trip's last read, and land
     * before the next barrier, after which the next chunk's first reader runs).
     */
    private void checkRefills(Instr.Loop l) {
        List<Instr> body = l.body();
        List<Instr> tail = body.subList(body.size() - body.reversed().stream()
                .takeWhile(i -> isPrefetch(i) || i instanceof Instr.AsyncCommit).toList().size(), body.size());
        if (body.size() == tail.size() || !(body.get(body.size() - tail.size() - 1) instanceof Instr.Barrier)) {
            throw new IllegalStateException(k.name() + ": a loop with refilled slices must end with a barrier (and refills)");
        }
        List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
        java.util.Set<Buffer> refilled = new java.util.HashSet<>();
        java.util.Set<Buffer> read = new java.util.HashSet<>();
        boolean copying = false;  // a cp.async refill since the last barrier (plain stores need no wait)
        Instr previous = null;
        // Two trips in a row: the refills after the last barrier are read in the next trip.
        List<Instr> twoTrips = new ArrayList<>(body);
        twoTrips.addAll(body);
        for (Instr i : twoTrips) {
            if (i instanceof Instr.Barrier) {
                if (copying && !(previous instanceof Instr.AsyncWait w && w.pending() == 0)) {
                    throw new IllegalStateException(k.name() + ": a barrier after a refill without a wait for it");
                }
                refilled.clear();
                read.clear();
                copying = false;
            } else if (isPrefetch(i)) {
                refilled.add(((Instr.LoadWeight) i).dst());
                copying |= ((Instr.LoadWeight) i).async();
            } else if (!(i instanceof Instr.AsyncCommit || i instanceof Instr.AsyncWait)) {
                read.addAll(Instr.touched(i, shared));
            }
            for (Buffer b : refilled) {
                if (read.contains(b)) {
                    throw new IllegalStateException(k.name() + ": " + b.name() + " is refilled and read between the same barriers");
                }
            }
            previous = i;
        }
    }

    /**
     * The late-issue form's shape (the comment above loop()), which its comments describe; a lowering that breaks it
     * is a bug. Where its writes are seen (a plain copy read only after a barrier, the barrier after the loop) is the
     * race check's at the end of {@link #write}.
     */
    private void checkLateIssue(Instr.Loop l) {
        List<Instr> body = l.body();
        if (body.size() < 3 || !(body.get(1) instanceof Instr.Barrier) || !isPrefetch(body.get(2))) {
            throw new IllegalStateException(k.name() + ": a late-issue loop must wait, meet at a barrier, then copy");
        }
        // the next chunk's cp.async copies, commit, this chunk's plain copies, work
        boolean committed = false;
        boolean working = false;
        for (Instr i : body.subList(2, body.size())) {
            boolean forEpilogue = i instanceof Instr.Load ld && ld.beforeLastTrip() && ld.async();
            if (forEpilogue || isPrefetch(i) && !(i instanceof Instr.LoadWeight lw && !lw.async())) {
                if (committed) throw new IllegalStateException(k.name() + ": a late-issue loop copies after its commit");
            } else if (i instanceof Instr.AsyncCommit && !committed) {
                committed = true;
            } else if (i instanceof Instr.LoadWeight lw && !lw.async() && committed && !working) {
                continue;
            } else if (i instanceof Instr.LoadWeight || i instanceof Instr.Load || i instanceof Instr.AsyncWait
                    || i instanceof Instr.AsyncCommit) {
                throw new IllegalStateException(k.name() + ": a late-issue loop with another copy or wait in its trip");
            } else {
                working = true;
            }
        }
    }

    /** The barrier discipline the comment above loop() relies on; a lowering that breaks it is a bug. */
    private void checkPipeline(Instr.Loop l) {
        List<Instr> body = l.body();
        if (!(body.getLast() instanceof Instr.Barrier)) {
            throw new IllegalStateException(k.name() + ": a double-buffered loop must end with a barrier");
        }
        boolean waited = false;
        boolean synced = false;
        for (Instr i : body) {
            if (i instanceof Instr.AsyncWait) waited = true;
            else if (i instanceof Instr.Barrier && waited) synced = true;
            else if ((i instanceof Instr.Compute || i instanceof Instr.Accumulate || i instanceof Instr.Chain
                    || i instanceof Instr.Finish) && !synced) {
                throw new IllegalStateException(k.name() + ": a double-buffered loop computes before wait and barrier");
            } else if (isPrefetch(i) && waited) {
                throw new IllegalStateException(k.name() + ": prefetch after the wait of its trip");
            }
        }
    }

    private void load(Instr.Load l) {
        if (l.beforeLastTrip()) {
            if (loop == null || !l.async()) throw new IllegalStateException(k.name() + ": a copy for the epilogue must be async, in a loop");
            w.comment("for the epilogue after the loop, in the trip before the last: it lands with the last chunk's copies");
            w.open("if (e0 + " + 2 * loop.chunk() + " == " + loop.extent() + ")");
            load(new Instr.Load(l.dst(), l.tensor(), true));
            w.close();
            return;
        }
        Buffer b = l.dst();
        Activation a = block.activation(l.tensor()).orElseThrow();
        int r = b.halo();
        int vec = 16 / b.dtype().bytes;
        String t = CudaEmitter.ctype(b.dtype());
        String g = cname(a.name());
        // Which image, into which copy (Instr.Load.Image): a tile-N block's first image goes to copy 0 before its
        // image loop; the next image to the copy the current one is not read from.
        String which = switch (l.image()) {
            case THIS -> "n";
            case FIRST -> "blockIdx.z * " + k.tileN();
            case NEXT -> "n + 1";
        };
        String image = l.image() == Instr.Load.Image.THIS ? which : "(" + which + ")";
        w.comment("load " + a.name() + "[" + which + ", h0" + (r > 0 ? "-" + r : "") + " : h0+" + (k.tileH() + r) + ", w0"
                + (r > 0 ? "-" + r : "") + " : w0+" + (k.tileW() + r) + ", :] -> " + b.name()
                + ", zero outside the image");
        String u = upper(b);
        String dst = switch (l.image()) {
            case THIS -> b.name();
            case FIRST -> b.name() + "_buf";
            case NEXT -> "(" + b.name() + "_buf + ((img + 1) & 1) * " + u + "_COPY)";
        };
        if (l.image() == Instr.Load.Image.NEXT) {
            w.comment("(the next image of this block, into the other copy, while this one is computed)");
            w.open("if (img + 1 < " + k.tileN() + " && n + 1 < N)");
        } else if (l.image() == Instr.Load.Image.FIRST) {
            w.comment("(the block's first image, into copy 0)");
        }
        if (l.async() && a.channels() % vec == 0) {
            int groups = a.channels() / vec;
            w.comment("(cp.async, 16 B per copy; complete after the wait and barrier below)");
            w.open("for (int i = " + tid() + "; i < " + u + "_PIXELS * " + groups + "; i += THREADS)");
            w.line("const int p = i / " + groups + ", c = (i % " + groups + ") * " + vec + ";");
            w.line("const int gh = h0 - " + r + " + p / " + u + "_W, gw = w0 - " + r + " + p % " + u + "_W;");
            w.line("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
            w.line("    tm_cp_async16(" + dst + " + p * " + u + "_STRIDE + c, " + g + " + ((size_t)(" + image
                    + " * H + gh) * W + gw) * " + a.channels() + " + c);");
            w.line("else  // zero padding: a plain store, visible after the same barrier");
            w.line("    *reinterpret_cast<uint4*>(" + dst + " + p * " + u + "_STRIDE + c) = make_uint4(0u, 0u, 0u, 0u);");
            w.close();
            if (l.image() == Instr.Load.Image.NEXT) w.close();
        } else if (l.image() != Instr.Load.Image.THIS) {
            throw new IllegalStateException("load of " + a.name() + " for another image must be a cp.async of 16-byte runs");
        } else if (l.async()) {
            throw new IllegalStateException("async load of " + a.name() + ": " + a.channels() + " channels are not 16-byte runs");
        } else if (a.channels() % vec == 0) {
            int groups = a.channels() / vec;
            w.open("for (int i = " + tid() + "; i < " + u + "_PIXELS * " + groups + "; i += THREADS)");
            w.line("const int p = i / " + groups + ", c = (i % " + groups + ") * " + vec + ";");
            w.line("const int gh = h0 - " + r + " + p / " + u + "_W, gw = w0 - " + r + " + p % " + u + "_W;");
            w.line("uint4 v = make_uint4(0u, 0u, 0u, 0u);");
            w.line("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
            w.line("    v = *reinterpret_cast<const uint4*>(" + g + " + ((size_t)(n * H + gh) * W + gw) * "
                    + a.channels() + " + c);");
            w.line("*reinterpret_cast<uint4*>(" + b.name() + " + p * " + u + "_STRIDE + c) = v;");
            w.close();
        } else {
            w.open("for (int i = " + tid() + "; i < " + u + "_PIXELS * " + a.channels() + "; i += THREADS)");
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

    /** The masks hoistRowMasks wrote, by the Compute whose epilogue reads them: the variable's name. */
    private final Map<Instr.Compute, String> rowMasks = new java.util.IdentityHashMap<>();

    /**
     * Before a stream loop: for each tensor-core pointwise layer in {@code body} whose epilogue writes a staged
     * buffer (zero outside the image: the next conv's padding), which of the lane's rows lie inside the image, one
     * bit per row of each block its warp computes (the blocks rowMaskTiling deals). The rows are the same in every
     * trip, so the epilogue reads a bit where it computed the pixel's image coordinates and tested them: MBConv's
     * expand spent about a quarter of its epilogue's instructions on that (Nsight Compute, fifteenth session; 1.03x
     * for MBConv 'rows' on the H100).
     */
    private void hoistRowMasks(List<Instr> body) {
        for (Instr i : body) {
            if (!(i instanceof Instr.Compute c) || rowMasks.containsKey(c)) continue;
            Region rg = regionOf(c);
            MmaTiling f = rowMaskTiling(c, rg);
            if (f == null) continue;
            String name = c.dst().name() + "_inside_rows";
            w.comment("the rows of " + c.dst().name() + " this lane writes in every chunk's epilogue that lie inside the image (the same in\n"
                    + "every chunk, so computed once): bit 2 * (i * " + f.wm() + " + mi) + rh for row rh of tile mi of the warp's i-th block");
            w.line("unsigned " + name + " = 0u;");
            w.line("#pragma unroll");
            w.open("for (int i = 0; i < " + f.perWarp() + "; ++i)");
            w.line("const int mb = (" + warp() + " + i * (THREADS / 32)) / " + f.nb() + ";");
            w.line("#pragma unroll");
            w.open("for (int mi = 0; mi < " + f.wm() + "; ++mi)");
            w.line("#pragma unroll");
            w.open("for (int rh = 0; rh < 2; ++rh)");
            w.line("const int p = (mb * " + f.wm() + " + mi) * 16 + lane_row + rh * 8;");
            pixelGeometry(rg.side(), rg.halo(), null);
            w.line("if (inside) " + name + " |= 1u << ((i * " + f.wm() + " + mi) * 2 + rh);");
            w.close();
            w.close();
            w.close();
            rowMasks.put(c, name);
        }
    }

    /**
     * The tiling of a Compute whose epilogue can read hoisted row masks, or null: a tensor-core pointwise layer into a
     * staged buffer (pixels outside the image written as zero), whose epilogue reads no other activation (it would
     * need the pixel's coordinates anyway), with at most 32 rows per lane.
     */
    private MmaTiling rowMaskTiling(Instr.Compute c, Region rg) {
        if (!stagedMma(c) || c.dst().space() != Space.SHARED || c.dst().layout() == Buffer.Layout.A_FRAGMENTS) return null;
        if (!c.layer().epilogueInputs().isEmpty()) return null;
        MmaTiling f = stagedTiling(rg);
        return f.perWarp() * f.wm() * 2 <= 32 ? f : null;
    }

    /** The tiling computeMma deals a staged product of region {@code rg} by. */
    private MmaTiling stagedTiling(Region rg) {
        return MmaTiling.sequential(rg.pixels(), rg.channels(), warps());
    }

    /** The first channel of block column {@code nb} (a variable) of a staged product, ending in " + " (startAtBias). */
    private static String blockChannel(Region rg, MmaTiling f, String nb) {
        return (rg.streamed() ? "e0 + " : "") + nb + " * " + f.wn() * 8 + " + ";
    }

    /** Whether computeMma writes {@code c}: a tensor-core pointwise layer into shared or global memory. */
    private static boolean stagedMma(Instr.Compute c) {
        return c.math() == Instr.MathPath.TENSOR_CORE && c.layer().main() instanceof Op.Pointwise
                && c.dst().space() != Space.REGISTERS;
    }

    /** The pixels a Compute covers: the tile grown by its halo, and the channels of its output. */
    private Region regionOf(Instr.Compute c) {
        int r = c.halo();
        int side = k.tileW() + 2 * r;
        return new Region(r, side, (k.tileH() + 2 * r) * side, c.out().count(), c.out().streamed());
    }

    private void compute(Instr.Compute c) {
        inlined = c.inlined();
        Layer layer = c.layer();
        Buffer dst = c.dst();
        Region region = regionOf(c);
        int r = region.halo(), side = region.side();
        w.comment(layer.describe() + " over " + (k.tileH() + 2 * r) + "x" + side + " pixels"
                + (c.out().streamed() ? ", channels e0 .. e0+" + c.out().count() : "") + " -> " + dst.name()
                + "   (" + sourceName + ":" + layer.span().line() + ")" + mathNote(c));
        if (c.math() == Instr.MathPath.TENSOR_CORE && layer.main() instanceof Op.Pointwise pw) {
            computeMma(c, pw, region);
            return;
        }
        if (c.math() == Instr.MathPath.TENSOR_CORE && layer.main() instanceof Op.Conv2d conv) {
            computeMmaConv(c, conv, region);
            return;
        }
        if (layer.main() instanceof Op.Conv2d conv && depthwiseBlockable(conv, dst, region, c.sources())) {
            computeDepthwiseBlocked(c, conv, region);
            return;
        }
        if (layer.main() instanceof Op.LayerNorm ln) {
            if (dst.space() == Space.REGISTERS) {
                throw new UnsupportedOperationException("layernorm into registers is not emitted yet");
            }
            layerNorm(layer, ln, dst, region, c.sources());
            return;
        }
        elementLoop(dst, region, () -> evaluate(layer, region, c.sources(), null));
    }

    /** An element loop whose register buffer only the next instruction stores: each element goes straight to global memory. */
    private void computeStoredStraight(Instr.Compute c) {
        Layer layer = c.layer();
        Region region = regionOf(c);
        Activation a = CudaEmitter.activationOf(block, k, c.dst().tensor());
        w.comment(layer.describe() + " over " + k.tileH() + "x" + region.side() + " pixels, each element stored to " + a.name()
                + " as it is computed (an array of the results would keep them all live until the store)   (" + sourceName
                + ":" + layer.span().line() + ")");
        inlined = c.inlined();
        elementLoopToGlobal(c.dst(), region, block.storageFor(a), () -> evaluate(layer, region, c.sources(), null));
    }

    /** What runs a Compute, as the code below it does it (a second comment line, or nothing for CUDA cores). */
    private static String mathNote(Instr.Compute c) {
        if (c.math() != Instr.MathPath.TENSOR_CORE) return "";
        return switch (c.layer().main()) {
            case Op.Pointwise pw -> "\non tensor cores: mma.sync m16n8k16, A and B fragments through ldmatrix";
            case Op.Conv2d cv when cv.isDepthwise() -> "\non tensor cores: per 16 pixels and group of 8 channels, one mma.sync m16n8k8 per tap"
                    + " (or an m16n8k16 per two) whose B is the diagonal of the group's 8 weights";
            case Op.Conv2d cv -> "\non tensor cores: per 16 pixels and group of 8 channels, one mma.sync m16n8k8 per tap";
            case null, default -> "\n(eligible for tensor cores; this version uses CUDA cores)";
        };
    }

    private void accumulate(Instr.Accumulate a) {
        Op.Pointwise pw = (Op.Pointwise) a.layer().main();
        if (fragments.containsKey(a.acc().name())) {
            accumulateMma(a, pw);
            return;
        }
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
        if (threads() % cout == 0) {
            // Thread tid owns output channel tid % COUT for pixels tid / COUT + j * (THREADS / COUT): one weight
            // load serves all of its pixels, and the warp's threads read one input pixel at a time (broadcast).
            int pixelStep = threads() / cout;
            w.open("");
            w.line("const int oc = " + tid() + " % " + cout + ", p0 = " + tid() + " / " + cout + ";");
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
        w.line("const int i = " + tid() + " + j * THREADS;");
        boolean guard = total % threads() != 0;
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
        if (fragments.containsKey(f.acc().name())) {
            finishMma(f, region);
            return;
        }
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

    /** {@link #finish} of an accumulator whose result only the next instruction stores: each element goes straight to global memory. */
    private void finishStoredStraight(Instr.Finish f) {
        Layer layer = f.layer();
        Region region = new Region(0, k.tileW(), k.tilePixels(), layer.out().channels(), false);
        Activation a = CudaEmitter.activationOf(block, k, f.dst().tensor());
        w.comment("epilogue of " + layer.describe() + ", each element stored to " + a.name() + " as it is computed (an array of"
                + " the results would keep them all live until the store)   (" + sourceName + ":" + layer.span().line() + ")");
        perThreadElements(region, f.acc().rowStride(), () -> storeElementToGlobal(f.dst(), block.storageFor(a),
                () -> evaluate(layer, region, f.sources(), f.acc().name() + "[j]")));
    }

    private void store(Instr.Store s) {
        Buffer src = s.src();
        Activation a = CudaEmitter.activationOf(block, k, s.tensor());
        DType dt = block.storageFor(a);
        String t = CudaEmitter.ctype(dt);
        int ch = a.channels();
        w.comment("store " + src.name() + " -> " + a.name() + "[n, h0 : h0+" + k.tileH() + ", w0 : w0+" + k.tileW()
                + ", :], masked at the image edge");
        int total = k.tilePixels() * ch;
        if (fragments.containsKey(src.name()) && s.staging() != null) {
            storeStaged(s, a, dt);
            return;
        }
        Instr.Side owner = k.holder(src.name()).orElse(null);
        if (owner != null) openSide(owner);
        if (fragments.containsKey(src.name())) {
            accumulatorPairs(src, true, rc -> accElement(src, "" + rc),
                    (v0, v1) -> storePair(cname(a.name()) + " + ((size_t)(n * H + gh) * W + gw) * " + ch + " + c0", dt, v0, v1));
        } else if (src.space() == Space.REGISTERS) {
            w.line("#pragma unroll");
            w.open("for (int j = 0; j < " + upper(src) + "_PER_THREAD; ++j)");
            w.line("const int i = " + tid() + " + j * THREADS;");
            w.line("const int p = i / " + ch + ", c = i % " + ch + ";");
            w.line("const int gh = h0 + p / TILE_W, gw = w0 + p % TILE_W;");
            String cond = (total % threads() != 0 ? "i < " + total + " && " : "") + "gh < H && gw < W";
            w.line("if (" + cond + ") " + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + ch
                    + " + c] = tm_from_f32<" + t + ">(" + src.name() + "[j]);");
            w.close();
        } else {
            w.open("for (int i = " + tid() + "; i < " + total + "; i += THREADS)");
            w.line("const int p = i / " + ch + ", c = i % " + ch + ";");
            w.line("const int gh = h0 + p / TILE_W, gw = w0 + p % TILE_W;");
            w.line("if (gh < H && gw < W) " + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + ch
                    + " + c] = tm_from_f32<" + t + ">(tm_f32(" + src.name() + "[p * " + upper(src) + "_STRIDE + c]));");
            w.close();
        }
        if (owner != null) closeSide();
    }

    // ---- element loops ------------------------------------------------------------------------------

    /**
     * The store of mma fragments through a shared buffer nobody reads any more (Instr.Store#staging): each lane
     * writes its pairs of channels there, then each thread copies 16-byte pieces of pixel rows to global memory, so
     * that consecutive threads write consecutive bytes of each pixel (whole 32-byte sectors).
     */
    private void storeStaged(Instr.Store s, Activation a, DType dt) {
        Buffer src = s.src();
        Buffer stage = s.staging();
        int ch = a.channels();
        int stride = ch + Buffer.ROW_PAD_BYTES / dt.bytes;
        int pieces = ch * dt.bytes / 16;
        String t = CudaEmitter.ctype(dt);
        w.comment("through " + stage.name() + " (free after the loop), rows of " + stride + " elements: fragments -> shared, then "
                + "16-byte pieces of pixel rows -> global");
        // A double-buffered weight slice is staged through from the start of its first copy (both copies are free).
        w.line(t + "* const " + src.name() + "_stage = reinterpret_cast<" + t + "*>(" + stage.name()
                + (stage.stages() == 2 ? "_buf" : "") + ");");
        // The accumulators' owners write them (the consumer warps of a warp-specialized kernel); everyone copies.
        Instr.Side owner = k.holder(src.name()).orElse(null);
        if (owner != null) openSide(owner);
        accumulatorPairs(src, true, rc -> accElement(src, "" + rc),
                (v0, v1) -> storePair("&" + src.name() + "_stage[p * " + stride + " + c0]", dt, v0, v1));
        if (owner != null) closeSide();
        if (k.usesWgmma()) {
            w.line("// the stage may be a slice wgmma read: the fence orders the writes with it, as at every barrier");
            w.line("tm_fence_proxy_async();");
        }
        w.line("__syncthreads();");
        w.open("for (int i = " + tid() + "; i < " + k.tilePixels() * pieces + "; i += THREADS)");
        w.line("const int p = i / " + pieces + ", c = (i % " + pieces + ") * " + 16 / dt.bytes + ";");
        w.line("const int gh = h0 + p / TILE_W, gw = w0 + p % TILE_W;");
        w.line("if (gh < H && gw < W) *reinterpret_cast<uint4*>(" + cname(a.name()) + " + ((size_t)(n * H + gh) * W + gw) * " + ch
                + " + c) = *reinterpret_cast<const uint4*>(" + src.name() + "_stage + p * " + stride + " + c);");
        w.close();
    }

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
        if (dst.space() == Space.GLOBAL) {
            elementLoopToGlobal(dst, rg, dst.dtype(), body);
            return;
        }
        int total = rg.pixels() * rg.channels();
        w.open("for (int i = " + tid() + "; i < " + total + "; i += THREADS)");
        pointHeader(rg, "i");
        String t = CudaEmitter.ctype(dst.dtype());
        w.line("float v = 0.0f;");
        w.open("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
        String result = body.emit();
        w.line("v = " + result + ";");
        w.close();
        w.line(dst.name() + "[p * " + upper(dst) + "_STRIDE + c] = tm_from_f32<" + t + ">(v);");
        w.close();
    }

    /** A loop over every (pixel, channel) of an output region, each element stored to {@code dst}'s activation as {@code storage}. */
    private void elementLoopToGlobal(Buffer dst, Region rg, DType storage, Body body) {
        w.open("for (int i = " + tid() + "; i < " + rg.pixels() * rg.channels() + "; i += THREADS)");
        pointHeader(rg, "i");
        storeElementToGlobal(dst, storage, body);
        w.close();
    }

    /** The current element, if inside the image, stored to {@code dst}'s activation as {@code storage}. */
    private void storeElementToGlobal(Buffer dst, DType storage, Body body) {
        w.open("if (gh < H && gw < W)");
        String result = body.emit();
        w.line(globalElement(dst) + " = tm_from_f32<" + CudaEmitter.ctype(storage) + ">(" + result + ");");
        w.close();
    }

    /**
     * The per-thread element mapping used by register buffers: thread {@code tid} owns elements
     * {@code tid + j * THREADS}. Unrolled, so the register array is indexed by constants only.
     */
    private void elementLoopPerThread(Buffer dst, Region rg, int perThread, Body body) {
        perThreadElements(rg, perThread, () -> {
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
        });
    }

    /**
     * The per-thread element mapping's loop (thread {@code tid} takes elements {@code tid + j * THREADS}, unrolled,
     * guarded where the threads do not divide the region): {@code element} writes each element's code after its pixel
     * and channel are named.
     */
    private void perThreadElements(Region rg, int perThread, Runnable element) {
        int total = rg.pixels() * rg.channels();
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + perThread + "; ++j)");
        w.line("const int i = " + tid() + " + j * THREADS;");
        boolean guard = total % threads() != 0;
        if (guard) w.open("if (i < " + total + ")");
        pointHeader(rg, "i");
        element.run();
        if (guard) w.close();
        w.close();
    }

    /** The global element of activation {@code dst.tensor()} at the current pixel and channel oc. */
    private String globalElement(Buffer dst) {
        Activation a = CudaEmitter.activationOf(block, k, dst.tensor());
        return cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + a.channels() + " + oc]";
    }

    /**
     * The tile coordinates (ly, lx), image coordinates (gh, gw) and whether it is inside the image, of pixel p of a
     * region {@code side} wide grown by {@code halo}; {@code note} (or null) comments the inside test.
     */
    private void pixelGeometry(int side, int halo, String note) {
        pixelCoordinates(side, halo);
        w.line("const bool inside = gh >= 0 && gh < H && gw >= 0 && gw < W;" + (note == null ? "" : "  // " + note));
    }

    /** The tile coordinates (ly, lx) and image coordinates (gh, gw) of pixel p of a region {@code side} wide grown by {@code halo}. */
    private void pixelCoordinates(int side, int halo) {
        w.line("const int ly = p / " + side + ", lx = p % " + side + ";");
        w.line("const int gh = h0 - " + halo + " + ly, gw = w0 - " + halo + " + lx;");
    }

    private void pointHeader(Region rg, String index) {
        w.line("const int p = " + index + " / " + rg.channels() + ", c = " + index + " % " + rg.channels() + ";");
        pixelCoordinates(rg.side(), rg.halo());
        w.line("const int oc = " + (rg.streamed() ? "e0 + c" : "c") + ";");
    }

    // ---- evaluating a layer at one (pixel, channel) -----------------------------------------------------

    /**
     * Emits the layer's ops for the current point (ly, lx, gh, gw, oc) and returns the variable holding its
     * result. {@code mainValue}, when given, is the already computed main-op result (an accumulator).
     */
    private String evaluate(Layer layer, Region rg, Map<String, Buffer> sources, String mainValue) {
        return evaluate(layer, rg, sources, mainValue, true);
    }

    /**
     * {@code roundLast} false: the caller stores the result with round-to-nearest into the last op's own dtype,
     * which gives the same value as rounding here first (so the rounding is not written twice).
     */
    private String evaluate(Layer layer, Region rg, Map<String, Buffer> sources, String mainValue, boolean roundLast) {
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
                    case Op.LayerNorm ln -> w.line("float " + var + " = "
                            + normalized(ln, read(ln.in(), "oc", rg, locals, sources)) + ";");
                    case Op.Activate a -> w.line("float " + var + " = " + (a.fn() == Op.ActivationFn.IDENTITY
                            ? read(a.in(), "oc", rg, locals, sources)
                            : "tm_" + a.fn().keyword + "(" + read(a.in(), "oc", rg, locals, sources) + ")") + ";");
                    case Op.Elementwise e when e == foldedBias -> w.line("float " + var + " = "
                            + locals.get(layer.main().out().name()) + ";  // " + cname(biasOf(e).name()) + " started the accumulators");
                    case Op.Elementwise e -> w.line("float " + var + " = " + operand(e.left(), rg, locals, sources)
                            + " " + e.fn().symbol + " " + operand(e.right(), rg, locals, sources) + ";");
                }
            }
            if (roundLast || op != layer.ops().getLast()) round(op.out().dtype(), var);
            locals.put(op.out().name(), var);
            last = var;
        }
        return last;
    }

    private void round(DType dtype, String var) {
        if (dtype == DType.F16) w.line(var + " = tm_round_f16(" + var + ");");
        else if (dtype == DType.BF16) w.line(var + " = tm_round_bf16(" + var + ");");
    }

    /**
     * The layer's ops for the two adjacent channels oc and oc + 1 (oc even) of the current pixel, each value a float[2]
     * named after its tensor: every vector weight and staged activation is read with one load of both channels
     * (tm_f32x2) instead of two; {@code loaded} names the float2s already loaded (and gets the ones loaded here).
     * Returns the result's name, or null (nothing emitted) when an op other than the main one reads neighbours or
     * reductions (then the caller evaluates each channel with {@link #evaluate}).
     */
    private String evaluatePair(Layer layer, Region rg, Map<String, Buffer> sources, String main0, String main1,
                                boolean roundLast, java.util.Set<String> loaded) {
        if (!pairable(layer, rg, sources, main0 != null)) return null;
        Map<String, String> locals = new HashMap<>();
        String last = null;
        for (Op op : layer.ops()) {
            String var = "v_" + op.out().name();
            switch (op) {
                case Op.Activate a -> {
                    String in = pairOperand(new Operand.Act(a.in()), rg, locals, sources, loaded);
                    w.line("float " + var + "[2] = {" + activation(a.fn(), pick(in, 0)) + ", "
                            + activation(a.fn(), pick(in, 1)) + "};");
                }
                case Op.Elementwise e when e == foldedBias -> {
                    String sum = locals.get(layer.main().out().name());
                    w.line("float " + var + "[2] = {" + sum + "[0], " + sum + "[1]};  // " + cname(biasOf(e).name())
                            + " started the accumulators");
                }
                case Op.Elementwise e -> {
                    String l = pairOperand(e.left(), rg, locals, sources, loaded), r = pairOperand(e.right(), rg, locals, sources, loaded);
                    w.line("float " + var + "[2] = {" + pick(l, 0) + " " + e.fn().symbol + " " + pick(r, 0)
                            + ", " + pick(l, 1) + " " + e.fn().symbol + " " + pick(r, 1) + "};");
                }
                default -> w.line("float " + var + "[2] = {" + main0 + ", " + main1 + "};");
            }
            if (roundLast || op != layer.ops().getLast()) {
                round(op.out().dtype(), var + "[0]");
                round(op.out().dtype(), var + "[1]");
            }
            locals.put(op.out().name(), var);
            last = var;
        }
        return last;
    }

    /** Whether {@link #evaluatePair} can evaluate the layer (with its main op's value given, or not). */
    private static boolean pairable(Layer layer, Region rg, Map<String, Buffer> sources, boolean mainGiven) {
        for (Op op : layer.ops()) {
            if (op == layer.main() && mainGiven) continue;
            if (!(op instanceof Op.Elementwise || op instanceof Op.Activate)) return false;
            for (Activation a : op.reads()) {
                Buffer b = sources.get(a.name());
                if (!producedInside(layer, a)
                        && (b != null ? b.space() != Space.SHARED || b.halo() < rg.halo() : a.channels() % 2 != 0)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Assigns v[0] and v[1], the layer at channels c0 and c0 + 1 (c0 even) of the current pixel, under {@code guard}
     * (a condition, or null): both at once where {@link #pairable}, else one channel after the other. {@code main}
     * has '$' where the channel's index goes; {@code chBase} is added to c to give oc.
     */
    private void evaluateInto(Layer layer, Region rg, Map<String, Buffer> sources, String guard, String chBase,
                              String main, boolean roundLast) {
        if (pairable(layer, rg, sources, main != null)) {
            // The vectors are read outside the mask: any row may read them, and the loads of both rows of a fragment
            // are then one.
            java.util.Set<String> loaded = new java.util.HashSet<>();
            List<Operand.Vec> vectorList = vectorOperands(layer);
            boolean vectors = !vectorList.isEmpty();
            if (vectors) {
                w.open("");
                w.line("const int oc = " + chBase + " + c0;  // and oc + 1");
                for (Operand.Vec v : vectorList) pairOperand(v, rg, Map.of(), sources, loaded);
            }
            w.open(guard == null ? "" : "if (" + guard + ")");
            if (!vectors && readsChannel(layer, main != null)) w.line("const int oc = " + chBase + " + c0;  // and oc + 1");
            String r = evaluatePair(layer, rg, sources, main == null ? null : pick(main, 0), main == null ? null : pick(main, 1),
                    roundLast, loaded);
            w.line("v[0] = " + r + "[0]; v[1] = " + r + "[1];");
            w.close();
            if (vectors) w.close();
            return;
        }
        perChannel(rc -> evaluate(layer, rg, sources, main == null ? null : pick(main, rc), roundLast)).emit(guard, chBase);
    }

    /** Whether the layer's ops (past a given main value and a folded bias) read a vector or an activation at oc. */
    private boolean readsChannel(Layer layer, boolean mainGiven) {
        if (!vectorOperands(layer).isEmpty()) return true;
        for (Op op : layer.ops()) {
            if ((op == layer.main() && mainGiven) || op == foldedBias) continue;
            for (Activation a : op.reads()) if (!producedInside(layer, a)) return true;
        }
        return false;
    }

    /** The vector operands of the layer's elementwise ops, but the bias that started the accumulators. */
    private List<Operand.Vec> vectorOperands(Layer layer) {
        List<Operand.Vec> out = new java.util.ArrayList<>();
        for (Op op : layer.ops()) {
            if (op == foldedBias || !(op instanceof Op.Elementwise e)) continue;
            for (Operand o : List.of(e.left(), e.right())) if (o instanceof Operand.Vec v) out.add(v);
        }
        return out;
    }

    /** Whether {@code a} is the result of one of the layer's own ops (a local, not a tensor to load). */
    private static boolean producedInside(Layer layer, Activation a) {
        return layer.ops().stream().anyMatch(o -> o.out().name().equals(a.name()));
    }

    /** Channel i (0 or 1) of a {@link #pairOperand}: '#' is a float2's member, '$' a float[2]'s index. */
    private static String pick(String template, int i) {
        return template.replace("#", i == 0 ? "x" : "y").replace("$", String.valueOf(i));
    }

    private static String activation(Op.ActivationFn fn, String x) {
        return fn == Op.ActivationFn.IDENTITY ? x : "tm_" + fn.keyword + "(" + x + ")";
    }

    /**
     * An operand of {@link #evaluatePair}, a template for {@link #pick}; a vector or a staged or global activation is
     * loaded first, both channels at once, into a float2 named after it.
     */
    private String pairOperand(Operand o, Region rg, Map<String, String> locals, Map<String, Buffer> sources,
                               java.util.Set<String> loaded) {
        return switch (o) {
            case Operand.Scalar s -> CudaEmitter.floatLiteral(s.value());
            case Operand.Vec v -> {
                String name = cname(v.weight().name()) + "_oc";
                if (loaded.add(name)) w.line("const float2 " + name + " = tm_f32x2(" + cname(v.weight().name()) + " + oc);");
                yield name + ".#";
            }
            case Operand.Act a when locals.containsKey(a.value().name()) -> locals.get(a.value().name()) + "[$]";
            case Operand.Act a -> {
                Activation act = a.value();
                Buffer b = sources.get(act.name());
                String name = cname(act.name()) + "_oc";
                String address = b != null ? "&" + stagedElement(b, act, "oc", rg) : globalAddress(act, "oc");
                if (loaded.add(name)) w.line("const float2 " + name + " = tm_f32x2(" + address + ");");
                yield name + ".#";
            }
        };
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
        if (b != null && b.space() == Space.SHARED) return "tm_f32(" + stagedElement(b, a, ch, rg) + ")";
        if (b != null) throw new IllegalStateException("register buffer " + b.name() + " read by another instruction");
        return "tm_f32(" + cname(a.name()) + "[((size_t)(n * H + gh) * W + gw) * " + a.channels() + " + " + ch + "])";
    }

    /** Activation a at the current pixel (ly, lx) of region rg and channel ch, in its staged buffer b (halo b.halo()). */
    private String stagedElement(Buffer b, Activation a, String ch, Region rg) {
        int d = b.halo() - rg.halo();
        if (d < 0) throw new IllegalStateException(b.name() + " has halo " + b.halo() + " but is read at halo " + rg.halo());
        boolean chunked = b.channels() < a.channels();
        return b.name() + "[((ly + " + d + ") * " + upper(b) + "_W + lx + " + d + ") * " + upper(b) + "_STRIDE + " + ch
                + (chunked ? " - e0" : "") + "]";
    }

    /** The global address of activation a at the current image pixel (gh, gw) and channel {@code channel}. */
    private static String globalAddress(Activation a, String channel) {
        return cname(a.name()) + " + ((size_t)(n * H + gh) * W + gw) * " + a.channels() + " + " + channel;
    }

    private Buffer sourceBuffer(Activation a, Map<String, Buffer> sources, String what) {
        Buffer b = sources.get(a.name());
        if (b == null || b.space() != Space.SHARED) {
            throw new IllegalStateException(what + " input " + a.name() + " is not staged in shared memory");
        }
        return b;
    }

    /** Layers recomputed inline by the Compute being written (see Instr.Compute#inlined). */
    private List<Layer> inlined = List.of();

    /**
     * The op whose vector operand the accumulators started with (see {@link #foldableBias}), written as a copy of the
     * sum while the epilogue around it is emitted; null otherwise.
     */
    private Op foldedBias;

    /**
     * The bias add right after the layer's sum, {@code sum + b} with b a [C] vector, when it can start the accumulators
     * instead (the sum is f32 and nothing else reads it): docs/semantics.md allows any order of accumulation. Else null.
     */
    static Op.Elementwise foldableBias(Layer layer) {
        if (layer.main() == null || layer.ops().size() < 2 || layer.main().out().dtype() != DType.F32) return null;
        Activation sum = layer.main().out();
        if (!(layer.ops().get(1) instanceof Op.Elementwise e) || e.fn() != Op.ElementwiseFn.ADD) return null;
        boolean sumVec = e.left() instanceof Operand.Act a && a.value().name().equals(sum.name()) && e.right() instanceof Operand.Vec;
        boolean vecSum = e.right() instanceof Operand.Act a && a.value().name().equals(sum.name()) && e.left() instanceof Operand.Vec;
        if (!sumVec && !vecSum) return null;
        for (Op op : layer.ops().subList(2, layer.ops().size())) {
            if (op.reads().stream().anyMatch(a -> a.name().equals(sum.name()))) return null;
        }
        return e;
    }

    /**
     * Starts the accumulators at a {@link #foldableBias}: for each n8 tile {@code tile} (0 .. tiles - 1), whose first
     * channel is {@code firstChannel} + tile * 8, the lane's pair of channels (2 * lane_col and + 1) goes to both rows of
     * {@code fragment}; with {@code rowTiles} above 0, of each of that many row tiles (fragment names {@code mi}).
     */
    private void startAtBias(Op.Elementwise bias, String tile, int tiles, String firstChannel, String fragment, int rowTiles) {
        w.line("// the accumulators start at the bias " + cname(biasOf(bias).name())
                + ": channels 2 * lane_col and + 1 of each n8 tile, in both rows");
        w.line("#pragma unroll");
        w.open("for (int " + tile + " = 0; " + tile + " < " + tiles + "; ++" + tile + ")");
        w.line("const float2 b = " + biasPair(bias, firstChannel, tile) + ";");
        String set = fragment + "[0] = b.x; " + fragment + "[1] = b.y; " + fragment + "[2] = b.x; " + fragment + "[3] = b.y;";
        if (rowTiles == 0) {
            w.line(set);
        } else {
            w.line("#pragma unroll");
            w.line("for (int mi = 0; mi < " + rowTiles + "; ++mi) { " + set + " }");
        }
        w.close();
    }

    /** The lane's two channels of a {@link #foldableBias} in n8 tile {@code tile}, as {@link #startAtBias} numbers them. */
    private String biasPair(Op.Elementwise bias, String firstChannel, String tile) {
        return "tm_f32x2(" + cname(biasOf(bias).name()) + " + " + firstChannel + tile + " * 8 + 2 * lane_col)";
    }

    /** The vector a {@link #foldableBias} adds. */
    static tmc.check.Weight biasOf(Op.Elementwise e) {
        return ((Operand.Vec) (e.left() instanceof Operand.Vec ? e.left() : e.right())).weight();
    }

    private void conv(Op.Conv2d cv, String var, Region rg, Map<String, Buffer> sources) {
        Layer producer = inlined.stream().filter(l -> l.out().name().equals(cv.in().name())).findFirst().orElse(null);
        if (producer != null) {
            convRecompute(cv, var, rg, sources, producer);
            return;
        }
        Buffer b = sourceBuffer(cv.in(), sources, "conv2d");
        Buffer staged = stagedWeight(cv.weight().name());
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
        // Small kernels unroll completely; for 5x5 and up the row loop stays rolled to bound register use.
        w.line(cv.kernel() <= 3 ? "#pragma unroll" : "#pragma unroll 1");
        w.open("for (int ky = 0; ky < " + cv.kernel() + "; ++ky)");
        w.line("#pragma unroll");
        w.open("for (int kx = 0; kx < " + cv.kernel() + "; ++kx)");
        w.line("const " + bt + "* src = " + b.name() + " + ((ly + ky + " + off + ") * " + u + "_W + lx + kx + " + off
                + ") * " + u + "_STRIDE + g * " + gw + (chunked ? " - e0" : "") + ";");
        if (staged != null) {
            // [tap][channel][input]: channel relative to the staged slice (e0 when streamed)
            w.line("const " + wct + "* wp = " + staged.name() + " + ((ky * " + cv.kernel() + " + kx) * " + staged.channels()
                    + " + (oc" + (staged.channels() < cv.out().channels() * gw ? " - e0" : "") + ") * " + gw + ");");
        } else {
            w.line("const " + wct + "* wp = " + wt + " + ((size_t)(oc * " + cv.kernel() + " + ky) * " + cv.kernel()
                    + " + kx) * " + gw + ";");
        }
        w.line("#pragma unroll");
        w.line("for (int ic = 0; ic < " + gw + "; ++ic) " + var + " += tm_f32(src[ic]) * tm_f32(wp[ic]);");
        w.close();
        w.close();
        w.close();
    }

    /**
     * A conv whose input is recomputed at every tap: the producer layer is evaluated at the shifted pixel
     * (zero outside the image, the conv's padding), then multiplied by the tap's weight.
     */
    private void convRecompute(Op.Conv2d cv, String var, Region rg, Map<String, Buffer> sources, Layer producer) {
        int gw = cv.groupWidth();
        int perGroupOut = cv.out().channels() / cv.groups();
        String wt = cname(cv.weight().name());
        w.line("float " + var + " = 0.0f;");
        w.open("");
        w.line("const int g = oc / " + perGroupOut + ";  // group of this output channel");
        w.line("const int ly_c = ly, lx_c = lx, gh_c = gh, gw_c = gw, oc_c = oc;");
        w.open("for (int ky = 0; ky < " + cv.kernel() + "; ++ky)");
        w.open("for (int kx = 0; kx < " + cv.kernel() + "; ++kx)");
        w.line("const int ly = ly_c + ky - " + cv.pad() + ", lx = lx_c + kx - " + cv.pad() + ";");
        w.line("const int gh = gh_c + ky - " + cv.pad() + ", gw = gw_c + kx - " + cv.pad() + ";");
        w.line("if (gh < 0 || gh >= H || gw < 0 || gw >= W) continue;  // zero padding");
        w.line("(void)oc_c;");
        w.open("for (int icr = 0; icr < " + gw + "; ++icr)");
        w.line("const int oc = g * " + gw + " + icr;  // channel of " + producer.out().name() + ", recomputed here");
        String value = evaluate(producer, rg, sources, null);
        w.line(var + " += " + value + " * tm_f32(" + wt + "[((size_t)(oc_c * " + cv.kernel() + " + ky) * " + cv.kernel()
                + " + kx) * " + gw + " + icr]);");
        w.close();
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

    /**
     * LayerNorm. Where {@link #layerNormParts} allows, a few neighbouring lanes share a pixel and each holds its share of
     * the channels in registers ({@link #layerNormInRegisters}); otherwise one warp per pixel computes mean and variance
     * with shuffles, re-reading the input from shared memory for each pass, then writes its channels.
     */
    private void layerNorm(Layer layer, Op.LayerNorm ln, Buffer dst, Region rg, Map<String, Buffer> sources) {
        int parts = layerNormParts(ln, dst, rg, sources.get(ln.in().name()), threads());
        if (parts > 0) {
            layerNormInRegisters(layer, ln, dst, rg, sources, parts);
            return;
        }
        int cin = ln.in().channels();
        w.open("");
        w.line("const int lane = tid & 31, warp = " + tid() + " >> 5;");
        w.open("for (int p = warp; p < " + rg.pixels() + "; p += THREADS / 32)");
        pixelGeometry(rg.side(), rg.halo(), "the same for the whole warp");
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

    /** The most input channels one thread of {@link #layerNormInRegisters} holds in registers. */
    static final int LAYERNORM_CHANNELS_PER_THREAD = 64;

    /**
     * How many neighbouring lanes share a pixel in {@link #layerNormInRegisters} (1, 2, 4, ... up to 32), or 0 when it
     * does not apply: the input is a 16-bit shared tile (rows of 16-byte pieces), the output a 16-bit shared tile of the
     * same region, all channels at once; the threads cover the pixels in whole rounds (so every lane of a warp takes
     * part in every shuffle), and each lane's share is whole 16-byte pieces of at most
     * {@link #LAYERNORM_CHANNELS_PER_THREAD} channels.
     */
    static int layerNormParts(Op.LayerNorm ln, Buffer dst, Region rg, Buffer src, int threads) {
        int cin = ln.in().channels();
        if (src == null || src.space() != Space.SHARED || src.layout() != Buffer.Layout.ROWS || src.dtype().bytes != 2
                || src.rowStride() % 8 != 0 || src.channels() != cin || src.halo() < rg.halo()) return 0;
        if (dst.space() != Space.SHARED || dst.layout() != Buffer.Layout.ROWS || dst.dtype().bytes != 2
                || dst.rowStride() % 8 != 0 || dst.halo() != rg.halo() || rg.streamed() || rg.channels() != cin) return 0;
        int parts;
        if (threads % rg.pixels() == 0) parts = threads / rg.pixels();  // one round of pixels
        else if (rg.pixels() % threads == 0) parts = 1;                  // rounds of one pixel per thread
        else return 0;
        // more lanes per pixel (and more rounds) rather than more registers per lane
        while (cin / parts > LAYERNORM_CHANNELS_PER_THREAD && parts < 32 && rg.pixels() * parts * 2 % threads == 0) {
            parts *= 2;
        }
        boolean fits = parts <= 32 && Integer.bitCount(parts) == 1 && cin % (8 * parts) == 0
                && cin / parts <= LAYERNORM_CHANNELS_PER_THREAD && rg.pixels() * parts % threads == 0;
        return fits ? parts : 0;
    }

    /**
     * LayerNorm with {@code parts} neighbouring lanes per pixel, each holding {@code C / parts} channels in registers: one
     * pass of 16-byte loads, the sums of the lanes combined with log2(parts) shuffles, the output written in 16-byte
     * pieces. Against one warp per pixel (three passes over shared memory with 2-byte loads, 5-step shuffle trees) this
     * is what made ConvNeXt's LayerNorm cheap (docs/benchmarks.md, ninth session).
     */
    private void layerNormInRegisters(Layer layer, Op.LayerNorm ln, Buffer dst, Region rg, Map<String, Buffer> sources,
                                      int parts) {
        int cin = ln.in().channels();
        int per = cin / parts;
        Buffer src = sources.get(ln.in().name());
        String st = CudaEmitter.ctype(src.dtype());
        String dt = CudaEmitter.ctype(dst.dtype());
        int rounds = rg.pixels() * parts / threads();
        w.comment(parts + (parts == 1 ? " thread" : " neighbouring lanes") + " per pixel, " + per
                + " channels each held in registers: one pass of 16-byte loads" + (parts > 1 ? ", " + Integer.numberOfTrailingZeros(parts)
                + " shuffle" + (parts > 2 ? "s" : "") + " per sum" : ""));
        w.open("");
        w.line("const int part = " + tid() + " % " + parts + ", cb = part * " + per + ";  // this lane's channels cb .. cb + " + (per - 1));
        if (rounds == 1) {
            w.open("");
            w.line("const int p = " + tid() + " / " + parts + ";");
        } else {
            w.line("#pragma unroll 1");
            w.open("for (int p = " + tid() + " / " + parts + "; p < " + rg.pixels() + "; p += THREADS / " + parts + ")");
        }
        pixelGeometry(rg.side(), rg.halo(), null);
        w.line("const " + st + "* const row = " + rowAddress(src, "p", rg.side(), rg.halo()) + " + cb;");
        w.line("float v[" + per + "];");
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + per + "; j += 8)");
        w.line("const uint4 q = *reinterpret_cast<const uint4*>(row + j);");
        w.line("const " + st + "* const e = reinterpret_cast<const " + st + "*>(&q);");
        w.line("#pragma unroll");
        w.line("for (int u = 0; u < 8; u += 2) { const float2 f = tm_f32x2(e + u); v[j + u] = f.x; v[j + u + 1] = f.y; }");
        w.close();
        reduceOverParts("s", "v[j]", per, parts);
        w.line("const float mean = s / " + cin + ".0f;");
        reduceOverParts("q", "(v[j] - mean) * (v[j] - mean)", per, parts);
        w.line("const float rstd = 1.0f / sqrtf(q / " + cin + ".0f + " + CudaEmitter.floatLiteral(ln.eps()) + ");");
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + per + "; j += 8)");
        w.line("uint4 o;");
        w.line("unsigned* const o32 = reinterpret_cast<unsigned*>(&o);");
        w.line("#pragma unroll");
        w.open("for (int u = 0; u < 8; u += 2)");
        w.line("float r[2] = {0.0f, 0.0f};  // zero outside the image");
        w.open("if (inside)");
        // gamma and beta by channel pairs, one load each (1.008x over scalar loads on ConvNeXt, hand-edited, 22nd session)
        List<String> pairs = new ArrayList<>();
        if (ln.gamma() != null) pairs.add("ln_g = " + pairAt(ln.gamma(), "cb + j + u"));
        if (ln.beta() != null) pairs.add("ln_b = " + pairAt(ln.beta(), "cb + j + u"));
        if (!pairs.isEmpty()) w.line("const float2 " + String.join(", ", pairs) + ";");
        boolean roundLast = layer.ops().getLast().out().dtype() != dst.dtype();
        for (int half = 0; half < 2; half++) {
            w.open("");
            // the channel, for what the layer does after the normalization (a vector read at [oc]), if anything
            int declareAt = w.mark();
            String e = "(v[j + u" + (half == 1 ? " + 1" : "") + "] - mean) * rstd";
            String xy = half == 0 ? ".x" : ".y";
            if (ln.gamma() != null) e += " * ln_g" + xy;
            if (ln.beta() != null) e += " + ln_b" + xy;
            String result = evaluate(layer, rg, sources, e, roundLast);
            w.line("r[" + half + "] = " + result + ";");
            if (w.usedSince(declareAt, "oc")) w.insertAt(declareAt, "const int oc = cb + j + u" + (half == 1 ? " + 1" : "") + ";");
            w.close();
        }
        w.close();
        w.line("o32[u / 2] = tm_pack2(static_cast<const " + dt + "*>(nullptr), r[0], r[1]);");
        w.close();
        w.line("*reinterpret_cast<uint4*>(" + dst.name() + " + p * " + upper(dst) + "_STRIDE + cb + j) = o;");
        w.close();
        w.close();
        w.close();
    }

    /** Two adjacent elements (at an even channel) of a per-channel vector, in f32: one load. */
    private static String pairAt(tmc.check.Weight v, String channel) {
        return "tm_f32x2(" + cname(v.name()) + " + " + channel + ")";
    }

    /** LayerNorm's value for input {@code x} at channel oc, given mean and rstd: (x - mean) * rstd, then gamma and beta. */
    private static String normalized(Op.LayerNorm ln, String x) {
        String e = "(" + x + " - mean) * rstd";
        if (ln.gamma() != null) e += " * tm_f32(" + cname(ln.gamma().name()) + "[oc])";
        if (ln.beta() != null) e += " + tm_f32(" + cname(ln.beta().name()) + "[oc])";
        return e;
    }

    /** {@code float name} = the sum of {@code term} over this lane's {@code per} channels j, then over the pixel's lanes. */
    private void reduceOverParts(String name, String term, int per, int parts) {
        w.line("float " + name + " = 0.0f;");
        w.line("#pragma unroll");
        w.line("for (int j = 0; j < " + per + "; ++j) " + name + " += " + term + ";");
        for (int o = 1; o < parts; o <<= 1) {
            w.line(name + " += __shfl_xor_sync(0xffffffffu, " + name + ", " + o + ");");
        }
    }

    // ---- tensor cores ------------------------------------------------------------------------------------

    private static boolean usesMma(List<Instr> body) {
        return Instr.flatten(body).anyMatch(i -> switch (i) {
            case Instr.Compute c -> c.math() == Instr.MathPath.TENSOR_CORE;
            case Instr.Accumulate a -> a.math() == Instr.MathPath.TENSOR_CORE;
            case Instr.Chain ch -> true;
            default -> false;
        });
    }

    /** The address of pixel {@code p} of a region (side, halo) in buffer {@code b}: the start of its channel row. */
    private String rowAddress(Buffer b, String p, int side, int halo) {
        int d = b.halo() - halo;
        if (d < 0) throw new IllegalStateException(b.name() + " read beyond its halo");
        return b.name() + " + ((" + p + " / " + side + " + " + d + ") * " + upper(b) + "_W + " + p + " % " + side + " + "
                + d + ") * " + upper(b) + "_STRIDE";
    }

    /** ", over x_s, wd_s" when shared buffer b shares bytes with buffers declared before it (never live together). */
    private String sharedWith(Buffer b) {
        if (!k.sharesSharedMemory()) return "";
        List<String> under = new ArrayList<>();
        for (Buffer o : k.buffers()) {
            if (o.equals(b)) break;
            if (o.space() == Space.SHARED && k.overlapInShared(o, b)) under.add(o.name());
        }
        return under.isEmpty() ? "" : ", over " + String.join(", ", under);
    }

    /** The shared buffer a weight was staged in, if the lowering staged it. */
    private Buffer stagedWeight(String weight) {
        return k.buffers().stream().filter(b -> b.space() == Space.SHARED && b.tensor().equals(weight)
                && block.weight(weight).isPresent()).findFirst().orElse(null);
    }

    private void loadWeight(Instr.LoadWeight lw) {
        Buffer b = lw.dst();
        tmc.check.Weight wt = block.weight(lw.weight()).orElseThrow();
        if (lw.tapMajor()) {
            loadWeightTapMajor(lw, wt);
            return;
        }
        int cols = (int) (wt.elements() / wt.dims().getFirst());
        int vec = 16 / b.dtype().bytes;
        String r0 = start(lw.rows());
        String c0 = start(lw.cols());
        int rows = lw.rows().count();
        int count = lw.cols().count();
        // The destination: the buffer, or for a double buffer the copy of the chunk the slice belongs to.
        String dst = b.name();
        String copy = "";
        if (b.stages() == 2) {
            Instr.Channels st = lw.streamed();
            if (st == null) {
                if (lw.rows().start() != 0 || lw.cols().start() != 0) {
                    throw new IllegalStateException("unstreamed fill of double buffer " + b.name() + " is not chunk 0");
                }
                dst = b.name() + "_buf";
                copy = " copy 0";
            } else if (st.start() == 0) {
                copy = " (copy stage)";
            } else if (loop != null && st.start() == loop.chunk()) {
                dst = "(" + b.name() + "_buf + (stage ^ 1) * " + upper(b) + "_COPY)";
                copy = " copy stage ^ 1";
            } else {
                throw new IllegalStateException("prefetch of " + b.name() + " " + st.start() + " channels ahead");
            }
        }
        boolean vectorized = count % vec == 0 && cols % vec == 0 && b.rowStride() % vec == 0;
        boolean core = b.layout() == Buffer.Layout.CORE_MATRICES;
        w.comment("stage " + wt.name() + "[" + range(lw.rows()) + ", " + range(lw.cols()) + "] -> " + b.name() + copy
                + (core ? " (8x8 core matrices: 8 rows of 16 bytes each, the blocks of a band of 8 rows in a row)"
                : " (rows padded to " + b.rowStride() + ")") + (lw.async() ? ", cp.async 16 B per copy" : ""));
        if (lw.async()) {
            if (!vectorized) throw new IllegalStateException("async copy of " + wt.name() + " is not in 16-byte pieces");
            int per = count / vec;
            String copy16 = "tm_cp_async16(" + dst + " + " + weightOffset(b, "row", "col", true) + ", " + cname(wt.name())
                    + " + (size_t)(" + r0 + " + row) * " + cols + " + " + c0 + " + col);";
            if (!columnCopies(rows, per, "col = (" + tid() + " % " + per + ") * " + vec, copy16)) {
                w.open("for (int i = " + tid() + "; i < " + rows * per + "; i += THREADS)");
                w.line("const int row = i / " + per + ", col = (i % " + per + ") * " + vec + ";");
                w.line(copy16);
                w.close();
            }
            return;
        }
        if (b.stages() == 2) throw new IllegalStateException("synchronous copy into double buffer " + b.name());
        if (vectorized) {
            int per = count / vec;
            w.open("for (int i = " + tid() + "; i < " + rows * per + "; i += THREADS)");
            w.line("const int row = i / " + per + ", col = (i % " + per + ") * " + vec + ";");
            w.line("*reinterpret_cast<uint4*>(" + b.name() + " + " + weightOffset(b, "row", "col", true) + ") = "
                    + "*reinterpret_cast<const uint4*>(" + cname(wt.name()) + " + (size_t)(" + r0 + " + row) * " + cols
                    + " + " + c0 + " + col);");
            w.close();
        } else {
            w.open("for (int i = " + tid() + "; i < " + rows * count + "; i += THREADS)");
            w.line("const int row = i / " + count + ", col = i % " + count + ";");
            w.line(b.name() + "[" + weightOffset(b, "row", "col", false) + "] = " + cname(wt.name()) + "[(size_t)(" + r0 + " + row) * "
                    + cols + " + " + c0 + " + col];");
            w.close();
        }
    }

    /**
     * Copies of a slice of {@code rows} rows of {@code per} pieces in which each thread keeps one column and steps
     * down the rows: {@code copy} (a statement of {@code row} and the column's variables, which {@code column}
     * declares from the thread's index) in an unrolled loop. No division per copy, and the copies share one address
     * computation: in MBConv's and ConvFirst's stream loops the form that divided each copy's index took more
     * instructions than the copies (Nsight Compute, fifteenth session). Where the threads are not a multiple of
     * {@code per}, the last {@code threads % per} sit it out (ConvNeXt's 7x7 weight, 96 channels: 96 of 128 threads
     * copy 49 taps each, where the divided loop took 37 trips of about 15 instructions). Returns false (and writes
     * nothing) where there are fewer threads than pieces in a row, or the rows would take more than 64 steps.
     */
    private boolean columnCopies(int rows, int per, String column, String copy) {
        int active = threads() / per * per;
        if (active == 0) return false;
        int step = threads() / per, trips = (rows + step - 1) / step;
        if (trips > 64) return false;
        String idle = active < threads() ? " (" + active + " threads: a multiple of the " + per + " pieces of a row)" : "";
        w.open(active < threads() ? "if (" + tid() + " < " + active + ")" : "");
        w.line(step == 1 ? "const int " + column + ";  // every row" + idle
                : "const int row0 = " + tid() + " / " + per + ", " + column + ";  // rows row0, row0 + " + step + ", ..." + idle);
        w.line("#pragma unroll");
        if (step == 1) {
            w.open("for (int row = 0; row < " + rows + "; ++row)");
        } else {
            w.open("for (int j = 0; j < " + trips + "; ++j)");
            w.line("const int row = row0 + j * " + step + ";");
        }
        if (rows % step != 0) w.line("if (row < " + rows + ")");
        w.line((rows % step != 0 ? "    " : "") + copy);
        w.close();
        w.close();
        return true;
    }

    /**
     * The element offset of row {@code row}, column {@code col} in a weight slice buffer; {@code piece}: col is a
     * multiple of 8 (the start of a 16-byte piece), which in core matrices is the start of one of its rows.
     */
    private static String weightOffset(Buffer b, String row, String col, boolean piece) {
        if (b.layout() == Buffer.Layout.ROWS) return row + " * " + b.rowStride() + " + " + col;
        return "((" + row + " / 8) * " + b.channels() / 8 + " + " + col + " / 8) * 64 + (" + row + " % 8) * 8"
                + (piece ? "" : " + " + col + " % 8");
    }

    /** A slice's range for comments: "0 : 0+64", "e0 : e0+64", or "e0+64 : e0+128" for the next chunk. */
    private static String range(Instr.Channels ch) {
        if (ch.streamed() && ch.start() > 0) {
            return ch.loopVar() + "+" + ch.start() + " : " + ch.loopVar() + "+" + (ch.start() + ch.count());
        }
        String s = start(ch);
        return s + " : " + s + "+" + ch.count();
    }

    /** Where a slice starts: "0", "e0", or "e0 + 64" for the next chunk. */
    private static String start(Instr.Channels ch) {
        if (!ch.streamed()) return String.valueOf(ch.start());
        return ch.start() == 0 ? ch.loopVar() : ch.loopVar() + " + " + ch.start();
    }

    /** The fewest and the most pixels of a row one thread computes in the register-blocked depthwise conv. */
    static final int DEPTHWISE_ROW_BLOCK_MIN = 4, DEPTHWISE_ROW_BLOCK_MAX = 8;

    /**
     * Pixels of a row one thread computes in the register-blocked depthwise conv, for rows of {@code side} pixels:
     * the block between {@link #DEPTHWISE_ROW_BLOCK_MIN} and {@link #DEPTHWISE_ROW_BLOCK_MAX} that leaves the fewest
     * columns past the row's end (computed and dropped), the larger on a tie (each input pair loaded serves more
     * pixels). 14-pixel rows take 7 (blocks of 4 computed 16 columns: 1.14x slower on MBConvDW), 8 and 16 take 8
     * (docs/benchmarks.md). A row shorter than the smallest block is one block.
     */
    static int depthwiseRowBlock(int side) {
        if (side <= DEPTHWISE_ROW_BLOCK_MIN) return side;
        int best = DEPTHWISE_ROW_BLOCK_MIN, bestWaste = Integer.MAX_VALUE;
        for (int rb = DEPTHWISE_ROW_BLOCK_MIN; rb <= DEPTHWISE_ROW_BLOCK_MAX; rb++) {
            int waste = (side + rb - 1) / rb * rb - side;
            if (waste <= bestWaste) {
                best = rb;
                bestWaste = waste;
            }
        }
        return best;
    }

    /**
     * The register-blocked path applies to a depthwise conv on CUDA cores with a 16-bit staged input; its weight is
     * staged in the same type, or read from global memory (the plan's {@code place W in global}).
     */
    private boolean depthwiseBlockable(Op.Conv2d cv, Buffer dst, Region rg, Map<String, Buffer> sources) {
        Buffer src = sources.get(cv.in().name());
        Buffer ws = stagedWeight(cv.weight().name());
        return cv.groupWidth() == 1 && cv.groups() == cv.out().channels() && src != null && src.space() == Space.SHARED
                && src.dtype().bytes == 2 && (ws == null || ws.dtype() == src.dtype()) && rg.channels() % 2 == 0
                && dst.space() != Space.REGISTERS && inlined.isEmpty();
    }

    /**
     * Depthwise conv, register-blocked: a thread owns two adjacent channels (one 32-bit load each) of
     * {@link #depthwiseRowBlock} consecutive pixels of a row, so every input pair it loads serves up to k taps and
     * every weight pair serves all of its pixels.
     */
    private void computeDepthwiseBlocked(Instr.Compute c, Op.Conv2d cv, Region rg) {
        Buffer src = sourceBuffer(cv.in(), c.sources(), "conv2d");
        Buffer ws = stagedWeight(cv.weight().name());
        Buffer dst = c.dst();
        int rb = depthwiseRowBlock(rg.side());
        int k = cv.kernel();
        int off = src.halo() - rg.halo() - cv.pad();
        int rows = rg.pixels() / rg.side();
        int segments = (rg.side() + rb - 1) / rb;
        int pairs = rg.channels() / 2;
        boolean chunkedSrc = src.channels() < cv.in().channels();
        boolean chunkedW = ws != null && ws.channels() < cv.out().channels();
        String ch0 = rg.streamed() ? "e0" : "0";
        String u = upper(src);
        w.open("for (int i = " + tid() + "; i < " + rows * segments * pairs + "; i += THREADS)");
        w.line("const int cp = i % " + pairs + ", seg = (i / " + pairs + ") % " + segments + ", row = i / " + (pairs * segments) + ";");
        w.line("const int c0 = 2 * cp, x0 = seg * " + rb + ";  // channels c0, c0 + 1 of pixels x0 .. x0 + " + (rb - 1));
        w.line("float2 acc[" + rb + "] = {};");
        w.line("#pragma unroll 1");
        w.open("for (int ky = 0; ky < " + k + "; ++ky)");
        w.line("const " + CudaEmitter.ctype(src.dtype()) + "* in = " + src.name() + " + ((row + ky + " + off + ") * " + u
                + "_W + x0 + " + off + ") * " + u + "_STRIDE + " + ch0 + " + c0" + (chunkedSrc ? " - e0" : "") + ";");
        w.line("float2 xs[" + (rb + k - 1) + "];");
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + (rb + k - 1) + "; ++j)");
        w.line("// columns past the region's right edge stay in the buffer (its halo); their results are dropped");
        w.line("xs[j] = x0 + " + off + " + j < " + u + "_W ? tm_f32x2(in + j * " + u + "_STRIDE) : make_float2(0.0f, 0.0f);");
        w.close();
        w.line("#pragma unroll");
        w.open("for (int kx = 0; kx < " + k + "; ++kx)");
        if (ws != null) {
            w.line("const float2 wv = tm_f32x2(" + ws.name() + " + (ky * " + k + " + kx) * " + ws.channels() + " + " + ch0
                    + " + c0" + (chunkedW ? " - e0" : "") + ");");
        } else {
            // the weight in global memory, [channel][ky][kx]: the pair's two taps are k * k elements apart (L1 hits
            // after the first block on the SM reads them)
            String wt = cname(cv.weight().name());
            w.line("const int tap = ky * " + k + " + kx;");
            w.line("const float2 wv = make_float2(tm_f32(" + wt + "[(size_t)(" + ch0 + " + c0) * " + k * k + " + tap]), tm_f32("
                    + wt + "[(size_t)(" + ch0 + " + c0 + 1) * " + k * k + " + tap]));");
        }
        w.line("#pragma unroll");
        w.open("for (int r = 0; r < " + rb + "; ++r)");
        w.line("acc[r].x += xs[r + kx].x * wv.x;");
        w.line("acc[r].y += xs[r + kx].y * wv.y;");
        w.close();
        w.close();
        w.close();
        w.line("#pragma unroll");
        w.open("for (int r = 0; r < " + rb + "; ++r)");
        w.line("const int ly = row, lx = x0 + r;");
        w.line("if (lx >= " + rg.side() + ") continue;");
        int pixelAt = w.mark();  // p is declared there if the code uses it (a shared destination's address)
        w.line("const int gh = h0 - " + rg.halo() + " + ly, gw = w0 - " + rg.halo() + " + lx;");
        w.line("const bool inside = gh >= 0 && gh < H && gw >= 0 && gw < W;");
        if (dst.space() == Space.GLOBAL) w.line("if (!inside) continue;");
        w.line("float v[2] = {0.0f, 0.0f};");
        // A store of the layer's own type rounds as the named value does (rounding twice to f16 or bf16 is rounding
        // once), so the value is rounded only by the store then: two conversions fewer per element.
        boolean roundLast = dst.dtype() != c.layer().out().dtype();
        for (int q = 0; q < 2; q++) {
            w.open(dst.space() == Space.GLOBAL ? "" : "if (inside)");
            int at = w.mark();
            w.line("v[" + q + "] = " + evaluate(c.layer(), rg, c.sources(), "acc[r]." + (q == 0 ? "x" : "y"), roundLast) + ";");
            declareChannel(at, q, ch0);
            w.close();
        }
        w.line(dst.space() == Space.GLOBAL ? storePair(globalElementAddress(dst, ch0 + " + c0"), dst.dtype(), "v[0]", "v[1]")
                : storePair("&" + dst.name() + "[p * " + upper(dst) + "_STRIDE + c0]", dst.dtype(), "v[0]", "v[1]"));
        if (w.usedSince(pixelAt, "p")) w.insertAt(pixelAt, "const int p = ly * " + rg.side() + " + lx;");
        w.close();
        w.close();
    }

    /** A conv weight slice transposed to [tap][channel][C_in/groups] (see Instr.LoadWeight#tapMajor). */
    private void loadWeightTapMajor(Instr.LoadWeight lw, tmc.check.Weight wt) {
        Buffer b = lw.dst();
        int taps = wt.dims().get(1) * wt.dims().get(2);
        int gw = wt.dims().get(3);
        int cols = b.channels();
        if (lw.async() || b.stages() != 1) throw new IllegalStateException("tap-major copies are synchronous: " + b.name());
        String r0 = start(lw.rows());
        w.comment("stage " + wt.name() + "[" + r0 + " : " + r0 + "+" + lw.rows().count() + ", taps, :] -> " + b.name()
                + " transposed to [tap][channel], so a warp's channels read consecutive words");
        // the rows of the transposed slice are the taps, its columns channel * gw + input
        String copy = b.name() + "[row * " + cols + " + col] = " + cname(wt.name()) + (gw == 1
                ? "[(size_t)(" + r0 + " + col) * " + taps + " + row];  // tap row of channel col"
                : "[((size_t)(" + r0 + " + col / " + gw + ") * " + taps + " + row) * " + gw + " + col % " + gw + "];");
        if (!columnCopies(taps, cols, "col = " + tid() + " % " + cols, copy)) {
            w.open("for (int i = " + tid() + "; i < " + taps * cols + "; i += THREADS)");
            w.line("const int tap = i / " + cols + ", col = i % " + cols + ";  // col = channel * " + gw + " + input");
            w.line(b.name() + "[i] = " + cname(wt.name()) + "[((size_t)(" + r0 + " + col / " + gw + ") * " + taps
                    + " + tap) * " + gw + " + col % " + gw + "];");
            w.close();
        }
    }

    /**
     * The k loop of one block of wm x wn tiles: A fragments with ldmatrix from the shared pixel rows, B
     * fragments with ldmatrix from the staged weight slice (or 32-bit loads from global memory when the
     * weight is not staged), wm * wn mma per k step.
     *
     * @param dvar     the accumulator of tile (mi, ni), written with the placeholders mi and ni
     * @param nBase    the first output channel (within the weight slice) of this block's tiles
     * @param wRow0    for global weights: the weight row of channel 0 of the slice; for staged: ignored
     * @param kOffset  for global weights: the column of k = 0 (e0 for a reduction chunk)
     */
    private void mmaKLoop(Buffer src, Op.Pointwise pw, String dvar, int kCount, String nBase, String wRow0,
                          String kOffset, MmaTiling f, int side, int halo) {
        if (kCount % 16 != 0) throw new IllegalStateException("mma k loop over " + kCount + " channels (not a multiple of 16)");
        String t = CudaEmitter.ctype(src.dtype());
        Buffer ws = stagedWeight(pw.weight().name());
        w.line("const " + t + "* arow[" + f.wm() + "];");
        w.line("#pragma unroll");
        w.open("for (int mi = 0; mi < " + f.wm() + "; ++mi)");
        w.line("// lanes 0-15 give rows 0-15 at k, lanes 16-31 the same rows at k + 8; rows past the region");
        w.line("// read a real pixel and their results are dropped");
        w.line("const int pa = min((mb * " + f.wm() + " + mi) * 16 + (lane & 15), " + (f.pixels() - 1) + ");");
        w.line("arow[mi] = " + rowAddress(src, "pa", side, halo) + " + (lane >> 4) * 8;");
        w.close();
        if (ws != null) {
            w.line("// B rows: lanes 0-7 tile n, k 0-7; 8-15 tile n, k 8-15; 16-23 tile n+1, k 0-7; 24-31 tile n+1, k 8-15");
            w.line("const " + CudaEmitter.ctype(ws.dtype()) + "* brow = " + ws.name() + " + (" + nBase
                    + " + ((lane >> 4) & 1) * 8 + (lane & 7)) * " + ws.rowStride() + " + ((lane >> 3) & 1) * 8;");
        }
        w.line(kCount <= 64 ? "#pragma unroll" : "#pragma unroll 4");
        w.open("for (int k0 = 0; k0 < " + kCount + "; k0 += 16)");
        w.line("unsigned a[" + f.wm() + "][4];");
        w.line("#pragma unroll");
        w.line("for (int mi = 0; mi < " + f.wm() + "; ++mi) tm_ldsm_x4(a[mi], arow[mi] + k0);");
        w.line("#pragma unroll");
        w.open("for (int nj = 0; nj < " + f.wn() / 2 + "; ++nj)");
        w.line("unsigned b[4];");
        if (ws != null) {
            w.line("tm_ldsm_x4(b, brow + nj * 16 * " + ws.rowStride() + " + k0);");
        } else {
            String wt = CudaEmitter.ctype(pw.weight().dtype());
            w.line("const " + wt + "* wb0 = " + cname(pw.weight().name()) + " + (size_t)(" + wRow0 + " + " + nBase
                    + " + nj * 16 + lane_row) * " + pw.in().channels() + " + " + kOffset + " + k0 + 2 * lane_col;");
            w.line("const " + wt + "* wb1 = wb0 + 8 * " + pw.in().channels() + ";");
            w.line("b[0] = tm_ld2(wb0); b[1] = tm_ld2(wb0 + 8); b[2] = tm_ld2(wb1); b[3] = tm_ld2(wb1 + 8);");
        }
        w.line("#pragma unroll");
        w.open("for (int mi = 0; mi < " + f.wm() + "; ++mi)");
        w.line("{ const int ni = 2 * nj; tm_mma(" + dvar + ", arow[0], a[mi][0], a[mi][1], a[mi][2], a[mi][3], b[0], b[1]); }");
        w.line("{ const int ni = 2 * nj + 1; tm_mma(" + dvar + ", arow[0], a[mi][0], a[mi][1], a[mi][2], a[mi][3], b[2], b[3]); }");
        w.close();
        w.close();
        w.close();
    }

    /** A pointwise layer on tensor cores, its epilogue applied to each fragment element, written to dst. */
    private void computeMma(Instr.Compute c, Op.Pointwise pw, Region rg) {
        Buffer src = sourceBuffer(pw.in(), c.sources(), "pointwise");
        if (src.channels() < pw.in().channels()) {
            throw new IllegalStateException("pointwise reads chunked buffer " + src.name() + " outside an accumulation");
        }
        Buffer dst = c.dst();
        if (dst.space() == Space.REGISTERS) throw new UnsupportedOperationException("tensor-core compute into registers");
        MmaTiling f = stagedTiling(rg);
        String ch0 = rg.streamed() ? "e0" : "0";
        boolean staged = stagedWeight(pw.weight().name()) != null;
        w.open("");
        w.line("// " + dealComment(f, MmaTiling.of(rg.pixels(), rg.channels(), warps()), warps()));
        String mask = rowMasks.get(c);
        if (mask != null) w.line("unsigned inside_rows = " + mask + ";  // the block's rows from bit 0: shifted on after each block");
        w.line("#pragma unroll 1");
        if (mask == null) {
            w.open("for (int grp = " + warp() + "; grp < " + f.groups() + "; grp += THREADS / 32)");
        } else {
            w.open("for (int grp = " + warp() + "; grp < " + f.groups() + "; grp += THREADS / 32, inside_rows >>= " + 2 * f.wm() + ")");
        }
        w.line("const int mb = grp / " + f.nb() + ", nb = grp % " + f.nb() + ";");
        // The bias after the sum starts the accumulators (one add fewer per value, and its loads are issued before
        // the products rather than in the epilogue); pixels outside the image are still written as zero. Loading it a
        // block ahead, before the trip's wait and barrier, was measured slower (0.96x-0.98x, sixteenth session).
        Op.Elementwise bias = foldableBias(c.layer());
        w.line("float d[" + f.wm() + "][" + f.wn() + "][4]" + (bias == null ? " = {}" : "") + ";");
        if (bias != null) startAtBias(bias, "ni", f.wn(), blockChannel(rg, f, "nb"), "d[mi][ni]", f.wm());
        mmaKLoop(src, pw, "d[mi][ni]", pw.in().channels(), "nb * " + f.wn() * 8, staged ? "0" : ch0, "0", f,
                rg.side(), rg.halo());
        foldedBias = bias;
        fragmentPairs(f, "mb", "nb", rg.pixels(), rg.side(), rg.halo(), ch0,
                dst.space() == Space.GLOBAL, mask == null ? null : "inside_rows", (guard, base) -> evaluateInto(c.layer(), rg, c.sources(), guard, base,
                        "d[mi][ni][rh * 2 + $]", dst.dtype() != c.layer().out().dtype()),
                (v0, v1) -> dst.space() == Space.GLOBAL ? storePair(globalElementAddress(dst, "c0"), dst.dtype(), v0, v1)
                        : storePair("&" + dst.name() + "[p * " + upper(dst) + "_STRIDE + c0]", dst.dtype(), v0, v1));
        foldedBias = null;
        w.close();
        w.close();
    }

    /**
     * What each warp computes of a staged product, and, where single row tiles were dealt instead of pairs, why:
     * "12 blocks of 16 pixels x 32 channels, 3 per warp (blocks of 32 pixels would deal 2 to 2 warps, 1 to 2)".
     */
    static String dealComment(MmaTiling dealt, MmaTiling pairs, int warps) {
        String s = dealt.groups() + " blocks of " + 16 * dealt.wm() + " pixels x " + 8 * dealt.wn() + " channels, dealt "
                + deal(dealt.groups(), warps);
        if (dealt.wm() != pairs.wm()) {
            s += " (blocks of " + 16 * pairs.wm() + " pixels would deal " + deal(pairs.groups(), warps)
                    + ": the busiest warp sets the time to the barrier)";
        }
        return s;
    }

    /** How {@code groups} blocks fall to {@code warps} warps round-robin: "3 per warp", "2 to 2 warps, 1 to 2". */
    private static String deal(int groups, int warps) {
        int lo = groups / warps, extra = groups % warps;
        if (extra == 0) return lo + " per warp";
        return (lo + 1) + " to " + extra + (extra == 1 ? " warp, " : " warps, ") + (lo == 0 ? "none" : lo) + " to "
                + (warps - extra);
    }

    /** The value of channel {@code c0 + rc} at the current pixel, emitted by the caller. */
    private interface PairValue {
        String emit(int rc);
    }

    /** Emits statements that assign v[0] and v[1] for channels c0 and c0 + 1, under {@code guard} (or null). */
    private interface PairValues {
        void emit(String guard, String ch0);
    }

    /**
     * Declares, at {@code at}, the channel of a pair's value that the code written since reads: c (c0 + q, within the
     * tile's channels) and oc (ch0 + c, within the tensor's), each only where it is named (nvcc warns of the others).
     */
    private void declareChannel(int at, int q, String ch0) {
        if (w.usedSince(at, "oc")) w.insertAt(at, "const int c = c0 + " + q + ", oc = " + ch0 + " + c;");
        else if (w.usedSince(at, "c")) w.insertAt(at, "const int c = c0 + " + q + ";");
    }

    /** The values of a {@link PairValue}, one channel after the other. */
    private PairValues perChannel(PairValue value) {
        return (guard, ch0) -> {
            for (int rc = 0; rc < 2; rc++) {
                w.open(guard == null ? "" : "if (" + guard + ")");
                int at = w.mark();
                w.line("v[" + rc + "] = " + value.emit(rc) + ";");
                declareChannel(at, rc, ch0);
                w.close();
            }
        };
    }

    /** Emits the store of the two adjacent channels (c0, c0 + 1) and returns the statement. */
    private interface PairStore {
        String statement(String v0, String v1);
    }

    /**
     * The epilogue over a block's fragments, by pixel row and channel pair: an mma lane holds, for each tile,
     * two rows (lane_row and lane_row + 8) of two adjacent channels. The pixel's geometry is computed once per
     * row, both channels are evaluated, and one packed store writes them.
     *
     * @param maskOnly when true (a global destination) pixels outside the image are skipped; otherwise they
     *                 are written as zero (a shared destination that a conv may read as padding)
     */
    private void fragmentPairs(MmaTiling f, String mbVar, String nbVar, int pixels, int side, int halo, String ch0,
                               boolean maskOnly, PairValues values, PairStore store) {
        fragmentPairs(f, mbVar, nbVar, pixels, side, halo, ch0, maskOnly, null, values, store);
    }

    /** @param insideRows null, or the hoisted row mask of this block (bit 2 * mi + rh: inside the image; hoistRowMasks) */
    private void fragmentPairs(MmaTiling f, String mbVar, String nbVar, int pixels, int side, int halo, String ch0,
                               boolean maskOnly, String insideRows, PairValues values, PairStore store) {
        w.line("#pragma unroll");
        w.open("for (int mi = 0; mi < " + f.wm() + "; ++mi)");
        w.line("#pragma unroll");
        w.open("for (int rh = 0; rh < 2; ++rh)");
        w.line("const int p = (" + mbVar + " * " + f.wm() + " + mi) * 16 + lane_row + rh * 8;");
        w.line("if (p >= " + pixels + ") continue;  // padding rows of the last row tile");
        if (insideRows != null) w.line("const bool inside = (" + insideRows + " >> (mi * 2 + rh)) & 1u;");
        else pixelGeometry(side, halo, null);
        if (maskOnly) w.line("if (!inside) continue;");
        w.line("#pragma unroll");
        w.open("for (int ni = 0; ni < " + f.wn() + "; ++ni)");
        w.line("const int c0 = (" + nbVar + " * " + f.wn() + " + ni) * 8 + 2 * lane_col;");
        w.line("float v[2] = {0.0f, 0.0f};");
        values.emit(maskOnly ? null : "inside", ch0);
        w.line(store.statement("v[0]", "v[1]"));
        w.close();
        w.close();
        w.close();
    }

    /**
     * The pairs of every accumulator block the warp owns (see fragmentPairs); {@link #accElement} names element rc of
     * the current pair, for {@code value}.
     */
    private void accumulatorPairs(Buffer acc, boolean maskOnly, PairValue value, PairStore store) {
        accumulatorPairs(acc, maskOnly, perChannel(value), store);
    }

    private void accumulatorPairs(Buffer acc, boolean maskOnly, PairValues value, PairStore store) {
        MmaTiling f = fragments.get(acc.name());
        w.line("#pragma unroll");
        w.open("for (int i = 0; i < " + f.perWarp() + "; ++i)");
        w.line("const int grp = " + warp() + " + i * (THREADS / 32);");
        if (f.groups() % warps() != 0) w.line("if (grp >= " + f.groups() + ") continue;");
        w.line("const int mb = grp / " + f.nb() + ", nb = grp % " + f.nb() + ";");
        fragmentPairs(f, "mb", "nb", f.pixels(), k.tileW(), 0, "0", maskOnly, value, store);
        w.close();
    }

    /** The accumulator element {@code rc} of the current pair in {@link #accumulatorPairs}. */
    private static String accElement(Buffer acc, String rc) {
        return acc.name() + "[i][mi][ni][rh * 2 + " + rc + "]";
    }

    /** One store of two adjacent values (the address is aligned: even channel, even row stride). */
    static String storePair(String address, DType dtype, String v0, String v1) {
        return switch (dtype) {
            case F16 -> "*reinterpret_cast<__half2*>(" + address + ") = __floats2half2_rn(" + v0 + ", " + v1 + ");";
            case BF16 -> "*reinterpret_cast<__nv_bfloat162*>(" + address + ") = __floats2bfloat162_rn(" + v0 + ", " + v1 + ");";
            case F32 -> "*reinterpret_cast<float2*>(" + address + ") = make_float2(" + v0 + ", " + v1 + ");";
        };
    }

    /** The address of activation dst.tensor() at the current pixel (gh, gw) and channel {@code channel}. */
    private String globalElementAddress(Buffer dst, String channel) {
        return globalAddress(CudaEmitter.activationOf(block, k, dst.tensor()), channel);
    }

    /** Stores one computed element (zero outside the image for shared destinations, masked for global ones). */
    private void writeResult(Instr.Compute c, Buffer dst, Region rg, String mainValue) {
        if (dst.space() == Space.GLOBAL) {
            w.open("if (gh < H && gw < W)");
            String result = evaluate(c.layer(), rg, c.sources(), mainValue);
            w.line(globalElement(dst) + " = tm_from_f32<" + CudaEmitter.ctype(dst.dtype()) + ">(" + result + ");");
            w.close();
        } else {
            w.line("float v = 0.0f;");
            w.open("if (gh >= 0 && gh < H && gw >= 0 && gw < W)");
            w.line("v = " + evaluate(c.layer(), rg, c.sources(), mainValue) + ";");
            w.close();
            w.line(dst.name() + "[p * " + upper(dst) + "_STRIDE + c] = tm_from_f32<" + CudaEmitter.ctype(dst.dtype())
                    + ">(v);");
        }
    }

    /**
     * A conv of group width 8 on tensor cores: for each 16-pixel row tile and each group of 8 output channels,
     * k x k m16n8k8 products accumulate the tap-shifted input rows against the tap's 8x8 weight block.
     */
    private void computeMmaConv(Instr.Compute c, Op.Conv2d cv, Region rg) {
        Buffer src = sourceBuffer(cv.in(), c.sources(), "conv2d");
        Buffer dst = c.dst();
        if (dst.layout() == Buffer.Layout.A_FRAGMENTS) {
            computeMmaConvFragments(c, cv, rg);
            return;
        }
        if (dst.space() == Space.REGISTERS) throw new UnsupportedOperationException("tensor-core conv into registers");
        if (cv.isDepthwise()) {
            computeMmaDepthwise(c, cv, rg);
            return;
        }
        int off = src.halo() - rg.halo() - cv.pad();
        if (off < 0) throw new IllegalStateException("halo of " + src.name() + " too small for the conv");
        boolean chunked = src.channels() < cv.in().channels();
        int mt = (rg.pixels() + 15) / 16;
        int groups = rg.channels() / 8;
        int items = mt * groups;
        String ch0 = rg.streamed() ? "e0" : "0";
        String t = CudaEmitter.ctype(src.dtype());
        String wt = CudaEmitter.ctype(cv.weight().dtype());
        String u = upper(src);
        int kk = cv.kernel();
        Buffer ws = stagedWeight(cv.weight().name());
        w.open("");
        w.line("#pragma unroll 1");
        w.open("for (int item = " + warp() + "; item < " + items + "; item += THREADS / 32)");
        w.line("const int mt = item / " + groups + ", grp = item % " + groups + ";  // row tile, group of 8 channels");
        w.line("// ldmatrix x2: lanes 0-15 give the rows of the 16 pixels (lanes 16-31 repeat them, unused)");
        w.line("const int pa = min(mt * 16 + (lane & 15), " + (rg.pixels() - 1) + ");");
        w.line("const int ya = pa / " + rg.side() + " + " + off + ", xa = pa % " + rg.side() + " + " + off + ";");
        w.line("const " + t + "* arow = " + src.name() + " + (ya * " + u + "_W + xa) * " + u + "_STRIDE + grp * 8"
                + (chunked ? "" : " + " + ch0) + ";");
        if (ws != null) {
            w.line("const " + wt + "* brow = " + ws.name() + " + (grp * 8 + (lane & 7)) * " + ws.rowStride()
                    + ";  // lanes 0-7: the 8 output channels");
        } else {
            w.line("const " + wt + "* wg = " + cname(cv.weight().name()) + " + (size_t)(" + ch0 + " + grp * 8 + lane_row) * "
                    + (kk * kk * 8) + " + 2 * lane_col;");
        }
        w.line("float d[4] = {};");
        String b = ws != null ? loadTapFragments(kk) : "tm_ld2(wg + tap * 8)";
        openTapLoopsNamingTap(kk);
        w.line("unsigned a[2];");
        w.line("tm_ldsm_x2(a, arow + (ky * " + u + "_W + kx) * " + u + "_STRIDE);");
        w.line("tm_mma_k8(d, arow, a[0], a[1], " + b + ");");
        w.close();
        w.close();
        convFragmentEpilogue(c, rg, ch0, "mt", "d");
        w.close();
        w.close();
    }

    /**
     * The epilogue of a staged tensor-core conv on one m16n8 C fragment {@code frag} (row tile {@code tile}, group
     * {@code grp} of 8 channels): into a shared tile by pixel row, or each element to global memory.
     */
    private void convFragmentEpilogue(Instr.Compute c, Region rg, String ch0, String tile, String frag) {
        Buffer dst = c.dst();
        if (dst.space() == Space.SHARED) {
            // By pixel row: the lane holds channels c0 and c0 + 1 of rows lane_row and lane_row + 8; the geometry is
            // computed once per row and both channels are stored together.
            boolean sameType = dst.dtype() == c.layer().out().dtype();
            w.line("#pragma unroll");
            w.open("for (int rh = 0; rh < 2; ++rh)");
            w.line("const int p = " + tile + " * 16 + lane_row + rh * 8;");
            w.line("if (p >= " + rg.pixels() + ") continue;  // padding rows of the last row tile");
            pixelGeometry(rg.side(), rg.halo(), "outside: zero, the next conv's padding");
            w.line("const int c0 = grp * 8 + 2 * lane_col;");
            w.line("float v[2] = {0.0f, 0.0f};");
            evaluateInto(c.layer(), rg, c.sources(), "inside", ch0, frag + "[rh * 2 + $]", !sameType);
            w.line(storePair("&" + dst.name() + "[p * " + upper(dst) + "_STRIDE + c0]", dst.dtype(), "v[0]", "v[1]"));
            w.close();
        } else {
            w.line("#pragma unroll");
            w.open("for (int r = 0; r < 4; ++r)");
            w.line("const int p = " + tile + " * 16 + lane_row + (r >> 1) * 8, c = grp * 8 + 2 * lane_col + (r & 1);");
            w.open("if (p < " + rg.pixels() + ")");
            pixelCoordinates(rg.side(), rg.halo());
            w.line("const int oc = " + ch0 + " + c;");
            writeResult(c, dst, rg, frag + "[r]");
            w.close();
            w.close();
        }
    }

    /** Row tiles of 16 pixels per item of a depthwise conv on tensor cores: at most 4, as even as they divide. */
    static int depthwiseRowTilesPerItem(int rowTiles) {
        return (rowTiles + (rowTiles + 3) / 4 - 1) / ((rowTiles + 3) / 4);
    }

    /**
     * A depthwise conv on tensor cores (Lowering#depthwiseTensorCoreRefusal): per group of 8 channels, one m16n8k8 per tap
     * and row tile of 16 pixels whose B is the diagonal of the group's 8 weights at that tap. An item is one group and
     * up to 4 row tiles, so that each tap's B (a 32-bit load of the tap-major weight slice and a mask) serves them all.
     * Where the region's rows are whole 8-pixel segments the item loads each input matrix once per column tap
     * ({@link #depthwiseTapsByRows}); otherwise each product loads its A by ldmatrix x2, four times the shared
     * bytes (ConvNeXt's 7x7 on the H100: 0.92x of the CUDA-core conv that way, 1.01x by rows; docs/benchmarks.md).
     */
    private void computeMmaDepthwise(Instr.Compute c, Op.Conv2d cv, Region rg) {
        Buffer src = sourceBuffer(cv.in(), c.sources(), "conv2d");
        Buffer ws = stagedWeight(cv.weight().name());
        if (ws == null) throw new IllegalStateException(k.name() + ": a depthwise conv on tensor cores reads a staged weight");
        int off = src.halo() - rg.halo() - cv.pad();
        if (off < 0) throw new IllegalStateException("halo of " + src.name() + " too small for the conv");
        int mt = (rg.pixels() + 15) / 16;
        int per = depthwiseRowTilesPerItem(mt);
        DepthwiseItems g = new DepthwiseItems(src, ws, off, src.channels() < cv.in().channels(), mt, per,
                (mt + per - 1) / per, rg.channels() / 8, rg.streamed() ? "e0" : "0");
        InputRows rows = InputRows.of(rg.side(), rg.pixels(), per, cv.kernel());
        String t = CudaEmitter.ctype(src.dtype());
        String u = upper(src);
        openDepthwiseItems(g);
        if (rows != null) {
            depthwiseTapsByRows(cv, rg, g, rows);
        } else {
            w.line("float d[" + per + "][4] = {};");
            w.line("// ldmatrix x2: lanes 0-15 give the rows of the 16 pixels (lanes 16-31 repeat them, unused); rows past the");
            w.line("// region read a real pixel and their results are dropped");
            w.line("const " + t + "* arow[" + per + "];");
            w.line("#pragma unroll");
            w.open("for (int mi = 0; mi < " + per + "; ++mi)");
            w.line("const int pa = min((mt0 + mi) * 16 + (lane & 15), " + (rg.pixels() - 1) + ");");
            w.line("arow[mi] = " + src.name() + " + ((pa / " + rg.side() + " + " + off + ") * " + u + "_W + pa % " + rg.side()
                    + " + " + off + ") * " + u + "_STRIDE + grp * 8" + g.chunkOffset() + ";");
            w.close();
            w.line("const unsigned b = " + openGroupTaps(cv, ws, "grp * 8") + ";");
            w.line("#pragma unroll");
            w.open("for (int mi = 0; mi < " + per + "; ++mi)");
            if (g.pastLastRowTile()) w.line("if (mt0 + mi >= " + mt + ") break;  // past the last row tile");
            w.line("unsigned a[2];");
            w.line("tm_ldsm_x2(a, arow[mi] + (ky * " + u + "_W + kx) * " + u + "_STRIDE);");
            w.line("tm_mma_k8(d[mi], arow[mi], a[0], a[1], b);");
            w.close();
            w.close();
            w.close();
        }
        w.line("#pragma unroll");
        w.open("for (int mi = 0; mi < " + per + "; ++mi)");
        // (the per-tap form's epilogue leaves those row tiles to its per-row pixel test, as it was verified)
        if (rows != null && g.pastLastRowTile()) w.line("if (mt0 + mi >= " + mt + ") break;  // past the last row tile");
        convFragmentEpilogue(c, rg, g.ch0(), "(mt0 + mi)", "d[mi]");
        w.close();
        w.close();
        w.close();
    }

    /**
     * How a depthwise conv on tensor cores deals its work: items of one group of 8 channels and {@code per} of the
     * region's {@code rowTiles} row tiles of 16 pixels ({@code blocks} of them), read from {@code src} at offset
     * {@code off} (its halo beyond the conv's), weights from the staged {@code ws}; {@code ch0} the region's first
     * channel, which a chunked source does not add.
     */
    private record DepthwiseItems(Buffer src, Buffer ws, int off, boolean chunked, int rowTiles, int per, int blocks,
                                  int groups, String ch0) {
        int items() {
            return blocks * groups;
        }

        /** Whether the last item's row tiles run past the region's (their products are skipped). */
        boolean pastLastRowTile() {
            return blocks * per > rowTiles;
        }

        /** What a source address adds for the region's first channel. */
        String chunkOffset() {
            return chunked ? "" : " + " + ch0;
        }
    }

    /** Opens a depthwise conv's item loop: the diagonal mask, then per item its group {@code grp} and first row tile. */
    private void openDepthwiseItems(DepthwiseItems g) {
        w.open("");
        diagonalMask();
        w.line("#pragma unroll 1");
        w.open("for (int item = " + warp() + "; item < " + g.items() + "; item += THREADS / 32)");
        w.line("const int grp = item % " + g.groups() + ", mt0 = item / " + g.groups() + " * " + g.per()
                + ";  // a group of 8 channels; row tiles mt0 .. mt0 + " + (g.per() - 1));
    }

    /**
     * The 8x8 input matrices an item of a depthwise conv on tensor cores reads at one column tap kx, when the region's
     * rows are whole 8-pixel segments ({@code side % 8 == 0}) and an item covers whole rows of the region: matrix m is
     * the 8 pixels of segment column {@code m % perRow} in input row {@code m / perRow} (relative to the item's first
     * row). The row tile of segments 2 mi and 2 mi + 1 reads at tap (ky, kx) the matrices of its segments' rows moved
     * down by ky, so the ky taps and the row tiles share them: each is loaded once per kx instead of once per tap and
     * row tile (7x7 over an 8x8 tile: 14 matrices per kx for 28 products, where each product loaded two).
     *
     * @param perRow  8-pixel segments per region row
     * @param rows    input rows per item: the item's region rows plus k - 1
     * @param lastRow the last input row (relative to the region's first) that holds data, for items past the region
     */
    record InputRows(int perRow, int rows, int lastRow) {
        /** At most this many matrices (one register each) per kx. */
        static final int MAX_MATRICES = 32;

        int matrices() {
            return perRow * rows;
        }

        /** The matrix of segment {@code seg} of an item at tap row {@code ky}. */
        int matrix(int seg, int ky) {
            return (seg / perRow + ky) * perRow + seg % perRow;
        }

        /**
         * The form for a region {@code side} pixels wide of {@code pixels} pixels, items of {@code per} row tiles and a
         * k x k conv, or null where the rows do not line up or the matrices would take more than {@link #MAX_MATRICES}
         * registers.
         */
        static InputRows of(int side, int pixels, int per, int k) {
            if (side % 8 != 0 || pixels % side != 0) return null;
            int perRow = side / 8;
            if ((2 * per) % perRow != 0) return null;
            InputRows r = new InputRows(perRow, 2 * per / perRow + k - 1, pixels / side - 1 + k - 1);
            return r.matrices() <= MAX_MATRICES ? r : null;
        }
    }

    /**
     * The tap products of {@link #computeMmaDepthwise} with the input matrices shared by taps and row tiles
     * ({@link InputRows}): per column tap kx an item loads its matrices by ldmatrix x4, then runs its rows of taps two
     * at a time as one m16n8k16 (A: the two taps' matrices side by side in k, B: their two diagonals; the products are
     * the same, half the mma instructions) and an odd last tap row as m16n8k8.
     */
    private void depthwiseTapsByRows(Op.Conv2d cv, Region rg, DepthwiseItems g, InputRows rows) {
        int kk = cv.kernel(), per = g.per();
        int nm = rows.matrices(), quads = (nm + 3) / 4;
        Buffer src = g.src(), ws = g.ws();
        String t = CudaEmitter.ctype(src.dtype());
        String wt = CudaEmitter.ctype(ws.dtype());
        String u = upper(src);
        boolean pastRegion = g.blocks() * 2 * per / rows.perRow() > rg.pixels() / rg.side();  // the last item's rows
        w.line("const int r0 = mt0 * 16 / " + rg.side() + ";  // the item's first row of the region");
        w.line("float d[" + per + "][4] = {};");
        w.comment("Row tile mi is the 8-pixel segments 2 mi and 2 mi + 1 (" + rows.perRow() + " per row); at tap (ky, kx) it reads\n"
                + "its segments' pixels ky rows down and kx columns right. Per kx the item loads each of the " + nm
                + " 8x8 input matrices\n(" + rows.rows() + " input rows" + (rows.perRow() > 1 ? " x " + rows.perRow()
                + " segments" : "") + ") once: matrix m is input row r0 + m / " + rows.perRow() + ", pixels "
                + "8 (m % " + rows.perRow() + ") + kx .. + 7; the taps of every ky and row tile share them.\n"
                + "ldmatrix x4: lanes 8j .. 8j + 7 give the rows (pixels) of matrix 4q + j"
                + (pastRegion ? "; rows past the region read its last input row, their results are dropped" : ""));
        w.line("const " + t + "* mrow[" + quads + "];");
        w.line("#pragma unroll");
        w.open("for (int q = 0; q < " + quads + "; ++q)");
        w.line("const int m = " + (nm % 4 == 0 ? "4 * q + (lane >> 3)" : "min(4 * q + (lane >> 3), " + (nm - 1) + ")") + ";");
        String row = "r0 + m / " + rows.perRow();
        if (pastRegion) row = "min(" + row + ", " + rows.lastRow() + ")";
        w.line("mrow[q] = " + src.name() + " + ((" + row + " + " + g.off() + ") * " + u + "_W + m % " + rows.perRow()
                + " * 8 + (lane & 7) + " + g.off() + ") * " + u + "_STRIDE + grp * 8" + g.chunkOffset() + ";");
        w.close();
        w.line("const " + wt + "* wrow = " + ws.name() + " + grp * 8 + 2 * lane_col;  // the lane's two channels at tap 0 (rows: taps)");
        w.line("#pragma unroll 1");
        w.open("for (int kx = 0; kx < " + kk + "; ++kx)");
        w.line("unsigned mx[" + quads + "][4];");
        w.line("#pragma unroll");
        w.line("for (int q = 0; q < " + quads + "; ++q) tm_ldsm_x4(mx[q], mrow[q] + kx * " + u + "_STRIDE);");
        w.line("const " + wt + "* wtap = wrow + kx * " + ws.rowStride() + ";");
        for (int ky = 0; ky < kk; ky += 2) {
            boolean pair = ky + 1 < kk;
            w.open("");
            w.line("// tap" + (pair ? "s" : "") + " (" + ky + ", kx)" + (pair ? " and (" + (ky + 1) + ", kx): one m16n8k16" : ": m16n8k8"));
            w.line("const unsigned b0 = tm_ld2(wtap + " + ky * kk * ws.rowStride() + ") & diag;");
            if (pair) w.line("const unsigned b1 = tm_ld2(wtap + " + (ky + 1) * kk * ws.rowStride() + ") & diag;");
            for (int mi = 0; mi < per; mi++) {
                String guard = g.pastLastRowTile() ? "if (mt0 + " + mi + " < " + g.rowTiles() + ") " : "";
                String a0 = mx(rows.matrix(2 * mi, ky)), a1 = mx(rows.matrix(2 * mi + 1, ky));
                if (pair) {
                    String a2 = mx(rows.matrix(2 * mi, ky + 1)), a3 = mx(rows.matrix(2 * mi + 1, ky + 1));
                    w.line(guard + "tm_mma(d[" + mi + "], " + src.name() + ", " + a0 + ", " + a1 + ", " + a2 + ", " + a3 + ", b0, b1);");
                } else {
                    w.line(guard + "tm_mma_k8(d[" + mi + "], " + src.name() + ", " + a0 + ", " + a1 + ", b0);");
                }
            }
            w.close();
        }
        w.close();
    }

    private static String mx(int m) {
        return "mx[" + m / 4 + "][" + m % 4 + "]";
    }

    /**
     * The mask that keeps a depthwise conv's weight where an m16n8k8 B fragment's diagonal is: a lane holds k = 2 *
     * lane_col and 2 * lane_col + 1 of column n = lane_row, so the lanes with lane_col = lane_row / 2 keep the half
     * at lane_row % 2 of the pair of weights they load (channels 2 * lane_col and + 1) and the others zero.
     */
    private void diagonalMask() {
        w.line("// B of a depthwise group is diagonal: the lane (k = 2 * lane_col, + 1; n = lane_row) keeps one of its two weights or none");
        w.line("const unsigned diag = lane_col == (lane_row >> 1) ? ((lane_row & 1) ? 0xFFFF0000u : 0x0000FFFFu) : 0u;");
    }

    /**
     * Before a group's tap loops, for the 8 output channels from {@code firstChannel} of the staged weight {@code ws}:
     * declares what its taps' B fragments come from and opens the tap loops with {@code tap} named; returns the B
     * fragment of tap {@code tap}. A group-width-8 conv's rows come by ldmatrix ({@link #loadTapFragments}); a
     * depthwise conv's diagonal from its tap-major slice, one 32-bit load and the lane's mask {@code diag} per tap, with
     * the tap rows unrolled up to 3x3 and rolled above (7x7: 49 taps of loads and products per row tile would be a long
     * straight run for little gain).
     */
    private String openGroupTaps(Op.Conv2d cv, Buffer ws, String firstChannel) {
        int kk = cv.kernel();
        String t = CudaEmitter.ctype(ws.dtype());
        if (!cv.isDepthwise()) {
            w.line("const " + t + "* brow = " + ws.name() + " + (" + firstChannel + " + (lane & 7)) * " + ws.rowStride() + ";");
            String b = loadTapFragments(kk);
            openTapLoopsNamingTap(kk);
            return b;
        }
        w.line("const " + t + "* wrow = " + ws.name() + " + " + firstChannel
                + " + 2 * lane_col;  // the lane's two channels at tap 0 (rows: taps)");
        w.line(kk <= 3 ? "#pragma unroll" : "#pragma unroll 1");
        w.open("for (int ky = 0; ky < " + kk + "; ++ky)");
        w.line("#pragma unroll");
        w.open("for (int kx = 0; kx < " + kk + "; ++kx)");
        w.line("const int tap = ky * " + kk + " + kx;");
        return "tm_ld2(wrow + tap * " + ws.rowStride() + ") & diag";
    }

    /**
     * A conv of group width 8 on tensor cores whose result stays in registers as the A fragments of the chained
     * pointwise layer that reads it (Buffer.Layout.A_FRAGMENTS): each warp convolves its own row tile of 16 pixels,
     * two groups at a time. One ldmatrix x4 gives both groups' input rows at a tap and one x2 both groups' weights;
     * the two m16n8 C fragments, after the epilogue, are exactly the A fragment of one k16 step (group 2j in k 0-7,
     * group 2j + 1 in k 8-15), so they are packed in place.
     */
    private void computeMmaConvFragments(Instr.Compute c, Op.Conv2d cv, Region rg) {
        Buffer src = sourceBuffer(cv.in(), c.sources(), "conv2d");
        Buffer dst = c.dst();
        Buffer ws = stagedWeight(cv.weight().name());
        int off = src.halo() - cv.pad();
        if (rg.halo() != 0 || off < 0 || ws == null || src.channels() != cv.in().channels()) {
            throw new IllegalStateException(k.name() + ": a conv into A fragments reads a whole staged tile and staged weights");
        }
        String t = CudaEmitter.ctype(src.dtype());
        String wt = CudaEmitter.ctype(cv.weight().dtype());
        String u = upper(src);
        int kk = cv.kernel();
        int steps = rg.channels() / 16;
        w.comment("each warp its row tile of 16 pixels (the rows it owns in the chain), all " + rg.channels() / 8
                + " groups; the result stays in " + dst.name());
        w.open("");
        w.line("const " + t + "* const a_type = nullptr;  // selects the " + src.dtype().keyword + " mma");
        w.line("const int pa = min(" + warp() + " * 16 + (lane & 15), " + (rg.pixels() - 1) + ");");
        w.line("const int ya = pa / " + rg.side() + " + " + off + ", xa = pa % " + rg.side() + " + " + off + ";");
        w.line("// ldmatrix x4: lanes 0-15 give the 16 pixels' rows of group 2j, lanes 16-31 those of group 2j + 1");
        w.line("const " + t + "* arow = " + src.name() + " + (ya * " + u + "_W + xa) * " + u + "_STRIDE + (lane >> 4) * 8;");
        w.line("// ldmatrix x2: lanes 0-7 give the 8 output channels of group 2j, lanes 8-15 those of group 2j + 1");
        w.line("const " + wt + "* brow = " + ws.name() + " + (((lane >> 3) & 1) * 8 + (lane & 7)) * " + ws.rowStride() + ";");
        w.line("#pragma unroll");
        w.open("for (int j = 0; j < " + steps + "; ++j)");
        w.line("float d[2][4] = {};  // groups 2j and 2j + 1");
        openTapLoops(kk);
        w.line("unsigned a[4], b[2];");
        w.line("tm_ldsm_x4(a, arow + (ky * " + u + "_W + kx) * " + u + "_STRIDE + j * 16);");
        w.line("tm_ldsm_x2(b, brow + j * 16 * " + ws.rowStride() + " + (ky * " + kk + " + kx) * 8);");
        w.line("tm_mma_k8(d[0], a_type, a[0], a[1], b[0]);");
        w.line("tm_mma_k8(d[1], a_type, a[2], a[3], b[1]);");
        w.close();
        w.close();
        // Only the chained pointwise layer reads the result, so rows outside the tile or the image (never stored) need
        // no zero padding; they are skipped only where the epilogue reads another activation there.
        boolean reads = !c.layer().epilogueInputs().isEmpty();
        w.line(reads ? "// epilogue; rows outside the tile or the image are left zero (they are never stored)"
                : "// epilogue, on every row: rows outside the tile or the image are never stored, so they need no mask");
        w.line("#pragma unroll");
        w.open("for (int rh = 0; rh < 2; ++rh)");
        if (reads) {
            w.line("const int p = " + warp() + " * 16 + lane_row + rh * 8;");
            pixelCoordinates(rg.side(), 0);
            w.line("const bool inside = p < " + rg.pixels() + " && gh < H && gw < W;");
        }
        w.line("#pragma unroll");
        w.open("for (int half = 0; half < 2; ++half)");
        w.line("const int c0 = j * 16 + half * 8 + 2 * lane_col;");
        w.line("float v[2] = {0.0f, 0.0f};");
        evaluateInto(c.layer(), rg, c.sources(), reads ? "inside" : null, "0", "d[half][rh * 2 + $]", false);
        w.line(dst.name() + "[j][half * 2 + rh] = tm_pack2(a_type, v[0], v[1]);");
        w.close();
        w.close();
        w.close();
        w.close();
    }

    /**
     * Loads a group's k x k tap B fragments from its staged weight row {@code brow} (tap t's 8 inputs at t * 8) before
     * the tap loops and returns the fragment of tap {@code ky * k + kx}. Four taps come by one ldmatrix x4 (lanes
     * 8m-8m+7 address tap m's rows) and the k * k mod 4 left by x1: for 3x3, 3 ldmatrix instead of 9. On the H100 this
     * is as fast as one x1 per tap (MBConv's plans 0.99x-1.02x, docs/benchmarks.md, nineteenth session): the conv
     * waits on latency, not on LDSM issue; it stays for the fewer instructions at the same registers.
     */
    private String loadTapFragments(int kk) {
        int taps = kk * kk, quads = taps / 4, left = taps % 4;
        w.line("// the group's " + taps + " tap B fragments: taps 4q to 4q + 3 by one ldmatrix x4 (lanes 8m to 8m + 7 give tap"
                + " 4q + m's rows)" + (left == 0 ? "" : left == 1 ? ", the last by x1" : ", the last " + left + " by x1"));
        if (quads > 0) {
            w.line("unsigned bq[" + quads + "][4];");
            w.line("#pragma unroll");
            w.line("for (int q = 0; q < " + quads + "; ++q) tm_ldsm_x4(bq[q], brow + q * 32 + (lane >> 3) * 8);");
        }
        if (left == 1) {
            w.line("const unsigned b_last = tm_ldsm_x1(brow + " + 8 * (taps - 1) + ");");
        } else if (left > 1) {
            w.line("unsigned b_last[" + left + "];");
            w.line("#pragma unroll");
            w.line("for (int t = 0; t < " + left + "; ++t) b_last[t] = tm_ldsm_x1(brow + (" + 4 * quads + " + t) * 8);");
        }
        String quad = "bq[tap >> 2][tap & 3]";
        String last = left == 1 ? "b_last" : "b_last[tap - " + 4 * quads + "]";
        if (left == 0) return quad;
        return quads == 0 ? last : "(tap < " + 4 * quads + " ? " + quad + " : " + last + ")";
    }

    /** {@link #openTapLoops(int)} with {@code tap = ky * k + kx} declared inside (a constant in each unrolled copy). */
    private void openTapLoopsNamingTap(int kk) {
        openTapLoops(kk);
        w.line("const int tap = ky * " + kk + " + kx;");
    }

    /** Opens the unrolled loops over a k x k conv's taps (ky, then kx); the caller closes both. */
    private void openTapLoops(int kk) {
        w.line("#pragma unroll");
        w.open("for (int ky = 0; ky < " + kk + "; ++ky)");
        w.line("#pragma unroll");
        w.open("for (int kx = 0; kx < " + kk + "; ++kx)");
    }

    private void accumulateMma(Instr.Accumulate a, Op.Pointwise pw) {
        Buffer acc = a.acc();
        MmaTiling f = fragments.get(acc.name());
        w.comment(acc.name() + "[p, :] += " + a.input().name() + "[p, e0 : e0+" + a.reduce().count() + "] . "
                + cname(pw.weight().name()) + "[:, e0 : e0+" + a.reduce().count() + "]^T on tensor cores   ("
                + sourceName + ":" + a.layer().span().line() + ")");
        w.line("#pragma unroll");
        w.open("for (int i = 0; i < " + f.perWarp() + "; ++i)");
        w.line("const int grp = " + warp() + " + i * (THREADS / 32);");
        boolean guard = f.groups() % warps() != 0;
        if (guard) w.open("if (grp < " + f.groups() + ")");
        w.line("const int mb = grp / " + f.nb() + ", nb = grp % " + f.nb() + ";");
        mmaKLoop(a.input(), pw, acc.name() + "[i][mi][ni]", a.reduce().count(), "nb * " + f.wn() * 8, "0", "e0", f,
                k.tileW(), 0);
        if (guard) w.close();
        w.close();
    }

    /**
     * A producer whose chunk stays in registers and the accumulation that reads it (see Instr.Chain). Per warp and
     * 16-pixel row tile, per group of {@code 16 * G} channels of the chunk: the producer's 2G m16n8 C fragments get
     * its epilogue, are packed to 16 bits, and are the A fragments of G m16n8k16 steps of the projection. The C
     * layout (rows lane_row and lane_row + 8, channels 2 * lane_col and + 1 of each n8 tile) is exactly the A layout
     * (the same rows, k 2 * lane_col and + 1 in registers 0 and 1, k + 8 in registers 2 and 3).
     */
    private void chain(Instr.Chain ch) {
        Instr.Compute prod = ch.producer();
        Instr.Accumulate acc = ch.consumer();
        Layer pl = prod.layer();
        Op.Pointwise proj = (Op.Pointwise) acc.layer().main();
        MmaTiling f = fragments.get(acc.acc().name());
        int chunk = prod.out().count();
        int g = ch.group();
        int width = ch.sliceWidth();
        Region rg = new Region(0, k.tileW(), k.tilePixels(), chunk, true);
        Buffer projW = stagedWeight(proj.weight().name());
        Buffer prodW = stagedWeight(switch (pl.main()) {
            case Op.Pointwise pw -> pw.weight().name();
            case Op.Conv2d cv -> cv.weight().name();
            default -> throw new IllegalStateException("chain producer " + pl.describe());
        });
        if (projW == null || prodW == null) throw new IllegalStateException(k.name() + ": a chain reads staged weights only");
        String ht = CudaEmitter.ctype(prod.dst().dtype());
        String h = pl.out().name();
        w.comment(pl.describe() + ", channels e0 .. e0+" + chunk + ", kept in registers and fed to "
                + acc.layer().describe() + "   (" + sourceName + ":" + pl.span().line() + ", " + acc.layer().span().line()
                + ")\n" + acc.acc().name() + "[p, :] += " + h + "[p, e0 : e0+" + chunk + "] . " + cname(proj.weight().name())
                + "[:, e0 : e0+" + chunk + "]^T. Each warp owns whole rows of 16 pixels; " + width + " channels of " + h
                + " at a time:\nthe producer's " + 2 * g + " m16n8 C fragments, after its epilogue, are the A fragments of "
                + g + " k16 step" + (g == 1 ? "" : "s") + " of the projection");
        w.open("");
        w.line("const " + ht + "* const h_type = nullptr;  // selects the " + prod.dst().dtype().keyword + " mma for "
                + h + "'s fragments");
        w.line("#pragma unroll");
        w.open("for (int i = 0; i < " + f.perWarp() + "; ++i)");
        int rowTileAt = w.mark();  // mb is declared there where the code uses it (declareRowTile)
        boolean wg = k.usesWgmma();
        if (f.mt() % warps() != 0) {
            if (wg) w.line("// no skip past the last row tile: every warp of a warpgroup takes part in each wgmma");
            else w.line("if (mb >= " + f.mt() + ") continue;");
        }
        boolean inputKept = Instr.Chain.inputInFragments(prod);
        if (!inputKept) {
            w.line("// A rows: lanes 0-15 give pixels 0-15, lanes 16-31 the same pixels 8 channels further; rows past the");
            w.line("// tile read a real pixel and their results are dropped");
            w.line("const int pa = min(mb * 16 + (lane & 15), " + (k.tilePixels() - 1) + ");");
        }
        boolean hoisted = false;  // the A fragments of a pointwise producer stay in registers (af)
        String afName = "af";
        switch (pl.main()) {
            case Op.Pointwise pw when inputKept -> {
                Buffer src = prod.sources().get(pw.in().name());
                hoisted = true;
                afName = src.name();
                w.line("const " + CudaEmitter.ctype(src.dtype()) + "* const arow = nullptr;  // selects the "
                        + src.dtype().keyword + " mma; the A fragments of " + pw.in().name() + " are in " + src.name());
            }
            case Op.Pointwise pw -> {
                Buffer src = sourceBuffer(pw.in(), prod.sources(), "pointwise");
                String t = CudaEmitter.ctype(src.dtype());
                w.line("const " + t + "* arow = " + rowAddress(src, "pa", k.tileW(), 0) + " + (lane >> 4) * 8;");
                int kSteps = pw.in().channels() / 16;
                if (Instr.Chain.hoistsInput(pw.in().channels(), chunk)) {
                    hoisted = true;
                    w.line("unsigned af[" + kSteps + "][4];  // A fragments of " + pw.in().name() + ", all " + pw.in().channels()
                            + " channels, for every slice");
                    w.line("#pragma unroll");
                    w.line("for (int kk = 0; kk < " + kSteps + "; ++kk) tm_ldsm_x4(af[kk], arow + kk * 16);");
                }
            }
            case Op.Conv2d cv -> {
                Buffer src = sourceBuffer(cv.in(), prod.sources(), "conv2d");
                String t = CudaEmitter.ctype(src.dtype());
                int off = src.halo() - cv.pad();
                if (off < 0) throw new IllegalStateException("halo of " + src.name() + " too small for the conv");
                boolean chunked = src.channels() < cv.in().channels();
                String u = upper(src);
                w.line("const int ya = pa / TILE_W + " + off + ", xa = pa % TILE_W + " + off + ";");
                w.line("const " + t + "* arow = " + src.name() + " + (ya * " + u + "_W + xa) * " + u + "_STRIDE"
                        + (chunked ? "" : " + e0") + ";  // channel 0 of the chunk at the pixel's top-left tap");
                if (cv.isDepthwise()) diagonalMask();
            }
            default -> throw new IllegalStateException("chain producer " + pl.describe());
        }
        boolean wgProducer = wg && ch.producerOnWgmma();
        if (wg) {
            // Core matrices (Buffer.Layout.CORE_MATRICES): 128 bytes apart along K, a band of 8 rows apart along N.
            if (wgProducer) {
                w.line("const unsigned long long " + prodW.name() + "_desc = tm_wgmma_desc(" + prodW.name() + ", 128, "
                        + prodW.channels() / 8 * 128 + ");  // B of the producer: rows " + h + " channels, columns K");
            }
            w.line("const unsigned long long " + projW.name() + "_desc = tm_wgmma_desc(" + projW.name() + ", 128, "
                    + projW.channels() / 8 * 128 + ");  // B of the projection: rows its outputs, columns the chunk");
        }
        // The epilogue reads only weights and constants unless it names another activation: then rows past the
        // tile or the image must not read it (their results are dropped anyway).
        boolean guard = !pl.epilogueInputs().isEmpty();
        if (guard) {
            w.line("bool inside[2];  // the lane's two rows: inside the tile and the image");
            w.line("#pragma unroll");
            w.open("for (int rh = 0; rh < 2; ++rh)");
            w.line("const int p = mb * 16 + lane_row + rh * 8;");
            w.line("inside[rh] = p < " + k.tilePixels() + " && h0 + p / TILE_W < H && w0 + p % TILE_W < W;");
            w.close();
        }
        // Up to two groups unrolled: the compiler overlaps one group's products with the other's epilogue. Longer
        // chunks go one group per trip, so the registers do not grow with the chunk (Lowering.chainRegisters is
        // calibrated for that: unrolling 2 of 4 groups spilled at 128 registers).
        // In a warp-specialized kernel the consumer holds the accumulators at 2 blocks of twice the warps per SM: its
        // sub-slices stay rolled (tmc.plan.WarpSpecialization#ROLLED_CHAIN_SAVING).
        boolean rolled = !(chunk <= 2 * width && side == null);
        // The bias after the producer's sum starts its accumulators: the epilogue has one add fewer per value.
        // (Loading the next slice's bias a slice ahead was measured slower with the staged product's block-ahead
        // bias: MBConv's specialized kernel 0.96x, sixteenth session.)
        Op.Elementwise bias = wgProducer ? null : foldableBias(pl);
        w.line(rolled ? "#pragma unroll 1" : "#pragma unroll");
        w.open("for (int sl = 0; sl < " + chunk + "; sl += " + width + ")");
        w.line("float d[" + 2 * g + "][4]" + (wgProducer || bias != null ? "" : " = {}") + ";  // " + h + "[16 pixels, e0+sl .. e0+sl+"
                + width + "] before the epilogue: " + 2 * g + " m16n8 tiles");
        BiasAhead ahead = biasAhead.get(ch);
        if (ahead != null) {
            w.line("// the accumulators start at the bias, loaded before the trip's barrier");
            w.line("#pragma unroll");
            w.line("for (int nj = 0; nj < " + 2 * g + "; ++nj) { const float2 b = " + ahead.name() + "[sl / " + width
                    + "][nj]; d[nj][0] = b.x; d[nj][1] = b.y; d[nj][2] = b.x; d[nj][3] = b.y; }");
        } else if (bias != null) {
            startAtBias(bias, "nj", 2 * g, "e0 + sl + ", "d[nj]", 0);
        }
        switch (pl.main()) {
            case Op.Pointwise pw when wgProducer -> {
                int kSteps = pw.in().channels() / 16;
                String a = afName;
                if (!hoisted) {
                    w.line("unsigned a[" + kSteps + "][4];  // A fragments of " + pw.in().name() + " for this slice");
                    w.line("#pragma unroll");
                    w.line("for (int kk = 0; kk < " + kSteps + "; ++kk) tm_ldsm_x4(a[kk], arow + kk * 16);");
                    a = "a";
                }
                w.line("// the warpgroup's 64 pixels x " + width + " channels, one wgmma per k16 step (the first overwrites d); B: rows");
                w.line("// sl .. sl+" + width + " of the slice (sl / 8 bands of " + prodW.channels() / 8 * 128
                        + " bytes), k16 step kk 256 bytes further");
                w.line("tm_wgmma_fence();");
                w.line("#pragma unroll");
                w.open("for (int kk = 0; kk < " + kSteps + "; ++kk)");
                w.line("tm_wgmma_n" + width + "(d, arow, " + a + "[kk][0], " + a + "[kk][1], " + a + "[kk][2], " + a + "[kk][3], "
                        + prodW.name() + "_desc + ((sl / 8 * " + prodW.channels() / 8 * 128 + " + kk * 256) >> 4), kk);");
                w.close();
                w.line("tm_wgmma_commit();");
                w.line("tm_wgmma_wait<0>();  // d is complete (and the previous slice's projection, issued before it)");
            }
            case Op.Pointwise pw -> {
                int kSteps = pw.in().channels() / 16;
                w.line("// B rows: lanes 0-7 tile 0, k 0-7; 8-15 tile 0, k 8-15; 16-23 tile 1, k 0-7; 24-31 tile 1, k 8-15");
                w.line("const " + CudaEmitter.ctype(prodW.dtype()) + "* brow = " + prodW.name() + " + (sl + ((lane >> 4) & 1) * 8"
                        + " + (lane & 7)) * " + prodW.rowStride() + " + ((lane >> 3) & 1) * 8;");
                w.line("#pragma unroll");
                w.open("for (int kk = 0; kk < " + kSteps + "; ++kk)");
                String a = afName + "[kk]";
                if (!hoisted) {
                    w.line("unsigned a[4];");
                    w.line("tm_ldsm_x4(a, arow + kk * 16);");
                    a = "a";
                }
                w.line("#pragma unroll");
                w.open("for (int nj = 0; nj < " + g + "; ++nj)");
                w.line("unsigned b[4];");
                w.line("tm_ldsm_x4(b, brow + nj * 16 * " + prodW.rowStride() + " + kk * 16);");
                w.line("tm_mma(d[2 * nj], arow, " + a + "[0], " + a + "[1], " + a + "[2], " + a + "[3], b[0], b[1]);");
                w.line("tm_mma(d[2 * nj + 1], arow, " + a + "[0], " + a + "[1], " + a + "[2], " + a + "[3], b[2], b[3]);");
                w.close();
                w.close();
            }
            case Op.Conv2d cv -> {
                String u = upper(sourceBuffer(cv.in(), prod.sources(), "conv2d"));
                w.line(cv.isDepthwise() ? "// per group of 8 channels, one m16n8k8 per tap with a diagonal B: the lane's pair of weights, masked"
                        : "// per group of 8 channels, one m16n8k8 per tap; B rows: lanes 0-7, the group's outputs");
                w.line("#pragma unroll");
                w.open("for (int nj = 0; nj < " + 2 * g + "; ++nj)");
                String b = openGroupTaps(cv, prodW, "sl + nj * 8");
                w.line("unsigned a[2];");
                w.line("tm_ldsm_x2(a, arow + (ky * " + u + "_W + kx) * " + u + "_STRIDE + sl + nj * 8);");
                w.line("tm_mma_k8(d[nj], arow, a[0], a[1], " + b + ");");
                w.close();
                w.close();
                w.close();
            }
            default -> throw new IllegalStateException("chain producer " + pl.describe());
        }
        w.line("// epilogue of " + pl.describe() + " on the fragments, packed (the packing rounds to "
                + prod.dst().dtype().keyword + "): hf[k16 step][2 * half + row half]");
        w.line("unsigned hf[" + g + "][4];");
        w.line("#pragma unroll");
        w.open("for (int rh = 0; rh < 2; ++rh)");
        if (guard) {
            w.line("const int p = mb * 16 + lane_row + rh * 8;");
            w.line("const int ly = p / TILE_W, lx = p % TILE_W;");
            w.line("const int gh = h0 + ly, gw = w0 + lx;");
        }
        w.line("#pragma unroll");
        w.open("for (int nj = 0; nj < " + 2 * g + "; ++nj)");
        int at = w.mark();
        w.line("float v[2] = {0.0f, 0.0f};");
        foldedBias = bias;
        evaluateInto(pl, rg, prod.sources(), guard ? "inside[rh]" : null, "e0", "d[nj][rh * 2 + $]", false);
        foldedBias = null;
        if (w.usedSince(at, "c0")) w.insertAt(at, "const int c0 = sl + nj * 8 + 2 * lane_col;");
        w.line("hf[nj / 2][(nj % 2) * 2 + rh] = tm_pack2(h_type, v[0], v[1]);");
        w.close();
        w.close();
        String accName = acc.acc().name();
        if (wg) {
            w.line("// " + accName + " += the slice . " + cname(proj.weight().name()) + "[:, e0+sl .. e0+sl+" + width
                    + "]^T: one wgmma per k16 step, all " + f.nt() * 8 + " outputs; B: columns sl + 16 kk of the slice,");
            w.line("// 2 core matrices (256 bytes) per k16 step. Not waited for here: the next slice's wait (or the one after");
            w.line("// the loop) completes it before hf or " + accName + " is touched again.");
            w.line("tm_wgmma_fence();");
            w.line("#pragma unroll");
            w.open("for (int kk = 0; kk < " + g + "; ++kk)");
            w.line("tm_wgmma_n" + f.nt() * 8 + "(" + accName + "[i][0], h_type, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3], "
                    + projW.name() + "_desc + ((sl / 8 + 2 * kk) * 128 >> 4), 1);");
            w.close();
            w.line("tm_wgmma_commit();");
            w.close();
            w.line("tm_wgmma_wait<0>();  // the last projection is complete: the barrier after the chain may free its B");
            declareRowTile(rowTileAt);
            w.close();
            w.close();
            return;
        }
        w.line("// " + accName + " += the slice . " + cname(proj.weight().name()) + "[:, e0+sl .. e0+sl+" + width
                + "]^T, one k16 step per hf, two n8 tiles per B load");
        w.line("const " + CudaEmitter.ctype(projW.dtype()) + "* brow2 = " + projW.name() + " + (((lane >> 4) & 1) * 8 + (lane & 7)) * "
                + projW.rowStride() + " + sl + ((lane >> 3) & 1) * 8;");
        w.line("#pragma unroll");
        w.open("for (int kk = 0; kk < " + g + "; ++kk)");
        w.line("#pragma unroll");
        w.open("for (int nj = 0; nj < " + f.nt() / 2 + "; ++nj)");
        w.line("unsigned b[4];");
        w.line("tm_ldsm_x4(b, brow2 + nj * 16 * " + projW.rowStride() + " + kk * 16);");
        w.line("tm_mma(" + accName + "[i][0][2 * nj], h_type, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3], b[0], b[1]);");
        w.line("tm_mma(" + accName + "[i][0][2 * nj + 1], h_type, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3], b[2], b[3]);");
        w.close();
        w.close();
        w.close();
        declareRowTile(rowTileAt);
        w.close();
        w.close();
    }

    /** Declares a chain's row tile mb at {@code at} (the top of its loop over row tiles) if the code since names it. */
    private void declareRowTile(int at) {
        if (w.usedSince(at, "mb")) {
            w.insertAt(at, "const int mb = " + warp() + " + i * (THREADS / 32);  // the row tile: pixels mb * 16 .. mb * 16 + 15");
        }
    }

    /**
     * The N of every m64nNk16 a kernel issues (empty without wgmma): a pointwise producer's slice width and the
     * projection's output channels, per chain.
     */
    static java.util.Set<Integer> wgmmaWidths(Kernel k) {
        java.util.Set<Integer> out = new java.util.TreeSet<>();
        if (!k.usesWgmma()) return out;
        for (Instr.Chain ch : tmc.plan.Lowering.chains(k.body())) {
            if (ch.producerOnWgmma()) {
                out.add(ch.sliceWidth());
            }
            out.add(ch.consumer().layer().out().channels());
        }
        return out;
    }

    private void finishMma(Instr.Finish fin, Region rg) {
        Buffer acc = fin.acc();
        Buffer dst = fin.dst();
        boolean inPlace = dst == acc || dst.name().equals(acc.name());
        if (!inPlace && dst.space() != Space.SHARED) {
            throw new IllegalStateException("finish into a register buffer other than the accumulator");
        }
        w.comment("epilogue of " + fin.layer().describe() + " on the accumulator fragments -> " + dst.name() + "   ("
                + sourceName + ":" + fin.layer().span().line() + ")");
        // In place, the result is only stored, and the store rounds to the storage type: the epilogue rounds nothing
        // when the types agree. (Without the inside mask it would run fewer branches, but MBConvDW's kernel on sm_80
        // then spilled 4 bytes at 128 registers.)
        DType stored = block.storageFor(fin.layer().out());
        boolean roundHere = !inPlace || stored != fin.layer().out().dtype();
        accumulatorPairs(acc, false, (PairValues) (guard, ch0) -> evaluateInto(fin.layer(), rg, fin.sources(),
                        guard, ch0, accElement(acc, "$"), roundHere),
                (v0, v1) -> inPlace ? accElement(acc, "0") + " = " + v0 + "; " + accElement(acc, "1") + " = " + v1 + ";"
                        : storePair("&" + dst.name() + "[p * " + upper(dst) + "_STRIDE + c0]", dst.dtype(), v0, v1));
    }
}
