package dev.panamarnn;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A test hook that makes the Nth native allocation, the Nth thread start or the Nth OpenBLAS call fail,
 * so tests can show that every exit path releases what it acquired. Off unless the JVM runs with
 * {@code -Dpanama.rnn.faults=true}: the switch is a {@code static final}, so with it off every hook
 * folds to nothing in compiled code. Not for use outside tests.
 *
 * <p>The injected failures are the errors the real events give: an {@link OutOfMemoryError} for an
 * allocation or a thread start, an {@link InternalError} for a native call.
 */
public final class Faults {
    private Faults() {}

    /** The events that can be made to fail. */
    public enum Kind {
        /** A native allocation by the library (its arenas and {@link Tensor#allocate}). */
        ALLOCATION,
        /** A thread started by the library. */
        THREAD_START,
        /** A call into OpenBLAS. */
        BLAS_CALL
    }

    /** Whether the hooks are live ({@code -Dpanama.rnn.faults=true}). */
    public static final boolean ENABLED = Boolean.getBoolean("panama.rnn.faults");

    private static final AtomicLong[] COUNT = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
    private static final long[] FAIL_AT = new long[3];
    /** When set, only this thread's events count (and fail); null: every thread's. */
    private static volatile Thread only;

    private static final AtomicLong LARGEST = new AtomicLong();

    /**
     * Before a native allocation.
     *
     * @param bytes the allocation's size
     * @throws OutOfMemoryError when this allocation is the one armed to fail
     */
    public static void allocation(long bytes) {
        if (ENABLED) LARGEST.accumulateAndGet(bytes, Math::max);
        if (ENABLED && hit(Kind.ALLOCATION)) {
            throw new OutOfMemoryError("injected fault: native allocation #" + COUNT[0].get() + " of " + bytes + " bytes");
        }
    }

    /**
     * Before a thread start.
     *
     * @param name the thread's name, for the message
     * @throws OutOfMemoryError when this thread start is the one armed to fail
     */
    public static void threadStart(String name) {
        if (ENABLED && hit(Kind.THREAD_START)) {
            throw new OutOfMemoryError("injected fault: unable to create native thread '" + name + "'");
        }
    }

    /**
     * Before a call into OpenBLAS.
     *
     * @throws InternalError when this call is the one armed to fail
     */
    public static void blasCall() {
        if (ENABLED && hit(Kind.BLAS_CALL)) {
            throw new InternalError("injected fault: OpenBLAS call #" + COUNT[2].get());
        }
    }

    private static boolean hit(Kind k) {
        Thread t = only;
        if (t != null && t != Thread.currentThread()) return false;
        long n = COUNT[k.ordinal()].incrementAndGet();
        synchronized (FAIL_AT) {
            return FAIL_AT[k.ordinal()] == n;
        }
    }

    /**
     * Makes the {@code n}th event of kind {@code k} from now fail (1 is the next one); 0 disarms. Counts of
     * every kind restart from zero.
     *
     * @param k the kind of event
     * @param n which one, counting from 1; 0 for none
     * @throws IllegalStateException when fault injection is off
     */
    public static void failAt(Kind k, long n) {
        arm(k, n, null);
    }

    /**
     * As {@link #failAt}, counting only the calling thread's events (other threads' neither count nor
     * fail): for a soak whose loader injects failures while other threads keep calling.
     *
     * @param k the kind of event
     * @param n which one of this thread's, counting from 1; 0 for none
     * @throws IllegalStateException when fault injection is off
     */
    public static void failAtOnThisThread(Kind k, long n) {
        arm(k, n, Thread.currentThread());
    }

    private static void arm(Kind k, long n, Thread thread) {
        requireEnabled();
        synchronized (FAIL_AT) {
            for (AtomicLong c : COUNT) c.set(0);
            java.util.Arrays.fill(FAIL_AT, 0);
            only = thread;
            FAIL_AT[k.ordinal()] = n;
        }
    }

    /**
     * Events of kind {@code k} since the last {@link #failAt} or {@link #reset}.
     *
     * @param k the kind of event
     * @return how many happened
     * @throws IllegalStateException when fault injection is off
     */
    public static long count(Kind k) {
        requireEnabled();
        return COUNT[k.ordinal()].get();
    }

    /**
     * The largest native allocation asked for since the last {@link #reset}, failed or not.
     *
     * @return its size in bytes
     * @throws IllegalStateException when fault injection is off
     */
    public static long largestAllocation() {
        requireEnabled();
        return LARGEST.get();
    }

    /**
     * Disarms every kind and restarts the counts.
     *
     * @throws IllegalStateException when fault injection is off
     */
    public static void reset() {
        requireEnabled();
        synchronized (FAIL_AT) {
            for (AtomicLong c : COUNT) c.set(0);
            java.util.Arrays.fill(FAIL_AT, 0);
            only = null;
            LARGEST.set(0);
        }
    }

    private static void requireEnabled() {
        if (!ENABLED) throw new IllegalStateException("fault injection is off: run the JVM with -Dpanama.rnn.faults=true");
    }
}
