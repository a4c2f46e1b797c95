package dev.panamarnn.engine;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The engine's one way of sharing a step between threads: one thread posts a step cut into parts and runs
 * parts itself until none is left; a helper (another thread calling {@link #help}) claims parts of the
 * posted step too; {@link #run} returns once every part is done and rethrows the first failure, the
 * helper's included. The cut never depends on who helps, so neither does a bit of the result. Nothing is
 * allocated per step: the work is a reusable {@link Work}.
 *
 * <p>Used by the two-thread forward ({@link Helper}: a parts of a step, the two directions, the two halves
 * of a projection) and by the batching engine ({@link BatchRecurrence}: the parts of a batched step, with a
 * waiting caller as the helper). One poster at a time.
 */
final class StepParts {
    /** Part {@code p} of the posted work. */
    interface Work {
        void part(int p);
    }

    /** Spins of a poster waiting for a helper's part before it yields the core instead. */
    private static final int WAIT_SPINS = 1 << 11;

    /**
     * The step posted (shifted left 16), past the last unclaimed part (shifted left 8) and the first
     * unclaimed part: the poster claims from the front, a helper from the back, so that each thread
     * takes the same parts step after step (and keeps their W_hh in its core's cache) unless one falls
     * behind. Measured at S1 with 2 callers (ServerBenchmark, batched, 4 alternating one-fork runs): mean
     * latency 4403 and 4289 µs against 4756 and 4557 when both claimed from the front. Nothing to claim
     * before the first post.
     */
    private final AtomicLong ticket = new AtomicLong(0xff);
    private final AtomicInteger done = new AtomicInteger();
    private volatile Work work;
    private volatile Throwable failure;
    /** A helper about to park or parked: the poster wakes it. */
    private volatile Thread sleeper;
    private long step;

    /** Runs parts {@code 0 … n-1} of {@code w} here and on whichever helper claims some; returns when all are done. */
    void run(Work w, int n) {
        work = w;
        failure = null;
        done.set(0);
        long s = ++step;
        ticket.set(s << 16 | (long) n << 8); // after the fields above: a helper that claims sees them
        Thread t = sleeper;
        if (t != null) LockSupport.unpark(t);
        Throwable mine = null;
        for (int p; (p = claim(s, n)) >= 0; ) {
            try {
                w.part(p);
            } catch (Throwable e) {
                if (mine == null) mine = e;
            }
            done.incrementAndGet();
        }
        for (int spins = 0; done.get() < n; spins++) {
            if (spins < WAIT_SPINS) Thread.onSpinWait();
            else Thread.yield(); // the helper was preempted: give the core back
        }
        Throwable theirs = failure;
        if (mine != null) {
            if (theirs != null && theirs != mine) mine.addSuppressed(theirs);
            throw sneaky(mine);
        }
        if (theirs != null) throw sneaky(theirs);
    }

    /** The first unclaimed part of step s, or -1. */
    private int claim(long s, int n) {
        while (true) {
            long t = ticket.get();
            int front = (int) (t & 0xff), back = (int) (t >>> 8 & 0xff);
            if ((t >>> 16) != s || front >= back) return -1;
            if (ticket.compareAndSet(t, t + 1)) return front;
        }
    }

    /** A helper's turn: claims and runs the last unclaimed part of the posted step; false when none is left to claim. */
    boolean help() {
        long t = ticket.get();
        int front = (int) (t & 0xff), back = (int) (t >>> 8 & 0xff), p = back - 1;
        if (front >= back || !ticket.compareAndSet(t, t - (1L << 8))) return false;
        try {
            work.part(p);
        } catch (Throwable e) {
            failure = e;
        }
        done.incrementAndGet();
        return true;
    }

    /** Whether the posted step has a part left to claim. */
    boolean hasWork() {
        long t = ticket.get();
        return (t & 0xff) < (t >>> 8 & 0xff);
    }

    /**
     * The calling helper is about to park: a post from now on unparks it. Check {@link #hasWork()} after
     * this and before parking; call {@link #awake()} after.
     */
    void sleeping() {
        sleeper = Thread.currentThread();
    }

    /** The helper that called {@link #sleeping()} is running again. */
    void awake() {
        sleeper = null;
    }

    /** Runs every part of {@code w} on the calling thread, in order: the cut without a helper. */
    static void runAlone(Work w, int n) {
        for (int p = 0; p < n; p++) w.part(p);
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
        throw (E) e;
    }
}
