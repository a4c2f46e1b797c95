package dev.panamarnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The arenas the library's own native memory lives in. Plain {@link Arena#ofShared()} and
 * {@link Arena#ofConfined()}; under {@code -Dpanama.rnn.faults=true} (tests only, see {@link Faults})
 * they are wrapped to count the bytes they hold and to let a test fail any allocation, so a test can
 * show that a failed call or load gives back every byte it took.
 */
public final class Arenas {
    private Arenas() {}

    private static final AtomicLong LIVE = new AtomicLong();

    /**
     * A shared arena (any thread may use its memory; one owner closes it).
     *
     * @return a new arena
     */
    public static Arena shared() {
        return Faults.ENABLED ? new Tracked(Arena.ofShared()) : Arena.ofShared();
    }

    /**
     * A confined arena (the calling thread's alone).
     *
     * @return a new arena
     */
    public static Arena confined() {
        return Faults.ENABLED ? new Tracked(Arena.ofConfined()) : Arena.ofConfined();
    }

    /** Whether {@code a} is one of these arenas' counting wrappers (its allocations are already hooked). */
    static boolean isTracked(Arena a) {
        return a instanceof Tracked;
    }

    /**
     * Bytes held now by arenas from {@link #shared()} and {@link #confined()} that are still open; only
     * under {@code -Dpanama.rnn.faults=true}.
     *
     * @return the bytes held
     * @throws IllegalStateException without {@code -Dpanama.rnn.faults=true}
     */
    public static long liveBytes() {
        if (!Faults.ENABLED) throw new IllegalStateException("native memory accounting is off: run the JVM with -Dpanama.rnn.faults=true");
        return LIVE.get();
    }

    private static final class Tracked implements Arena {
        private final Arena inner;
        private final AtomicLong held = new AtomicLong();

        Tracked(Arena inner) {
            this.inner = inner;
        }

        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            Faults.allocation(byteSize);
            MemorySegment s = inner.allocate(byteSize, byteAlignment);
            held.addAndGet(byteSize);
            LIVE.addAndGet(byteSize);
            return s;
        }

        @Override
        public MemorySegment.Scope scope() {
            return inner.scope();
        }

        @Override
        public void close() {
            inner.close(); // throws (and frees nothing) when already closed or on the wrong thread
            LIVE.addAndGet(-held.getAndSet(0));
        }
    }
}
