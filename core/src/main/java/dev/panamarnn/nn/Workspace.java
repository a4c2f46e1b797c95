package dev.panamarnn.nn;

import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Scratch memory for forward passes, reused from call to call so that steady-state calls allocate
 * nothing. A workspace grows to the largest call it has served and owns its native memory until
 * {@link #close()}.
 *
 * <p>Pass one explicitly to keep scratch per thread, or let a layer borrow one from its own pool. A
 * workspace serves one call at a time: using one from two threads at once is an error that it detects
 * and reports.
 */
public final class Workspace implements AutoCloseable {
    static final int SLOTS = 12;

    private Arena arena = dev.panamarnn.Arenas.shared();
    private final MemorySegment[] slots = new MemorySegment[SLOTS];
    private final long[] capacity = new long[SLOTS];
    private final java.util.concurrent.atomic.AtomicBoolean inUse = new java.util.concurrent.atomic.AtomicBoolean();
    private final long[] request = new long[SLOTS];
    private boolean closed;

    /** An empty workspace; it allocates on first use. */
    public Workspace() {}

    /**
     * Bytes of native memory held now.
     *
     * @return the bytes
     */
    public synchronized long byteSize() {
        long n = 0;
        for (long c : capacity) n += c * Float.BYTES;
        return n;
    }

    void acquire() {
        if (closed) throw new IllegalStateException("workspace is closed");
        if (!inUse.compareAndSet(false, true)) {
            throw new IllegalStateException("workspace is already in use by another call: use one workspace per thread");
        }
    }

    void release() {
        inUse.set(false);
    }

    /** A zeroed array of one entry per slot, to fill and pass to {@link #reserve} (no array per call). */
    long[] request() {
        java.util.Arrays.fill(request, 0);
        return request;
    }

    /**
     * Makes every slot {@code i} hold at least {@code floats[i]} floats. When any slot is too small, all
     * are reallocated in a fresh arena (the old one is closed), so the memory held stays bounded by the
     * largest call; contents are not preserved.
     */
    void reserve(long... floats) {
        assert floats.length <= SLOTS;
        boolean grow = false;
        for (int i = 0; i < floats.length; i++) grow |= floats[i] > capacity[i];
        if (!grow) return;
        Arena next = dev.panamarnn.Arenas.shared();
        try {
            for (int i = 0; i < SLOTS; i++) {
                long want = Math.max(capacity[i], i < floats.length ? floats[i] : 0);
                slots[i] = want == 0 ? null : next.allocate(want * Float.BYTES, Tensor.ALIGNMENT);
                capacity[i] = want;
            }
        } catch (Throwable e) {
            next.close();
            java.util.Arrays.fill(slots, null);
            java.util.Arrays.fill(capacity, 0);
            throw e;
        }
        arena.close();
        arena = next;
    }

    private int[] perm = new int[0], running = new int[0];
    private final SequenceForward.Job job = new SequenceForward.Job();

    /** The reusable description of a forward pass's work (one per workspace: nothing allocated per step). */
    SequenceForward.Job job() {
        return job;
    }

    private BatchCall batchCall;

    /** A {@link BatchingExecutor} call's bookkeeping, reused from call to call. */
    BatchCall batchCall() {
        if (batchCall == null) batchCall = new BatchCall();
        return batchCall;
    }

    /** Scratch for the batch order, at least {@code n} long. */
    int[] perm(int n) {
        if (perm.length < n) perm = new int[n];
        return perm;
    }

    /** Scratch for the running-sample count per step, at least {@code n} long. */
    int[] running(int n) {
        if (running.length < n) running = new int[n];
        return running;
    }

    MemorySegment slot(int i) {
        return slots[i];
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        if (inUse.get()) throw new IllegalStateException("workspace is in use by a running call");
        closed = true;
        arena.close();
    }
}
