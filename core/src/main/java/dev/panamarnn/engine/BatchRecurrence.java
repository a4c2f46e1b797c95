package dev.panamarnn.engine;

import dev.panamarnn.kernel.Kernels;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One recurrence of the batching engine ({@link Batching}): layer l, direction d, and the samples running through it
 * now (the <em>active set</em>, {@link BatchRows}: one row each, their state and the step's arithmetic).
 * Calls join at a step boundary and leave when their samples end; the set advances one step at a time,
 * all rows at once.
 *
 * <p><b>Who computes.</b> The callers themselves (flat combining). One of them is the <em>leader</em>: it
 * admits the calls that are waiting to join, runs the step for every row, retires finished samples
 * (swapping the last row into the hole) and wakes their callers. A step is cut into parts by hidden units
 * ({@link BatchParts}: eight at S1's size); one other waiting caller, the <em>helper</em>, claims parts
 * too ({@link StepParts}) and runs them on its own core, one at a time, as the leader does, h
 * double-buffered (as in the two-thread mode of {@link SequenceRun}, but balanced however late the helper
 * comes). A waiting caller spins as helper only while the callers
 * that compete for cores (all but the parked ones) are no more than the cores; otherwise it parks, and
 * the leader runs the whole step while the other cores serve callers that are projecting their input
 * (when every caller waits in a batch, one of them helps). When the leader's own
 * call is done it hands the lead to another participant (the helper if there is one, it is awake) and
 * returns.
 */
final class BatchRecurrence implements AutoCloseable {
    /** Spins of an idle helper (no step posted) before it parks; a step comes every ~50-100 µs. */
    private static final int HELPER_SPINS = 1 << 14;

    private final Callers executor;
    private final BatchRows rows;
    private final int parts;

    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<BatchCall> pending = new ArrayDeque<>();
    /** Calls whose input projection has chunks nobody has claimed yet. */
    private final ConcurrentLinkedQueue<BatchCall> projecting = new ConcurrentLinkedQueue<>();
    private volatile int pendingCount;
    private volatile Thread leader;

    /** The step's parts, shared with the helper; the work of a part, made once. */
    private final StepParts stepParts = new StepParts();
    private final StepParts.Work part;
    private final AtomicReference<Thread> helper = new AtomicReference<>();

    /** Calls marked cancelled so far; a leader that sees the count change drops their rows. */
    private final java.util.concurrent.atomic.AtomicInteger cancellations = new java.util.concurrent.atomic.AtomicInteger();

    // Statistics, written by leaders (and helperParts by the helper); read after the calls, or roughly.
    long steps, rowSteps, helperParts, stepNanos;
    int maxRows, maxCalls;

    /** Told of every step (rows, calls, nanoseconds) by its leader; null for none. */
    private final Batching.StepListener listener;

    BatchRecurrence(Callers executor, Weights w, Kernels k, int l, int d, Batching.StepListener listener) {
        this.executor = executor;
        this.listener = listener;
        this.rows = new BatchRows(w, k, l, d);
        this.parts = rows.parts();
        this.part = rows::runPart;
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
            if (!call.cancelled && (interrupted || me.isInterrupted())) cancel(call);
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
                stepParts.sleeping();
                if (!call.done && leader != me && !stepParts.hasWork() && projecting.isEmpty()) park();
                stepParts.awake();
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

    /** Parks, counted as not competing for a core (see {@link Callers#maySpin}). */
    private void park() {
        executor.parked(1);
        LockSupport.park(this);
        executor.parked(-1);
    }

    private void leaveHelper(Thread me) {
        if (helper.get() == me) helper.compareAndSet(me, null);
    }

    /** Marks the call cancelled; the leader drops its rows at the next step boundary. */
    private void cancel(BatchCall call) {
        call.cancelled = true;
        cancellations.incrementAndGet();
    }

    /** Leads until the call {@code mine} is done, then hands the lead on. */
    private void lead(BatchCall mine) {
        int seen = cancellations.get();
        while (true) {
            if (!mine.cancelled && Thread.currentThread().isInterrupted()) cancel(mine);
            int now = cancellations.get();
            if (now != seen) { // at the boundary: before admitting, while no row is fresh
                seen = now;
                rows.dropCancelled();
                if (mine.done) {
                    handOver();
                    return;
                }
            }
            if (pendingCount > 0) admitPending();
            int n = rows.size();
            if (n > 0) {
                int calls = rows.calls();
                long t0 = System.nanoTime();
                try {
                    step();
                } catch (Throwable e) {
                    rows.failAll(e);
                }
                long dt = System.nanoTime() - t0;
                stepNanos += dt;
                if (listener != null) tell(n, calls, dt);
            }
            if (mine.done) {
                handOver();
                return;
            }
        }
    }

    /** The listener's exceptions are its own: a step that ran is not failed by its report. */
    private void tell(int n, int calls, long nanos) {
        try {
            listener.step(n, calls, nanos);
        } catch (Throwable ignored) {
            // documented on BatchingExecutor.StepListener
        }
    }

    /** One step for every row: the parts (some claimed by the helper, if there is one), then the boundary. */
    private void step() {
        rows.beginStep(); // every row's projection for its step, before any part reads it
        steps++;
        rowSteps += rows.size();
        maxRows = Math.max(maxRows, rows.size());
        maxCalls = Math.max(maxCalls, rows.calls());
        if (parts > 1 && helper.get() != null) stepParts.run(part, parts);
        else StepParts.runAlone(part, parts);
        rows.advance();
    }

    /** A helper's turn: claims and runs a part of the posted step if one is left. */
    private boolean help() {
        if (!stepParts.help()) return false;
        helperParts++;
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
            for (BatchCall call : pending) {
                if (call.cancelled) BatchRows.fail(call, new java.util.concurrent.CancellationException("forward: the calling thread was interrupted before its samples joined the batch"));
                else rows.admit(call);
            }
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

}
