package dev.panamarnn.engine;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The callers inside a batching engine, and how many of them are parked: a waiting caller spins as a
 * step's second thread only while the callers that compete for cores (inside and not parked: leaders,
 * helpers, callers projecting) are no more than the cores.
 */
final class Callers {
    private final AtomicInteger inside = new AtomicInteger(), parked = new AtomicInteger();
    private final int cores = Runtime.getRuntime().availableProcessors();

    void enter() {
        inside.incrementAndGet();
    }

    void exit() {
        inside.decrementAndGet();
    }

    /** Callers inside now. */
    int inside() {
        return inside.get();
    }

    /** Whether a waiting caller may spin as a step's second thread. */
    boolean maySpin() {
        return inside.get() - parked.get() <= cores;
    }

    /** A caller parks (+1) or wakes (-1). */
    void parked(int delta) {
        parked.addAndGet(delta);
    }
}
