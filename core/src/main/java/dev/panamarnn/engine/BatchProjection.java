package dev.panamarnn.engine;

import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One call's input projection for one layer ({@code XP = X·W_ihᵀ + b}, all directions' columns), cut into
 * chunks of {@link #STEPS} steps (all the call's samples) that any thread may compute: the caller
 * computes the first and joins the batch; the others are claimed by participants of the recurrence that
 * have nothing else to do (see {@link BatchRecurrence}), and a step whose row needs a chunk nobody has
 * computed yet computes it first ({@link #ensure}). So a caller's samples step while the rest of its input
 * is being projected, and two callers' samples share more steps.
 *
 * <p>W_ih is prepared once ({@link Kernels#gemmPrepared}), whose rows do not depend on how many rows one
 * call takes: who computes which chunk changes no bits. Measured at S1's {@code 2048 × 512}, µs, one JVM:
 * 267 / 1425 / 2619 for 10 / 55 / 100 rows, against {@code cblas_sgemm}'s 573 / 1654 / 2418 (which packs
 * W on every call). Every segment is the call's workspace (the caller's input is copied there first),
 * so other threads never touch the caller's own memory. One per workspace, reused.
 */
final class BatchProjection {
    /** Steps per chunk: 16 rows of a batch-1 call are ~0.4 ms of work at S1. */
    static final int STEPS = 16;

    private Kernels k;
    private PreparedWeights wih;
    private MemorySegment bias, x, xp;
    private long xOff, xpOff;
    private int xLd, width, T, B;
    private boolean batchFirst;
    private int chunks, chunkSteps;
    private final AtomicInteger next = new AtomicInteger();
    /** Threads between claiming a chunk and finishing it (counted before the claim, see {@link #finish}). */
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Per chunk: 0 not started, 1 computing, 2 done, 3 failed. */
    private AtomicIntegerArray state = new AtomicIntegerArray(0);
    private volatile Throwable failure;

    /**
     * Sets up layer l's projection of the first {@code steps} steps (all B samples) of x into xp, in chunks
     * of {@link #STEPS} steps, or in one when {@code alone} (no other caller to share the work, and one pass
     * over W_ih costs less than several); nothing is computed yet.
     */
    void begin(Kernels k, PreparedWeights wih, MemorySegment bias, MemorySegment x, long xOff, int xLd, MemorySegment xp,
               long xpOff, int T, int B, boolean batchFirst, int steps, boolean alone) {
        this.k = k;
        this.wih = wih;
        this.bias = bias;
        this.x = x;
        this.xOff = xOff;
        this.xLd = xLd;
        this.xp = xp;
        this.xpOff = xpOff;
        this.width = wih.n();
        this.T = T;
        this.B = B;
        this.batchFirst = batchFirst;
        chunkSteps = alone ? Math.max(1, steps) : STEPS;
        chunks = (steps + chunkSteps - 1) / chunkSteps;
        if (state.length() < chunks) state = new AtomicIntegerArray(Math.max(chunks, 2 * state.length())); // grows rarely
        for (int c = 0; c < chunks; c++) state.set(c, 0);
        failure = null;
        next.set(0);
    }

    /** Claims and computes the next chunk nobody has taken; false when none is left. */
    boolean runNext() {
        inFlight.incrementAndGet();
        try {
            int c = next.getAndIncrement();
            if (c >= chunks) return false;
            compute(c);
            return true;
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Whether chunks remain to be claimed. */
    boolean hasWork() {
        return next.get() < chunks;
    }

    /** Makes sure step t's rows are projected: computes its chunk here if nobody has, else waits for it. */
    void ensure(int t) {
        int c = t / chunkSteps;
        if (state.get(c) == 2) return;
        inFlight.incrementAndGet();
        try {
            while (true) { // claim chunks in order up to c (those before it are claimed by someone already, or now)
                int n = next.get();
                if (n > c) break;
                if (next.compareAndSet(n, n + 1)) compute(n);
            }
        } finally {
            inFlight.decrementAndGet();
        }
        while (state.get(c) < 2) Thread.onSpinWait();
        if (state.get(c) == 3) throw new IllegalStateException("input projection failed: " + failure, failure);
    }

    /**
     * No more chunks will be started; waits for those in flight (they write xp, which is about to be
     * reused). A thread counts itself in flight before it claims, so one that claimed before this call
     * is waited for, and one that claims after it finds nothing.
     */
    void finish() {
        next.set(Integer.MAX_VALUE / 2);
        while (inFlight.get() > 0) Thread.onSpinWait();
    }

    private void compute(int c) {
        state.set(c, 1);
        try {
            int t0 = c * chunkSteps, t1 = Math.min(T, t0 + chunkSteps);
            if (batchFirst) {
                for (int b = 0; b < B; b++) rows((long) b * T + t0, t1 - t0);
            } else {
                rows((long) t0 * B, (t1 - t0) * B);
            }
            state.set(c, 2);
        } catch (Throwable e) {
            failure = e;
            state.set(c, 3);
            throw e;
        }
    }

    /** Rows [r, r + n) of XP = X·W_ihᵀ + b. */
    private void rows(long r, int n) {
        if (bias != null) {
            for (long i = r; i < r + n; i++) MemorySegment.copy(bias, 0, xp, (xpOff + i * width) * Float.BYTES, (long) width * Float.BYTES);
        }
        k.gemmPrepared(n, wih, x, xOff + r * xLd, xLd, bias != null ? 1f : 0f, xp, xpOff + r * width, width);
    }
}
