package dev.panamarnn.kernel;

import dev.panamarnn.Activation;

/**
 * A (layer, direction)'s recurrent weights W_hh, its hidden units cut into partitions, prepared once by
 * {@link FusedSteps#prepareStep} for {@link FusedSteps#fusedStep}: laid out so that one tile of the product
 * holds every gate of its units, and the cell update can follow while the tile is in cache. Opaque to
 * callers: only the backend that made it reads it. Holds no native memory (a backend's copy lives on the
 * heap), so there is nothing to close.
 */
public abstract class StepWeights {
    private final int gates, k;
    private final int[] from;
    private final Activation activation;

    /**
     * For subclasses.
     *
     * @param gates      4 (LSTM), 3 (GRU) or 1 (Elman)
     * @param activation the Elman cell's activation; ignored for the others
     * @param from       the partitions' first units, and H last (copied)
     * @param k          the reduction length: the width of h
     */
    protected StepWeights(int gates, Activation activation, int[] from, int k) {
        this.gates = gates;
        this.activation = activation;
        this.from = from.clone();
        this.k = k;
    }

    /**
     * The number of gates: 4 (LSTM), 3 (GRU) or 1 (Elman).
     *
     * @return the gates
     */
    public final int gates() {
        return gates;
    }

    /**
     * The Elman cell's activation (for LSTM and GRU, whatever was passed; unused).
     *
     * @return the activation
     */
    public final Activation activation() {
        return activation;
    }

    /**
     * The partitions.
     *
     * @return their number
     */
    public final int parts() {
        return from.length - 1;
    }

    /**
     * The first unit of partition q ({@code q = parts()}: H).
     *
     * @param q a partition, or {@link #parts()}
     * @return its first unit
     */
    public final int unit(int q) {
        return from[q];
    }

    /**
     * The reduction length: the width of the state h that multiplies W_hh.
     *
     * @return k
     */
    public final int k() {
        return k;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + gates + " gates × " + from[from.length - 1] + " units × " + k + ", " + parts() + " partitions]";
    }
}
