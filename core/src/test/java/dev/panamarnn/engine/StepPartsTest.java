package dev.panamarnn.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The step's parts: each runs exactly once per step, the poster's from the front and the helper's from the
 * back, so each thread's parts are a contiguous run at its own end (and stay with it from step to step).
 */
class StepPartsTest {

    @Test
    void posterTakesTheFrontHelperTheBackEachPartOnce() throws Exception {
        StepParts parts = new StepParts();
        int n = 12, steps = 2000;
        AtomicIntegerArray runs = new AtomicIntegerArray(n);
        int[] who = new int[n]; // 1: the poster, 2: the helper, for the current step
        Thread poster = Thread.currentThread();
        AtomicBoolean stop = new AtomicBoolean();
        Thread helper = new Thread(() -> {
            while (!stop.get()) {
                if (!parts.help()) Thread.onSpinWait();
            }
        });
        helper.start();
        int helped = 0;
        try {
            for (int s = 0; s < steps; s++) {
                parts.run(p -> {
                    runs.incrementAndGet(p);
                    who[p] = Thread.currentThread() == poster ? 1 : 2;
                    for (long spin = System.nanoTime() + 2_000; System.nanoTime() < spin; ) Thread.onSpinWait();
                }, n);
                int first = 0;
                while (first < n && who[first] == 1) first++; // the poster's prefix
                for (int p = first; p < n; p++) assertEquals(2, who[p], "step " + s + ": part " + p + " breaks the poster's front and the helper's back");
                helped += n - first;
            }
        } finally {
            stop.set(true);
            helper.join();
        }
        for (int p = 0; p < n; p++) assertEquals(steps, runs.get(p), "part " + p);
        assertTrue(helped > 0, "the helper never took a part");
    }
}
