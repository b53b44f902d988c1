package tmc.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The warm-up before timing is a span of GPU time, not a count of launches (no GPU: the bursts are simulated). */
class GpuWarmUpTest {
    private static Gpu.Burst each(double ms, List<Double> ran) {
        return () -> {
            ran.add(ms);
            return ms;
        };
    }

    @Test
    void aShortKernelRunsBurstsUntilTheSpanIsFilled() throws Exception {
        List<Double> ran = new ArrayList<>();
        // bursts of 10 launches of a 15-microsecond kernel: 0.15 ms each, so 167 of them reach 25 ms
        assertEquals(167, Gpu.warmUpBursts(each(0.15, ran), 25.0, 2_000));
        assertEquals(167, ran.size());
    }

    @Test
    void aLongKernelStopsAfterFewBursts() throws Exception {
        // bursts of 10 launches of a 0.5 ms kernel: 5 ms each, 25 ms after five
        assertEquals(5, Gpu.warmUpBursts(each(5.0, new ArrayList<>()), 25.0, 2_000));
        assertEquals(1, Gpu.warmUpBursts(each(40.0, new ArrayList<>()), 25.0, 2_000));
    }

    @Test
    void burstsThatMeasureNothingStopAtTheCap() throws Exception {
        assertEquals(2_000, Gpu.warmUpBursts(each(0.0, new ArrayList<>()), 25.0, 2_000));
    }

    @Test
    void theSpanAndCapCoverTheSlowestStartOfAShortKernel() {
        // the cap must not end the warm-up of a 15-microsecond kernel early: 2000 bursts of 10 are 300 ms of it
        assertTrue(Gpu.MAX_WARM_UP_BURSTS * Gpu.BURST * 0.015 > Gpu.WARM_UP_MS);
    }
}
