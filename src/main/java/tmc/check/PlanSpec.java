package tmc.check;

import java.util.List;
import java.util.Map;
import tmc.diag.Span;

/**
 * A checked plan: what the user fixed. Anything absent (an empty map, a null) is left to the planner.
 *
 * @param arch     target name such as sm_90, or null when the plan names none
 * @param tile     tile sizes by dimension (N, H, W) that the plan fixes
 * @param places   placement of named tensors, in source order
 * @param warps    the block's warps (both sides together when warp-specialized), or null
 * @param producerWarps with {@code warps P + C}: P, the warps that make each chunk of the staged intermediate while
 *                 the other C use the previous one (warp specialization); null without the split
 * @param residentBlocks {@code resident N}: the blocks per SM its kernel is compiled for (the minimum of
 *                 {@code __launch_bounds__}, so ptxas holds each thread to the registers N blocks leave); null: as many
 *                 as the planner's register estimate allows
 * @param spans    where each directive was written, keyed by directive name ("tile", "stream", "warps",
 *                 "math", "tile N", "place x", "math for h2", ...), for budget errors that point at the culprit
 * @param layerMath {@code math kind for tensor} by tensor: the unit of the layer that computes it, over {@code math}
 */
public record PlanSpec(String name, String block, Span span, Kind kind, String arch, Span archSpan,
                       Map<String, Integer> tile, List<Placement> places, StreamSpec stream, Integer warps,
                       Integer producerWarps, MathKind math, Integer residentBlocks, Map<String, Span> spans,
                       Map<String, LayerMath> layerMath) {
    public PlanSpec {
        tile = Map.copyOf(tile);
        places = List.copyOf(places);
        spans = Map.copyOf(spans);
        layerMath = Map.copyOf(layerMath);
    }

    /** A plan that leaves every layer to its plan's unit. */
    public PlanSpec(String name, String block, Span span, Kind kind, String arch, Span archSpan,
                    Map<String, Integer> tile, List<Placement> places, StreamSpec stream, Integer warps,
                    Integer producerWarps, MathKind math, Integer residentBlocks, Map<String, Span> spans) {
        this(name, block, span, kind, arch, archSpan, tile, places, stream, warps, producerWarps, math, residentBlocks,
                spans, Map.of());
    }

    /** A plan whose warps, if fixed, are not split into sides. */
    public PlanSpec(String name, String block, Span span, Kind kind, String arch, Span archSpan,
                    Map<String, Integer> tile, List<Placement> places, StreamSpec stream, Integer warps,
                    MathKind math, Map<String, Span> spans) {
        this(name, block, span, kind, arch, archSpan, tile, places, stream, warps, null, math, null, spans);
    }

    public enum Kind {
        /** One kernel for the whole block; directives the plan leaves out are chosen by the planner. */
        FUSED,
        /** One kernel per layer, intermediates in global memory: the baseline. */
        SEPARATE,
        /** The planner chooses everything. */
        AUTO
    }

    public enum Space {
        GLOBAL, SHARED, REGISTERS;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * How a tile gets the halo ring of a tensor that a k x k conv reads.
     * LOAD: read it from global memory (the tensor lives there: a block input, or placed in global).
     * STAGE: compute the producer over tile + halo once, keep the result in the placed memory.
     * RECOMPUTE: keep no staged copy; recompute the producer wherever a halo value is needed.
     */
    public enum HaloMode {
        LOAD, STAGE, RECOMPUTE;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public enum MathKind {
        TENSOR_CORE("tensor_core"), CUDA_CORE("cuda_core"), WGMMA("wgmma");

        public final String keyword;

        MathKind(String keyword) {
            this.keyword = keyword;
        }
    }

    /**
     * {@code math kind for tensor}: the unit of the layer that computes {@code tensor}, over the plan's {@code math}
     * (so far a depthwise conv's: CUDA cores by default, tensor cores on request).
     */
    public record LayerMath(String tensor, MathKind kind, Span span) {}

    /** {@code place tensor in space [halo radius mode]}; radius 0 when no halo. */
    public record Placement(String tensor, Space space, int halo, HaloMode haloMode, Span span) {}

    /** {@code stream dim by chunk}: the channel parameter {@code dim} (= extent) in chunks of {@code chunk}. */
    public record StreamSpec(String dim, long extent, int chunk, Span span) {}

    public java.util.Optional<Placement> placement(String tensor) {
        return places.stream().filter(p -> p.tensor().equals(tensor)).findFirst();
    }
}
