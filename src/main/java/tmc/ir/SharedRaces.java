package tmc.ir;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import tmc.check.PlanSpec.Space;

/**
 * A static check of a kernel's shared-memory discipline, run on every kernel the CUDA writer emits: every two
 * accesses of the same bytes by different instructions, at least one of them a write, must be ordered by a barrier
 * between them; when the earlier is a cp.async copy, by a wait that covers its group and then a barrier. The stream loop is unrolled trip by trip:
 * a double-buffered slice's copy is the trip's parity (the next chunk's copies go to the other), and the copies of
 * the chunk after the last are skipped, as the emitted code skips them. Aliased buffers (shared lifetimes) are
 * compared by their bytes. A tile-N block's image loop is unrolled image by image the same way (its input tile's
 * copy by the image's parity). Kernels with warp-specialized sides are not checked (null).
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

    /**
     * Where an instruction runs: the stream loop's trip (-1 outside it) and the image of a tile-N block's image loop
     * (-1 outside it), each with whether it is the last (whose copies of the next one the emitted code skips).
     */
    private record At(int trip, boolean lastTrip, int img, boolean lastImg, String where) {
        static final At OUTSIDE = new At(-1, false, -1, false, "before or after the loops");

        At trip(int t, boolean last, String dim) {
            return new At(t, last, img, lastImg, dim + " trip " + t + (img >= 0 ? ", image " + img : ""));
        }
    }

    /** The races of {@code k}, described; empty when there is none; null when the kernel is of a kind not checked. */
    public static List<String> of(Kernel k) {
        if (Instr.flatten(k.body()).anyMatch(i -> i instanceof Instr.Side)) return null;
        Set<String> slices = new HashSet<>();
        Instr.flatten(k.body()).forEach(i -> {
            if (i instanceof Instr.LoadWeight lw) slices.add(lw.dst().name());
        });
        Program p = new Program();
        for (Instr i : k.body()) walk(k, slices, p, i, At.OUTSIDE);
        return races(p);
    }

    private static void walk(Kernel k, Set<String> slices, Program p, Instr i, At at) {
        switch (i) {
            case Instr.Loop l -> {
                for (int trip = 0; trip < l.trips(); trip++) {
                    At in = at.trip(trip, trip == l.trips() - 1, l.dim());
                    for (Instr x : l.body()) walk(k, slices, p, x, in);
                }
                return;
            }
            case Instr.ImageLoop il -> {
                for (int img = 0; img < il.images(); img++) {
                    At in = new At(-1, false, img, img == il.images() - 1, "image " + img);
                    for (Instr x : il.body()) walk(k, slices, p, x, in);
                }
                return;
            }
            default -> { }
        }
        p.instr++;
        p.step++;
        String where = " (" + at.where() + ")";
        switch (i) {
            case Instr.Barrier b -> p.barriers.add(p.step);
            case Instr.AsyncCommit c -> p.commits++;
            case Instr.AsyncWait w -> p.waits.add(new int[] {p.step, p.commits - w.pending()});
            case Instr.LoadWeight lw -> {
                boolean next = lw.streamed() != null && lw.streamed().start() > 0;
                if (next && at.lastTrip()) return;  // the emitted code skips the copy past the last chunk
                int copy = lw.dst().stages() == 1 || at.trip() < 0 ? 0 : next ? (at.trip() + 1) % 2 : at.trip() % 2;
                add(k, p, lw.dst(), copy, true, lw.async(), "copy of " + lw.weight() + where);
            }
            case Instr.Load l -> {
                if (l.image() == Instr.Load.Image.NEXT && at.lastImg()) return;  // no image after the block's last
                int copy = switch (l.image()) {
                    case FIRST -> 0;
                    case NEXT -> (at.img() + 1) % 2;
                    case THIS -> copyOf(k, slices, l.dst(), at);
                };
                add(k, p, l.dst(), copy, true, l.async(), "load of " + l.tensor() + where);
            }
            case Instr.Finish f -> {
                // the epilogue reads what it adds (a residual, a scale), not the product's input, done in the loop
                for (tmc.check.Activation in : f.layer().epilogueInputs()) {
                    Buffer b = f.sources().get(in.name());
                    if (b != null && b.space() == Space.SHARED) {
                        add(k, p, b, copyOf(k, slices, b, at), false, false, "epilogue's read" + where);
                    }
                }
                if (f.dst().space() == Space.SHARED) {
                    add(k, p, f.dst(), copyOf(k, slices, f.dst(), at), true, false, "epilogue's write" + where);
                }
            }
            case Instr.Store s -> {
                if (s.src().space() == Space.SHARED) {
                    add(k, p, s.src(), copyOf(k, slices, s.src(), at), false, false, "store's read" + where);
                }
                if (s.staging() != null) {
                    // fragments into the staging buffer, a barrier, then 16-byte pieces out of it (an image's own
                    // copy of a double-buffered tile; both copies of a weight slice, after its loop)
                    int copy = copyOf(k, slices, s.staging(), at);
                    add(k, p, s.staging(), copy, true, false, "store staging" + where);
                    p.step++;
                    p.barriers.add(p.step);
                    p.step++;
                    add(k, p, s.staging(), copy, false, false, "store staging" + where);
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
                    add(k, p, b, copyOf(k, slices, b, at), b.equals(dst), false, i.getClass().getSimpleName() + where);
                }
            }
        }
    }

    /**
     * The copy an instruction at {@code at} uses of a buffer: a double-buffered weight slice's by the trip, a
     * double-buffered input tile's by the image; -1 (both) where neither applies.
     */
    private static int copyOf(Kernel k, Set<String> slices, Buffer b, At at) {
        if (canonical(k, b).stages() == 1) return 0;
        int index = slices.contains(b.name()) ? at.trip() : at.img();
        return index < 0 ? -1 : index % 2;
    }

    /**
     * The kernel's own buffer of that name: an instruction lowered before a tile was given its second copy still
     * names the one-copy buffer (the writer, too, goes by name).
     */
    private static Buffer canonical(Kernel k, Buffer b) {
        for (Buffer o : k.buffers()) if (o.name().equals(b.name())) return o;
        return b;
    }

    private static void add(Kernel k, Program p, Buffer named, int copy, boolean write, boolean async, String what) {
        Buffer b = canonical(k, named);
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
