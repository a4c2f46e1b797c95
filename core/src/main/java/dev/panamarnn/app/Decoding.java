package dev.panamarnn.app;

import dev.panamarnn.nn.Heads;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * How a generator picks the next token from the logits: greedy (argmax, ties to the lowest id) or
 * sampling from {@code softmax(logits / temperature)} with a seeded random source, so a run is
 * reproducible. Immutable: each generation call starts its own random stream from {@link #seed()}, and
 * draws for the samples of a batch in sample order.
 *
 * @param temperature 0 for greedy, else the softmax temperature; finite
 * @param seed        the random source's seed, for sampling
 */
public record Decoding(double temperature, long seed) {

    /**
     * Checks the temperature.
     *
     * @throws IllegalArgumentException if it is negative, NaN or infinite
     */
    public Decoding {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
    }

    /**
     * Greedy decoding: the argmax at every step.
     *
     * @return the decoding
     */
    public static Decoding greedy() {
        return new Decoding(0, 0);
    }

    /**
     * Sampling from {@code softmax(logits / temperature)}, seeded.
     *
     * @param temperature ≥ 0; 0 is greedy
     * @param seed        the random source's seed
     * @return the decoding
     */
    public static Decoding temperature(double temperature, long seed) {
        return new Decoding(temperature, seed);
    }

    /**
     * Whether this decoding is greedy (temperature 0).
     *
     * @return whether greedy
     */
    public boolean isGreedy() {
        return temperature == 0;
    }

    SplittableRandom random() {
        return new SplittableRandom(seed);
    }

    /**
     * Picks a token from the {@code n} logits at float offset {@code off} of {@code s}. Greedy, or when a
     * logit is NaN or +Inf: {@link Heads#argmax} (as PyTorch, the first NaN wins). Sampling skips NaN logits.
     */
    int pick(MemorySegment s, long off, int n, SplittableRandom rnd) {
        int best = Heads.argmax(s, off, n);
        if (isGreedy()) return best;
        float max = s.getAtIndex(ValueLayout.JAVA_FLOAT, off + best);
        if (max == Float.POSITIVE_INFINITY || max != max) return best;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = s.getAtIndex(ValueLayout.JAVA_FLOAT, off + i);
            if (v == v) sum += StrictMath.exp((v - max) / temperature);
        }
        double u = rnd.nextDouble() * sum, acc = 0;
        int last = best;
        for (int i = 0; i < n; i++) {
            float v = s.getAtIndex(ValueLayout.JAVA_FLOAT, off + i);
            if (v != v) continue;
            double p = StrictMath.exp((v - max) / temperature);
            if (p > 0) last = i;
            acc += p;
            if (u < acc) return i;
        }
        return last; // rounding left u at the very end
    }

    /** {@link Heads#argmax(MemorySegment, long, int)} over a heap row: the first NaN, else the first largest value. */
    static int argmax(float[] row) {
        int best = 0;
        for (int v = 1; v < row.length && row[best] == row[best]; v++) if (row[v] > row[best] || row[v] != row[v]) best = v;
        return best;
    }
}
