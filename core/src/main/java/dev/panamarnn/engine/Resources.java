package dev.panamarnn.engine;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What a layer or cell owns: its packed weights and a pool of workspaces, with the rule that
 * {@link #close()} waits for running calls and later calls fail cleanly. A call brackets its work with
 * {@link #enter} and {@link #exit} (no lambda, so nothing is allocated per call).
 *
 * <p>The pool is a fixed array of slots taken and returned by compare-and-set, not a concurrent queue: a
 * queue allocates a node per return, which was the one heap object per cell step (HeapPerCallTest). It
 * keeps up to {@link #POOL} idle workspaces; one returned to a full pool is closed, so the native
 * memory held stays bounded by the concurrency a layer has seen, up to that many.
 */
public final class Resources implements AutoCloseable {
    private final Weights weights;
    static final int POOL = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
    private final AtomicReferenceArray<Scratch> pool = new AtomicReferenceArray<>(POOL);
    private final Lifecycle lifecycle;

    /**
     * Resources over {@code weights}, which they then own.
     *
     * @param weights the packed weights
     * @param what    what they belong to, for error messages ("layer", "cell")
     */
    public Resources(Weights weights, String what) {
        this.weights = weights;
        this.lifecycle = new Lifecycle(what);
    }

    /**
     * The weights.
     *
     * @return the weights
     */
    public Weights weights() {
        return weights;
    }

    /**
     * Starts a call: blocks close() until {@link #exit}.
     *
     * @param op       the operation, for the error message
     * @param explicit the caller's own scratch, or null for a pooled one
     * @return {@code explicit} or a pooled scratch, acquired
     * @throws IllegalStateException if closed, or {@code explicit} is closed or in use
     */
    public Scratch enter(String op, Scratch explicit) {
        lifecycle.enter(op);
        Scratch ws = null;
        try {
            ws = explicit != null ? explicit : take();
            if (ws == null) ws = new Scratch();
            ws.acquire();
            return ws;
        } catch (Throwable e) {
            // A pooled workspace goes back (a new one is closed); the caller's own is left as it was.
            if (ws != null && explicit == null && !give(ws)) ws.close();
            lifecycle.exit();
            throw e;
        }
    }

    /**
     * Ends a call begun by {@link #enter}; a pooled scratch goes back to the pool. Never skips the lifecycle's exit.
     *
     * @param ws       what {@link #enter} returned
     * @param explicit what was passed to {@link #enter}
     */
    public void exit(Scratch ws, Scratch explicit) {
        try {
            ws.release();
            if (explicit == null && !give(ws)) ws.close();
        } finally {
            lifecycle.exit();
        }
    }

    /** An idle pooled workspace, or null. Scans from a slot that depends on the thread, to spread contention. */
    private Scratch take() {
        int start = (int) (Thread.currentThread().threadId() % POOL);
        for (int n = 0, i = start; n < POOL; n++, i = i + 1 == POOL ? 0 : i + 1) {
            Scratch ws = pool.get(i);
            if (ws != null && pool.compareAndSet(i, ws, null)) return ws;
        }
        return null;
    }

    /** Puts {@code ws} in a free slot; false when every slot is taken. */
    private boolean give(Scratch ws) {
        int start = (int) (Thread.currentThread().threadId() % POOL);
        for (int n = 0, i = start; n < POOL; n++, i = i + 1 == POOL ? 0 : i + 1) {
            if (pool.get(i) == null && pool.compareAndSet(i, null, ws)) return true;
        }
        return false;
    }

    /** Waits for running calls, then frees the weights and the pooled scratch. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(() -> {
            weights.close();
            for (int i = 0; i < POOL; i++) {
                Scratch ws = pool.getAndSet(i, null);
                if (ws != null) ws.close();
            }
        });
    }
}
