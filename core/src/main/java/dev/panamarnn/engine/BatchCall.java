package dev.panamarnn.engine;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * One call of the batching engine ({@link Batching}) as a {@link BatchRecurrence} sees it: the caller's thread, its
 * samples ({@link Entry}, one per sample of the call's batch), and whether they have all finished. One
 * per workspace, reused from call to call, so a call allocates no entries once warm.
 *
 * <p>Every segment an entry points to is the call's workspace (executor-owned, shared memory): the thread
 * that leads a step never touches a caller's own tensors, which may be confined to the caller's thread or
 * closed under it.
 */
final class BatchCall {
    /** One per scratch. */
    static final Scratch.Key<BatchCall> STATE = new Scratch.Key<>(BatchCall::new);

    /** One sample in one recurrence: where its rows are and how far it has got. Offsets in floats. */
    static final class Entry {
        BatchCall call;
        /** Pre-activation row of step t at {@code xpOff + t·xpStride} (this direction's columns). */
        MemorySegment xp;
        long xpOff, xpStride;
        /** Output row of step t at {@code outOff + t·outStride} (this direction's columns). */
        MemorySegment out;
        long outOff, outStride;
        /** Initial state rows, or null for zero; where the final state goes ({@code cN} null but for LSTM). */
        MemorySegment h0, c0, hN, cN;
        long h0Off, c0Off, hNOff, cNOff;
        /** The current step, its direction (+1 or -1) and the steps left, this one included. */
        int t, dir, left;
    }

    Thread owner;
    Entry[] entries = new Entry[0];
    /** The layer's input projection, which participants help compute while the call's samples step. */
    final BatchProjection projection = new BatchProjection();
    /** Entries in use; those still running in the current recurrence (touched by leaders only). */
    int count, left;
    /** Whether the entries start from h0 (else from zero, and their first step skips h·W_hhᵀ). */
    boolean fromH0;
    volatile boolean done;
    volatile Throwable failure;
    /** Set by the caller when its thread is interrupted: the leader drops its rows at the next step boundary. */
    volatile boolean cancelled;

    /** Makes {@code n} entries ready for one recurrence. */
    Entry[] begin(int n, boolean fromH0) {
        if (entries.length < n) {
            Entry[] e = java.util.Arrays.copyOf(entries, n);
            for (int i = entries.length; i < n; i++) {
                e[i] = new Entry();
                e[i].call = this;
            }
            entries = e;
        }
        owner = Thread.currentThread();
        count = n;
        left = n;
        this.fromH0 = fromH0;
        failure = null;
        done = false;
        cancelled = false;
        return entries;
    }

    /** Marks the call finished (or failed: {@code failure} set first) and wakes its caller. */
    void complete() {
        done = true;
        if (owner != Thread.currentThread()) LockSupport.unpark(owner);
    }
}
