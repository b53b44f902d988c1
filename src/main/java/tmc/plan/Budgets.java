package tmc.plan;

import java.util.ArrayList;
import java.util.List;
import tmc.check.PlanSpec.Space;
import tmc.ir.Buffer;
import tmc.ir.Kernel;
import tmc.target.Target;

/**
 * The budgets a kernel must fit on a target, checked before any code exists: shared memory per block, registers
 * per thread and per block, threads per block; and what they leave for occupancy (blocks resident per SM).
 */
public final class Budgets {
    private Budgets() {}

    public enum Resource {
        SHARED_PER_BLOCK("shared memory per block", "B"),
        REGISTERS_PER_THREAD("registers per thread", "registers"),
        REGISTERS_PER_BLOCK("registers per block", "registers"),
        THREADS_PER_BLOCK("threads per block", "threads"),
        /** A plan's {@code resident N} above what the SM's threads, block slots and shared memory hold. */
        RESIDENT_BLOCKS("resident blocks per SM", "blocks");

        public final String label;
        public final String unit;

        Resource(String label, String unit) {
            this.label = label;
            this.unit = unit;
        }
    }

    /** One budget a kernel breaks: it needs {@code needed}, the target allows {@code limit}. */
    public record Violation(Resource resource, long needed, long limit) {
        public double ratio() {
            return (double) needed / limit;
        }
    }

    /**
     * Blocks of this kernel resident on one SM, and what limits them: "threads", "blocks", "registers" or
     * "shared memory".
     */
    public record Occupancy(int blocksPerSm, String limitedBy) {
        public int residentWarps(int warpsPerBlock) {
            return blocksPerSm * warpsPerBlock;
        }
    }

    /** The budget check of one kernel. {@code registers} is the lowering's per-thread estimate. */
    public record Check(Kernel kernel, long sharedBytes, int registers, Occupancy occupancy, List<Violation> violations) {
        public Check {
            violations = List.copyOf(violations);
        }

        public boolean fits() {
            return violations.isEmpty();
        }

        /** The largest needed/limit ratio over the broken budgets (0 when it fits): how far over it is. */
        public double overage() {
            return violations.stream().mapToDouble(Violation::ratio).max().orElse(0);
        }
    }

    public static Check check(Kernel k, Target t) {
        List<Violation> v = new ArrayList<>();
        long shared = k.sharedBytes();
        if (shared > t.sharedPerBlockOptIn()) v.add(new Violation(Resource.SHARED_PER_BLOCK, shared, t.sharedPerBlockOptIn()));
        int regs = k.registersPerThread();
        if (regs > t.maxRegistersPerThread()) {
            v.add(new Violation(Resource.REGISTERS_PER_THREAD, regs, t.maxRegistersPerThread()));
        }
        if (k.threads() > t.maxThreadsPerBlock()) {
            v.add(new Violation(Resource.THREADS_PER_BLOCK, k.threads(), t.maxThreadsPerBlock()));
        }
        // Each of the SM's 4 sub-partitions holds a quarter of the registers and every 4th warp: a block is charged
        // as if its warps were a multiple of 4 (14 warps take the registers of 16).
        long regsPerBlock = (long) allocatedRegistersPerWarp(Math.min(regs, t.maxRegistersPerThread()), t)
                * ceilDiv(ceilDiv(k.threads(), t.warpSize()), Kernel.SUB_PARTITIONS) * Kernel.SUB_PARTITIONS;
        if (regs <= t.maxRegistersPerThread() && regsPerBlock > t.registersPerBlock()) {
            v.add(new Violation(Resource.REGISTERS_PER_BLOCK, regsPerBlock, t.registersPerBlock()));
        }
        if (k.residentFixed()) {
            int room = roomWithoutRegisters(k, t);
            if (k.residentBlocks() > room) v.add(new Violation(Resource.RESIDENT_BLOCKS, k.residentBlocks(), room));
        }
        return new Check(k, shared, regs, occupancy(k, t), v);
    }

    /**
     * Blocks of this kernel an SM holds by its threads, block slots and shared memory alone: the most a
     * {@code resident} count can ask for (the registers then follow from the count, see Kernel.registerLimit).
     */
    public static int roomWithoutRegisters(Kernel k, Target t) {
        int room = Math.min(t.maxBlocksPerSm(), t.maxThreadsPerSm() / Math.max(1, k.threads()));
        long shared = k.sharedBytes();
        if (shared > 0) room = (int) Math.min(room, t.sharedPerSm() / (shared + t.sharedReservedPerBlock()));
        return room;
    }

    /**
     * The blocks per SM one more than {@code check}'s occupancy, where its registers are what holds it back and the
     * SM's threads, block slots and shared memory hold that many ({@code resident B+1}); 0 otherwise.
     */
    public static int oneMoreBlock(Check check, Target t) {
        int more = check.occupancy().blocksPerSm() + 1;
        boolean byRegisters = check.occupancy().limitedBy().equals("registers");
        return byRegisters && more <= roomWithoutRegisters(check.kernel(), t) ? more : 0;
    }

    /** Registers one warp is given: per-thread count times the warp size, rounded up to the allocation unit. */
    public static int allocatedRegistersPerWarp(int registersPerThread, Target t) {
        int raw = registersPerThread * t.warpSize();
        return ceilDiv(raw, t.registerAllocationUnit()) * t.registerAllocationUnit();
    }

    /** Resident blocks per SM: the tightest of the thread, block, register and shared-memory limits. */
    public static Occupancy occupancy(Kernel k, Target t) {
        int warps = ceilDiv(k.threads(), t.warpSize());
        int best = t.maxBlocksPerSm();
        String by = "blocks per SM";
        int byThreads = t.maxThreadsPerSm() / Math.max(1, k.threads());
        if (byThreads < best) {
            best = byThreads;
            by = "threads per SM";
        }
        // The emitter's __launch_bounds__ holds ptxas to the kernel's register limit (Kernel.registerLimit), which
        // may be below the estimate (MBConv 'rows': estimate 136, limit 128 for 2 blocks of 7 warps; ptxas 121), so
        // the registers a warp is given are the lesser of the two.
        int perWarp = allocatedRegistersPerWarp(Math.max(1, Math.min(k.registersPerThread(), k.registerLimit())), t);
        // Warps that fit each sub-partition's quarter of the registers, over the SM, in whole blocks.
        int byRegs = Kernel.SUB_PARTITIONS * (t.registersPerSm() / Kernel.SUB_PARTITIONS / Math.max(1, perWarp)) / warps;
        if (byRegs < best) {
            best = byRegs;
            // a 'resident' count sets the register limit, so it is what holds the blocks to that count
            by = k.residentFixed() ? "the plan's 'resident " + k.residentBlocks() + "'" : "registers";
        }
        long shared = k.sharedBytes();
        if (shared > 0) {
            long bySmem = t.sharedPerSm() / (shared + t.sharedReservedPerBlock());
            if (bySmem < best) {
                best = (int) bySmem;
                by = "shared memory";
            }
        }
        return new Occupancy(Math.max(0, best), by);
    }

    /** One line per shared buffer: name, what it holds, bytes, and the .tm line that caused it. */
    public static List<String> sharedBreakdown(Kernel k, Target t) {
        List<String> lines = new ArrayList<>();
        for (Buffer b : k.buffers()) {
            if (b.space() != Space.SHARED) continue;
            lines.add(String.format(java.util.Locale.ROOT, "%-8s %-46s %8d B %9s   (line %d)%s", b.name(),
                    tmc.ir.IrPrinter.describeBuffer(b, k), b.bytes(), kib(b.bytes()), b.origin().line(),
                    k.sharesSharedMemory() ? " at byte " + k.sharedOffset(b) : ""));
        }
        lines.add(String.format(java.util.Locale.ROOT, "%-8s %-46s %8d B %9s   (limit %s with opt-in on %s)", "total",
                k.sharesSharedMemory() ? "(buffers never live together share bytes)" : "",
                k.sharedBytes(), kib(k.sharedBytes()), kib(t.sharedPerBlockOptIn()), t.name()));
        return lines;
    }

    /** The threads that hold register buffer {@code b}: the side that writes it, else the whole block. */
    private static int holders(Kernel k, Buffer b) {
        return k.holder(b.name()).map(tmc.ir.Instr.Side::threads).orElse(k.threads());
    }

    /** One line per register buffer with its per-thread count and .tm line, after the fixed base. */
    public static List<String> registerBreakdown(Kernel k, Target t) {
        List<String> lines = new ArrayList<>();
        int buffers = 0;
        for (Buffer b : k.buffers()) {
            if (b.space() != Space.REGISTERS) continue;
            buffers += b.rowStride();
            lines.add(String.format(java.util.Locale.ROOT, "%-8s %-46s %5d per thread   (line %d)", b.name(),
                    tmc.ir.IrPrinter.describeBuffer(b, k) + " / " + holders(k, b) + " threads", b.rowStride(),
                    b.origin().line()));
        }
        lines.addFirst(String.format(java.util.Locale.ROOT, "%-8s %-46s %5d per thread", "base",
                "indices, pointers, loop counters (estimate)", k.registersPerThread() - buffers));
        lines.add(String.format(java.util.Locale.ROOT, "%-8s %-46s %5d per thread   (limit %d on %s)", "total", "",
                k.registersPerThread(), t.maxRegistersPerThread(), t.name()));
        return lines;
    }

    /** 1 KB = 1024 B, as the CUDA documentation counts shared memory. */
    public static String kib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f KB", bytes / 1024.0);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
