package tmc.ir;

import java.util.ArrayList;
import java.util.List;
import tmc.check.PlanSpec.Space;

/**
 * A static check of a kernel's shared-memory discipline, run on every kernel the CUDA writer emits: every two accesses of the same bytes by
 * different instructions, at least one of them a write, must be ordered by a barrier between them; when the earlier
 * is a cp.async copy, by a wait that covers its group and then a barrier. The stream loop is unrolled trip by trip:
 * a double-buffered slice's copy is the trip's parity (the next chunk's copies go to the other), and the copies of
 * the chunk after the last are skipped, as the emitted code skips them. Aliased buffers (shared lifetimes) are
 * compared by their bytes. Kernels with warp-specialized sides or an image loop are not checked (null).
 *
 * <p>Conservative: it treats every access as possibly made by any thread, so a barrier is demanded even where each
 * thread only reads what it wrote itself.
 */
public final class SharedRaces {
    private SharedRaces() {}

    /** One shared access: where in the unrolled program, which bytes, read or write, and a cp.async copy's group. */
    private record Access(int step, int instr, long from, long to, boolean write, int group, String what) {}

    private static final class Program {
        final List<Access> accesses = new ArrayList<>();
        final List<Integer> barriers = new ArrayList<>();
        /** At each wait: its step and the groups complete there (those numbered below). */
        final List<int[]> waits = new ArrayList<>();
        int step;
        int instr;
        int commits;
    }

    /** The races of {@code k}, described; empty when there is none; null when the kernel is of a kind not checked. */
    public static List<String> of(Kernel k) {
        for (Instr i : k.body()) {
            if (i instanceof Instr.ImageLoop || i instanceof Instr.Loop l && !l.sides().isEmpty()) return null;
        }
        Program p = new Program();
        for (Instr i : k.body()) {
            if (i instanceof Instr.Loop l) {
                for (int trip = 0; trip < l.trips(); trip++) {
                    for (Instr x : l.body()) walk(k, p, x, trip, trip == l.trips() - 1, l.dim() + " trip " + trip);
                }
            } else {
                walk(k, p, i, -1, false, "before or after the loop");
            }
        }
        return races(p);
    }

    private static void walk(Kernel k, Program p, Instr i, int trip, boolean lastTrip, String where) {
        p.instr++;
        p.step++;
        switch (i) {
            case Instr.Barrier b -> p.barriers.add(p.step);
            case Instr.AsyncCommit c -> p.commits++;
            case Instr.AsyncWait w -> p.waits.add(new int[] {p.step, p.commits - w.pending()});
            case Instr.LoadWeight lw -> {
                boolean next = lw.streamed() != null && lw.streamed().start() > 0;
                if (next && lastTrip) return;  // the emitted code skips the copy past the last chunk
                int copy = lw.dst().stages() == 1 ? 0 : trip < 0 ? 0 : next ? (trip + 1) % 2 : trip % 2;
                add(k, p, lw.dst(), copy, true, lw.async(), "copy of " + lw.weight() + " (" + where + ")");
            }
            case Instr.Load l -> add(k, p, l.dst(), 0, true, l.async(), "load of " + l.tensor() + " (" + where + ")");
            case Instr.Finish f -> {
                // the epilogue reads what it adds (a residual, a scale), not the product's input, done in the loop
                for (tmc.check.Activation in : f.layer().epilogueInputs()) {
                    Buffer b = f.sources().get(in.name());
                    if (b != null && b.space() == Space.SHARED) add(k, p, b, copyOf(b, trip), false, false, "epilogue's read");
                }
                if (f.dst().space() == Space.SHARED) add(k, p, f.dst(), copyOf(f.dst(), trip), true, false, "epilogue's write");
            }
            case Instr.Store s -> {
                if (s.src().space() == Space.SHARED) add(k, p, s.src(), copyOf(s.src(), trip), false, false, "store's read");
                if (s.staging() != null) {
                    // fragments into the staging buffer, a barrier, then 16-byte pieces out of it
                    add(k, p, s.staging(), -1, true, false, "store staging (" + where + ")");
                    p.step++;
                    p.barriers.add(p.step);
                    p.step++;
                    add(k, p, s.staging(), -1, false, false, "store staging (" + where + ")");
                }
            }
            default -> {
                List<Buffer> shared = k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList();
                Buffer dst = switch (i) {
                    case Instr.Compute c -> c.dst();
                    case Instr.Chain ch -> ch.producer().dst();
                    default -> null;
                };
                for (Buffer b : Instr.touched(i, shared)) {
                    boolean write = b.equals(dst);
                    add(k, p, b, copyOf(b, trip), write, false, i.getClass().getSimpleName() + " (" + where + ")");
                }
            }
        }
    }

    /** The copy a trip reads of a double-buffered buffer (-1: both, outside the loop). */
    private static int copyOf(Buffer b, int trip) {
        return b.stages() == 1 ? 0 : trip < 0 ? -1 : trip % 2;
    }

    private static void add(Kernel k, Program p, Buffer b, int copy, boolean write, boolean async, String what) {
        long base = k.sharedOffset(b);
        long from = copy < 0 ? base : base + copy * b.stageBytes();
        long to = copy < 0 ? base + b.bytes() : from + b.stageBytes();
        p.accesses.add(new Access(p.step, p.instr, from, to, write, async ? p.commits : -1, b.name() + " " + what));
    }

    private static List<String> races(Program p) {
        List<String> out = new ArrayList<>();
        List<Access> a = p.accesses;
        for (int x = 0; x < a.size(); x++) {
            for (int y = x + 1; y < a.size(); y++) {
                Access ax = a.get(x);
                Access ay = a.get(y);
                if (ax.instr() == ay.instr() || !(ax.write() || ay.write())) continue;
                if (ax.to() <= ay.from() || ay.to() <= ax.from()) continue;
                if (!ordered(p, ax, ay)) out.add(ax.what() + " -> " + ay.what());
            }
        }
        return out;
    }

    /** Whether {@code x} is complete and visible to every thread before {@code y}. */
    private static boolean ordered(Program p, Access x, Access y) {
        int from = x.step();
        if (x.group() >= 0) {
            // a cp.async write: the first wait after it that covers its group, then a barrier
            from = -1;
            for (int[] w : p.waits) {
                if (w[0] > x.step() && w[0] < y.step() && w[1] > x.group()) {
                    from = w[0];
                    break;
                }
            }
            if (from < 0) return false;
        }
        for (int b : p.barriers) {
            if (b > from && b < y.step()) return true;
        }
        return false;
    }
}
