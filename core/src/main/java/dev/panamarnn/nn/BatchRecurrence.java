package dev.panamarnn.nn;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One recurrence of a {@link BatchingExecutor}: layer l, direction d, and the samples running through it
 * now (the <em>active set</em>), one row each in state buffers this object owns. Calls join at a step
 * boundary and leave when their samples end; the set advances one step at a time, all rows at once.
 *
 * <p><b>Who computes.</b> The callers themselves (flat combining). One of them is the <em>leader</em>: it
 * admits the calls that are waiting to join, runs the step for every row, retires finished samples
 * (swapping the last row into the hole) and wakes their callers. A step has one part per partition of
 * the hidden units ({@link LayerWeights#cut}: two at S1's size); one other waiting caller, the
 * <em>helper</em>, may claim a part and run it on its own core, as the two-thread mode of
 * {@link SequenceForward} does, h double-buffered. Only when the executor holds no more callers than
 * cores does a waiting caller spin as helper; otherwise waiting callers park, and the leader runs the
 * whole step while the other cores serve callers that are projecting their input. When the leader's own
 * call is done it hands the lead to another participant (the helper if there is one, it is awake) and
 * returns.
 *
 * <p><b>The step</b>, per part q: each row's pre-activation row for its own current step (from its
 * call's projection) is copied into the batch matrix; {@link Kernels#gemmPrepared} adds {@code h·W_hhᵀ}
 * for all rows at once over W_hh prepared once (packed, on simd), reading it once; the fused gate kernel
 * runs over all rows; each row's new h goes to its call's output row. Rows that joined with zero state are
 * kept last and skip the product on their first step, as {@link SequenceForward} skips it. Every kernel
 * computes each row by the same arithmetic whatever the other rows: a sample's bits do not depend on the
 * batch it ran in.
 */
final class BatchRecurrence implements AutoCloseable {
    /** Spins of an idle helper (no step posted) before it parks; a step comes every ~50-100 µs. */
    private static final int HELPER_SPINS = 1 << 14;

    private final BatchingExecutor executor;
    private final LayerSpec spec;
    private final LayerWeights w;
    private final Kernels k;
    private final int l, d, G, H, P, GH, parts;
    /** W_hh's rows of each partition, and W_hr, prepared once for the backend's small-batch product. */
    private final PreparedWeights[] whh;
    private final PreparedWeights whr;

    // The active set: rows [0, nb), the last nFresh of them joined with zero state and not yet stepped.
    private BatchCall.Entry[] rows = new BatchCall.Entry[0];
    private int nb, nFresh, cap, cur;
    private Arena arena;
    /** Per row: gate pre-activations [cap × GH]; GRU's W_hh·h + b_hn [cap × GH]; h twice [cap × P]; c and raw h [cap × H]. */
    private MemorySegment gates, gh, c, raw;
    private final MemorySegment[] h = new MemorySegment[2];

    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<BatchCall> pending = new ArrayDeque<>();
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
    long steps, rowSteps, helperParts;
    int maxRows, maxCalls;
    private int calls;

    BatchRecurrence(BatchingExecutor executor, LayerSpec spec, LayerWeights w, Kernels k, int l, int d) {
        this.executor = executor;
        this.spec = spec;
        this.w = w;
        this.k = k;
        this.l = l;
        this.d = d;
        G = spec.mode().gates();
        H = spec.hiddenSize();
        P = spec.outputSize();
        GH = G * H;
        parts = w.parts();
        whh = new PreparedWeights[parts];
        for (int q = 0; q < parts; q++) {
            int a = w.cut[q], hq = w.cut[q + 1] - a;
            whh[q] = k.prepare(w.whh[l][d], (long) G * a * P, P, G * hq, P);
        }
        whr = spec.projSize() > 0 ? k.prepare(w.whr[l][d], 0, H, P, H) : null;
    }

    /** Runs the call's entries (set up by the caller) to their ends; returns when all have finished or failed. */
    void run(BatchCall call) {
        Thread me = Thread.currentThread();
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
            if (helping) {
                if (help()) {
                    idle = 0;
                    continue;
                }
                if (++idle < HELPER_SPINS) {
                    Thread.onSpinWait();
                    continue;
                }
                idle = 0;
                helperParked = true;
                if (!call.done && leader != me && (ticket.get() & 0xff) >= parts) LockSupport.park(this);
                helperParked = false;
            } else {
                LockSupport.park(this);
            }
            interrupted |= Thread.interrupted(); // a pending interrupt would turn park into a busy loop
        }
        leaveHelper(me);
        if (interrupted) me.interrupt();
    }

    private void leaveHelper(Thread me) {
        if (helper.get() == me) helper.compareAndSet(me, null);
    }

    /** Leads until the call {@code mine} is done, then hands the lead on. */
    private void lead(BatchCall mine) {
        while (true) {
            if (pendingCount > 0) admitPending();
            if (nb > 0) {
                try {
                    step();
                } catch (Throwable e) {
                    failActive(e);
                }
            }
            if (mine.done) {
                handOver();
                return;
            }
        }
    }

    /** One step for every row: the parts (one claimed by the helper, if it is quick), then the boundary. */
    private void step() {
        long s = ++step;
        steps++;
        rowSteps += nb;
        maxRows = Math.max(maxRows, nb);
        maxCalls = Math.max(maxCalls, calls);
        Thread hp = helper.get();
        if (parts > 1 && hp != null) {
            partFailure = null;
            partsDone.set(0);
            ticket.set(s << 8);
            if (helperParked) LockSupport.unpark(hp);
            Throwable mine = null;
            for (int p; (p = claim(s)) >= 0; ) {
                try {
                    runPart(p);
                } catch (Throwable e) {
                    mine = e;
                }
                partsDone.incrementAndGet();
            }
            while (partsDone.get() < parts) Thread.onSpinWait();
            if (mine != null) throw sneaky(mine);
            if (partFailure != null) throw sneaky(partFailure);
        } else {
            for (int p = 0; p < parts; p++) runPart(p);
        }
        advance();
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
            runPart(p);
        } catch (Throwable e) {
            partFailure = e;
        }
        helperParts++;
        partsDone.incrementAndGet();
        return true;
    }

    /** Part q of the step: partition q's units for every row (all units when there is one part). */
    private void runPart(int q) {
        int a = w.cut[q], hq = w.cut[q + 1] - a, rowsQ = G * hq, n = nb, stale = nb - nFresh;
        long col = (long) G * a;
        MemorySegment hc = h[cur], hn = h[cur ^ 1];
        PreparedWeights wq = whh[q];
        for (int r = 0; r < n; r++) {
            BatchCall.Entry e = rows[r];
            MemorySegment.copy(e.xp, (e.xpOff + e.t * e.xpStride + col) * Float.BYTES, gates, ((long) r * GH + col) * Float.BYTES,
                    (long) rowsQ * Float.BYTES);
        }
        switch (spec.mode()) {
            case LSTM -> {
                if (stale > 0) k.gemmPrepared(stale, wq, hc, 0, P, 1f, gates, col, GH);
                if (spec.projSize() > 0) { // one part: the whole h, then its projection
                    k.lstmCell(n, H, gates, 0, GH, c, 0, H, raw, 0, H);
                    k.gemmPrepared(n, whr, raw, 0, H, 0f, hn, 0, P);
                } else {
                    k.lstmCell(n, hq, gates, col, GH, c, a, H, hn, a, P);
                }
            }
            case GRU -> {
                for (int r = 0; r < n; r++) {
                    MemorySegment.copy(w.hnBias[l][d], col * Float.BYTES, gh, ((long) r * GH + col) * Float.BYTES, (long) rowsQ * Float.BYTES);
                }
                if (stale > 0) k.gemmPrepared(stale, wq, hc, 0, P, 1f, gh, col, GH);
                k.gruCell(n, hq, gates, col, GH, gh, col, GH, hc, a, P, hn, a, P);
            }
            case RNN_TANH, RNN_RELU -> {
                if (stale > 0) k.gemmPrepared(stale, wq, hc, 0, P, 1f, gates, col, GH);
                k.rnnCell(n, hq, spec.mode().activation(), gates, col, GH, hn, a, P);
            }
        }
        int from = spec.projSize() > 0 ? 0 : a, width = spec.projSize() > 0 ? P : hq;
        for (int r = 0; r < n; r++) {
            BatchCall.Entry e = rows[r];
            MemorySegment.copy(hn, ((long) r * P + from) * Float.BYTES, e.out, (e.outOff + e.t * e.outStride + from) * Float.BYTES,
                    (long) width * Float.BYTES);
        }
    }

    /** The step boundary: the new h becomes current, every row moves on, finished samples leave. */
    private void advance() {
        cur ^= 1;
        nFresh = 0;
        for (int r = nb - 1; r >= 0; r--) { // downwards: the row swapped into r has already moved on
            BatchCall.Entry e = rows[r];
            e.t += e.dir;
            if (--e.left == 0) retire(r);
        }
    }

    /** Row r's sample has ended: its final state to its call, the last row into its place. */
    private void retire(int r) {
        BatchCall.Entry e = rows[r];
        MemorySegment hc = h[cur];
        MemorySegment.copy(hc, (long) r * P * Float.BYTES, e.hN, e.hNOff * Float.BYTES, (long) P * Float.BYTES);
        if (e.cN != null) MemorySegment.copy(c, (long) r * H * Float.BYTES, e.cN, e.cNOff * Float.BYTES, (long) H * Float.BYTES);
        int last = --nb;
        if (r != last) {
            copyRow(hc, last, r, P);
            if (c != null) copyRow(c, last, r, H);
            rows[r] = rows[last];
        }
        rows[last] = null;
        if (--e.call.left == 0) {
            calls--;
            e.call.complete();
        }
    }

    /** Moves the waiting calls into the active set. */
    private void admitPending() {
        lock.lock();
        try {
            int need = nb;
            for (BatchCall call : pending) need += call.count;
            try {
                ensureCapacity(need);
            } catch (Throwable e) {
                for (BatchCall call : pending) fail(call, e);
                pending.clear();
                pendingCount = 0;
                return;
            }
            for (BatchCall call : pending) admit(call);
            pending.clear();
            pendingCount = 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Appends the call's samples. Zero-state rows must stay last (the step's product skips them), so a row
     * with an initial state that arrives after them takes the first zero-state row's place, which moves to
     * the end.
     */
    private void admit(BatchCall call) {
        calls++;
        MemorySegment hc = h[cur];
        for (int i = 0; i < call.count; i++) {
            BatchCall.Entry e = call.entries[i];
            int r = nb++;
            if (call.fromH0 && nFresh > 0) {
                int f = r - nFresh; // the first zero-state row
                copyRow(hc, f, r, P);
                if (c != null) copyRow(c, f, r, H);
                rows[r] = rows[f];
                r = f;
            }
            rows[r] = e;
            if (e.h0 != null) MemorySegment.copy(e.h0, e.h0Off * Float.BYTES, hc, (long) r * P * Float.BYTES, (long) P * Float.BYTES);
            else hc.asSlice((long) r * P * Float.BYTES, (long) P * Float.BYTES).fill((byte) 0);
            if (c != null) {
                if (e.c0 != null) MemorySegment.copy(e.c0, e.c0Off * Float.BYTES, c, (long) r * H * Float.BYTES, (long) H * Float.BYTES);
                else c.asSlice((long) r * H * Float.BYTES, (long) H * Float.BYTES).fill((byte) 0);
            }
            if (!call.fromH0) nFresh++;
        }
    }

    /** Row {@code from} of a [rows × width] state buffer onto row {@code to}. */
    private static void copyRow(MemorySegment m, int from, int to, int width) {
        MemorySegment.copy(m, (long) from * width * Float.BYTES, m, (long) to * width * Float.BYTES, (long) width * Float.BYTES);
    }

    /**
     * The lead goes to another participant: the helper if it has a sample in the batch (it is awake),
     * else the owner of the first row; it lapses when the batch is empty.
     */
    private void handOver() {
        lock.lock();
        try {
            if (pendingCount > 0) admitPending();
            Thread next = nb > 0 ? rows[0].call.owner : null;
            Thread hp = helper.get();
            for (int r = 0; r < nb && hp != null; r++) {
                if (rows[r].call.owner == hp) {
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

    /** A step failed: every call in the batch gets the failure; the recurrence starts afresh. */
    private void failActive(Throwable e) {
        for (int r = 0; r < nb; r++) {
            if (!rows[r].call.done) fail(rows[r].call, e);
            rows[r] = null;
        }
        nb = 0;
        nFresh = 0;
        calls = 0;
    }

    private static void fail(BatchCall call, Throwable e) {
        call.failure = e;
        call.complete();
    }

    /** Room for n rows; the live rows' state is kept. Grows by doubling, so rarely. */
    private void ensureCapacity(int n) {
        if (n <= cap) return;
        int next = Math.max(n, Math.max(4, 2 * cap));
        Arena a = Arena.ofShared();
        try {
            MemorySegment g2 = alloc(a, (long) next * GH), gh2 = spec.mode() == Mode.GRU ? alloc(a, (long) next * GH) : null;
            MemorySegment h0 = alloc(a, (long) next * P), h1 = alloc(a, (long) next * P);
            MemorySegment c2 = spec.mode() == Mode.LSTM ? alloc(a, (long) next * H) : null;
            MemorySegment raw2 = spec.projSize() > 0 ? alloc(a, (long) next * H) : null;
            if (nb > 0) {
                MemorySegment.copy(h[cur], 0, h0, 0, (long) nb * P * Float.BYTES);
                if (c2 != null) MemorySegment.copy(c, 0, c2, 0, (long) nb * H * Float.BYTES);
            }
            gates = g2;
            gh = gh2;
            c = c2;
            raw = raw2;
            h[0] = h0;
            h[1] = h1;
            cur = 0;
        } catch (Throwable e) {
            a.close();
            throw e;
        }
        if (arena != null) arena.close();
        arena = a;
        rows = java.util.Arrays.copyOf(rows, next);
        cap = next;
    }

    private static MemorySegment alloc(Arena a, long floats) {
        return a.allocate(Math.max(1, floats) * Float.BYTES, Tensor.ALIGNMENT);
    }

    /** Frees the state buffers; only once no call is running (the executor's close() sees to that). */
    @Override
    public void close() {
        if (arena != null) arena.close();
        arena = null;
        cap = 0;
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> RuntimeException sneaky(Throwable e) throws E {
        throw (E) e;
    }
}
