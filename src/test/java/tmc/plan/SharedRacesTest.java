package tmc.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.api.Tmc;
import tmc.ir.Instr;
import tmc.ir.Kernel;
import tmc.ir.SharedRaces;

/** Every fused kernel of the samples and the random blocks, checked for shared-memory races in its IR (SharedRaces). */
class SharedRacesTest {
    static List<Kernel> kernels(Path file, Tmc.Options options) {
        List<Kernel> out = new ArrayList<>();
        Tmc.Compilation c = Tmc.compile(file, options);
        assertTrue(c.ok(), c.report());
        for (Tmc.Outcome o : c.compileAll()) {
            if (o instanceof Tmc.Outcome.Compiled compiled) out.addAll(compiled.program().program().kernels());
        }
        return out;
    }

    @Test
    void noSampleOrRandomBlockKernelRaces() throws Exception {
        List<Path> files = new ArrayList<>(Repo.samples());
        try (var s = Files.list(Repo.path("test-data", "random"))) {
            s.filter(f -> f.toString().endsWith(".tm")).sorted().forEach(files::add);
        }
        List<String> found = new ArrayList<>();
        int checked = 0;
        for (Path f : files) {
            for (String arch : List.of("sm_80", "sm_90")) {
                List<Tmc.Options> options = new ArrayList<>(List.of(Tmc.Options.DEFAULTS.withArch(arch),
                        Tmc.Options.DEFAULTS.withArch(arch).withShape(new LaunchShape(8, 28, 28))));
                String name = f.getFileName().toString();
                if (name.equals("mbconv.tm") || name.equals("convfirst.tm")) {
                    options.add(Tmc.Options.DEFAULTS.withArch(arch).withParams(Map.of("C", 128L)));
                }
                for (Tmc.Options o : options) {
                    for (Kernel k : kernels(f, o)) {
                        checked++;
                        for (String r : SharedRaces.of(k)) found.add(name + " " + arch + " " + k.name() + ": " + r);
                    }
                }
            }
        }
        System.out.println("SharedRacesTest: " + checked + " kernels checked");
        assertTrue(checked > 100, "kernels checked: " + checked);
        assertEquals(List.of(), found.stream().limit(20).toList());
    }

    @Test
    void noCandidateTuneCouldPickRaces() {
        // every fitting candidate of each sample's auto plan at two shapes on sm_90: the kernels tmc tune may time
        // and store (its extra forms change the launch bounds or a chain's slice width, not where barriers stand;
        // its warp-specialized splits are the lowering the samples' 'specialized' plans check above)
        List<String> found = new ArrayList<>();
        int checked = 0;
        tmc.target.Target sm90 = tmc.target.Targets.builtin().get("sm_90").orElseThrow();
        for (Path f : Repo.samples()) {
            Tmc.Compilation c = Tmc.compile(f, Tmc.Options.DEFAULTS.withArch("sm_90"));
            for (tmc.check.PlanSpec spec : c.program().plans()) {
                if (spec.kind() != tmc.check.PlanSpec.Kind.AUTO) continue;
                var block = c.program().block(spec.block()).orElseThrow();
                for (LaunchShape shape : List.of(new LaunchShape(128, 56, 56), new LaunchShape(8, 28, 28))) {
                    if (!(Planner.plan(block, spec, sm90, shape, 1024) instanceof Planner.Planned planned)) continue;
                    for (Planner.Candidate cand : planned.top()) {
                        for (Kernel k : cand.kernels()) {
                            checked++;
                            for (String r : SharedRaces.of(k)) found.add(f.getFileName() + " " + cand.summary() + ": " + r);
                        }
                    }
                }
            }
        }
        System.out.println("SharedRacesTest: " + checked + " candidate kernels checked");
        assertTrue(checked > 200, "candidates checked: " + checked);
        assertEquals(List.of(), found.stream().limit(20).toList());
    }


    @Test
    void itFindsTheRacesOfABarrierLeftOut() {
        Kernel rows = TripBarriersTest.kernel("mbconv", "rows", "sm_90");
        assertEquals(List.of(), SharedRaces.of(rows));
        List<Instr> trip = SliceRefillTest.loop(rows).body();
        // without the barrier between the expand (writes h1_s) and the grouped conv (reads it)
        List<Instr> noPhaseBarrier = new ArrayList<>(trip);
        noPhaseBarrier.remove(noPhaseBarrier.lastIndexOf(new Instr.Barrier()));
        List<String> races = SharedRaces.of(SliceRefillTest.withTrip(rows, noPhaseBarrier));
        assertNotNull(races);
        assertTrue(races.stream().anyMatch(r -> r.startsWith("h1_s")), races.toString());
        // and the CUDA writer refuses to emit such a kernel: an internal error, never a racing kernel
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "mbconv.tm"), Tmc.Options.DEFAULTS.withArch("sm_90"));
        tmc.ir.TmProgram p = c.program("rows").orElseThrow().program();
        tmc.ir.TmProgram broken = new tmc.ir.TmProgram(p.block(), p.plan(), p.arch(),
                List.of(SliceRefillTest.withTrip(rows, noPhaseBarrier)));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> tmc.cuda.CudaEmitter.emit(broken, "mbconv.tm", "test"));
        assertTrue(e.getMessage().contains("shared-memory race in the lowered kernel: h1_s"), e.getMessage());
        // the late-issue trip with the copies before its barrier and no barrier at its end: the next chunk's copies
        // may overwrite the copy a slower thread still reads in the previous trip
        List<Instr> early = new ArrayList<>();
        List<Instr> copies = trip.stream().filter(i -> i instanceof Instr.LoadWeight).toList();
        early.addAll(copies);
        early.add(new Instr.AsyncCommit());
        early.add(new Instr.AsyncWait(1));
        early.add(new Instr.Barrier());
        early.addAll(trip.subList(trip.indexOf(new Instr.AsyncCommit()) + 1, trip.size()));
        races = SharedRaces.of(SliceRefillTest.withTrip(rows, early));
        assertFalse(races.isEmpty(), "copies before the barrier need the barrier that ended the trip");
        // the same with that barrier back is the lowered form, and race-free
        early.add(new Instr.Barrier());
        assertEquals(List.of(), SharedRaces.of(SliceRefillTest.withTrip(rows, early)));
        // and a wait that does not cover the chunk being read (wait_group 1 where only that chunk is in flight)
        List<Instr> shortWait = new ArrayList<>(trip);
        shortWait.set(0, new Instr.AsyncWait(1));
        assertFalse(SharedRaces.of(SliceRefillTest.withTrip(rows, shortWait)).isEmpty());
    }

    @Test
    void anImageLoopWithoutTheBarrierThatEndsEachImageRaces() {
        // FusedMLP 'images': the next image's tile is copied into the copy the previous image read; the barrier at
        // the end of each image keeps the copy out until every thread is done with it
        Kernel k = TripBarriersTest.kernel("fusedmlp", "images", "sm_90");
        assertEquals(List.of(), SharedRaces.of(k));
        Instr.ImageLoop il = (Instr.ImageLoop) k.body().stream().filter(i -> i instanceof Instr.ImageLoop)
                .findFirst().orElseThrow();
        assertTrue(il.body().getLast() instanceof Instr.Barrier);
        List<Instr> body = new ArrayList<>();
        for (Instr i : k.body()) {
            body.add(i == il ? new Instr.ImageLoop(il.images(), il.body().subList(0, il.body().size() - 1)) : i);
        }
        Kernel broken = k.withBody(body);
        List<String> races = SharedRaces.of(broken);
        assertTrue(races.stream().anyMatch(r -> r.startsWith("x_s")), races.toString());
    }

    @Test
    void aSplitLoopNeedsItsBlockBarrierAndEachSideItsOwn() {
        // MBConv 'specialized': the producer stages chunk j into one copy of h1_s while the consumer reads chunk
        // j-1 from the other; the block's barrier ends each trip, a side's named barrier comes before its refills
        Kernel k = TripBarriersTest.kernel("mbconv", "specialized", "sm_90");
        assertEquals(List.of(), SharedRaces.of(k));
        Instr.Loop l = SliceRefillTest.loop(k);
        assertFalse(l.sides().isEmpty());
        // without the block barrier at the end of the trip the producer overwrites what the consumer still reads
        List<Instr> noBlockBarrier = new ArrayList<>(l.body());
        noBlockBarrier.remove(noBlockBarrier.lastIndexOf(new Instr.Barrier()));
        List<String> races = SharedRaces.of(SliceRefillTest.withTrip(k, noBlockBarrier));
        assertTrue(races.stream().anyMatch(r -> r.startsWith("h1_s")), races.toString());
        // without the producer's own barrier its refill of w1_s overwrites what its other warps still read
        List<Instr> noSideBarrier = new ArrayList<>();
        for (Instr i : l.body()) {
            if (i instanceof Instr.Side sd && sd.role() == Instr.Side.Role.PRODUCER) {
                List<Instr> b = sd.body().stream().filter(x -> !(x instanceof Instr.SideBarrier)).toList();
                noSideBarrier.add(new Instr.Side(sd.role(), sd.firstWarp(), sd.warps(), sd.lag(), b));
            } else {
                noSideBarrier.add(i);
            }
        }
        races = SharedRaces.of(SliceRefillTest.withTrip(k, noSideBarrier));
        assertTrue(races.stream().anyMatch(r -> r.startsWith("w1_s")), races.toString());
    }

    @Test
    void theBarrierAfterALateIssueLoopIsWhatTheEpilogueNeeds() {
        Kernel rows = TripBarriersTest.kernel("mbconv", "rows", "sm_90");
        Instr.Loop l = SliceRefillTest.loop(rows);
        int at = rows.body().indexOf(l);
        assertTrue(rows.body().get(at + 1) instanceof Instr.Barrier);
        List<Instr> body = new ArrayList<>(rows.body());
        body.remove(at + 1);
        Kernel without = rows.withBody(body);
        List<String> races = SharedRaces.of(without);
        assertFalse(races.isEmpty(), "the store through h1_s after the last trip's reads of it");
    }
}
