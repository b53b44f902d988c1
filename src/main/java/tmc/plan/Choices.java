package tmc.plan;

import java.util.Map;
import tmc.check.PlanSpec;

/**
 * Every choice a fused plan needs, filled in: what the user fixed plus what the planner chose.
 *
 * @param streamDim   the channel parameter streamed in chunks, or null for no streaming
 * @param streamChunk chunk width (equal to the dimension's extent when not streamed)
 * @param places      placement per tensor; tensors absent here get the lowering's default (shared)
 */
public record Choices(int tileN, int tileH, int tileW, int warps, PlanSpec.MathKind math, String streamDim,
                      int streamChunk, Map<String, PlanSpec.Placement> places) {
    public Choices {
        places = Map.copyOf(places);
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
        return "tile N " + tileN + ", H " + tileH + ", W " + tileW + "; warps " + warps + "; math "
                + math.keyword + (streamDim != null ? "; stream " + streamDim + " by " + streamChunk : "");
    }
}
