package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tmc.Repo;
import tmc.api.Tmc;
import tmc.plan.LaunchShape;
import tmc.plan.Planner;

class TuneCommandTest {
    /** Pixels per tile in powers of two: the size class diverse() deals in. */
    static int sizeClass(Planner.Candidate c) {
        return 31 - Integer.numberOfLeadingZeros(c.choices().tileN() * c.choices().tilePixels());
    }

    @Test
    void tuneTimesTheBestCandidateOfEachTileShapeRoundRobinOverTileSizes() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "convfirst.tm"), Tmc.Options.DEFAULTS);
        var planned = (Planner.Planned) Planner.plan(c.program().block("ConvFirst").orElseThrow(),
                c.program().plan("best").orElseThrow(), c.targets().get("sm_90").orElseThrow(), LaunchShape.REFERENCE,
                Tmc.TUNED_CANDIDATES);
        assertTrue(planned.top().size() > 64, "every candidate within budget is ranked: " + planned.top().size());
        Planner.Planned picked = TuneCommand.diverse(planned, 8);
        List<Planner.Candidate> top = picked.top();
        for (Planner.Candidate cand : top) System.out.println("  rank " + planned.top().indexOf(cand) + ": " + cand.summary());
        assertEquals(8, top.size());
        assertEquals(planned.chosen(), top.getFirst(), "the model's choice is always timed, first");
        Set<String> tiles = new HashSet<>();
        for (Planner.Candidate cand : top) {
            assertTrue(tiles.add(cand.choices().tileH() + "x" + cand.choices().tileW()), "distinct tiles: " + tiles);
            // Each pick is the first of its tile shape in the model's ranking.
            int rank = planned.top().indexOf(cand);
            for (int i = 0; i < rank; i++) {
                Planner.Candidate earlier = planned.top().get(i);
                assertTrue(earlier.choices().tileH() != cand.choices().tileH()
                        || earlier.choices().tileW() != cand.choices().tileW(), "first of its tile shape");
            }
        }
        // Round-robin: every size class the ranking has is timed before any class is timed twice.
        Set<Integer> classes = new java.util.TreeSet<>();
        for (Planner.Candidate cand : planned.top()) classes.add(sizeClass(cand));
        assertTrue(classes.size() >= 3, "tile sizes in the ranking: " + classes);
        int firstRound = Math.min(classes.size(), top.size());
        Set<Integer> seen = new HashSet<>();
        for (Planner.Candidate cand : top.subList(0, firstRound)) assertTrue(seen.add(sizeClass(cand)), "one per class first");
        // The size of the samples' hand-written ConvFirst tile (8x16 = 128 pixels) is among them.
        assertTrue(top.stream().anyMatch(x -> sizeClass(x) == 7), "a 128-255 pixel tile");
    }
    @Test
    void specializeAddsEachCandidatesSplitRightAfterIt() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "mbconv.tm"), Tmc.Options.DEFAULTS);
        var block = c.program().block("MBConv").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        Planner.Planned picked = TuneCommand.diverse(planned, 6);
        Planner.Planned with = TuneCommand.withForms(picked, block, spec, target, LaunchShape.REFERENCE, true, false);
        List<Planner.Candidate> all = with.top();
        assertTrue(all.size() > picked.top().size(), "some candidate splits: " + all.size());
        Planner.Candidate unsplit = null;
        Set<Integer> forms = new HashSet<>();
        for (Planner.Candidate cand : all) {
            if (!cand.choices().specialized()) {
                assertTrue(picked.top().contains(cand));
                unsplit = cand;
                continue;
            }
            assertNotNull(unsplit, "a split follows its candidate");
            assertEquals(unsplit.choices().tileH() + "x" + unsplit.choices().tileW() + " " + unsplit.choices().streamChunk(),
                    cand.choices().tileH() + "x" + cand.choices().tileW() + " " + cand.choices().streamChunk(),
                    "the split of the candidate before it");
            int w = unsplit.choices().warps();
            assertTrue(cand.choices().warps() == w || cand.choices().warps() == 2 * w, cand.summary());
            forms.add(cand.choices().warps() / w);
            assertTrue(cand.summary().contains(cand.choices().warps() / 2 + " + " + cand.choices().warps() / 2
                    + " warps (specialized)"), cand.summary());
        }
        assertTrue(forms.contains(2), "a producer side added to a candidate's warps ('warps W + W') is timed: " + forms);
    }

    @Test
    void warpSpecializedFormsAreTimedUnlessNoSpecializeIsGiven() {
        for (var c : List.of(List.<String>of(), List.of("--specialize"), List.of("--no-specialize"))) {
            TuneCommand cmd = new TuneCommand();
            List<String> args = new java.util.ArrayList<>(c);
            args.add("samples/mbconv.tm");
            new picocli.CommandLine(cmd).parseArgs(args.toArray(String[]::new));
            assertEquals(!c.contains("--no-specialize"), cmd.specialize, "tmc tune " + String.join(" ", args));
        }
        String help = new picocli.CommandLine(new TuneCommand()).getUsageMessage();
        assertTrue(help.contains("--[no-]specialize"), help);
        assertTrue(help.contains("(default: true)"), help);
    }

    @Test
    void aSplitThatIsAlsoAnotherCandidatesSplitIsTimedOnce() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "mbconv.tm"), Tmc.Options.DEFAULTS);
        var block = c.program().block("MBConv").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        // a 4-warp and an 8-warp candidate of the same tile and chunk: the first with 4 producer warps added and the
        // second split in halves are one kernel ('4 + 4')
        Planner.Candidate four = null, eight = null;
        for (Planner.Candidate x : planned.top()) {
            if (x.choices().warps() != 4) continue;
            for (Planner.Candidate y : planned.top()) {
                if (y.choices().equals(new tmc.plan.Choices(x.choices().tileN(), x.choices().tileH(), x.choices().tileW(), 8,
                        x.choices().math(), x.choices().streamDim(), x.choices().streamChunk(), x.choices().places(), 0))
                        && Planner.specialized(y, block, spec, target, LaunchShape.REFERENCE).stream()
                                .anyMatch(z -> z.choices().warps() == 8)) {
                    four = x;
                    eight = y;
                }
            }
            if (four != null) break;
        }
        assertNotNull(four, "a 4-warp and an 8-warp candidate of one tile whose 4 + 4 splits coincide");
        Planner.Planned both = new Planner.Planned(planned.spec(), planned.target(), planned.shape(), four,
                List.of(four, eight), planned.stats());
        List<Planner.Candidate> timed = TuneCommand.withForms(both, block, spec, target, LaunchShape.REFERENCE, true, false).top();
        assertEquals(timed.size(), timed.stream().map(Planner.Candidate::choices).distinct().count(), "each kernel once");
        assertEquals(1, timed.stream().filter(x -> x.choices().warps() == 8 && x.choices().producerWarps() == 4).count());
    }

    @Test
    void residentFormsFollowTheirCandidateUnlessNoResidentIsGiven() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "convfirst.tm"), Tmc.Options.DEFAULTS);
        var block = c.program().block("ConvFirst").orElseThrow();
        var spec = c.program().plan("best").orElseThrow();
        var target = c.targets().get("sm_90").orElseThrow();
        var planned = (Planner.Planned) Planner.plan(block, spec, target, LaunchShape.REFERENCE, Tmc.TUNED_CANDIDATES);
        Planner.Planned picked = TuneCommand.diverse(planned, 6);
        List<Planner.Candidate> with = TuneCommand.withForms(picked, block, spec, target, LaunchShape.REFERENCE, false,
                true).top();
        List<Planner.Candidate> without = TuneCommand.withForms(picked, block, spec, target, LaunchShape.REFERENCE, false,
                false).top();
        assertEquals(picked.top(), without, "--no-resident --no-specialize: the candidates alone");
        assertTrue(with.size() > without.size(), "ConvFirst's 8x8 tiles of 4 warps get a fifth block: " + with.size());
        for (int i = 0; i < with.size(); i++) {
            Planner.Candidate x = with.get(i);
            if (x.choices().residentBlocks() == 0) continue;
            if (x.choices().narrowSlices()) {
                // the resident form again with the chain's slices 16 channels wide, right after it
                assertEquals(with.get(i - 1).choices().withNarrowSlices(), x.choices(), x.summary());
                continue;
            }
            Planner.Candidate before = with.get(i - 1);
            assertEquals(before.choices().withResidentBlocks(x.choices().residentBlocks()), x.choices(),
                    "the form follows its candidate: " + x.summary());
            assertEquals(before.checks().getFirst().occupancy().blocksPerSm() + 1, x.choices().residentBlocks());
        }
        assertTrue(with.stream().anyMatch(x -> x.choices().narrowSlices()), "the 8x8 tiles keep a chain: " + with);
        for (var args : List.of(List.of("f.tm"), List.of("--resident", "f.tm"), List.of("--no-resident", "f.tm"))) {
            TuneCommand cmd = new TuneCommand();
            new picocli.CommandLine(cmd).parseArgs(args.toArray(String[]::new));
            assertEquals(!args.contains("--no-resident"), cmd.resident, String.join(" ", args));
        }
        assertTrue(new picocli.CommandLine(new TuneCommand()).getUsageMessage().contains("--[no-]resident"));
    }
}
