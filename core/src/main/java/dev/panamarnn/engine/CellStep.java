package dev.panamarnn.engine;

import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import dev.panamarnn.kernel.StepWeights;
import java.lang.foreign.MemorySegment;

/**
 * One recurrent step's arithmetic for one (layer, direction): the product {@code h·W_hhᵀ}, GRU's
 * {@code b_hn}, the fused gate kernel and, for an LSTM with projection, {@code h = raw·W_hrᵀ}. Written once
 * here, for any range of partitions {@code [q0, q1)} of the hidden units: all of them (a whole step on one
 * thread), one (a thread's share of a step, or a batched step's part).
 *
 * <p>Partition q holds units {@code [from[q], from[q+1])}; its gate pre-activations are the columns from
 * {@code G·from[q]} of a row, gate-major (the layout of {@link Weights}, or of the batching engine's own
 * finer parts, {@link BatchParts}). The product over partitions {@code [q0, q1)} is one GEMM over their
 * W_hh rows, which are contiguous, or one prepared-weights product per partition when the backend prefers
 * those ({@link Kernels#prefersPreparedSteps}); the gate kernels run per partition (an Elman cell, whose
 * layout does not depend on the cut, in one call over the range). Where the kernels prefer the fused step
 * for the rows with state ({@link Kernels#prefersFusedSteps}), those rows take it instead, over W_hh packed
 * for it at load, and the rows starting from zero state take the gate kernels alone.
 */
final class CellStep {
    private final Cell cell;
    private final int G, H, P;
    private final int[] from;
    /** W_hh's and W_hr's rows for the GEMM (bfloat16 when {@link #bf16}); null when always prepared. */
    private final boolean bf16;
    private final MemorySegment whh, whr;
    /** W_hh prepared per partition, or null; whether to use them for any number of rows. */
    private final PreparedWeights[] panels;
    private final boolean alwaysPrepared;
    /** GRU: b_hn in the partitions' column order ({@code [G·H]}), else null. */
    private final MemorySegment hnBias;
    /** LSTM projection W_hr prepared, or null (then the GEMM over {@link #whr}); whether there is a projection. */
    private final PreparedWeights whrPrepared;
    private final boolean projected;
    /** W_hh prepared for the fused step ({@link Kernels#prefersFusedSteps}), or null; W_hh's size, which picks the step shape. */
    private final StepWeights fused;
    private final long whhFloats;

    /**
     * A step over partitions {@code from}: the product over W_hh's rows {@code whh} (float32, or bfloat16 when
     * {@code bf16}) by GEMM, or over {@code panels} (W_hh prepared per partition, or null) when the backend
     * prefers them for the step's rows or {@code alwaysPrepared}; GRU's b_hn in the partitions' order; an LSTM
     * projection's W_hr as rows ({@code whr}) or prepared ({@code whrPrepared}), else both null.
     */
    CellStep(Shape shape, int[] from, boolean bf16, MemorySegment whh, MemorySegment whr, PreparedWeights[] panels,
             boolean alwaysPrepared, MemorySegment hnBias, PreparedWeights whrPrepared, StepWeights fused) {
        this.cell = shape.cell();
        this.G = shape.gates();
        this.H = shape.hidden();
        this.P = shape.output();
        this.from = from;
        this.bf16 = bf16;
        this.whh = whh;
        this.whr = whr;
        this.panels = panels;
        this.alwaysPrepared = alwaysPrepared;
        this.hnBias = hnBias;
        this.whrPrepared = whrPrepared;
        this.projected = whr != null || whrPrepared != null;
        this.fused = fused;
        this.whhFloats = (long) G * H * P;
    }

    /** The partitions. */
    int parts() {
        return from.length - 1;
    }

    /** The first unit of partition q ({@code q = parts()}: H). */
    int unit(int q) {
        return from[q];
    }

    /**
     * Partitions {@code [q0, q1)} of a step for rows {@code [0, n)}. {@code gates} holds each row's
     * pre-activations ({@code W_ih·x} plus the folded bias) and is used in place; the first {@code stale}
     * rows have the product {@code h·W_hhᵀ} added, the others start from zero state and skip it. The new h
     * goes to {@code hOut}, which may be {@code hPrev} (each partition reads only its own units of h, after
     * the product has read all of them). {@code gh} (GRU: {@code W_hh·h + b_hn}), {@code c} (LSTM) and
     * {@code raw} (LSTM with projection: h before it) are scratch or state of the same rows; null when
     * the cell has none.
     */
    void run(Kernels k, int q0, int q1, int n, int stale, Mat hPrev, Mat hOut, Mat gates, Mat gh, Mat c, Mat raw) {
        int done = 0;
        if (fused != null && stale > 0 && k.prefersFusedSteps(stale, whhFloats)) {
            k.fusedStep(stale, fused, q0, q1, hPrev.seg, hPrev.off, hPrev.ld, gates.seg, gates.off, gates.ld, hnBias,
                    c == null ? null : c.seg, c == null ? 0 : c.off, c == null ? 0 : c.ld, hOut.seg, hOut.off, hOut.ld);
            done = stale;
            stale = 0;
        }
        if (done < n) unfused(k, q0, q1, done, n - done, stale, hPrev, hOut, gates, gh, c, raw);
    }

    /** {@link #run} for rows {@code [r0, r0 + n)}, the first {@code stale} of them with state, without the fused step. */
    private void unfused(Kernels k, int q0, int q1, int r0, int n, int stale, Mat hPrev, Mat hOut, Mat gates, Mat gh, Mat c, Mat raw) {
        long ho = hOut.row(r0), go = gates.row(r0), co = c == null ? 0 : c.row(r0);
        switch (cell) {
            case LSTM -> {
                if (stale > 0) product(k, q0, q1, stale, hPrev, gates.seg, go, gates.ld);
                if (projected) { // one partition: the whole h, then its projection
                    long ro = raw.row(r0);
                    k.lstmCell(n, H, gates.seg, go, gates.ld, c.seg, co, c.ld, raw.seg, ro, raw.ld);
                    if (whrPrepared != null) k.gemmPrepared(n, whrPrepared, raw.seg, ro, raw.ld, 0f, hOut.seg, ho, hOut.ld);
                    else Products.gemm(k, bf16, n, P, H, raw.seg, ro, raw.ld, whr, 0, 0f, hOut.seg, ho, hOut.ld);
                    return;
                }
                for (int q = q0; q < q1; q++) {
                    int a = from[q], hq = from[q + 1] - a;
                    k.lstmCell(n, hq, gates.seg, go + (long) G * a, gates.ld, c.seg, co + a, c.ld, hOut.seg, ho + a, hOut.ld);
                }
            }
            case GRU -> {
                long col = (long) G * from[q0], width = (long) G * (from[q1] - from[q0]), gho = gh.row(r0);
                for (int r = 0; r < n; r++) {
                    MemorySegment.copy(hnBias, col * Float.BYTES, gh.seg, (gho + (long) r * gh.ld + col) * Float.BYTES, width * Float.BYTES);
                }
                if (stale > 0) product(k, q0, q1, stale, hPrev, gh.seg, gho, gh.ld);
                long hp = hPrev.row(r0);
                for (int q = q0; q < q1; q++) {
                    int a = from[q], hq = from[q + 1] - a;
                    long g = (long) G * a;
                    k.gruCell(n, hq, gates.seg, go + g, gates.ld, gh.seg, gho + g, gh.ld,
                            hPrev.seg, hp + a, hPrev.ld, hOut.seg, ho + a, hOut.ld);
                }
            }
            case RNN_TANH, RNN_RELU -> {
                if (stale > 0) product(k, q0, q1, stale, hPrev, gates.seg, go, gates.ld);
                int a = from[q0];
                k.rnnCell(n, from[q1] - a, cell.activation(), gates.seg, go + a, gates.ld, hOut.seg, ho + a, hOut.ld);
            }
        }
    }

    /**
     * {@code C += h·W_hhᵀ} for the first m rows and partitions {@code [q0, q1)}; C's row starts at
     * {@code cOff} and the partitions' columns at {@code G·from[q]} in it. Prepared, each element is the
     * same arithmetic however the partitions are grouped; otherwise one GEMM over the range's rows.
     */
    private void product(Kernels k, int q0, int q1, int m, Mat h, MemorySegment c, long cOff, int ldc) {
        if (panels != null && (alwaysPrepared || k.prefersPreparedSteps(m))) {
            for (int q = q0; q < q1; q++) k.gemmPrepared(m, panels[q], h.seg, h.off, h.ld, 1f, c, cOff + (long) G * from[q], ldc);
            return;
        }
        long first = (long) G * from[q0];
        Products.gemm(k, bf16, m, G * (from[q1] - from[q0]), P, h.seg, h.off, h.ld, whh, first * P, 1f, c, cOff + first, ldc);
    }
}
