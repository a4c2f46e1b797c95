package dev.panamarnn.engine;

import dev.panamarnn.Arenas;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Scratch memory for one call at a time, reused from call to call so that steady-state calls allocate
 * nothing. A call lays out its buffers first ({@link #plan}, then {@link #claim} per buffer, each named by
 * the offset it gets), then {@link #commit}s the plan, which grows the one native block only when the plan
 * is larger than any before (contents are not kept). So the memory held is bounded by the largest call
 * served, and each buffer starts on a {@link Tensor#ALIGNMENT} boundary, as a segment of its own would.
 *
 * <p>Owned by the public {@code Workspace} or by a layer's pool ({@link Resources}); one call at a time,
 * which {@link #acquire} checks.
 */
public final class Scratch implements AutoCloseable {
    private static final long ALIGN = Tensor.ALIGNMENT / Float.BYTES;

    private Arena arena = Arenas.shared();
    private MemorySegment memory;
    private long capacity, planned;
    private final AtomicBoolean inUse = new AtomicBoolean();
    private boolean closed;
    private int[] perm = new int[0], running = new int[0];
    private final Object[] states = new Object[Key.COUNT];

    /** Empty: allocates on first use. */
    public Scratch() {}

    /**
     * Bytes of native memory held now.
     *
     * @return the bytes
     */
    public synchronized long byteSize() {
        return capacity * Float.BYTES;
    }

    /**
     * Starts a call on this scratch.
     *
     * @throws IllegalStateException if it is closed or another call holds it
     */
    public void acquire() {
        if (closed) throw new IllegalStateException("workspace is closed");
        if (!inUse.compareAndSet(false, true)) {
            throw new IllegalStateException("workspace is already in use by another call: use one workspace per thread");
        }
    }

    /** Ends the call begun by {@link #acquire}. */
    public void release() {
        inUse.set(false);
    }

    /** Starts laying out a call's buffers. */
    void plan() {
        planned = 0;
    }

    /** A buffer of {@code floats} floats in the plan: its offset, in floats, in {@link #commit}'s segment. */
    long claim(long floats) {
        long at = planned;
        planned += (floats + ALIGN - 1) / ALIGN * ALIGN;
        return at;
    }

    /**
     * Makes the plan real: the block, grown first (in a fresh arena, the old one closed) when the plan
     * needs more than it holds. On failure nothing is held, and the next call allocates again.
     */
    MemorySegment commit() {
        if (planned > capacity || memory == null) {
            long want = Math.max(planned, Math.max(capacity, ALIGN));
            Arena next = Arenas.shared();
            try {
                memory = next.allocate(want * Float.BYTES, Tensor.ALIGNMENT);
            } catch (Throwable e) {
                next.close();
                memory = null;
                capacity = 0;
                throw e;
            }
            arena.close();
            arena = next;
            capacity = want;
        }
        return memory;
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

    /**
     * A kind of state that a call keeps in its scratch to reuse (its argument holders, its bookkeeping),
     * made on first use. The kinds are few and fixed: each is a constant of the class that uses it.
     */
    static final class Key<T> {
        private static final int COUNT = 3;
        private static final java.util.concurrent.atomic.AtomicInteger NEXT = new java.util.concurrent.atomic.AtomicInteger();
        private final int index = NEXT.getAndIncrement();
        private final java.util.function.Supplier<T> make;

        Key(java.util.function.Supplier<T> make) {
            if (index >= COUNT) throw new IllegalStateException("Scratch.Key.COUNT is " + COUNT + ": raise it");
            this.make = make;
        }
    }

    /** This scratch's state of kind {@code key}, made on first use. */
    @SuppressWarnings("unchecked")
    <T> T state(Key<T> key) {
        Object o = states[key.index];
        if (o == null) states[key.index] = o = key.make.get();
        return (T) o;
    }

    /**
     * Frees the memory; idempotent.
     *
     * @throws IllegalStateException if a call is running on it
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        if (inUse.get()) throw new IllegalStateException("workspace is in use by a running call");
        closed = true;
        arena.close();
    }
}
