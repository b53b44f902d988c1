package tmc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import tmc.check.PlanSpec.Space;

/**
 * A static check of a kernel's shared-memory discipline, run on every kernel the CUDA writer emits: every two
 * accesses of the same bytes by different instructions, at least one of them a write, must be ordered by a barrier
 * between them; when the earlier is a cp.async copy, by a wait that covers its group and then a barrier. The stream
 * loop is unrolled trip by trip: a double-buffered slice's copy is the trip's parity (the next chunk's copies go to
 * the other), and the copies of the chunk after the last are skipped, as the emitted code skips them. Aliased
 * buffers (shared lifetimes) are compared by their bytes. A tile-N block's image loop is unrolled image by image the same way (its input tile's
 * copy by the image's parity). A warp-specialized loop runs each side on chunk trip - lag of its trip; two sides'
 * accesses in one trip are concurrent (only the block's barrier orders them), a side's own named barrier orders its
 * own accesses, and each side counts its own cp.async groups.
 *
 * <p>Conservative: it treats every access as possibly made by any thread, so a barrier is demanded even where each
 * thread only reads what it wrote itself. One exception, by construction: the final epilogue reading its residual
 * from the buffer its store passes through (tmc.plan.ResidualStaging) and the store writing the results there go
 * element by element over the same accumulator fragments, each element read and then written by the thread that owns
 * it (ResidualStaging gives the residual the staging buffer's own layout); those two accesses carry the accumulator
 * as their owner and are not compared with each other. (Before it, no epilogue read its store's staging buffer.)
 */
public final class SharedRaces {
    private SharedRaces() {}

    /**
     * One shared access: where in the unrolled program, by which warps (0: the whole block, else a side's number),
     * which bytes, read or write, and a cp.async copy's group (-1: a plain access).
     */
    private record Access(int step, int instr, int side, long from, long to, boolean write, int group, String what,
                          String owner) {}

    /** A barrier: the whole block's (side 0) or one side's named barrier. */
    private record Sync(int step, int side) {}

    /** A wait at {@code step} by {@code side}'s threads (0: every thread): per side, the groups complete there. */
    private record Wait(int step, int side, int[] completeBelow) {}

    private static final class Program {
        final List<Access> accesses = new ArrayList<>();
        final List<Sync> barriers = new ArrayList<>();
        final List<Wait> waits = new ArrayList<>();
        /** Each side's count of committed groups (index 0: the block's, before the sides exist). */
        final int[] commits;
        /** The kernel's shared buffers: what an instruction without its own case below may touch. */
        final List<Buffer> shared;
        int step;
        int instr;

        Program(int sides, List<Buffer> shared) {
            commits = new int[sides + 1];
            this.shared = shared;
        }
    }

    /**
     * Where an instruction runs: the stream loop's trip or a side's chunk (-1 outside it), the image of a tile-N
     * block's image loop (-1 outside it), each with whether it is the last (whose copies of the next one the emitted
     * code skips), and the side (0: every warp).
     */
    private record At(int trip, boolean lastTrip, boolean beforeLastTrip, int img, boolean lastImg, int side, String where) {
        static final At OUTSIDE = new At(-1, false, false, -1, false, 0, "before or after the loops");

        At trip(int t, int trips, String what) {
            return new At(t, t == trips - 1, t == trips - 2, img, lastImg, side, what + (img >= 0 ? ", image " + img : ""));
        }

        At side(int s, String role) {
            return new At(trip, lastTrip, beforeLastTrip, img, lastImg, s, where + ", " + role);
        }
    }

    /** The races of {@code k}, described; empty when there is none. */
    public static List<String> of(Kernel k) {
        Set<String> slices = Instr.weightSlices(k.body());
        Program p = new Program(Instr.Side.Role.values().length,
                k.buffers().stream().filter(b -> b.space() == Space.SHARED).toList());
        for (Instr i : k.body()) walk(k, slices, p, i, At.OUTSIDE);
        return races(p);
    }

    /** A side's number in the accesses: its role's, from 1 (the same warps before, in and after the loop). */
    private static int sideOf(Instr.Side sd) {
        return sd.role().ordinal() + 1;
    }

    private static void walk(Kernel k, Set<String> slices, Program p, Instr i, At at) {
        switch (i) {
            case Instr.Loop l -> {
                int trips = l.trips() + l.lag();
                for (int trip = 0; trip < trips; trip++) {
                    At in = at.trip(trip, l.trips(), l.dim() + " trip " + trip);
                    for (Instr x : l.body()) {
                        if (x instanceof Instr.Side sd) {
                            // each side works on chunk trip - lag, when that is a chunk
                            int chunk = trip - sd.lag();
                            if (chunk < 0 || chunk >= l.trips()) continue;
                            At side = new At(chunk, chunk == l.trips() - 1, chunk == l.trips() - 2, in.img(), in.lastImg(), sideOf(sd),
                                    in.where() + ", " + sd.role() + " on chunk " + chunk);
                            for (Instr y : sd.body()) walk(k, slices, p, y, side);
                        } else {
                            walk(k, slices, p, x, in);
                        }
                    }
                }
                return;
            }
            case Instr.ImageLoop il -> {
                for (int img = 0; img < il.images(); img++) {
                    At in = new At(-1, false, false, img, img == il.images() - 1, at.side(), "image " + img);
                    for (Instr x : il.body()) walk(k, slices, p, x, in);
                }
                return;
            }
            case Instr.Side sd -> {
                At in = at.side(sideOf(sd), sd.role().toString());
                for (Instr x : sd.body()) walk(k, slices, p, x, in);
                return;
            }
            default -> { }
        }
        p.instr++;
        p.step++;
        String where = " (" + at.where() + ")";
        switch (i) {
            case Instr.Barrier b -> p.barriers.add(new Sync(p.step, 0));
            case Instr.SideBarrier b -> p.barriers.add(new Sync(p.step, at.side()));
            case Instr.AsyncCommit c -> {
                // a commit outside the sides is every thread's: each side's count goes up
                if (at.side() == 0) {
                    for (int s = 0; s < p.commits.length; s++) p.commits[s]++;
                } else {
                    p.commits[at.side()]++;
                }
            }
            case Instr.AsyncWait w -> {
                int[] complete = new int[p.commits.length];
                for (int s = 0; s < complete.length; s++) complete[s] = p.commits[s] - w.pending();
                p.waits.add(new Wait(p.step, at.side(), complete));
            }
            case Instr.LoadWeight lw -> {
                boolean next = lw.streamed() != null && lw.streamed().start() > 0;
                if (next && at.lastTrip()) return;  // the emitted code skips the copy past the last chunk
                int copy = lw.dst().stages() == 1 || at.trip() < 0 ? 0 : next ? (at.trip() + 1) % 2 : at.trip() % 2;
                add(k, p, at, lw.dst(), copy, true, lw.async(), "copy of " + lw.weight() + where);
            }
            case Instr.Load l -> {
                if (l.image() == Instr.Load.Image.NEXT && at.lastImg()) return;  // no image after the block's last
                if (l.beforeLastTrip() && at.trip() >= 0 && !at.beforeLastTrip()) return;  // only that trip copies
                int copy = switch (l.image()) {
                    case FIRST -> 0;
                    case NEXT -> (at.img() + 1) % 2;
                    case THIS -> copyOf(k, slices, l.dst(), at);
                };
                add(k, p, at, l.dst(), copy, true, l.async(), "load of " + l.tensor() + where);
            }
            case Instr.Finish f -> {
                // the epilogue reads what it adds (a residual, a scale), not the product's input, done in the loop
                Buffer staging = stagingOf(k, f.dst());
                for (tmc.check.Activation in : f.layer().epilogueInputs()) {
                    Buffer b = f.sources().get(in.name());
                    if (b != null && b.space() == Space.SHARED) {
                        add(k, p, at, b, copyOf(k, slices, b, at), false, false, "epilogue's read" + where,
                                b.equals(staging) ? f.dst().name() : null);
                    }
                }
                if (f.dst().space() == Space.SHARED) {
                    add(k, p, at, f.dst(), copyOf(k, slices, f.dst(), at), true, false, "epilogue's write" + where);
                }
            }
            case Instr.Store s -> {
                if (s.src().space() == Space.SHARED) {
                    add(k, p, at, s.src(), copyOf(k, slices, s.src(), at), false, false, "store's read" + where);
                }
                if (s.staging() != null) {
                    // fragments into the staging buffer, a barrier, then 16-byte pieces out of it (an image's own
                    // copy of a double-buffered tile; both copies of a weight slice, after its loop)
                    int copy = copyOf(k, slices, s.staging(), at);
                    add(k, p, at, s.staging(), copy, true, false, "store staging" + where, s.src().name());
                    p.step++;
                    p.barriers.add(new Sync(p.step, 0));
                    p.step++;
                    add(k, p, at, s.staging(), copy, false, false, "store staging" + where);
                }
            }
            default -> {
                Buffer dst = switch (i) {
                    case Instr.Compute c -> c.dst();
                    case Instr.Chain ch -> ch.producer().dst();
                    default -> null;
                };
                for (Buffer b : Instr.touched(i, p.shared)) {
                    add(k, p, at, b, copyOf(k, slices, b, at), b.equals(dst), false,
                            i.getClass().getSimpleName() + where);
                }
            }
        }
    }

    /**
     * The copy an instruction at {@code at} uses of a buffer: a double-buffered weight slice's by the trip, a
     * double-buffered input tile's by the image, a warp-specialized chunk's by the chunk; -1 (both) where none
     * applies.
     */
    private static int copyOf(Kernel k, Set<String> slices, Buffer b, At at) {
        if (canonical(k, b).stages() == 1) return 0;
        int index = slices.contains(b.name()) || at.img() < 0 ? at.trip() : at.img();
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

    /** The staging buffer of the store of {@code acc} (Instr.Store#staging), or null. */
    private static Buffer stagingOf(Kernel k, Buffer acc) {
        return Instr.flatten(k.body()).filter(i -> i instanceof Instr.Store st && st.src().equals(acc) && st.staging() != null)
                .map(i -> ((Instr.Store) i).staging()).findFirst().orElse(null);
    }

    private static void add(Kernel k, Program p, At at, Buffer named, int copy, boolean write, boolean async, String what) {
        add(k, p, at, named, copy, write, async, what, null);
    }

    /** An access; {@code owner}, when not null, names the accumulator whose fragments' threads own its elements. */
    private static void add(Kernel k, Program p, At at, Buffer named, int copy, boolean write, boolean async, String what,
                            String owner) {
        Buffer b = canonical(k, named);
        long base = k.sharedOffset(b);
        long from = copy < 0 ? base : base + copy * b.stageBytes();
        long to = copy < 0 ? base + b.bytes() : from + b.stageBytes();
        int group = async ? p.commits[at.side()] : -1;
        p.accesses.add(new Access(p.step, p.instr, at.side(), from, to, write, group, b.name() + " " + what, owner));
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
                if (ax.owner() != null && ax.owner().equals(ay.owner())) continue;  // each thread its own elements
                if (!ordered(p, ax, ay)) out.add(ax.what() + " -> " + ay.what());
            }
        }
        return out;
    }

    /**
     * Whether {@code x} is complete and visible to the threads of {@code y} before {@code y}: a barrier between them
     * that both take part in (the block's; a side's own when both are that side's), after, for a cp.async write, a
     * wait by its threads that covers its group.
     */
    private static boolean ordered(Program p, Access x, Access y) {
        int from = x.step();
        if (x.group() >= 0) {
            from = -1;
            for (Wait w : p.waits) {
                if (w.step() > x.step() && w.step() < y.step() && (w.side() == x.side() || w.side() == 0)
                        && w.completeBelow()[x.side()] > x.group()) {
                    from = w.step();
                    break;
                }
            }
            if (from < 0) return false;
        }
        boolean sameSide = x.side() != 0 && x.side() == y.side();
        for (Sync b : p.barriers) {
            if (b.step() > from && b.step() < y.step() && (b.side() == 0 || sameSide && b.side() == x.side())) return true;
        }
        return false;
    }
}
