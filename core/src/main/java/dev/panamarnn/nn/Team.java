package dev.panamarnn.nn;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A second compute thread for one forward call at a time: the call and the helper each run one half of
 * every step (two partitions of the hidden units, or the two directions of a bidirectional layer), and
 * meet at a barrier after it. The helper spins briefly between steps (they come microseconds apart) and
 * parks when idle, so an unused team costs nothing.
 *
 * <p>Calls {@linkplain #tryAcquire() borrow} the helper; one that finds it busy (another thread's call
 * has it) runs alone, so a server with many request threads never oversubscribes the cores. Nothing is
 * allocated per step: a call posts a reusable {@link Job}.
 */
final class Team implements Halves {
    /** Work split in two: {@code run(0)} on the calling thread, {@code run(1)} on the helper. */
    interface Job {
        void run(int part);
    }

    private static final int SPINS = 1 << 16;
    private static volatile Team shared;

    /**
     * The process-wide team, started on first use. When its thread cannot be started this throws (an
     * {@link OutOfMemoryError}, as {@link Thread#start} does) and the next call tries again.
     */
    static Team shared() {
        Team t = shared;
        if (t == null) {
            synchronized (Team.class) {
                if (shared == null) shared = new Team();
                t = shared;
            }
        }
        return t;
    }

    /**
     * Tests only: the next {@link #shared()} starts a new team (so a test can make that thread start fail).
     * The old helper stays parked; a call holding it finishes normally.
     */
    static void forgetShared() {
        synchronized (Team.class) {
            shared = null;
        }
    }

    private final AtomicBoolean busy = new AtomicBoolean();
    private final Thread helper;
    private volatile Job job;
    private volatile long posted, done;
    private volatile boolean parked;
    private volatile Throwable failure;

    private Team() {
        helper = new Thread(this::loop, "panama-rnn-helper");
        helper.setDaemon(true);
        dev.panamarnn.Faults.threadStart(helper.getName());
        helper.start();
    }

    /** Whether the helper thread may touch memory of this segment (a confined arena's belongs to its owner). */
    boolean canAccess(java.lang.foreign.MemorySegment s) {
        return s == null || s.isAccessibleBy(helper);
    }

    /** How many split jobs have run (tests check that a call really used both threads). */
    long jobs() {
        return posted;
    }

    /** Takes the helper for one call; false when another call holds it. Pair with {@link #release()}. */
    boolean tryAcquire() {
        return busy.compareAndSet(false, true);
    }

    void release() {
        busy.set(false);
    }

    /** Runs {@code job.run(0)} here and {@code job.run(1)} on the helper; returns when both are done. */
    @Override
    public void runBoth(Job j) {
        job = j;
        failure = null;
        long n = posted + 1;
        posted = n;
        if (parked) LockSupport.unpark(helper);
        Throwable mine = null;
        try {
            j.run(0);
        } catch (Throwable e) {
            mine = e;
        }
        while (done != n) Thread.onSpinWait();
        Throwable theirs = failure;
        if (mine != null) {
            if (theirs != null && theirs != mine) mine.addSuppressed(theirs);
            sneakyThrow(mine);
        }
        if (theirs != null) sneakyThrow(theirs);
    }

    private void loop() {
        long seen = 0;
        while (true) {
            int spins = 0;
            while (posted == seen) {
                if (++spins < SPINS) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (posted == seen) LockSupport.park(this);
                    parked = false;
                    spins = 0;
                }
            }
            seen = posted;
            try {
                job.run(1);
            } catch (Throwable e) {
                failure = e;
            }
            done = seen;
        }
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> void sneakyThrow(Throwable e) throws E {
        throw (E) e;
    }
}
