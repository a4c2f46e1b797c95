package dev.panamarnn.engine;

import dev.panamarnn.Faults;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A second compute thread for one forward call at a time: the call posts a step's parts
 * ({@link StepParts}) and this thread claims some, between steps spinning briefly (they come microseconds
 * apart) and parking when idle, so an unused helper costs nothing.
 *
 * <p>Calls {@linkplain #tryAcquire() borrow} the helper; one that finds it busy (another thread's call has
 * it) runs alone, so a server with many request threads never oversubscribes the cores.
 */
public final class Helper {
    private static final int SPINS = 1 << 16;
    private static volatile Helper shared;

    /**
     * The process-wide helper, started on first use. When its thread cannot be started this throws (an
     * {@link OutOfMemoryError}, as {@link Thread#start} does) and the next call tries again.
     *
     * @return the helper
     */
    public static Helper shared() {
        Helper h = shared;
        if (h == null) {
            synchronized (Helper.class) {
                if (shared == null) shared = new Helper();
                h = shared;
            }
        }
        return h;
    }

    /**
     * Tests only: the next {@link #shared()} starts a new helper (so a test can make that thread start
     * fail). The old one stays parked; a call holding it finishes normally.
     */
    public static void forgetShared() {
        synchronized (Helper.class) {
            shared = null;
        }
    }

    private final AtomicBoolean busy = new AtomicBoolean();
    private final StepParts parts = new StepParts();
    private final Thread thread;
    private volatile long posted;

    private Helper() {
        thread = new Thread(this::loop, "panama-rnn-helper");
        thread.setDaemon(true);
        Faults.threadStart(thread.getName());
        thread.start();
    }

    /**
     * Whether the helper thread may touch memory of this segment (a confined arena's belongs to its owner).
     *
     * @param s a segment, or null
     * @return true when the helper may read and write it
     */
    public boolean canAccess(MemorySegment s) {
        return s == null || s.isAccessibleBy(thread);
    }

    /**
     * How many split steps have been posted (tests check that a call really used both threads).
     *
     * @return the count
     */
    public long jobs() {
        return posted;
    }

    /**
     * Takes the helper for one call. Pair with {@link #release()}.
     *
     * @return false when another call holds it
     */
    public boolean tryAcquire() {
        return busy.compareAndSet(false, true);
    }

    /** Gives the helper back. */
    public void release() {
        busy.set(false);
    }

    /** Runs the parts of {@code w} here and on the helper thread; returns when all are done. */
    void run(StepParts.Work w, int n) {
        posted++;
        parts.run(w, n);
    }

    private void loop() {
        int spins = 0;
        while (true) {
            if (parts.help()) {
                spins = 0;
            } else if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                parts.sleeping();
                if (!parts.hasWork()) java.util.concurrent.locks.LockSupport.park(this);
                parts.awake();
                spins = 0;
            }
        }
    }
}
