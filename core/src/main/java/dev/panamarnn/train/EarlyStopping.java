package dev.panamarnn.train;

import dev.panamarnn.nn.StateDict;
import java.util.function.Supplier;

/**
 * Early stopping on a validation metric (higher is better): keeps a copy of the weights of the best epoch,
 * and says to stop after {@code patience} epochs without an improvement of more than {@code minDelta}, or
 * once the metric reaches {@code target}. With {@code minDelta} 0 a tie counts as an improvement (the later
 * epoch's weights are kept).
 */
public final class EarlyStopping {
    private final int patience;
    private final double minDelta, target;
    private double best = Double.NEGATIVE_INFINITY;
    private StateDict bestWeights;
    private int bestEpoch = -1, epoch = -1, since;

    /**
     * Early stopping with the given rules.
     *
     * @param patience epochs without improvement before stopping, ≥ 1
     * @param minDelta the least gain that counts as an improvement, ≥ 0
     * @param target   a metric at which to stop at once ({@code Double.POSITIVE_INFINITY}: none)
     */
    public EarlyStopping(int patience, double minDelta, double target) {
        if (patience < 1) throw new IllegalArgumentException("patience must be >= 1, got " + patience);
        if (!(minDelta >= 0)) throw new IllegalArgumentException("minDelta must be >= 0, got " + minDelta);
        this.patience = patience;
        this.minDelta = minDelta;
        this.target = target;
    }

    /**
     * Records an epoch's validation metric.
     *
     * @param metric  the metric (higher is better)
     * @param weights the model's weights, copied only when this epoch is the best so far
     * @return whether to stop now
     */
    public boolean update(double metric, Supplier<StateDict> weights) {
        epoch++;
        // a tie with the best (minDelta 0) moves the best to the later epoch: as good on validation, trained longer
        if (minDelta == 0 ? metric >= best : metric > best + minDelta) {
            best = metric;
            bestWeights = weights.get();
            bestEpoch = epoch;
            since = 0;
        } else {
            since++;
        }
        return metric >= target || since >= patience;
    }

    /**
     * The best metric so far.
     *
     * @return the metric, or negative infinity before the first update
     */
    public double best() {
        return best;
    }

    /**
     * The epoch (0 = the first) of the best metric.
     *
     * @return the epoch, or -1 before the first update
     */
    public int bestEpoch() {
        return bestEpoch;
    }

    /**
     * The weights of the best epoch.
     *
     * @return the copy, or {@code null} before the first update
     */
    public StateDict bestWeights() {
        return bestWeights;
    }
}
