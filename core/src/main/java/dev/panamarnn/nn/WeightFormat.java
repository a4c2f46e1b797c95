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

    /** The system property for models loaded without a format: {@value}. */
    public static final String PROPERTY = "panama.rnn.weights";

    /**
     * {@code -Dpanama.rnn.weights=f32|bf16}; F32 when unset.
     *
     * @return the format the property names
     * @throws IllegalArgumentException if it names another
     */
    public static WeightFormat fromProperty() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) return F32;
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be f32 or bf16, got '" + v + "'");
        };
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
