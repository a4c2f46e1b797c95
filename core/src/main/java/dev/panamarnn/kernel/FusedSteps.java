package dev.panamarnn.kernel;

import dev.panamarnn.Activation;
import java.lang.foreign.MemorySegment;

/**
 * A capability of a backend's kernels: the fused recurrent step. W_hh is prepared once
 * ({@link #prepareStep}) so that a tile of the product {@code h·W_hhᵀ} holds every gate of its hidden
 * units; the step then computes the tile, adds the input's pre-activations (and GRU's {@code b_hn}),
 * applies the cell update and writes h (and c) while the tile is in cache: no gate row written and read
 * back, no separate gate pass. Backends without it run the product and {@link CellMath}'s cell kernels
 * one after the other; the results are the same bits when a backend's fused step is built, as the Vector
 * API's is, from the same accumulation order and the same cell kernels.
 *
 * <p>No argument checking happens here (see {@link CellMath}).
 */
public interface FusedSteps {

    /**
     * Prepares a (layer, direction)'s recurrent weights for {@link #fusedStep}, the hidden units cut into
     * partitions (the ranges that threads or batched parts take): partition q holds units
     * {@code [from[q], from[q+1])}, and its rows of W_hh start at row {@code gates·from[q]}, gate-major
     * within the partition (row {@code gates·from[q] + g·h_q + j} is gate g of its unit j, h_q its units).
     *
     * @param gates      4 (LSTM), 3 (GRU) or 1 (Elman)
     * @param activation the Elman cell's activation (tanh or ReLU); ignored for LSTM and GRU
     * @param w          W_hh {@code [gates·H × k]} in that order
     * @param wOff       its first element, in floats
     * @param ldw        its leading dimension, in floats
     * @param from       the partitions' first units, and H last (copied)
     * @param k          the width of h
     * @return the prepared weights, for this backend's {@link #fusedStep} only
     */
    StepWeights prepareStep(int gates, Activation activation, MemorySegment w, long wOff, int ldw, int[] from, int k);

    /**
     * One step of partitions {@code [q0, q1)} for {@code m} rows, every row with state (the product is not
     * skipped). h {@code [m × k]} is read whole first, so {@code hOut} may be h itself. Row r of
     * {@code pre} holds the input's pre-activations with the folded biases, in the partitions' order (gate
     * g of partition q's unit j at column {@code gates·from[q] + g·h_q + j}), read only. Then, as
     * {@link CellMath} defines each cell, with the product added to {@code pre} (LSTM, Elman) or to
     * {@code bias} (GRU: {@code W_hh·h + b_hh}, {@code bias} in the same column order): the new h of unit u
     * goes to column u of {@code hOut}, an LSTM's c (column u) is updated in place.
     *
     * @param m    rows
     * @param w    the weights, prepared by this backend
     * @param q0   the first partition
     * @param q1   past the last partition
     * @param h    the previous state's memory {@code [m × k]}
     * @param hOff its first element, in floats
     * @param ldh  its leading dimension
     * @param pre  the pre-activations' memory {@code [m × gates·H]}
     * @param pOff their first element, in floats
     * @param ldp  their leading dimension
     * @param bias GRU: b_hh ({@code [gates·H]}, only the n gate nonzero); else null
     * @param c    LSTM: the cell state's memory {@code [m × H]}, updated; else null
     * @param cOff its first element, in floats
     * @param ldc  its leading dimension
     * @param hOut the new state's memory {@code [m × H]}, written
     * @param hoOff its first element, in floats
     * @param ldho its leading dimension
     */
    void fusedStep(int m, StepWeights w, int q0, int q1, MemorySegment h, long hOff, int ldh,
                   MemorySegment pre, long pOff, int ldp, MemorySegment bias,
                   MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hoOff, int ldho);
}
