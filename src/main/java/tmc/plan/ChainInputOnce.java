package tmc.plan;

import java.util.ArrayList;
import java.util.List;
import tmc.check.Op;
import tmc.check.PlanSpec;
import tmc.ir.Buffer;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.MmaTiling;

/**
 * A register chain's input fragments read from shared memory once per stream loop instead of once per trip, where
 * the loop never writes them.
 *
 * <p>A pointwise producer whose input is narrow enough keeps a warp's A fragments of it (16 pixels, every input
 * channel) in registers for the whole chunk ({@link Instr.Chain#hoistsInput}); as lowered it loads them again at the
 * top of every trip. Where nothing in the loop writes that input (ConvNeXt's LayerNorm output, written before the
 * loop), the fragments are the same in every trip: {@link Instr.Chain#inputOnce} has the first trip load them, right
 * where it loaded them before (after that trip's wait and barrier, so every write and copy of the input before the
 * loop is complete and visible), and the later trips reuse them. ConvNeXt's trip then issues 24 ldmatrix.x4 a warp
 * instead of 30; its MLP is 44.8 % of the kernel's warp samples and mostly shared-memory loads (docs/benchmarks.md,
 * twenty-second session). The fragments are live through the producer's product anyway, which holds the register
 * peak: nvcc gives ConvNeXt's 'fused' 166 -> 167 registers at its 168-register cap, no spills.
 *
 * <p>Only for one row tile per warp (more would hold several sets of fragments through the loop), mma.sync (wgmma
 * products read A from shared memory or from registers a warpgroup at a time) and loops without warp-specialized
 * sides. {@link tmc.ir.SharedRaces} knows the read as the first trip's only.
 */
final class ChainInputOnce {
    private ChainInputOnce() {}

    /** {@code k} with its chains' inputs read in the first trip only where they qualify; else {@code k}. */
    static Kernel apply(Kernel k) {
        if (k.math() == PlanSpec.MathKind.WGMMA) return k;
        List<Instr> body = new ArrayList<>(k.body());
        boolean changed = false;
        for (int i = 0; i < body.size(); i++) {
            if (!(body.get(i) instanceof Instr.Loop l) || !l.sides().isEmpty() || l.trips() < 2) continue;
            List<Instr> trip = new ArrayList<>(l.body());
            for (int j = 0; j < trip.size(); j++) {
                if (trip.get(j) instanceof Instr.Chain ch && !ch.inputOnce() && qualifies(k, l, ch)) {
                    trip.set(j, new Instr.Chain(ch.producer(), ch.consumer(), ch.group(), true));
                    changed = true;
                }
            }
            body.set(i, new Instr.Loop(l.var(), l.dim(), l.extent(), l.chunk(), trip, l.note()));
        }
        return changed ? k.withBody(body) : k;
    }

    private static boolean qualifies(Kernel k, Instr.Loop l, Instr.Chain ch) {
        if (!(ch.producer().layer().main() instanceof Op.Pointwise pw) || Instr.Chain.inputInFragments(ch.producer())) {
            return false;
        }
        Buffer in = ch.producer().sources().get(pw.in().name());
        if (in == null || in.space() != PlanSpec.Space.SHARED) return false;
        if (!Instr.Chain.hoistsInput(pw.in().channels(), ch.producer().out().count())) return false;
        if (MmaTiling.rows(k.tilePixels(), ch.consumer().layer().out().channels(), k.warps()).perWarp() != 1) return false;
        for (Instr x : l.body()) {
            for (Buffer w : Instr.written(x)) {
                if (w.equals(in) || w.space() == PlanSpec.Space.SHARED && k.overlapInShared(w, in)) return false;
            }
        }
        return true;
    }
}
