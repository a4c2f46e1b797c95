package dev.panamarnn.engine;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Open, then closed for good: calls bracket their work with {@link #enter} and {@link #exit}, and
 * {@link #close} waits for the calls running, runs the release once, and makes later calls fail with an
 * {@link IllegalStateException} naming the object. So a close racing with calls never frees memory a call
 * (or a native routine it started) is still reading. Nothing is allocated per call.
 *
 * <p>Not for calls that close their own object from inside a call (the read lock cannot be upgraded).
 */
public final class Lifecycle {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private volatile boolean closed;

    /**
     * Open.
     *
     * @param what the object, for error messages ("layer", "classifier")
     */
    public Lifecycle(String what) {
        this.what = what;
    }

    /**
     * Starts a call. Pair with {@link #exit()} in a finally block.
     *
     * @param op the operation, for the error message
     * @throws IllegalStateException if closed
     */
    public void enter(String op) {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            throw new IllegalStateException(op + ": " + what + " is closed");
        }
    }

    /** Ends a call begun by {@link #enter}. */
    public void exit() {
        lock.readLock().unlock();
    }

    /**
     * Whether {@link #close} has run.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Waits for running calls, then runs {@code release} the first time only.
     *
     * @param release what to free
     */
    public void close(Runnable release) {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            release.run();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
