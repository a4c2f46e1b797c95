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

    /** The system property that sets the threads per call: {@value}. */
    public static final String PROPERTY = "panama.rnn.threads";
    /** 0 until read: the property is read at first use, and a bad value fails that use (and each later one) with a clear message, not class initialisation. */
    private static volatile int threads;

    private static int parse(String v) {
        if (v == null || v.isBlank()) return 1;
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1 || n > 2) throw new IllegalArgumentException("-D" + PROPERTY + " must be 1 or 2, got '" + Text.escape(v, 40) + "'");
        return n;
    }

    private static int check(int n) {
        if (n < 1 || n > 2) throw new IllegalArgumentException(PROPERTY + " must be 1 or 2, got " + n);
        return n;
    }

    /**
     * Threads per call; throws {@link IllegalArgumentException} naming the property when {@code -Dpanama.rnn.threads} is not 1 or 2.
     *
     * @return 1 or 2
     */
    public static int threads() {
        int n = threads;
        if (n == 0) {
            n = parse(System.getProperty(PROPERTY));
            threads = n;
        }
        return n;
    }

    /** Tests only: the next {@link #threads()} reads the property again. */
    static void forgetForTests() {
        threads = 0;
    }

    /**
     * Sets the threads per call for the whole JVM, overriding the property.
     *
     * @param n 1 or 2
     * @throws IllegalArgumentException for any other value
     */
    public static void setThreads(int n) {
        threads = check(n);
    }
}
