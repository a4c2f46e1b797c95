package dev.panamarnn.cli.tasks;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The classifier's training data, as scripts/python/train_models.py makes it ({@code make_pattern},
 * {@code make_classifier_data}): noisy 1-D sequences of length {@value #MIN_LENGTH}..{@value #MAX_LENGTH}, one
 * of four patterns each. Periodic classes: amplitude 0.5–1.5, frequency 0.04–0.2 cycles/step, phase 0–1,
 * offset ±0.5, Gaussian noise of 5–25 % of the amplitude; random walk: cumulative N(0, 0.35) steps from 0, plus
 * offset and noise (still scaled by the drawn amplitude).
 */
public final class ClassifierData {
    private ClassifierData() {}

    /** The class labels by id, as in models/classifier/model.json. */
    public static final List<String> LABELS = List.of("sine", "square", "sawtooth", "random_walk");
    /** The shortest sequence. */
    public static final int MIN_LENGTH = 20;
    /** The longest sequence. */
    public static final int MAX_LENGTH = 60;

    /**
     * Labelled sequences.
     *
     * @param x      each sequence's values, one float per step, unpadded
     * @param labels each sequence's class id (index into {@link #LABELS})
     */
    public record Samples(float[][] x, int[] labels) {}

    /**
     * {@code count} sequences, label {@code i % 4} for the i-th before shuffling (balanced when {@code count}
     * is a multiple of 4), in random order. Deterministic for a given seed.
     *
     * @param seed  the random seed
     * @param count how many sequences
     * @return the samples
     */
    public static Samples generate(long seed, int count) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = i % LABELS.size();
        for (int i = count - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = labels[i];
            labels[i] = labels[j];
            labels[j] = t;
        }
        float[][] x = new float[count][];
        for (int i = 0; i < count; i++) x[i] = pattern(rng, labels[i]);
        return new Samples(x, labels);
    }

    /**
     * One sequence of class {@code label} ({@code make_pattern}).
     *
     * @param rng   the random source
     * @param label the class id, 0..3
     * @return the values, {@value #MIN_LENGTH}..{@value #MAX_LENGTH} of them
     */
    public static float[] pattern(SplittableRandom rng, int label) {
        int n = rng.nextInt(MIN_LENGTH, MAX_LENGTH + 1);
        double amp = rng.nextDouble(0.5, 1.5), freq = rng.nextDouble(0.04, 0.2), phase = rng.nextDouble();
        double offset = rng.nextDouble(-0.5, 0.5), noise = rng.nextDouble(0.05, 0.25) * amp;
        double scale = label == 3 ? 1.0 : amp; // the random walk is unscaled; its noise keeps the drawn amplitude
        float[] out = new float[n];
        double walk = 0;
        for (int t = 0; t < n; t++) {
            double cyc = freq * t + phase;
            double v = switch (label) {
                case 0 -> Math.sin(2 * Math.PI * cyc);
                case 1 -> cyc % 1.0 < 0.5 ? 1.0 : -1.0;
                case 2 -> 2.0 * (cyc % 1.0) - 1.0;
                case 3 -> walk += t == 0 ? 0 : rng.nextGaussian(0.0, 0.35);
                default -> throw new IllegalArgumentException("label " + label + " is not 0..3");
            };
            out[t] = (float) (scale * v + offset + rng.nextGaussian(0.0, noise));
        }
        return out;
    }
}
