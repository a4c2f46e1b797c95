package dev.panamarnn;

/**
 * How many threads one forward call may compute on: 1 (the default: the calling thread only, what a
 * server with many request threads wants) or 2 (the calling thread and a shared helper thread). With 2,
 * a layer splits its input projection by columns, runs a bidirectional layer's directions one per thread,
 * and splits each step of a unidirectional layer by hidden units. A call that finds the helper busy with
 * another call runs alone, so the cores are never oversubscribed.
 *
 * <p>The OpenBLAS backend's own threads come on top of these. It runs at 1 thread unless asked for more,
 * so with 2 here two threads in all do the work.
 *
 * <p>Set with {@code -Dpanama.rnn.threads=N} or {@link #setThreads}.
 */
public final class Parallelism {
    private Parallelism() {}

    /** The system property that sets the threads per call: {@value} (read by {@link Config}). */
    public static final String PROPERTY = Config.THREADS;
    /** 0 until set by {@link #setThreads}: until then, {@link Config#defaults()}. */
    private static volatile int threads;

    /**
     * Threads per call: what {@link #setThreads} set, else {@link Config#defaults()}'s.
     *
     * @return 1 or 2
     * @throws IllegalArgumentException naming the property when {@code -Dpanama.rnn.threads} (or another
     *     setting's property, all being read at once) holds a value it does not take
     */
    public static int threads() {
        int n = threads;
        return n != 0 ? n : Config.defaults().threadsPerCall();
    }

    /** Tests only: forget {@link #setThreads} and the properties read, so that the next {@link #threads()} reads them again. */
    static void forgetForTests() {
        threads = 0;
        Config.forgetDefaults();
    }

    /**
     * Sets the threads per call for the whole JVM, overriding the property.
     *
     * @param n 1 or 2
     * @throws IllegalArgumentException for any other value
     */
    public static void setThreads(int n) {
        if (n < 1 || n > 2) throw new IllegalArgumentException(PROPERTY + " must be 1 or 2, got " + n);
        threads = n;
    }
}
