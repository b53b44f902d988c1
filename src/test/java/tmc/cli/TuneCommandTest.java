package tmc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    @Test
    void tuneTimesTheBestCandidateOfEachTileShapeInRankOrder() {
        Tmc.Compilation c = Tmc.compile(Repo.path("samples", "convfirst.tm"), Tmc.Options.DEFAULTS);
        var planned = (Planner.Planned) Planner.plan(c.program().block("ConvFirst").orElseThrow(),
                c.program().plan("best").orElseThrow(), c.targets().get("sm_90").orElseThrow(), LaunchShape.REFERENCE,
                Tmc.TUNED_CANDIDATES);
        Planner.Planned picked = TuneCommand.diverse(planned, 6);
        List<Planner.Candidate> top = picked.top();
        assertEquals(6, top.size());
        Set<String> tiles = new HashSet<>();
        for (Planner.Candidate cand : top) {
            assertTrue(tiles.add(cand.choices().tileH() + "x" + cand.choices().tileW()), "distinct tiles: " + tiles);
        }
        // Rank order kept: each pick is the first of its tile shape in the model's ranking, and picks keep that order.
        int previous = -1;
        for (Planner.Candidate cand : top) {
            int rank = planned.top().indexOf(cand);
            assertTrue(rank > previous, "rank order");
            for (int i = 0; i < rank; i++) {
                Planner.Candidate earlier = planned.top().get(i);
                assertTrue(earlier.choices().tileH() != cand.choices().tileH()
                        || earlier.choices().tileW() != cand.choices().tileW(), "first of its tile shape");
            }
            previous = rank;
        }
        assertEquals(planned.chosen(), top.getFirst(), "the model's choice is always timed");
    }
}
