package tmc.ir;

import java.util.List;
import tmc.check.PlanSpec;

/**
 * One kernel of a tensor-machine program.
 *
 * @param name        entry name in the emitted CUDA, e.g. {@code ConvFirst_fused}
 * @param tileN       images per thread block (the grid's z is ceil(N / tileN))
 * @param tileH       output rows per thread block (grid y = ceil(H / tileH))
 * @param tileW       output columns per thread block (grid x = ceil(W / tileW))
 * @param threads     threads per block (a multiple of 32)
 * @param math        the math kind the plan chose for its matrix work
 * @param layers      the layers it computes, in order
 * @param buffers     every buffer it declares
 * @param body        its instructions
 * @param registersPerThread the planner's estimate, checked against the target and, in tests, against ptxas
 */
public record Kernel(String name, int tileN, int tileH, int tileW, int threads, PlanSpec.MathKind math,
                     List<Layer> layers, List<Buffer> buffers, List<Instr> body, int registersPerThread,
                     java.util.Map<String, Long> sharedOffsets, int residentBlocks) {
    /**
     * @param sharedOffsets byte offset of each shared buffer (by name) in the block's shared memory, where buffers that
     *                      are never live at the same time share bytes (tmc.plan.SharedLifetimes); empty: every shared
     *                      buffer has bytes of its own, one after another in {@code buffers} order
     * @param residentBlocks the blocks per SM the kernel is compiled for (the plan's {@code resident} directive), or 0:
     *                      as many as the register estimate allows (see {@link #minBlocksPerSm()})
     */
    public Kernel {
        if (residentBlocks < 0) throw new IllegalArgumentException(name + ": resident blocks " + residentBlocks);
        layers = List.copyOf(layers);
        buffers = List.copyOf(buffers);
        body = List.copyOf(body);
        sharedOffsets = java.util.Map.copyOf(sharedOffsets);
        if (!sharedOffsets.isEmpty()) {
            for (Buffer b : buffers) {
                if (b.space() == PlanSpec.Space.SHARED && !sharedOffsets.containsKey(b.name())) {
                    throw new IllegalArgumentException(name + ": shared buffer " + b.name() + " has no offset");
                }
            }
        }
    }

    /** A kernel whose shared buffers each have bytes of their own, compiled for as many blocks as its registers allow. */
    public Kernel(String name, int tileN, int tileH, int tileW, int threads, PlanSpec.MathKind math,
                  List<Layer> layers, List<Buffer> buffers, List<Instr> body, int registersPerThread) {
        this(name, tileN, tileH, tileW, threads, math, layers, buffers, body, registersPerThread, java.util.Map.of(), 0);
    }

    /** This kernel compiled for {@code blocks} resident blocks per SM (0: as many as the register estimate allows). */
    public Kernel withResidentBlocks(int blocks) {
        return new Kernel(name, tileN, tileH, tileW, threads, math, layers, buffers, body, registersPerThread,
                sharedOffsets, blocks);
    }

    /** This kernel with {@code body} for its instructions, everything else as it is (a pass that rewrites a body). */
    public Kernel withBody(List<Instr> body) {
        return new Kernel(name, tileN, tileH, tileW, threads, math, layers, buffers, body, registersPerThread,
                sharedOffsets, residentBlocks);
    }

    /** Whether the plan fixed the blocks per SM ({@code resident}) rather than the register estimate. */
    public boolean residentFixed() {
        return residentBlocks > 0;
    }

    /** Whether some shared buffers share bytes (they are never live at the same time). */
    public boolean sharesSharedMemory() {
        return !sharedOffsets.isEmpty();
    }

    /** The byte offset of shared buffer {@code b} in the block's shared memory. */
    public long sharedOffset(Buffer b) {
        if (!sharedOffsets.isEmpty()) return sharedOffsets.get(b.name());
        long offset = 0;
        for (Buffer o : buffers) {
            if (o.space() != PlanSpec.Space.SHARED) continue;
            if (o.equals(b)) return offset;
            offset += o.bytes();
        }
        throw new IllegalArgumentException(b.name() + " is not a shared buffer of " + name);
    }

    /** Whether shared buffers {@code a} and {@code b} have bytes in common. */
    public boolean overlapInShared(Buffer a, Buffer b) {
        long a0 = sharedOffset(a), b0 = sharedOffset(b);
        return a0 < b0 + b.bytes() && b0 < a0 + a.bytes();
    }

    /** Shared memory per block: the end of the last shared buffer (the sum of them unless some share bytes). */
    public long sharedBytes() {
        return buffers.stream().filter(b -> b.space() == PlanSpec.Space.SHARED)
                .mapToLong(b -> sharedOffsets.isEmpty() ? b.bytes() : sharedOffsets.get(b.name()) + b.bytes())
                .reduce(0, sharedOffsets.isEmpty() ? Long::sum : Math::max);
    }

    /** The sides of its warp-specialized stream loop (Instr.Side), in order; empty when every warp runs the loop. */
    public List<Instr.Side> sides() {
        return Instr.flatten(body).filter(i -> i instanceof Instr.Loop).flatMap(i -> ((Instr.Loop) i).sides().stream())
                .toList();
    }

    /**
     * The side whose threads hold register buffer {@code name}: the one that writes it (its accumulators, and a layer's
     * result computed into registers). Its per-thread layout is that side's, so only its threads may touch it. Empty
     * outside warp specialization.
     */
    public java.util.Optional<Instr.Side> holder(String name) {
        return Instr.flatten(body).filter(i -> i instanceof Instr.Side).map(i -> (Instr.Side) i)
                .filter(sd -> sd.body().stream().anyMatch(x -> switch (x) {
                    case Instr.Accumulate a -> a.acc().name().equals(name);
                    case Instr.Chain ch -> ch.consumer().acc().name().equals(name);
                    case Instr.Compute c -> c.dst().space() == PlanSpec.Space.REGISTERS && c.dst().name().equals(name);
                    case Instr.Finish f -> f.dst().space() == PlanSpec.Space.REGISTERS && f.dst().name().equals(name);
                    default -> false;
                }))
                .findFirst();
    }

    /** ": 4 producer + 4 consumer" for a warp-specialized kernel, else nothing (for headers and reports). */
    public String sidesSummary() {
        List<String> s = sides().stream().map(sd -> sd.warps() + " " + sd.role()).toList();
        return s.isEmpty() ? "" : ": " + String.join(" + ", s);
    }

    /** Whether the kernel issues wgmma (sm_90a): a 'math wgmma' kernel runs its register chains' products on it. */
    public boolean usesWgmma() {
        return math == PlanSpec.MathKind.WGMMA;
    }

    public int warps() {
        return threads / 32;
    }

    /** Pixels of one image's tile: a block with {@code tileN} above 1 computes its images one after another. */
    public int tilePixels() {
        return tileH * tileW;
    }

    /** Thread blocks launched for a shape. */
    public long blocks(int n, int h, int w) {
        return (long) ceilDiv(n, tileN) * ceilDiv(h, tileH) * ceilDiv(w, tileW);
    }

    /** Registers per SM on every target tmc knows (sm_80 to sm_90): 64K 32-bit registers. */
    public static final int REGISTERS_PER_SM = 65536;

    /** Sub-partitions (warp schedulers) per SM on every target tmc knows; each has a quarter of the registers. */
    public static final int SUB_PARTITIONS = 4;

    /**
     * Blocks per SM the kernel is compiled for: the plan's {@code resident} count, else as many as the register
     * estimate allows. The emitter passes it to {@code __launch_bounds__}, so the compiler must fit every thread in
     * {@link #registerLimit()} registers (spilling if it cannot: a fixed count may ask for fewer registers than the
     * estimate; the estimate is often above what ptxas needs).
     */
    public int minBlocksPerSm() {
        if (residentBlocks > 0) return residentBlocks;
        return Math.max(1, REGISTERS_PER_SM / (threads * Math.max(1, registersPerThread)));
    }

    /**
     * The most registers a thread may use at {@link #minBlocksPerSm()} blocks per SM (allocation unit 8, cap 255).
     * Each of the SM's 4 sub-partitions has a quarter of the registers and holds every 4th warp, so the fullest one
     * sets the limit: 14 warps put 4 on two of them, 4 x 32 x 128 = 16K registers, so 128 (ptxas agrees).
     */
    public int registerLimit() {
        int warpsPerPartition = ceilDiv(warps() * minBlocksPerSm(), SUB_PARTITIONS);
        return Math.min(255, REGISTERS_PER_SM / SUB_PARTITIONS / (warpsPerPartition * 32) / 8 * 8);
    }

    public static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
