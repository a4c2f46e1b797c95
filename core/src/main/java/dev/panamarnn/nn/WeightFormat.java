package dev.panamarnn.nn;

/**
 * How a layer stores its weight matrices ({@code W_ih}, {@code W_hh}, {@code W_hr}; biases stay float32).
 *
 * <p>{@link #BF16} is opt-in reduced precision: each weight is rounded to bfloat16 (8 significant bits,
 * round to nearest even) at load, which halves the bytes a batch-1 step reads, and the kernels widen it
 * back to float32 exactly, so all arithmetic stays float32. The outputs are then those of the model with
 * rounded weights: relative error about 2⁻⁹ per weight, which {@code docs/numerics.md} measures on the
 * standard configurations and the demo models. Select with the {@code create}/{@code load} overloads or, for
 * models loaded without one (the application models, the command line), {@code -Dpanama.rnn.weights=bf16}.
 */
public enum WeightFormat {
    /** float32, as loaded: the default. */
    F32,
    /** bfloat16, rounded at load; the arithmetic stays float32. */
    BF16;

    /** The system property for models loaded without a format: {@value} (read by {@link dev.panamarnn.Config}). */
    public static final String PROPERTY = dev.panamarnn.Config.WEIGHTS;

    /**
     * The format of models loaded without one: {@link dev.panamarnn.Config#defaults()}'s, from
     * {@code -Dpanama.rnn.weights=f32|bf16}; F32 when unset.
     *
     * @return the format
     * @throws IllegalArgumentException if the property names another (or another setting's property holds a bad value)
     */
    public static WeightFormat fromProperty() {
        return dev.panamarnn.Config.defaults().bf16Weights() ? BF16 : F32;
    }

    /**
     * The bfloat16 nearest to {@code f} (ties to even; NaN stays a NaN, infinities stay infinite).
     *
     * @param f the float
     * @return its bfloat16 bits
     */
    public static short toBf16(float f) {
        return dev.panamarnn.engine.Weights.toBf16(f);
    }
}
