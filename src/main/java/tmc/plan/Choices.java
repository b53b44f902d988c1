package tmc.plan;

import java.util.Map;
import tmc.check.PlanSpec;

/**
 * Every choice a fused plan needs, filled in: what the user fixed plus what the planner chose.
 *
 * @param streamDim   the channel parameter streamed in chunks, or null for no streaming
 * @param streamChunk chunk width (equal to the dimension's extent when not streamed)
 * @param places      placement per tensor; tensors absent here get the lowering's default (shared)
 * @param producerWarps warp specialization ({@code warps P + C}): the first {@code producerWarps} of the {@code warps}
 *                    make each chunk of the staged intermediate, the others consume the previous one; 0 for none
 * @param residentBlocks blocks per SM the kernel is compiled for ({@code resident N}: its {@code __launch_bounds__}
 *                    minimum), or 0 for as many as the register estimate allows
 * @param narrowSlices a register chain takes its producer 16 channels per slice instead of 32 (Instr.Chain#group):
 *                    eight fewer accumulators live, for a {@code resident} count that holds the compiler to fewer
 *                    registers than the estimate; only {@code tmc tune} sets it (Planner#moreResident), no directive
 * @param layerMath   {@code math kind for tensor}: the unit of the layer that computes the tensor, over {@code math}
 */
public record Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim,
                      int streamChunk, Map<String, PlanSpec.Placement> places, int producerWarps, int residentBlocks,
                      boolean narrowSlices, Map<String, PlanSpec.LayerMath> layerMath) {
    public Choices {
        places = Map.copyOf(places);
        layerMath = Map.copyOf(layerMath);
        if (producerWarps < 0 || producerWarps >= Math.max(1, warps)) {
            throw new IllegalArgumentException("producer warps " + producerWarps + " of " + warps);
        }
        if (residentBlocks < 0) throw new IllegalArgumentException("resident blocks " + residentBlocks);
    }

    /** Choices that leave every layer to the plan's unit. */
    public Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim, int streamChunk,
                   Map<String, PlanSpec.Placement> places, int producerWarps, int residentBlocks, boolean narrowSlices) {
        this(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps, residentBlocks, narrowSlices,
                Map.of());
    }

    /** Choices with the chain's default slices. */
    public Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim, int streamChunk,
                   Map<String, PlanSpec.Placement> places, int producerWarps, int residentBlocks) {
        this(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps, residentBlocks, false);
    }

    /** Choices compiled for as many resident blocks as the register estimate allows. */
    public Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim, int streamChunk,
                   Map<String, PlanSpec.Placement> places, int producerWarps) {
        this(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps, 0);
    }

    /** Choices without warp specialization. */
    public Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim, int streamChunk,
                   Map<String, PlanSpec.Placement> places) {
        this(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, 0, 0);
    }

    /** These choices compiled for {@code blocks} resident blocks per SM (0: as the register estimate allows). */
    public Choices withResidentBlocks(int blocks) {
        return new Choices(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps, blocks,
                narrowSlices, layerMath);
    }

    /** These choices with the plan's per-layer units ({@code math kind for tensor}). */
    public Choices withLayerMath(Map<String, PlanSpec.LayerMath> perLayer) {
        return new Choices(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps,
                residentBlocks, narrowSlices, perLayer);
    }

    /** These choices with a register chain's slices one k16 step (16 channels) wide. */
    public Choices withNarrowSlices() {
        return new Choices(tileN, tileH, tileW, warps, math, streamDim, streamChunk, places, producerWarps,
                residentBlocks, true, layerMath);
    }

    /** Whether the warps are split into a producer and a consumer side. */
    public boolean specialized() {
        return producerWarps > 0;
    }

    /** The warps as the 'warps' directive writes them: "8", or "4 + 4" (producer + consumer) when specialized. */
    public String warpsText() {
        return specialized() ? producerWarps + " + " + consumerWarps() : String.valueOf(warps);
    }

    /** The consumer side's warps (all of them without specialization). */
    public int consumerWarps() {
        return warps - producerWarps;
    }

    public int threads() {
        return warps * 32;
    }

    /** Pixels of one image's tile (a fused block with tile N above 1 computes its images one after another). */
    public int tilePixels() {
        return tileH * tileW;
    }

    @Override
    public String toString() {
        return "tile N " + tileN + ", H " + tileH + ", W " + tileW + "; warps " + warpsText() + "; math " + math.keyword
                + (streamDim != null ? "; stream " + streamDim + " by " + streamChunk : "")
                + (residentBlocks > 0 ? "; resident " + residentBlocks : "") + (narrowSlices ? "; slices of 16" : "")
                + layerMath.values().stream().map(lm -> "; math " + lm.kind().keyword + " for " + lm.tensor())
                .collect(java.util.stream.Collectors.joining());
    }
}
