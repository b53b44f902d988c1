package tmc.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import tmc.check.Activation;
import tmc.check.DType;
import tmc.check.PlanSpec;
import tmc.check.PlanSpec.MathKind;
import tmc.check.PlanSpec.Placement;
import tmc.check.TypedBlock;
import tmc.diag.Diagnostic;
import tmc.diag.Span;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.ir.TmProgram;
import tmc.target.Target;

/**
 * Turns a checked plan into kernels for one target and launch shape.
 *
 * <ul>
 *   <li>{@code separate}: one kernel per layer; the tile and warps are searched for the fastest prediction.</li>
 *   <li>{@code fused} with directives: what the plan fixes is kept; every choice it leaves out is searched.</li>
 *   <li>{@code auto}: everything is searched.</li>
 * </ul>
 * The search enumerates tile shapes, warps, stream chunks, math kinds and halo strategies; lowers each; drops
 * those over a budget of the target; ranks the rest by the cost model with deterministic tie-breaks. A plan whose
 * fixed choices break a budget is refused with the breakdown, the limit, the .tm line of each contribution, and
 * the directive to change.
 */
public final class Planner {
    private Planner() {}

    /** Tile sizes tried for H and W: powers of two, and the divisors of the spatial sizes convnets use (7, 14,
     *  28, 56), at which no tile overhangs the image. */
    public static final List<Integer> TILE_SIZES = List.of(4, 7, 8, 14, 16, 28, 32);
    public static final List<Integer> WARPS = List.of(1, 2, 4, 8, 16);
    /** Tile sizes tried for H and W of separate plans (one kernel per layer). */
    public static final List<Integer> SEPARATE_TILE_SIZES = List.of(2, 4, 8, 16, 32);
    static final int MIN_TILE_PIXELS = 16;
    static final int MAX_TILE_PIXELS = 512;
    /** Stream chunks are multiples of this: the k of m16n8k16, so each trip's reduction is whole mma steps. */
    static final int CHUNK_QUANTUM = 16;
    /** Warps split the tile's output in blocks of 16 pixels (the m of the mma) by 64 channels: no more warps. */
    static final int PIXELS_PER_WARP = 16;
    static final int CHANNELS_PER_WARP = 64;
    public static final int DEFAULT_TOP = 5;

    /** One lowered plan with its budget checks and, when it fits, its prediction. */
    public record Candidate(PlanSpec.Kind kind, Choices choices, List<Kernel> kernels, List<Budgets.Check> checks,
                            CostModel.ProgramCost cost, int order) {
        public Candidate {
            kernels = List.copyOf(kernels);
            checks = List.copyOf(checks);
        }

        public boolean fits() {
            return checks.stream().allMatch(Budgets.Check::fits);
        }

        public double overage() {
            return checks.stream().mapToDouble(Budgets.Check::overage).max().orElse(0);
        }

        public double seconds() {
            return cost.seconds();
        }

        public long maxShared() {
            return kernels.stream().mapToLong(Kernel::sharedBytes).max().orElse(0);
        }

        public int maxRegisters() {
            return kernels.stream().mapToInt(Kernel::registersPerThread).max().orElse(0);
        }

        /**
         * The fewest warps an SM holds at once over the kernels, as the grid runs them: the occupancy's when the grid
         * fills the SMs, fewer when it does not (4 blocks on 132 SMs are one block an SM however many would fit).
         */
        public int minResidentWarps() {
            if (cost == null) {
                return checks.stream().mapToInt(c -> c.occupancy().residentWarps(c.kernel().warps())).min().orElse(0);
            }
            return cost.kernels().stream().mapToInt(CostModel.KernelCost::residentWarps).min().orElse(0);
        }

        /** "tile 8x16, stream E by 64, 8 warps, tensor_core, h1 recompute". */
        public String summary() {
            StringBuilder s = new StringBuilder("tile " + choices.tileH() + "x" + choices.tileW());
            if (kind != PlanSpec.Kind.SEPARATE) {
                s.append(choices.streamDim() == null ? ", no stream"
                        : ", stream " + choices.streamDim() + " by " + choices.streamChunk());
            }
            s.append(", ").append(choices.warpsText()).append(" warps").append(choices.specialized() ? " (specialized)" : "")
                    .append(", ").append(choices.math().keyword);
            if (choices.residentBlocks() > 0) s.append(", resident ").append(choices.residentBlocks());
            if (choices.narrowSlices()) s.append(", slices of 16");
            for (PlanSpec.LayerMath lm : choices.layerMath().values()) {
                s.append(", ").append(lm.tensor()).append(" on ").append(lm.kind().keyword);
            }
            // The halo strategy of each intermediate that a conv reads with a halo, as the kernel holds it.
            for (Kernel k : kernels) {
                for (tmc.ir.Buffer b : k.buffers()) {
                    boolean produced = k.layers().stream().anyMatch(l -> l.out().name().equals(b.tensor()));
                    if (b.halo() > 0 && produced) s.append(", ").append(b.tensor()).append(" staged");
                }
                for (String t : inlinedOutputs(k.body())) s.append(", ").append(t).append(" recompute");
            }
            return s.toString();
        }
    }

    /** Tensors that some Compute of the body recomputes inline (halo recompute). */
    static List<String> inlinedOutputs(List<tmc.ir.Instr> body) {
        return tmc.ir.Instr.flatten(body).filter(i -> i instanceof tmc.ir.Instr.Compute)
                .flatMap(i -> ((tmc.ir.Instr.Compute) i).inlined().stream()).map(l -> l.out().name()).toList();
    }

    public record Stats(int explored, int lowered, int fitting) {}

    public sealed interface Outcome permits Planned, Refused {
        PlanSpec spec();

        Target target();
    }

    /** The chosen candidate, the best {@code top} ones (chosen first), and how much the search saw. */
    public record Planned(PlanSpec spec, Target target, LaunchShape shape, Candidate chosen, List<Candidate> top,
                          Stats stats) implements Outcome {
        public Planned {
            top = List.copyOf(top);
        }

        /** The program with every choice filled into its plan. */
        public TmProgram program(TypedBlock block) {
            Choices c = chosen.choices();
            Map<String, Integer> tile = new LinkedHashMap<>();
            tile.put("N", c.tileN());
            tile.put("H", c.tileH());
            tile.put("W", c.tileW());
            List<Placement> places = new ArrayList<>(spec.places());
            for (Placement p : c.places().values()) {
                if (spec.placement(p.tensor()).isEmpty()) places.add(p);
            }
            PlanSpec.StreamSpec stream = c.streamDim() == null ? null
                    : new PlanSpec.StreamSpec(c.streamDim(), block.params().get(c.streamDim()), c.streamChunk(),
                    spec.stream() != null ? spec.stream().span() : spec.span());
            PlanSpec filled = new PlanSpec(spec.name(), spec.block(), spec.span(), spec.kind(), target.name(),
                    spec.archSpan(), tile, places, stream, c.warps(), c.specialized() ? c.producerWarps() : null, c.math(),
                    c.residentBlocks() > 0 ? c.residentBlocks() : null, spec.spans(), spec.layerMath());
            return new TmProgram(block, filled, target.arch(), chosen.kernels());
        }
    }

    public record Refused(PlanSpec spec, Target target, Diagnostic why) implements Outcome {}

    // ==========================================================================================
    // Entry points
    // ==========================================================================================

    public static Outcome plan(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, int top) {
        return switch (spec.kind()) {
            case SEPARATE -> separate(block, spec, target, shape, top);
            case FUSED, AUTO -> fused(block, spec, target, shape, top);
        };
    }

    /** The separate plan of a block: the baseline every fused plan is compared with. */
    public static Outcome separateBaseline(TypedBlock block, Target target, LaunchShape shape) {
        PlanSpec spec = new PlanSpec("separate", block.name(), block.span(), PlanSpec.Kind.SEPARATE, target.name(),
                null, Map.of(), List.of(), null, null, null, Map.of());
        return separate(block, spec, target, shape, 1);
    }

    // ==========================================================================================
    // Separate
    // ==========================================================================================

    static Outcome separate(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, int top) {
        MathKind math = block.storage() != DType.F32 && target.supports(MathKind.TENSOR_CORE, block.storage())
                ? MathKind.TENSOR_CORE : MathKind.CUDA_CORE;
        List<Candidate> all = new ArrayList<>();
        int explored = 0;
        // Down to 2x2: a layer kernel stages its whole input tile, and for a wide depthwise conv with a large
        // kernel only a tiny tile fits (the mma needs no 16-pixel rows there: such a layer runs on CUDA cores).
        for (int th : SEPARATE_TILE_SIZES) {
            for (int tw : SEPARATE_TILE_SIZES) {
                for (int warps : WARPS) {
                    // No pixels-per-warp rule here: a layer kernel splits wide outputs over warps by channel.
                    if (warps * 32 > target.maxThreadsPerBlock()) continue;
                    explored++;
                    Lowering.Result r = Lowering.separate(block, spec.name(), th, tw, warps, math);
                    if (!(r instanceof Lowering.Result.Ok ok)) continue;
                    Choices c = new Choices(1, th, tw, warps, math, null, 0, Map.of());
                    all.add(candidate(PlanSpec.Kind.SEPARATE, c, ok.kernels(), block, target, shape, all.size()));
                }
            }
        }
        return choose(block, spec, target, shape, top, all, explored, null);
    }

    // ==========================================================================================
    // Fused and auto
    // ==========================================================================================

    /**
     * What a fused plan fixes; null means the planner chooses. {@code tileN}: images per block, one after another
     * (1 unless the plan writes 'tile N'; the search does not vary it).
     */
    record Fixed(int tileN, Integer tileH, Integer tileW, Integer warps, int producerWarps, MathKind math,
                 PlanSpec.StreamSpec stream, Map<String, Placement> places, int residentBlocks) {
        static Fixed of(PlanSpec spec) {
            Map<String, Placement> places = new LinkedHashMap<>();
            for (Placement p : spec.places()) places.put(p.tensor(), p);
            return new Fixed(spec.tile().getOrDefault("N", 1), spec.tile().get("H"), spec.tile().get("W"), spec.warps(),
                    spec.producerWarps() == null ? 0 : spec.producerWarps(), spec.math(), spec.stream(), places,
                    spec.residentBlocks() == null ? 0 : spec.residentBlocks());
        }

        Fixed without(String directive) {
            int r = residentBlocks;
            if (directive.equals("tile H")) return new Fixed(tileN, null, tileW, warps, producerWarps, math, stream, places, r);
            if (directive.equals("tile W")) return new Fixed(tileN, tileH, null, warps, producerWarps, math, stream, places, r);
            if (directive.equals("tile")) return new Fixed(tileN, null, null, warps, producerWarps, math, stream, places, r);
            // The split goes with the warps: the searched warps are not specialized.
            if (directive.equals("warps")) return new Fixed(tileN, tileH, tileW, null, 0, math, stream, places, r);
            if (directive.equals("math")) return new Fixed(tileN, tileH, tileW, warps, producerWarps, null, stream, places, r);
            if (directive.equals("stream")) return new Fixed(tileN, tileH, tileW, warps, producerWarps, math, null, places, r);
            if (directive.equals("resident")) return new Fixed(tileN, tileH, tileW, warps, producerWarps, math, stream, places, 0);
            if (directive.startsWith("place ")) {
                Map<String, Placement> p = new LinkedHashMap<>(places);
                p.remove(directive.substring("place ".length()));
                return new Fixed(tileN, tileH, tileW, warps, producerWarps, math, stream, p, r);
            }
            return this;
        }
    }

    /** Where the plan's 'warps' directive was written (its plan's name when it has none). */
    private static tmc.diag.Span warpsSpan(PlanSpec spec) {
        return spec.spans().getOrDefault("warps", spec.span());
    }

    /** The result of one search: every lowered candidate, the first lowering refusal, and the count tried. */
    record Search(List<Candidate> lowered, Diagnostic firstRefusal, int explored) {}

    static Outcome fused(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, int top) {
        if (spec.math() != null && !target.supports(spec.math(), block.storage())) {
            return new Refused(spec, target, Diagnostic.error(spanOf(spec, "math"), "plan '" + spec.name() + "' uses math "
                    + spec.math().keyword + ", which " + target.name() + " (" + target.device() + ") does not have for "
                    + block.storage() + " operands", "use " + (target.supports(MathKind.TENSOR_CORE, block.storage())
                    ? "tensor_core" : "cuda_core") + " on " + target.name()));
        }
        Fixed fixed = Fixed.of(spec);
        Search search = search(block, spec, target, shape, fixed);
        List<Candidate> fitting = search.lowered().stream().filter(Candidate::fits).toList();
        if (!fitting.isEmpty() || search.lowered().isEmpty()) {
            return choose(block, spec, target, shape, top, search.lowered(), search.explored(), search.firstRefusal());
        }
        return new Refused(spec, target, overBudget(block, spec, target, shape, fixed, search));
    }

    /** One group of the search: everything but warps fixed (shared memory does not depend on warps). */
    private record Group(int tileH, int tileW, StreamOption stream, Map<String, Placement> places, MathKind math) {}

    /** What one group produced: its lowered candidates (order unassigned), its first refusal, combos tried. */
    private record GroupResult(List<Candidate> lowered, Diagnostic firstRefusal, int explored) {}

    static Search search(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, Fixed fixed) {
        List<Integer> hs = fixed.tileH() != null ? List.of(fixed.tileH()) : tileSizes(shape.h());
        List<Integer> ws = fixed.tileW() != null ? List.of(fixed.tileW()) : tileSizes(shape.w());
        List<MathKind> maths = fixed.math() != null ? List.of(fixed.math()) : mathKinds(block, target);
        List<Integer> warpsList = fixed.warps() != null ? List.of(fixed.warps())
                : WARPS.stream().filter(w -> w * 32 <= target.maxThreadsPerBlock()).toList();
        List<Map<String, Placement>> placeOptions = placementOptions(block, spec, fixed);
        List<StreamOption> streams = validStreams(block, spec, fixed, placeOptions.getFirst(), maths.getFirst(), target);
        // A split plan needs a stream loop: without one the refusal would only say so, hiding why the streams failed.
        if (fixed.producerWarps() > 0 && streams.stream().anyMatch(so -> so.dim() != null)) {
            streams = streams.stream().filter(so -> so.dim() != null).toList();
        }
        boolean bothFixed = fixed.tileH() != null && fixed.tileW() != null;
        List<Group> groups = new ArrayList<>();
        for (int th : hs) {
            for (int tw : ws) {
                if (!bothFixed && (th * tw < MIN_TILE_PIXELS || th * tw > MAX_TILE_PIXELS)) continue;
                for (StreamOption so : streams) {
                    for (Map<String, Placement> places : placeOptions) {
                        for (MathKind math : maths) groups.add(new Group(th, tw, so, places, math));
                    }
                }
            }
        }
        // Groups are independent and pure: run them in parallel, then put the results back in search order so
        // that ranking ties and the first refusal do not depend on scheduling.
        List<GroupResult> results = groups.parallelStream()
                .map(g -> runGroup(g, warpsList, fixed, block, spec, target, shape)).toList();
        List<Candidate> lowered = new ArrayList<>();
        Diagnostic firstRefusal = null;
        int explored = 0;
        for (GroupResult r : results) {
            explored += r.explored();
            if (firstRefusal == null) firstRefusal = r.firstRefusal();
            for (Candidate c : r.lowered()) {
                lowered.add(new Candidate(c.kind(), c.choices(), c.kernels(), c.checks(), c.cost(), lowered.size()));
            }
        }
        return new Search(lowered, firstRefusal, explored);
    }

    private static GroupResult runGroup(Group g, List<Integer> warpsList, Fixed fixed, TypedBlock block, PlanSpec spec,
                                        Target target, LaunchShape shape) {
        List<Candidate> lowered = new ArrayList<>();
        Diagnostic firstRefusal = null;
        int explored = 0;
        boolean sharedOver = false;
        for (int warps : warpsList) {
            if (fixed.warps() == null && warps > maxUsefulWarps(block, g.tileH() * g.tileW())) continue;
            explored++;
            // Shared memory does not depend on warps: once over, it is over for every warps.
            if (sharedOver) continue;
            Choices c = new Choices(fixed.tileN(), g.tileH(), g.tileW(), warps, g.math(), g.stream().dim(), g.stream().chunk(),
                    g.places(), fixed.producerWarps(), fixed.residentBlocks()).withLayerMath(spec.layerMath());
            switch (Lowering.fused(block, spec.name(), c, spec.span(), warpsSpan(spec), target)) {
                case Lowering.Result.Ok ok -> {
                    Candidate cand = candidate(spec.kind(), c, ok.kernels(), block, target, shape, 0);
                    lowered.add(cand);
                    sharedOver = cand.maxShared() > target.sharedPerBlockOptIn();
                }
                case Lowering.Result.Refused no -> {
                    if (firstRefusal == null) firstRefusal = no.why();
                }
            }
        }
        return new GroupResult(lowered, firstRefusal, explored);
    }

    /**
     * The stream options whose structure the lowering accepts. Whether a stream is valid depends only on the
     * block, the dimension and the chunk, not on the tile: so each is tried once at a small tile, and dropped
     * when it is refused while the same plan without a stream lowers.
     */
    static List<StreamOption> validStreams(TypedBlock block, PlanSpec spec, Fixed fixed, Map<String, Placement> places,
                                           MathKind math, Target target) {
        List<StreamOption> all = streamOptions(block, fixed);
        if (fixed.stream() != null) return all;
        int warps = fixed.warps() != null ? fixed.warps() : 1;
        int th = fixed.tileH() != null ? fixed.tileH() : 4;
        int tw = fixed.tileW() != null ? fixed.tileW() : 4;
        Choices none = new Choices(1, th, tw, warps, math, null, 0, places, fixed.producerWarps()).withLayerMath(spec.layerMath());
        if (!(Lowering.fused(block, spec.name(), none, spec.span(), warpsSpan(spec), target) instanceof Lowering.Result.Ok)) return all;
        List<StreamOption> out = new ArrayList<>();
        for (StreamOption so : all) {
            if (so.dim() == null) {
                out.add(so);
                continue;
            }
            Choices c = new Choices(1, th, tw, warps, math, so.dim(), so.chunk(), places, fixed.producerWarps())
                    .withLayerMath(spec.layerMath());
            if (Lowering.fused(block, spec.name(), c, spec.span(), warpsSpan(spec), target) instanceof Lowering.Result.Ok) out.add(so);
        }
        return out;
    }

    /**
     * The most warps that still each own a 16-pixel by 64-channel block of the output accumulator: more would
     * idle. Wide outputs (C = 512) may use more warps per pixel than narrow ones.
     */
    static int maxUsefulWarps(TypedBlock block, int tilePixels) {
        int channels = block.outputs().stream().mapToInt(Activation::channels).max().orElse(CHANNELS_PER_WARP);
        return Math.max(1, tilePixels / PIXELS_PER_WARP) * Math.max(1, channels / CHANNELS_PER_WARP);
    }

    /** Powers of two and the halo-friendly sizes, without sizes that only add overhang past the image. */
    static List<Integer> tileSizes(int extent) {
        List<Integer> out = new ArrayList<>();
        for (int t : TILE_SIZES) {
            out.add(t);
            if (t >= extent) break; // a larger tile than this one covers nothing more
        }
        return out;
    }

    /**
     * tensor_core where the storage type and target allow it, else cuda_core. cuda_core is never searched next to
     * tensor_core: with tensor_core the lowering already runs each layer whose shape does not suit the mma on
     * CUDA cores, so a cuda_core plan has the same kernels, only slower. wgmma is not searched either: it runs
     * only a register chain's products, the cost model gives it the same peak as mma.sync, and on the H100 it
     * measured slower than mma.sync in every sample (docs/benchmarks.md); a plan may still fix 'math wgmma'.
     */
    static List<MathKind> mathKinds(TypedBlock block, Target target) {
        if (block.storage() != DType.F32 && target.supports(MathKind.TENSOR_CORE, block.storage())) {
            return List.of(MathKind.TENSOR_CORE);
        }
        return List.of(MathKind.CUDA_CORE);
    }

    record StreamOption(String dim, int chunk) {}

    /** No stream, then each channel parameter (first name per distinct value) by its multiple-of-8 divisors. */
    static List<StreamOption> streamOptions(TypedBlock block, Fixed fixed) {
        if (fixed.stream() != null) return List.of(new StreamOption(fixed.stream().dim(), fixed.stream().chunk()));
        List<StreamOption> out = new ArrayList<>();
        out.add(new StreamOption(null, 0));
        Set<Long> seen = new LinkedHashSet<>();
        for (Map.Entry<String, Long> p : block.params().entrySet()) {
            long v = p.getValue();
            boolean channelDim = block.named().stream().anyMatch(a -> a.channels() == v)
                    || block.outputs().stream().anyMatch(a -> a.channels() == v);
            if (!channelDim || !seen.add(v)) continue;
            for (int d = CHUNK_QUANTUM; d < v; d += CHUNK_QUANTUM) {
                if (v % d == 0) out.add(new StreamOption(p.getKey(), d));
            }
        }
        return out;
    }

    /** Intermediates (not block inputs) that some conv reads with a halo: where the halo strategy matters. */
    static List<String> haloIntermediates(TypedBlock block) {
        Map<String, Integer> halo = Lowering.regions(block, Layer.of(block));
        List<String> out = new ArrayList<>();
        for (Activation a : block.named()) {
            if (halo.getOrDefault(a.name(), 0) > 0) out.add(a.name());
        }
        return out;
    }

    /** The fixed placements, times stage-or-recompute for each halo intermediate the plan does not place. */
    static List<Map<String, Placement>> placementOptions(TypedBlock block, PlanSpec spec, Fixed fixed) {
        Map<String, Integer> halo = Lowering.regions(block, Layer.of(block));
        List<Map<String, Placement>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>(fixed.places()));
        for (String t : haloIntermediates(block)) {
            if (fixed.places().containsKey(t)) continue;
            List<Map<String, Placement>> next = new ArrayList<>();
            for (Map<String, Placement> m : out) {
                next.add(m); // stage: the lowering's default for an unplaced intermediate with a halo
                Map<String, Placement> r = new LinkedHashMap<>(m);
                r.put(t, new Placement(t, PlanSpec.Space.REGISTERS, halo.get(t), PlanSpec.HaloMode.RECOMPUTE, spec.span()));
                next.add(r);
            }
            out = next;
        }
        return out;
    }

    /**
     * {@code c} warp-specialized (its stream loop split into a producer and a consumer side), in the two forms that
     * keep the sides equal, each where its kernel lowers and fits the target's budgets: the same warps split in halves
     * ({@code warps W/2 + W/2}, the same threads) and a producer side added to them ({@code warps W + W}, twice the
     * threads; the form that won on the H100: MBConv's 7x8 tiles at C=128, 4 warps plus 4, 1.15x over {@code narrow}).
     * For {@code tmc tune} (unless --no-specialize), and for an auto plan whose tuned winner is such a split. The
     * search itself never splits: the cost model prices a split like the plan it splits, and on the H100 the split
     * lost on five of the seven benchmark configurations (docs/benchmarks.md, thirteenth session).
     */
    public static List<Candidate> specialized(Candidate c, TypedBlock block, PlanSpec spec, Target target,
                                              LaunchShape shape) {
        Choices ch = c.choices();
        if (c.kind() == PlanSpec.Kind.SEPARATE || ch.specialized() || ch.streamDim() == null) return List.of();
        List<Candidate> out = new ArrayList<>();
        for (int warps : ch.warps() % 2 == 0 ? List.of(ch.warps(), 2 * ch.warps()) : List.of(2 * ch.warps())) {
            if (warps * 32 > target.maxThreadsPerBlock()) continue;
            Choices split = new Choices(ch.tileN(), ch.tileH(), ch.tileW(), warps, ch.math(), ch.streamDim(),
                    ch.streamChunk(), ch.places(), warps / 2).withLayerMath(ch.layerMath());
            if (Lowering.fused(block, spec.name(), split, spec.span(), target) instanceof Lowering.Result.Ok ok) {
                Candidate candidate = candidate(c.kind(), split, ok.kernels(), block, target, shape, c.order());
                if (candidate.fits()) out.add(candidate);
            }
        }
        return out;
    }

    /**
     * {@code c} compiled for one more resident block per SM ({@code resident B+1}, its launch bounds' minimum), where
     * its registers are what holds it to B blocks and the SM's threads, block slots and shared memory hold one more;
     * empty otherwise. The register estimate is often above what ptxas needs (ConvFirst's 8x8 tiles of 4 warps: ~128
     * estimated, 96 without spills at 5 blocks; 1.13x faster on the H100 at N=128, docs/benchmarks.md, fourteenth
     * session), but where it is not, ptxas spills at the lower limit: so only {@code tmc tune}, which times the form,
     * offers it (unless --no-resident), and an auto plan whose tuned winner is such a form. Where the kernel keeps a
     * register chain 32 channels a slice, the same with 16 a slice follows ({@link Choices#narrowSlices}): eight fewer
     * accumulators live, which is what ConvFirst's `rows` at 3 blocks (80 registers) needs not to spill; fewer
     * independent products per slice may cost more than the spill, so both are timed.
     */
    public static List<Candidate> moreResident(Candidate c, TypedBlock block, PlanSpec spec, Target target,
                                               LaunchShape shape) {
        Choices ch = c.choices();
        if (c.kind() == PlanSpec.Kind.SEPARATE || ch.residentBlocks() > 0 || c.kernels().size() != 1) return List.of();
        int blocks = Budgets.oneMoreBlock(c.checks().getFirst(), target);
        if (blocks == 0) return List.of();
        Choices more = ch.withResidentBlocks(blocks);
        if (!(Lowering.fused(block, spec.name(), more, spec.span(), target) instanceof Lowering.Result.Ok ok)) return List.of();
        Candidate candidate = candidate(c.kind(), more, ok.kernels(), block, target, shape, c.order());
        if (!candidate.fits()) return List.of();
        List<Candidate> out = new ArrayList<>(List.of(candidate));
        Choices narrow = more.withNarrowSlices();
        if (ok.kernels().stream().anyMatch(Planner::narrowableChain)
                && Lowering.fused(block, spec.name(), narrow, spec.span(), target) instanceof Lowering.Result.Ok slices) {
            Candidate form = candidate(c.kind(), narrow, slices.kernels(), block, target, shape, c.order());
            if (form.fits()) out.add(form);
        }
        return out;
    }

    /**
     * Whether {@code k} keeps a register chain 32 channels a slice on mma.sync, which {@link #moreResident} also
     * offers with slices of 16 ({@link Choices#withNarrowSlices}).
     */
    public static boolean narrowableChain(tmc.ir.Kernel k) {
        return !k.usesWgmma() && Lowering.chains(k.body()).stream().anyMatch(x -> x.group() > 1);
    }

    /**
     * The forms {@code tmc tune} times for candidate {@code c}, {@code c} first: with {@code specialize} its
     * warp-specialized forms ({@link #specialized}), with {@code resident} each of these with one more resident
     * block ({@link #moreResident}). Only forms that keep what the plan writes: none split the warps of a plan that
     * fixes 'warps' ('resident' fixed, moreResident has none either).
     */
    public static List<Candidate> tuneForms(Candidate c, TypedBlock block, PlanSpec spec, Target target,
                                            LaunchShape shape, boolean specialize, boolean resident) {
        List<Candidate> forms = new ArrayList<>();
        forms.add(c);
        if (specialize && !fixedDirectives(spec).contains("warps")) forms.addAll(specialized(c, block, spec, target, shape));
        if (resident) {
            for (Candidate f : List.copyOf(forms)) forms.addAll(moreResident(f, block, spec, target, shape));
        }
        return forms;
    }

    static Candidate candidate(PlanSpec.Kind kind, Choices c, List<Kernel> kernels, TypedBlock block, Target target,
                               LaunchShape shape, int order) {
        List<Budgets.Check> checks = kernels.stream().map(k -> Budgets.check(k, target)).toList();
        CostModel.ProgramCost cost = null;
        if (checks.stream().allMatch(Budgets.Check::fits)) {
            List<CostModel.KernelCost> costs = new ArrayList<>();
            for (Budgets.Check ch : checks) costs.add(CostModel.kernel(ch.kernel(), block, target, shape, ch.occupancy()));
            cost = new CostModel.ProgramCost(costs);
        }
        return new Candidate(kind, c, kernels, checks, cost, order);
    }

    /**
     * Ranking: predicted time; then more resident warps (the model's latency term is flat once an SM holds its
     * warpsToHideLatency, but the kernels are latency-bound well above it: ConvNeXt's 8x8 tiles streamed by 32 at 3
     * blocks per SM ran 0.52 ms on the H100 where the same tiles by 64 at 2 blocks ran 0.70, both predicted 151.6 us;
     * docs/benchmarks.md, seventeenth session); then the least use of all resources together (among plans bound by
     * the same roof, the one that leaves the others more slack); then fewer registers, less shared memory, and search
     * order, so that the choice is deterministic.
     */
    static final Comparator<Candidate> RANK = Comparator
            .comparingLong((Candidate c) -> Math.round(c.seconds() * 1e10)) // 0.1 ns: float noise is no preference
            .thenComparing(Comparator.comparingInt(Candidate::minResidentWarps).reversed())
            .thenComparingLong(c -> Math.round(c.cost().kernels().stream()
                    .mapToDouble(CostModel.KernelCost::resourceSeconds).sum() * 1e10))
            .thenComparingInt(Candidate::maxRegisters)
            .thenComparingLong(Candidate::maxShared)
            .thenComparingInt(Candidate::order);

    static Outcome choose(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, int top,
                          List<Candidate> lowered, int explored, Diagnostic firstRefusal) {
        List<Candidate> fitting = new ArrayList<>(lowered.stream().filter(Candidate::fits).toList());
        if (fitting.isEmpty()) {
            if (!lowered.isEmpty()) {
                Candidate closest = closest(lowered);
                return new Refused(spec, target, budgetDiagnostic(spec.span(), "no " + kindWord(spec) + " plan for block '"
                        + block.name() + "' fits " + target.name() + ": the smallest", "needs", closest, target,
                        "lower the channel parameters, or the kernel size of the conv that reads the widest tensor"));
            }
            if (firstRefusal != null) return new Refused(spec, target, firstRefusal);
            return new Refused(spec, target, Diagnostic.error(spec.span(), "no " + kindWord(spec) + " plan for block '"
                    + block.name() + "' can be lowered", null));
        }
        fitting.sort(RANK);
        List<Candidate> best = fitting.subList(0, Math.min(Math.max(1, top), fitting.size()));
        return new Planned(spec, target, shape, fitting.getFirst(), best,
                new Stats(explored, lowered.size(), fitting.size()));
    }

    private static String kindWord(PlanSpec spec) {
        return spec.kind().name().toLowerCase(Locale.ROOT);
    }

    // ==========================================================================================
    // Refusal: which budget, by how much, which buffers, which directive to change
    // ==========================================================================================

    /** A fixed directive whose removal lets the search find a plan that fits, and that plan. */
    record Relaxation(String directive, Span span, Candidate fits) {}

    static Candidate closest(List<Candidate> lowered) {
        return lowered.stream().min(Comparator.comparingDouble(Candidate::overage).thenComparingInt(Candidate::order))
                .orElseThrow();
    }

    static Diagnostic overBudget(TypedBlock block, PlanSpec spec, Target target, LaunchShape shape, Fixed fixed,
                                 Search search) {
        Candidate closest = closest(search.lowered());
        Budgets.Violation v = firstViolation(closest);

        // Try each fixed directive, in source order, as if the plan had left it out.
        List<Relaxation> relaxations = new ArrayList<>();
        java.util.function.Consumer<String> relax = d -> search(block, spec, target, shape, fixed.without(d)).lowered()
                .stream().filter(Candidate::fits).min(RANK)
                .ifPresent(c -> relaxations.add(new Relaxation(d, spec.spans().get(d.equals("tile") ? "tile H" : d), c)));
        List<String> fixes = new ArrayList<>(fixedDirectives(spec));
        // a 'resident' count the SM cannot hold is that directive's doing first, whatever else would also make room
        if (v.resource() == Budgets.Resource.RESIDENT_BLOCKS && fixes.remove("resident")) fixes.addFirst("resident");
        fixes.forEach(relax);
        if (relaxations.isEmpty() && spec.spans().containsKey("tile H") && spec.spans().containsKey("tile W")) {
            relax.accept("tile");  // neither side alone may be to blame when both are too large: the tile as a whole
        }
        Span span = relaxations.isEmpty() ? spec.span() : relaxations.getFirst().span();
        boolean auto = spec.kind() == PlanSpec.Kind.AUTO || fixedDirectives(spec).isEmpty();
        String what = auto ? "no fused plan for block '" + block.name() + "' fits " + target.name() + ": the smallest"
                : "plan '" + spec.name() + "'";
        // A plan that fixes everything needs exactly this; one with free choices needs at least this.
        String needs = !auto && search.explored() > 1 ? "needs at least" : "needs";
        String hint;
        if (!relaxations.isEmpty()) {
            List<String> ways = new ArrayList<>();
            for (Relaxation r : relaxations.subList(0, Math.min(3, relaxations.size()))) {
                String instead = r.directive() + " " + fixedValue(r.directive(), spec);
                ways.add(r.directive().equals("resident") && r.fits().choices().residentBlocks() == 0
                        ? "without '" + instead + "' it fits (" + usage(v.resource(), r.fits()) + ")"
                        : "'" + chosenValue(r.directive(), r.fits(), block) + "' instead of '" + instead + "' fits ("
                                + usage(v.resource(), r.fits()) + ")");
            }
            hint = String.join("; or ", ways);
        } else if (auto) {
            hint = "use a separate plan ('plan p for " + block.name() + " { separate }'), or smaller channel parameters";
        } else {
            hint = "no single fixed directive is to blame; remove several fixes (or write 'auto') and let the planner "
                    + "choose, or use a separate plan";
        }
        return budgetDiagnostic(span, what, needs, closest, target, hint);
    }

    private static Budgets.Violation firstViolation(Candidate c) {
        return c.checks().stream().filter(ch -> !ch.fits()).findFirst().orElseThrow().violations().getFirst();
    }

    /** "WHAT needs X of RESOURCE on TARGET (limit Y)", with the breakdown of the kernel over budget. */
    static Diagnostic budgetDiagnostic(Span span, String what, String needs, Candidate closest, Target target,
                                       String hint) {
        Budgets.Check check = closest.checks().stream().filter(c -> !c.fits()).findFirst().orElseThrow();
        Budgets.Violation v = check.violations().getFirst();
        Kernel k = check.kernel();
        String message = String.format(Locale.ROOT, "%s %s %s on %s (limit %s)", what, needs,
                amount(v.resource(), v.needed()), target.name(), limit(v.resource(), v.limit()));
        List<String> details = new ArrayList<>();
        details.add("with " + closest.summary() + (closest.kernels().size() > 1 ? ", kernel " + k.name() : "") + ":");
        details.addAll(switch (v.resource()) {
            case SHARED_PER_BLOCK -> Budgets.sharedBreakdown(k, target);
            case REGISTERS_PER_THREAD -> Budgets.registerBreakdown(k, target);
            case REGISTERS_PER_BLOCK -> {
                List<String> l = new ArrayList<>(Budgets.registerBreakdown(k, target));
                l.add(String.format(Locale.ROOT, "x %d threads, allocated per warp in units of %d = %d registers per block"
                        + " (limit %d)", k.threads(), target.registerAllocationUnit(), v.needed(), v.limit()));
                yield l;
            }
            case THREADS_PER_BLOCK -> List.of(k.warps() + " warps x " + target.warpSize() + " = " + k.threads()
                    + " threads (limit " + target.maxThreadsPerBlock() + " on " + target.name() + ")");
            case RESIDENT_BLOCKS -> List.of(String.format(Locale.ROOT, "%d blocks x (%d B of shared memory + %d B "
                            + "reserved) = %d B (the SM has %d B); %d blocks x %d threads = %d (the SM holds %d); at most "
                            + "%d blocks per SM", v.needed(), k.sharedBytes(), target.sharedReservedPerBlock(),
                    v.needed() * (k.sharedBytes() + target.sharedReservedPerBlock()), target.sharedPerSm(), v.needed(),
                    k.threads(), v.needed() * k.threads(), target.maxThreadsPerSm(), target.maxBlocksPerSm()));
        });
        return Diagnostic.error(span, message, hint).withDetails(details);
    }

    /** Directives the plan fixes, keyed as in PlanSpec.spans(), in source order. */
    static List<String> fixedDirectives(PlanSpec spec) {
        List<String> keys = new ArrayList<>();
        for (String k : spec.spans().keySet()) {
            boolean relaxable = k.equals("tile H") || k.equals("tile W") || k.equals("warps") || k.equals("math")
                    || k.equals("stream") || k.equals("resident") || k.startsWith("place ");
            if (relaxable) keys.add(k);
        }
        keys.sort(Comparator.comparingInt((String k) -> spec.spans().get(k).line())
                .thenComparingInt(k -> spec.spans().get(k).col()));
        return keys;
    }

    private static String fixedValue(String directive, PlanSpec spec) {
        return switch (directive) {
            case "tile H" -> String.valueOf(spec.tile().get("H"));
            case "tile W" -> String.valueOf(spec.tile().get("W"));
            case "tile" -> "H " + spec.tile().get("H") + ", W " + spec.tile().get("W");
            case "warps" -> spec.producerWarps() == null ? String.valueOf(spec.warps())
                    : spec.producerWarps() + " + " + (spec.warps() - spec.producerWarps());
            case "math" -> spec.math().keyword;
            case "stream" -> spec.stream().dim() + " by " + spec.stream().chunk();
            case "resident" -> String.valueOf(spec.residentBlocks());
            default -> spec.placement(directive.substring("place ".length())).map(Planner::placeText).orElse("");
        };
    }

    private static String chosenValue(String directive, Candidate c, TypedBlock block) {
        Choices ch = c.choices();
        return switch (directive) {
            case "tile H" -> "tile H " + ch.tileH();
            case "tile W" -> "tile W " + ch.tileW();
            case "tile" -> "tile H " + ch.tileH() + ", W " + ch.tileW();
            case "warps" -> "warps " + ch.warpsText();
            case "math" -> "math " + ch.math().keyword;
            case "stream" -> ch.streamDim() == null ? "no stream" : "stream " + ch.streamDim() + " by " + ch.streamChunk();
            case "resident" -> "resident " + ch.residentBlocks();
            default -> {
                String t = directive.substring("place ".length());
                Placement p = ch.places().get(t);
                yield p != null ? "place " + t + " " + placeText(p) : "place " + t + " in shared (the default)";
            }
        };
    }

    private static String placeText(Placement p) {
        return "in " + p.space().keyword() + (p.halo() > 0 ? " halo " + p.halo() : "")
                + (p.haloMode() != null && p.halo() > 0 ? " " + p.haloMode().keyword() : "");
    }

    private static String usage(Budgets.Resource r, Candidate c) {
        return switch (r) {
            case SHARED_PER_BLOCK -> Budgets.kib(c.maxShared()) + " of shared memory";
            case REGISTERS_PER_THREAD, REGISTERS_PER_BLOCK -> "~" + c.maxRegisters() + " registers per thread";
            case THREADS_PER_BLOCK -> c.choices().threads() + " threads";
            case RESIDENT_BLOCKS -> c.checks().stream().mapToInt(ch -> ch.occupancy().blocksPerSm()).min().orElse(0)
                    + " blocks per SM";
        };
    }

    /** "251.0 KB (257024 B) of shared memory per block", "~300 registers per thread", ... */
    private static String amount(Budgets.Resource r, long n) {
        return switch (r) {
            case SHARED_PER_BLOCK -> Budgets.kib(n) + " (" + n + " B) of shared memory per block";
            case REGISTERS_PER_THREAD -> "~" + n + " registers per thread";
            case REGISTERS_PER_BLOCK -> n + " registers per block";
            case THREADS_PER_BLOCK -> n + " threads per block";
            case RESIDENT_BLOCKS -> n + " resident blocks per SM";
        };
    }

    private static String limit(Budgets.Resource r, long n) {
        return r == Budgets.Resource.SHARED_PER_BLOCK ? Budgets.kib(n) + " = " + n + " B" : String.valueOf(n);
    }

    static Span spanOf(PlanSpec spec, String key) {
        Span s = spec.spans().get(key);
        return s != null ? s : spec.span();
    }
}
