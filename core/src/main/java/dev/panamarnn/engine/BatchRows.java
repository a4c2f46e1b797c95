package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The active set of a {@link BatchRecurrence} and the step's arithmetic: one row per running sample in
 * state buffers this object owns (h double-buffered, c, the batch's gate pre-activations), the rows'
 * entries, and the prepared weights. Touched only by the recurrence's leader, and during a step's parts
 * read (the rows) and written (disjoint columns) by the helper.
 *
 * <p><b>The step</b>, per part s (a range of hidden units, {@link BatchParts}): each row's pre-activation
 * columns of the part for its own current step (from its call's projection) are copied into the batch
 * matrix;
 * {@link Kernels#gemmPrepared} adds {@code h·W_hhᵀ} for all rows at once over W_hh prepared once (packed,
 * on simd), reading it once; the fused gate kernel runs over all rows; each row's new h goes to its call's
 * output row. Rows that joined with zero state are kept last and skip the product on their first step, as
 * {@link SequenceRun} skips it. Every kernel computes each row by the same arithmetic whatever the
 * other rows: a sample's bits do not depend on the batch it ran in.
 */
final class BatchRows implements AutoCloseable {
    private final Shape spec;
    private final Kernels k;
    /** The step's arithmetic over {@link #parts}. */
    private final CellStep step;
    private final int G, H, P, GH;
    /** The step's parts, with their rows of W_hh prepared; W_hr prepared (LSTM projection). */
    private final BatchParts parts;
    private final PreparedWeights whr;

    // Rows [0, nb); the last nFresh of them joined with zero state and have not stepped yet.
    private BatchCall.Entry[] rows = new BatchCall.Entry[0];
    private int nb, nFresh, cap, cur, calls;
    private Arena arena;
    /** Per row: gate pre-activations [cap × GH]; GRU's W_hh·h + b_hn [cap × GH]; h twice [cap × P]; c and raw h [cap × H]. */
    private MemorySegment gates, gh, c, raw;
    private final MemorySegment[] h = new MemorySegment[2];
    /** The buffers as the step reads them: set by the leader before a step's parts run ({@link #beginStep}). */
    private final Mat hPrev = new Mat(), hNext = new Mat(), gatesM = new Mat(), ghM = new Mat(), cM = new Mat(), rawM = new Mat();

    BatchRows(Weights w, Kernels k, int l, int d) {
        this.spec = w.shape;
        this.k = k;
        G = spec.gates();
        H = spec.hidden();
        P = spec.output();
        GH = G * H;
        parts = new BatchParts(w, k, l, d);
        try {
            whr = spec.proj() > 0 ? k.prepare(w.whr[l][d], 0, H, P, H) : null;
        } catch (Throwable e) {
            parts.close();
            throw e;
        }
        step = new CellStep(spec, parts.from, false, null, null, parts.whh, true, parts.hnBias, whr, null);
    }

    /** Parts of a step. */
    int parts() {
        return parts.count;
    }

    /** Samples in the batch. */
    int size() {
        return nb;
    }

    /** Calls with samples in the batch. */
    int calls() {
        return calls;
    }

    /** The thread of row r's call. */
    Thread owner(int r) {
        return rows[r].call.owner;
    }

    /**
     * Before a step's parts (on the leader): makes sure every row's input projection for its current step
     * is there (computing a chunk if nobody has), and points the step's buffers at the current h.
     */
    void beginStep() {
        for (int r = 0; r < nb; r++) rows[r].call.projection.ensure(rows[r].t);
        hPrev.set(h[cur], 0, P);
        hNext.set(h[cur ^ 1], 0, P);
        gatesM.set(gates, 0, GH);
        ghM.set(gh, 0, GH);
        cM.set(c, 0, H);
        rawM.set(raw, 0, H);
    }

    /** Part s of the step: its units for every row (all units when there is one part). */
    void runPart(int s) {
        int a = parts.from[s], hs = parts.from[s + 1] - a, n = nb;
        for (int r = 0; r < n; r++) {
            BatchCall.Entry e = rows[r];
            parts.gather(s, G, e.xp, e.xpOff + e.t * e.xpStride, gates, (long) r * GH);
        }
        step.run(k, s, s + 1, n, nb - nFresh, hPrev, hNext, gatesM, ghM, cM, rawM);
        int from = spec.proj() > 0 ? 0 : a, width = spec.proj() > 0 ? P : hs;
        MemorySegment hn = h[cur ^ 1];
        for (int r = 0; r < n; r++) {
            BatchCall.Entry e = rows[r];
            MemorySegment.copy(hn, ((long) r * P + from) * Float.BYTES, e.out, (e.outOff + e.t * e.outStride + from) * Float.BYTES,
                    (long) width * Float.BYTES);
        }
    }

    /** The step boundary: the new h becomes current, every row moves on, finished samples leave. */
    void advance() {
        cur ^= 1;
        nFresh = 0;
        for (int r = nb - 1; r >= 0; r--) { // downwards: the row swapped into r has already moved on
            BatchCall.Entry e = rows[r];
            e.t += e.dir;
            if (--e.left == 0) retire(r);
        }
    }

    /**
     * At a step boundary (no fresh rows): the rows of cancelled calls leave, each such call failing with a
     * {@link java.util.concurrent.CancellationException} once its last row is gone; the others keep their
     * state and places' contents (the last row moves into a freed place).
     */
    void dropCancelled() {
        for (int r = nb - 1; r >= 0; r--) {
            BatchCall.Entry e = rows[r];
            if (!e.call.cancelled) continue;
            if (leave(r)) fail(e.call, new java.util.concurrent.CancellationException("forward: the calling thread was interrupted; its samples left the batch"));
        }
    }

    /** Row r's sample has ended: its final state to its call, the last row into its place. */
    private void retire(int r) {
        BatchCall.Entry e = rows[r];
        MemorySegment hc = h[cur];
        MemorySegment.copy(hc, (long) r * P * Float.BYTES, e.hN, e.hNOff * Float.BYTES, (long) P * Float.BYTES);
        if (e.cN != null) MemorySegment.copy(c, (long) r * H * Float.BYTES, e.cN, e.cNOff * Float.BYTES, (long) H * Float.BYTES);
        if (leave(r)) e.call.complete();
    }

    /** Row r leaves the batch, the last row moving into its place; true when it was its call's last row. */
    private boolean leave(int r) {
        BatchCall.Entry e = rows[r];
        int last = --nb;
        if (r != last) {
            copyRow(h[cur], last, r, P);
            if (c != null) copyRow(c, last, r, H);
            rows[r] = rows[last];
        }
        rows[last] = null;
        if (--e.call.left > 0) return false;
        calls--;
        return true;
    }

    /**
     * Appends the call's samples. Zero-state rows must stay last (the step's product skips them), so a row
     * with an initial state that arrives after them takes the first zero-state row's place, which moves to
     * the end.
     */
    void admit(BatchCall call) {
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
            else Rows.fillZero(hc, (long) r * P, P);
            if (c != null) {
                if (e.c0 != null) MemorySegment.copy(e.c0, e.c0Off * Float.BYTES, c, (long) r * H * Float.BYTES, (long) H * Float.BYTES);
                else Rows.fillZero(c, (long) r * H, H);
            }
            if (!call.fromH0) nFresh++;
        }
    }

    /** Row {@code from} of a [rows × width] state buffer onto row {@code to}. */
    private static void copyRow(MemorySegment m, int from, int to, int width) {
        MemorySegment.copy(m, (long) from * width * Float.BYTES, m, (long) to * width * Float.BYTES, (long) width * Float.BYTES);
    }

    /** Room for the batch and {@code more} rows: call before admitting. */
    void reserve(int more) {
        ensureCapacity(nb + more);
    }

    /** A step failed: every call in the batch gets the failure; the batch starts afresh. */
    void failAll(Throwable e) {
        for (int r = 0; r < nb; r++) {
            if (!rows[r].call.done) fail(rows[r].call, e);
            rows[r] = null;
        }
        nb = 0;
        nFresh = 0;
        calls = 0;
    }

    static void fail(BatchCall call, Throwable e) {
        call.failure = e;
        call.complete();
    }

    /** Room for n rows; the live rows' state is kept. Grows by doubling, so rarely. */
    private void ensureCapacity(int n) {
        if (n <= cap) return;
        int next = Math.max(n, Math.max(4, 2 * cap));
        Arena a = dev.panamarnn.Arenas.shared();
        try {
            MemorySegment g2 = alloc(a, (long) next * GH), gh2 = spec.cell() == Cell.GRU ? alloc(a, (long) next * GH) : null;
            MemorySegment h0 = alloc(a, (long) next * P), h1 = alloc(a, (long) next * P);
            MemorySegment c2 = spec.cell() == Cell.LSTM ? alloc(a, (long) next * H) : null;
            MemorySegment raw2 = spec.proj() > 0 ? alloc(a, (long) next * H) : null;
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

    @Override
    public void close() {
        if (arena != null) arena.close();
        arena = null;
        cap = 0;
        parts.close();
    }
}
