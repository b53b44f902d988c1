package tmc.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tmc.ir.Instr;

/**
 * One trip of a stream loop as the lowering makes it when its slices have one copy each: the copies of chunk e0's
 * slices at the top (then a barrier), and the layers in phases, each ended by a barrier. The passes that rearrange such
 * a loop read it through this: {@link SliceRefill} (refills between the phases) and {@link WarpSpecialization} (the
 * phases split between two sides).
 *
 * @param copies the synchronous copies of chunk e0's slices, in order (none when the loop stages no weights)
 * @param phases the instructions between consecutive barriers, without the barriers
 */
record LoopPhases(List<Instr.LoadWeight> copies, List<List<Instr>> phases) {
    LoopPhases {
        copies = List.copyOf(copies);
        phases = phases.stream().map(List::copyOf).toList();
    }

    /** The trip of {@code loop} in that shape; empty when it has another (a pass already rearranged it). */
    static Optional<LoopPhases> of(Instr.Loop loop) {
        List<Instr> lb = loop.body();
        if (lb.isEmpty() || !(lb.getLast() instanceof Instr.Barrier)) return Optional.empty();
        List<Instr.LoadWeight> copies = new ArrayList<>();
        while (copies.size() < lb.size() && lb.get(copies.size()) instanceof Instr.LoadWeight lw && lw.streamed() != null
                && lw.streamed().start() == 0 && !lw.async()) {
            copies.add(lw);
        }
        int from = copies.size();
        if (!copies.isEmpty()) {
            if (from >= lb.size() || !(lb.get(from) instanceof Instr.Barrier)) return Optional.empty();
            from++;
        }
        List<List<Instr>> phases = new ArrayList<>();
        List<Instr> current = new ArrayList<>();
        for (Instr i : lb.subList(from, lb.size())) {
            switch (i) {
                case Instr.Barrier b -> {
                    phases.add(current);
                    current = new ArrayList<>();
                }
                case Instr.LoadWeight lw -> {
                    return Optional.empty();
                }
                case Instr.AsyncWait w -> {
                    return Optional.empty();
                }
                case Instr.AsyncCommit c -> {
                    return Optional.empty();
                }
                case Instr.Loop l -> {
                    return Optional.empty();
                }
                default -> current.add(i);
            }
        }
        return Optional.of(new LoopPhases(copies, phases));
    }
}
