package dev.panamarnn.nn;

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
final class Resources implements AutoCloseable {
    final LayerWeights weights;
    static final int POOL = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
    private final AtomicReferenceArray<Workspace> pool = new AtomicReferenceArray<>(POOL);
    private final Lifecycle lifecycle;

    Resources(LayerWeights weights, String what) {
        this.weights = weights;
        this.lifecycle = new Lifecycle(what);
    }

    /** Starts a call: blocks close() until {@link #exit}; returns {@code explicit} or a pooled workspace, acquired. */
    Workspace enter(String op, Workspace explicit) {
        lifecycle.enter(op);
        Workspace ws = null;
        try {
            ws = explicit != null ? explicit : take();
            if (ws == null) ws = new Workspace();
            ws.acquire();
            return ws;
        } catch (Throwable e) {
            // A pooled workspace goes back (a new one is closed); the caller's own is left as it was.
            if (ws != null && explicit == null && !give(ws)) ws.close();
            lifecycle.exit();
            throw e;
        }
    }

    /** Ends a call begun by {@link #enter}; a pooled workspace goes back to the pool. Never skips the lifecycle's exit. */
    void exit(Workspace ws, Workspace explicit) {
        try {
            ws.release();
            if (explicit == null && !give(ws)) ws.close();
        } finally {
            lifecycle.exit();
        }
    }

    /** An idle pooled workspace, or null. Scans from a slot that depends on the thread, to spread contention. */
    private Workspace take() {
        int start = (int) (Thread.currentThread().threadId() % POOL);
        for (int n = 0, i = start; n < POOL; n++, i = i + 1 == POOL ? 0 : i + 1) {
            Workspace ws = pool.get(i);
            if (ws != null && pool.compareAndSet(i, ws, null)) return ws;
        }
        return null;
    }

    /** Puts {@code ws} in a free slot; false when every slot is taken. */
    private boolean give(Workspace ws) {
        int start = (int) (Thread.currentThread().threadId() % POOL);
        for (int n = 0, i = start; n < POOL; n++, i = i + 1 == POOL ? 0 : i + 1) {
            if (pool.get(i) == null && pool.compareAndSet(i, null, ws)) return true;
        }
        return false;
    }

    /** Waits for running calls, then frees the weights and the pooled workspaces. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(() -> {
            weights.close();
            for (int i = 0; i < POOL; i++) {
                Workspace ws = pool.getAndSet(i, null);
                if (ws != null) ws.close();
            }
        });
    }
}
