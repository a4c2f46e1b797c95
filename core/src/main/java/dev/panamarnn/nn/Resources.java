package dev.panamarnn.nn;

import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * What a layer or cell owns: its packed weights and a pool of workspaces, with the rule that
 * {@link #close()} waits for running calls and later calls fail cleanly. A call brackets its work with
 * {@link #enter} and {@link #exit} (no lambda, so nothing is allocated per call).
 */
final class Resources implements AutoCloseable {
    final LayerWeights weights;
    private final ConcurrentLinkedDeque<Workspace> pool = new ConcurrentLinkedDeque<>();
    private final Lifecycle lifecycle;

    Resources(LayerWeights weights, String what) {
        this.weights = weights;
        this.lifecycle = new Lifecycle(what);
    }

    /** Starts a call: blocks close() until {@link #exit}; returns {@code explicit} or a pooled workspace, acquired. */
    Workspace enter(String op, Workspace explicit) {
        lifecycle.enter(op);
        try {
            Workspace ws = explicit != null ? explicit : pool.poll();
            if (ws == null) ws = new Workspace();
            ws.acquire();
            return ws;
        } catch (RuntimeException e) {
            lifecycle.exit();
            throw e;
        }
    }

    /** Ends a call begun by {@link #enter}; a pooled workspace goes back to the pool. */
    void exit(Workspace ws, Workspace explicit) {
        ws.release();
        if (explicit == null) pool.push(ws);
        lifecycle.exit();
    }

    /** Waits for running calls, then frees the weights and the pooled workspaces. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(() -> {
            weights.close();
            Workspace ws;
            while ((ws = pool.poll()) != null) ws.close();
        });
    }
}
