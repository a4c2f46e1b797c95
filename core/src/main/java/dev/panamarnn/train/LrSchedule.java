package dev.panamarnn.train;

/**
 * A learning-rate schedule by step, as PyTorch's {@code StepLR} and {@code CosineAnnealingLR} (closed forms):
 * {@link #rate(long)} is the rate for the step with that index (0 = the first).
 */
@FunctionalInterface
public interface LrSchedule {
    /**
     * The rate of one step.
     *
     * @param step the step's index, ≥ 0
     * @return the learning rate of that step
     */
    double rate(long step);

    /**
     * A constant rate.
     *
     * @param lr the rate
     * @return the schedule
     */
    static LrSchedule constant(double lr) {
        return step -> lr;
    }

    /**
     * {@code StepLR}: {@code lr·gamma^(step / every)}.
     *
     * @param lr    the initial rate
     * @param every steps between decays, ≥ 1
     * @param gamma the factor at each decay
     * @return the schedule
     */
    static LrSchedule step(double lr, long every, double gamma) {
        if (every < 1) throw new IllegalArgumentException("every must be >= 1, got " + every);
        return step -> lr * Math.pow(gamma, step / every);
    }

    /**
     * {@code CosineAnnealingLR}: {@code etaMin + (lr - etaMin)·(1 + cos(π·step/tMax))/2}.
     *
     * @param lr     the initial rate
     * @param tMax   the steps of the half period, ≥ 1
     * @param etaMin the rate at the end
     * @return the schedule
     */
    static LrSchedule cosine(double lr, long tMax, double etaMin) {
        if (tMax < 1) throw new IllegalArgumentException("tMax must be >= 1, got " + tMax);
        return step -> etaMin + (lr - etaMin) * (1 + Math.cos(Math.PI * step / tMax)) / 2;
    }
}
