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
 *
 * <p>{@link #BF16_IF_FASTER} allows that rounding without asking for it: the layer takes bfloat16 only when
 * this machine's measurement ({@code dev.panamarnn.Tuning}) found a one-row step over a W_hh of its size
 * faster in bfloat16 than the fastest float32 step, and float32 otherwise; decided once, at load, for the
 * whole layer, so its results never depend on the batch. {@code RecurrentLayer.weightFormat()} and
 * {@code explain()} say which it took.
 */
public enum WeightFormat {
    /** float32, as loaded: the default. */
    F32,
    /** bfloat16, rounded at load; the arithmetic stays float32. */
    BF16,
    /** bfloat16 where this machine measured the batch-1 step faster with it (latency serving), float32 otherwise. */
    BF16_IF_FASTER;

    /** The system property for models loaded without a format: {@value} (read by {@link dev.panamarnn.Config}). */
    public static final String PROPERTY = dev.panamarnn.Config.WEIGHTS;

    /**
     * The format of models loaded without one: {@link dev.panamarnn.Config#defaults()}'s, from
     * {@code -Dpanama.rnn.weights=f32|bf16|bf16-if-faster}; F32 when unset.
     *
     * @return the format
     * @throws IllegalArgumentException if the property names another (or another setting's property holds a bad value)
     */
    public static WeightFormat fromProperty() {
        return of(dev.panamarnn.Config.defaults().weights());
    }

    /**
     * The format a {@link dev.panamarnn.Config#weights()} value names.
     *
     * @param setting {@code f32}, {@code bf16} or {@code bf16-if-faster}
     * @return the format
     * @throws IllegalArgumentException for another value
     */
    public static WeightFormat of(String setting) {
        return switch (setting) {
            case "f32" -> F32;
            case "bf16" -> BF16;
            case "bf16-if-faster" -> BF16_IF_FASTER;
            default -> throw new IllegalArgumentException("weights must be f32, bf16 or bf16-if-faster, got '" + dev.panamarnn.Text.escape(setting, 40) + "'");
        };
    }

    /**
     * Whether a layer of this format stores bfloat16: BF16 always; BF16_IF_FASTER when the layer computes on
     * one thread per call (where it was measured: at two, each core reads half of W_hh, and float32 won
     * there) and {@code kernels} measured a one-row step over a W_hh of {@code whhFloats} floats faster in
     * bfloat16. {@code why}, when not null, receives the reason for BF16_IF_FASTER's choice.
     */
    boolean bf16On(dev.panamarnn.kernel.Kernels kernels, long whhFloats, int threads, StringBuilder why) {
        if (this != BF16_IF_FASTER) return this == BF16;
        boolean faster = kernels.prefersBf16Steps(whhFloats), on = faster && threads == 1;
        if (why != null) why.append(on ? "this machine measured the one-sample step faster over bfloat16 W_hh"
                : !faster ? "the one-sample step was not measured faster over bfloat16 W_hh on this backend"
                : "two threads per call, where float32 steps are faster");
        return on;
    }

    /**
     * The bfloat16 nearest to {@code f} (ties to even; NaN stays a NaN, infinities stay infinite).
     *
     * @param f the float
     * @return its bfloat16 bits
     */
    public static short toBf16(float f) {
        return dev.panamarnn.kernel.Bf16Layout.round(f);
    }
}
