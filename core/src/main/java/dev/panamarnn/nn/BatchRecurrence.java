package dev.panamarnn.nn;

import dev.panamarnn.kernel.Kernels;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One recurrence of a {@link BatchingExecutor}: layer l, direction d, and the samples running through it
 * now (the <em>active set</em>, {@link BatchRows}: one row each, their state and the step's arithmetic).
 * Calls join at a step boundary and leave when their samples end; the set advances one step at a time,
 * all rows at once.
 *
 * <p><b>Who computes.</b> The callers themselves (flat combining). One of them is the <em>leader</em>: it
 * admits the calls that are waiting to join, runs the step for every row, retires finished samples
 * (swapping the last row into the hole) and wakes their callers. A step is cut into parts by hidden units
 * ({@link BatchParts}: eight at S1's size); one other waiting caller, the <em>helper</em>, claims parts
 * too and runs them on its own core, one at a time, as the leader does, h double-buffered (as in the
 * two-thread mode of {@link SequenceForward}, but balanced however late the helper comes). A waiting caller spins as helper only while the callers
 * that compete for cores (all but the parked ones) are no more than the cores; otherwise it parks, and
 * the leader runs the whole step while the other cores serve callers that are projecting their input
 * (when every caller waits in a batch, one of them helps). When the leader's own
 * call is done it hands the lead to another participant (the helper if there is one, it is awake) and
 * returns.
 */
final class BatchRecurrence implements AutoCloseable {
    /** Spins of an idle helper (no step posted) before it parks; a step comes every ~50-100 µs. */
    private static final int HELPER_SPINS = 1 << 14;
    /** Spins of a leader waiting for the helper's part before it yields instead. */
    private static final int LEADER_SPINS = 1 << 11;

    private final BatchingExecutor executor;
    private final BatchRows rows;
    private final int parts;

    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<BatchCall> pending = new ArrayDeque<>();
    /** Calls whose input projection has chunks nobody has claimed yet. */
    private final ConcurrentLinkedQueue<BatchCall> projecting = new ConcurrentLinkedQueue<>();
    private volatile int pendingCount;
    private volatile Thread leader;

    /** The step posted, shifted left 8, plus the next part to claim; nothing to claim before the first post. */
    private final AtomicLong ticket = new AtomicLong(0xff);
    private final AtomicInteger partsDone = new AtomicInteger();
    private final AtomicReference<Thread> helper = new AtomicReference<>();
    private volatile boolean helperParked;
    private volatile Throwable partFailure;
    private long step;

    // Statistics, written by leaders (and helperParts by the helper); read after the calls, or roughly.
    long steps, rowSteps, helperParts, stepNanos;
    int maxRows, maxCalls;

    BatchRecurrence(BatchingExecutor executor, LayerSpec spec, LayerWeights w, Kernels k, int l, int d) {
        this.executor = executor;
        this.rows = new BatchRows(spec, w, k, l, d);
        this.parts = rows.parts();
    }

    /** Runs the call's entries (set up by the caller) to their ends; returns when all have finished or failed. */
    void run(BatchCall call) {
        Thread me = Thread.currentThread();
        if (call.projection.hasWork()) projecting.add(call);
        lock.lock();
        try {
            pending.add(call);
            pendingCount = pending.size();
            if (leader == null) leader = me; // nobody is stepping: this caller starts
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        int idle = 0;
        while (!call.done) {
            if (leader == me) {
                leaveHelper(me);
                lead(call);
                continue;
            }
            boolean helping = helper.get() == me || (parts > 1 && executor.maySpin() && helper.compareAndSet(null, me));
            if (helping && !executor.maySpin()) { // more callers than cores now: stop spinning
                leaveHelper(me);
                helping = false;
            }
            if ((helping && help()) || project()) {
                idle = 0;
                continue;
            }
            if (helping) {
                if (++idle < HELPER_SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                idle = 0;
                helperParked = true;
                if (!call.done && leader != me && (ticket.get() & 0xff) >= parts && projecting.isEmpty()) park();
                helperParked = false;
            } else {
                park();
            }
            interrupted |= Thread.interrupted(); // a pending interrupt would turn park into a busy loop
        }
        leaveHelper(me);
        if (interrupted) me.interrupt();
    }

    /** A waiting participant's other work: a chunk of some call's input projection. */
    private boolean project() {
        for (BatchCall c; (c = projecting.peek()) != null; ) {
            if (c.projection.runNext()) return true;
            projecting.remove(c); // nothing left to claim there
        }
        return false;
    }

    /** Parks, counted as not competing for a core (see {@link BatchingExecutor#maySpin}). */
    private void park() {
        executor.parked(1);
        LockSupport.park(this);
        executor.parked(-1);
    }

    private void leaveHelper(Thread me) {
        if (helper.get() == me) helper.compareAndSet(me, null);
    }

    /** Leads until the call {@code mine} is done, then hands the lead on. */
    private void lead(BatchCall mine) {
        while (true) {
            if (pendingCount > 0) admitPending();
            if (rows.size() > 0) {
                long t0 = System.nanoTime();
                try {
                    step();
                } catch (Throwable e) {
                    rows.failAll(e);
                }
                stepNanos += System.nanoTime() - t0;
            }
            if (mine.done) {
                handOver();
                return;
            }
        }
    }

    /** One step for every row: the parts (one claimed by the helper, if it is quick), then the boundary. */
    private void step() {
        rows.ensureInputs(); // every row's projection for its step, before any part reads it
        long s = ++step;
        steps++;
        rowSteps += rows.size();
        maxRows = Math.max(maxRows, rows.size());
        maxCalls = Math.max(maxCalls, rows.calls());
        Thread hp = helper.get();
        if (parts > 1 && hp != null) {
            partFailure = null;
            partsDone.set(0);
            ticket.set(s << 8);
            if (helperParked) LockSupport.unpark(hp);
            Throwable mine = null;
            for (int p; (p = claim(s)) >= 0; ) {
                try {
                    rows.runPart(p);
                } catch (Throwable e) {
                    mine = e;
                }
                partsDone.incrementAndGet();
            }
            // The helper is running its part (~30 µs at S1); if it was preempted, give the core back.
            for (int spins = 0; partsDone.get() < parts; spins++) {
                if (spins < LEADER_SPINS) Thread.onSpinWait();
                else Thread.yield();
            }
            if (mine != null) throw sneaky(mine);
            if (partFailure != null) throw sneaky(partFailure);
        } else {
            for (int p = 0; p < parts; p++) rows.runPart(p);
        }
        rows.advance();
    }

    /** The next unclaimed part of step s, or -1. */
    private int claim(long s) {
        while (true) {
            long t = ticket.get();
            int p = (int) (t & 0xff);
            if ((t >>> 8) != s || p >= parts) return -1;
            if (ticket.compareAndSet(t, t + 1)) return p;
        }
    }

    /** A helper's turn: claims and runs a part of the posted step if one is left. */
    private boolean help() {
        long t = ticket.get();
        int p = (int) (t & 0xff);
        if (p >= parts || !ticket.compareAndSet(t, t + 1)) return false;
        try {
            rows.runPart(p);
        } catch (Throwable e) {
            partFailure = e;
        }
        helperParts++;
        partsDone.incrementAndGet();
        return true;
    }

    /** Moves the waiting calls into the active set. */
    private void admitPending() {
        lock.lock();
        try {
            int more = 0;
            for (BatchCall call : pending) more += call.count;
            try {
                rows.reserve(more);
            } catch (Throwable e) {
                for (BatchCall call : pending) BatchRows.fail(call, e);
                pending.clear();
                pendingCount = 0;
                return;
            }
            for (BatchCall call : pending) rows.admit(call);
            pending.clear();
            pendingCount = 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The lead goes to another participant: the helper if it has a sample in the batch (it is awake),
     * else the owner of the first row; it lapses when the batch is empty.
     */
    private void handOver() {
        lock.lock();
        try {
            if (pendingCount > 0) admitPending();
            Thread next = rows.size() > 0 ? rows.owner(0) : null;
            Thread hp = helper.get();
            for (int r = 0; r < rows.size() && hp != null; r++) {
                if (rows.owner(r) == hp) {
                    next = hp;
                    break;
                }
            }
            leader = next;
            if (next != null) LockSupport.unpark(next);
        } finally {
            lock.unlock();
        }
    }

    /** Frees the state buffers; only once no call is running (the executor's close() sees to that). */
    @Override
    public void close() {
        rows.close();
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
        throw (E) e;
    }
}
