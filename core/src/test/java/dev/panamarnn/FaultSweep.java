package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs an operation once per event of a kind ({@link Faults}): the first run with the 1st event failing,
 * the next with the 2nd, and so on until a run ends before reaching the armed event. After each injected
 * failure it checks what a server needs: the operation threw, and what it threw is the injected error (or
 * carries it as its cause), not a secondary failure; the trial's own check passes (the model still gives
 * the same bits, the caller's state is untouched); closing everything returns within a second; and the
 * library's native memory is back to where it was before the trial began.
 */
public final class FaultSweep {
    private FaultSweep() {}

    /** One trial: made without faults, run with one armed, checked and closed without. */
    public interface Trial<T> {
        /** Makes what the operation runs on (no fault armed). */
        T setUp() throws Exception;

        /** The operation under test (one fault armed). */
        void run(T t) throws Exception;

        /** After the operation, failed or not: what must still hold (no fault armed). */
        void check(T t, boolean failed) throws Exception;

        /** Closes everything {@link #setUp} and {@link #run} made. */
        void close(T t) throws Exception;
    }

    /** Upper bound on the events one operation may have, so a runaway sweep stops. */
    private static final int MAX_EVENTS = 5000;

    /**
     * Sweeps {@code trial} over every event of {@code kind}; returns how many failures were injected (the
     * caller asserts it is above zero where the operation must have such events, so the test can fail).
     */
    public static <T> int sweep(String what, Faults.Kind kind, Trial<T> trial) throws Exception {
        for (int n = 1; n <= MAX_EVENTS; n++) {
            long before = Arenas.liveBytes();
            T t = trial.setUp();
            Faults.failAt(kind, n);
            Throwable thrown = null;
            try {
                trial.run(t);
            } catch (Throwable e) {
                thrown = e;
            }
            long events = Faults.count(kind);
            Faults.reset();
            String ctx = what + ", " + kind + " #" + n;
            boolean injected = events >= n;
            if (injected) {
                assertNotNull(thrown, ctx + ": the injected failure was swallowed (the call returned normally)");
                assertInjected(ctx, thrown);
            } else if (thrown != null) {
                throw new AssertionError(ctx + ": failed with nothing injected", thrown);
            }
            trial.check(t, injected);
            closeWithinASecond(ctx, () -> trial.close(t));
            assertEquals(before, Arenas.liveBytes(), ctx + ": native bytes held after closing everything");
            if (!injected) return n - 1;
        }
        fail(what + ": more than " + MAX_EVENTS + " " + kind + " events");
        return -1;
    }

    /** {@code e} is the injected error, or an exception whose cause chain holds it (and nothing else failed). */
    public static void assertInjected(String ctx, Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c.getMessage() != null && c.getMessage().startsWith("injected fault")) {
                assertTrue(c == e || e instanceof IllegalStateException,
                        ctx + ": the injected " + c + " came wrapped in " + e.getClass().getName());
                return;
            }
        }
        throw new AssertionError(ctx + ": expected the injected failure, got " + e, e);
    }

    /** Runs {@code close} on another thread and fails if it has not returned within a second. */
    public static void closeWithinASecond(String ctx, ThrowingRunnable close) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread th = new Thread(() -> {
            try {
                close.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "fault-sweep-close");
        th.setDaemon(true);
        th.start();
        th.join(1000);
        if (th.isAlive()) {
            StringBuilder trace = new StringBuilder();
            for (StackTraceElement s : th.getStackTrace()) trace.append("\n\tat ").append(s);
            fail(ctx + ": close() has not returned after a second; it is at" + trace);
        }
        if (failure.get() != null) throw new AssertionError(ctx + ": close() failed", failure.get());
    }

    public interface ThrowingRunnable {
        void run() throws Exception;
    }
}
