package dev.panamarnn.nn;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Open, then closed for good: calls bracket their work with {@link #enter} and {@link #exit}, and
 * {@link #close} waits for the calls running, runs the release once, and makes later calls fail with an
 * {@link IllegalStateException} naming the object. So a close racing with calls never frees memory a call
 * (or a native routine it started) is still reading. Nothing is allocated per call.
 *
 * <p>Not for calls that close their own object from inside a call (the read lock cannot be upgraded).
 */
final class Lifecycle {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private volatile boolean closed;

    Lifecycle(String what) {
        this.what = what;
    }

    /** Starts a call; throws if closed. Pair with {@link #exit()} in a finally block. */
    void enter(String op) {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            throw new IllegalStateException(op + ": " + what + " is closed");
        }
    }

    void exit() {
        lock.readLock().unlock();
    }

    boolean isClosed() {
        return closed;
    }

    /** Waits for running calls, then runs {@code release} the first time only. */
    void close(Runnable release) {
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
