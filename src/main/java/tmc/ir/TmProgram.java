package tmc.ir;

import java.util.List;
import tmc.check.PlanSpec;
import tmc.check.TypedBlock;

/**
 * A tensor-machine program: the kernels, in launch order, that compute one block under one plan.
 * Separate plans have one kernel per layer and pass intermediates through global memory; fused plans
 * have one kernel. {@code plan} is the plan with every choice filled in (tile, warps, stream, math).
 */
public record TmProgram(TypedBlock block, PlanSpec plan, String arch, List<Kernel> kernels) {
    public TmProgram {
        kernels = List.copyOf(kernels);
    }

    public String name() {
        return block.name() + "_" + plan.name();
    }

    /**
     * The architecture the kernels must be compiled for: the target's, with the {@code a} suffix (sm_90a) when a
     * kernel uses wgmma, which exists only in the architecture-specific feature set.
     */
    public String compileArch() {
        boolean wgmma = kernels.stream().anyMatch(Kernel::usesWgmma);
        return wgmma && !arch.endsWith("a") ? arch + "a" : arch;
    }
}
