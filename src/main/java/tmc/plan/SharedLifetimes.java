package tmc.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tmc.check.Activation;
import tmc.check.PlanSpec.Space;
import tmc.check.TypedBlock;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.Layer;
import tmc.target.Target;

/**
 * Shared memory by lifetime: buffers that are never live at the same time share bytes, when that lets another block
 * reside on each SM.
 *
 * <p>A fused kernel stages its input tile with the halo and the conv's weights for the layers before the stream loop,
 * then streams weight slices through the loop. The input tile and the conv weights are dead once the conv is done,
 * except for two uses that keep them alive for nothing: the first chunk's weight slices are copied at the start (to
 * overlap the copy with the conv), and the final epilogue reads the residual from the staged input. {@link #compact}
 * tries the kernel as it is and then rearranged ({@link #rearranged}): the first chunk's slices copied after the
 * barrier that ends the dying buffers' last use, and the residual read from global memory (L2: the tile was read a
 * moment ago). It keeps whichever fits more blocks per SM, and the kernel unchanged when neither does: the
 * rearrangement costs a little latency (ConvNeXt on the H100: reading the residual from L2 alone was 2 % slower), which
 * a third block per SM repays many times (docs/benchmarks.md, ninth session).
 *
 * <p>Two buffers may share bytes when one's last use comes before the other's first use with a barrier between them
 * (so every thread is done reading the first before any thread writes the second). Uses are counted at the top level
 * of the kernel body: every buffer a stream loop touches is live for the whole loop.
 */
final class SharedLifetimes {
    private SharedLifetimes() {}

    /** {@code k} with shared buffers that are never live together sharing bytes, if that adds a block per SM; else {@code k}. */
    static Kernel compact(TypedBlock block, Kernel k, Target target) {
        if (k.tileN() != 1 || k.sharesSharedMemory() || k.buffers().stream().noneMatch(b -> b.space() == Space.SHARED)) {
            return k;
        }
        Kernel best = k;
        int bestBlocks = Budgets.occupancy(k, target).blocksPerSm();
        List<List<Instr>> candidates = new ArrayList<>();
        candidates.add(k.body());
        List<Instr> moved = rearranged(block, k);
        if (moved != null) candidates.add(moved);
        for (List<Instr> body : candidates) {
            Kernel c = laidOut(k, body, allocate(k.buffers(), body));
            Budgets.Occupancy occ = Budgets.occupancy(c, target);
            // Every order of first fit only where shared memory is what holds the blocks back and the bytes live at
            // once would allow one more (the planner compacts every candidate it lowers: this keeps it fast).
            if (occ.limitedBy().equals("shared memory")
                    && target.sharedPerSm() / (liveBound(k.buffers(), body) + target.sharedReservedPerBlock()) > occ.blocksPerSm()) {
                c = laidOut(k, body, allocate(k.buffers(), body, true));
            }
            int blocks = Budgets.occupancy(c, target).blocksPerSm();
            if (blocks > bestBlocks && c.sharedBytes() <= target.sharedPerBlockOptIn()) {
                best = c;
                bestBlocks = blocks;
            }
        }
        return best;
    }

    /** {@code k} with {@code body} and its shared buffers at {@code offsets}. */
    private static Kernel laidOut(Kernel k, List<Instr> body, Map<String, Long> offsets) {
        return new Kernel(k.name(), k.tileN(), k.tileH(), k.tileW(), k.threads(), k.math(), k.layers(), k.buffers(), body,
                k.registersPerThread(), offsets, k.residentBlocks());
    }

    /**
     * The body with the first chunk's weight slices copied after the barrier that follows the last use of the buffers
     * that die before the stream loop, and every layer after the loop reading the block inputs it does not take as its
     * main input (a residual) from global memory instead of their staged tile. Null when the body has no such shape
     * (no double-buffered stream loop with the first chunk copied up front) or nothing would die before the loop.
     */
    static List<Instr> rearranged(TypedBlock block, Kernel k) {
        List<Instr> body = new ArrayList<>(k.body());
        int loop = indexOfLoop(body);
        if (loop < 0) return null;
        // The first chunk's copies: [commit] [chunk 0 slices, async, into double buffers] [commit] [wait 1]
        int first = -1, end = -1;
        for (int i = 0; i < loop; i++) {
            if (body.get(i) instanceof Instr.LoadWeight lw && lw.async() && lw.dst().stages() == 2 && lw.streamed() == null) {
                if (first < 0) first = i;
                end = i + 1;
            } else if (first >= 0) {
                break;
            }
        }
        if (first < 1 || !(body.get(first - 1) instanceof Instr.AsyncCommit) || end + 1 >= loop
                || !(body.get(end) instanceof Instr.AsyncCommit) || !(body.get(end + 1) instanceof Instr.AsyncWait w)
                || w.pending() != 1) {
            return null;
        }
        List<Instr> chunk0 = new ArrayList<>(body.subList(first, end + 1));  // the slices and their commit
        body.subList(first, end + 2).clear();
        body.add(first, new Instr.AsyncWait(0));  // everything copied so far has landed at the first barrier
        loop = indexOfLoop(body);

        // Residuals after the loop come from global memory, so that the staged inputs die with their last main reader.
        Set<String> inputs = new LinkedHashSet<>();
        for (Activation a : block.inputs()) inputs.add(a.name());
        for (int i = loop + 1; i < body.size(); i++) {
            body.set(i, switch (body.get(i)) {
                case Instr.Finish f -> new Instr.Finish(f.layer(), f.acc(), f.dst(), withoutResiduals(f.layer(), f.sources(), inputs));
                case Instr.Compute c -> new Instr.Compute(c.layer(), c.dst(), c.halo(), c.out(),
                        withoutResiduals(c.layer(), c.sources(), inputs), c.math(), c.inlined());
                case Instr other -> other;
            });
        }

        // The last use of the buffers that die before the loop; the slices go after the next barrier.
        Map<Buffer, int[]> life = lifetimes(k.buffers(), body);
        int lastDeath = -1;
        for (int[] span : life.values()) {
            if (span[1] < loop) lastDeath = Math.max(lastDeath, span[1]);
        }
        if (lastDeath < 0) return null;
        int barrier = -1;
        for (int i = lastDeath + 1; i < loop; i++) {
            if (body.get(i) instanceof Instr.Barrier) {
                barrier = i;
                break;
            }
        }
        if (barrier < 0) return null;
        body.addAll(barrier + 1, chunk0);
        return List.copyOf(body);
    }

    static int indexOfLoop(List<Instr> body) {
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i) instanceof Instr.Loop) return i;
        }
        return -1;
    }

    /** {@code sources} without the block inputs that {@code layer} reads other than as its main input. */
    private static Map<String, Buffer> withoutResiduals(Layer layer, Map<String, Buffer> sources, Set<String> inputs) {
        Activation main = layer.mainInput();
        Map<String, Buffer> kept = new HashMap<>(sources);
        for (Activation a : layer.epilogueInputs()) {
            if (inputs.contains(a.name()) && (main == null || !main.name().equals(a.name()))) kept.remove(a.name());
        }
        return Map.copyOf(kept);
    }

    /**
     * For each shared buffer that the body uses, its first and last use as positions in the top-level body (a use
     * inside a loop is at the loop's position).
     */
    static Map<Buffer, int[]> lifetimes(List<Buffer> buffers, List<Instr> body) {
        List<Buffer> shared = buffers.stream().filter(b -> b.space() == Space.SHARED).toList();
        Map<Buffer, int[]> life = new LinkedHashMap<>();
        for (int i = 0; i < body.size(); i++) {
            for (Buffer b : Instr.touched(body.get(i), shared)) {
                int[] span = life.computeIfAbsent(b, x -> new int[] {Integer.MAX_VALUE, -1});
                span[0] = Math.min(span[0], i);
                span[1] = Math.max(span[1], i);
            }
        }
        return life;
    }

    /**
     * Byte offsets for the shared buffers, sharing bytes between buffers that may (see the class comment): first fit,
     * in order of first use and in order of size, whichever ends lower. Buffers the body never uses keep bytes of their
     * own after the rest.
     */
    static Map<String, Long> allocate(List<Buffer> buffers, List<Instr> body) {
        return allocate(buffers, body, false);
    }

    /** {@link #allocate}; with {@code everyOrder}, also every order of first fit when there are few buffers. */
    static Map<String, Long> allocate(List<Buffer> buffers, List<Instr> body, boolean everyOrder) {
        List<Buffer> shared = buffers.stream().filter(b -> b.space() == Space.SHARED).toList();
        Map<Buffer, int[]> life = lifetimes(buffers, body);
        List<Integer> barriers = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            if (body.get(i) instanceof Instr.Barrier) barriers.add(i);
        }
        Comparator<Buffer> byFirstUse = Comparator.comparingInt((Buffer b) -> life.containsKey(b) ? life.get(b)[0] : Integer.MAX_VALUE)
                .thenComparing(Comparator.comparingLong(Buffer::bytes).reversed());
        Comparator<Buffer> bySize = Comparator.comparingLong(Buffer::bytes).reversed();
        List<List<Buffer>> orders = new ArrayList<>();
        for (Comparator<Buffer> order : List.of(byFirstUse, bySize)) orders.add(shared.stream().sorted(order).toList());
        // First fit depends on the order: with few buffers, every order (ConvNeXt with its depthwise weight read from
        // global: 55296 B instead of the heuristics' 67392, the difference between 3 and 4 blocks per SM). The
        // heuristics come first, so that a tie keeps their layout.
        if (everyOrder && shared.size() <= MAX_PERMUTED) permutations(new ArrayList<>(orders.getFirst()), 0, orders);
        Map<String, Long> best = null;
        for (List<Buffer> order : orders) {
            Map<String, Long> offsets = firstFit(order, life, barriers);
            if (best == null || end(offsets, shared) < end(best, shared)) best = offsets;
        }
        return best;
    }

    /**
     * The fewest bytes any layout of {@code buffers} needs for {@code body}: the most that is live at one
     * instruction (a bound: sharing also needs a barrier between the two lifetimes).
     */
    static long liveBound(List<Buffer> buffers, List<Instr> body) {
        Map<Buffer, int[]> life = lifetimes(buffers, body);
        long most = 0;
        for (int i = 0; i < body.size(); i++) {
            long live = 0;
            for (Map.Entry<Buffer, int[]> e : life.entrySet()) {
                if (e.getValue()[0] <= i && i <= e.getValue()[1]) live += e.getKey().bytes();
            }
            most = Math.max(most, live);
        }
        return most;
    }

    /** Buffers up to which {@link #allocate} tries every order (6! = 720 first fits per kernel). */
    static final int MAX_PERMUTED = 6;

    /** Every order of {@code items[from..]} appended to {@code out} (items[..from] fixed), by swaps. */
    private static void permutations(List<Buffer> items, int from, List<List<Buffer>> out) {
        if (from == items.size()) {
            out.add(List.copyOf(items));
            return;
        }
        for (int i = from; i < items.size(); i++) {
            java.util.Collections.swap(items, from, i);
            permutations(items, from + 1, out);
            java.util.Collections.swap(items, from, i);
        }
    }

    private static Map<String, Long> firstFit(List<Buffer> order, Map<Buffer, int[]> life, List<Integer> barriers) {
        Map<String, Long> offsets = new LinkedHashMap<>();
        List<Buffer> placed = new ArrayList<>();
        for (Buffer b : order) {
            List<Buffer> clashes = placed.stream().filter(o -> !mayShare(life.get(b), life.get(o), barriers)).toList();
            List<Long> candidates = new ArrayList<>();
            candidates.add(0L);
            for (Buffer o : clashes) candidates.add(offsets.get(o.name()) + o.bytes());
            candidates.sort(null);
            long at = candidates.getLast();
            for (long c : candidates) {
                boolean free = clashes.stream().noneMatch(o -> c < offsets.get(o.name()) + o.bytes() && offsets.get(o.name()) < c + b.bytes());
                if (free) {
                    at = c;
                    break;
                }
            }
            offsets.put(b.name(), at);
            placed.add(b);
        }
        return offsets;
    }

    /** Whether two lifetimes are disjoint with a barrier between them (an unused buffer shares with nothing). */
    static boolean mayShare(int[] a, int[] b, List<Integer> barriers) {
        if (a == null || b == null) return false;
        int[] early = a[1] < b[0] ? a : b[1] < a[0] ? b : null;
        if (early == null) return false;
        int[] late = early == a ? b : a;
        return barriers.stream().anyMatch(p -> early[1] < p && p < late[0]);
    }

    private static long end(Map<String, Long> offsets, List<Buffer> shared) {
        return shared.stream().mapToLong(b -> offsets.get(b.name()) + b.bytes()).max().orElse(0);
    }
}
