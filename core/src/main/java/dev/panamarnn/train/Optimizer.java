package dev.panamarnn.train;

import java.util.List;

/** An optimiser over a fixed list of parameters: {@link #step()} applies their accumulated gradients. */
public interface Optimizer {
    /** Updates every parameter from its gradient (gradients are left as they are). */
    void step();

    /**
     * The learning rate of the next step.
     *
     * @return the learning rate of the next step
     */
    double learningRate();

    /**
     * Sets the learning rate of the next steps (what a schedule does).
     *
     * @param lr the learning rate, finite and ≥ 0
     */
    void learningRate(double lr);

    /**
     * The parameters this optimiser updates.
     *
     * @return the parameters this optimiser updates
     */
    List<Param> parameters();

    /** Sets every parameter's gradient to zero. */
    default void zeroGrad() {
        for (Param p : parameters()) p.grad().fill(0f);
    }
}
