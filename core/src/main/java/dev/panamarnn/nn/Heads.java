package dev.panamarnn.nn;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Checks;
import dev.panamarnn.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Row-wise softmax, log-softmax and argmax over logits {@code [N × V]} (any leading dimensions), in
 * place or into another tensor, allocation-free. Max-subtracted for stability, sums in double; NaN in
 * a row makes that row NaN (softmax) and is its argmax (the first NaN, as {@code torch.argmax}).
 */
public final class Heads {
    private Heads() {}

    /**
     * Softmax of each row of {@code logits} into {@code probs}, which may be {@code logits} itself.
     *
     * @param logits the logits, {@code [N × V]} as a matrix
     * @param probs  written: the probabilities, of the same shape
     * @throws IllegalArgumentException if the shapes differ
     */
    public static void softmax(Tensor logits, Tensor probs) {
        apply("softmax", logits, probs, false);
    }

    /**
     * Log-softmax of each row of {@code logits} into {@code out}, which may be {@code logits} itself.
     *
     * @param logits the logits, {@code [N × V]} as a matrix
     * @param out    written: the log-probabilities, of the same shape
     * @throws IllegalArgumentException if the shapes differ
     */
    public static void logSoftmax(Tensor logits, Tensor out) {
        apply("logSoftmax", logits, out, true);
    }

    /**
     * Index of the largest value of each row into {@code out} (length = rows), as {@code torch.argmax}:
     * ties go to the lowest index, and a NaN counts as larger than everything (the first NaN wins), so
     * a model whose output went NaN shows it instead of hiding it behind a plausible token.
     *
     * @param logits the logits, {@code [N × V]} as a matrix
     * @param out    written: one index per row
     * @throws IllegalArgumentException if {@code out.length} is not the number of rows
     */
    public static void argmax(Tensor logits, int[] out) {
        Checks.alive("argmax", "logits", logits);
        if (out.length != logits.rows()) {
            throw new IllegalArgumentException("argmax: out must have one entry per row (" + logits.rows() + "), got " + out.length);
        }
        for (int r = 0; r < logits.rows(); r++) out[r] = argmax(logits.segment(), logits.offset() + (long) r * logits.ld(), logits.cols());
    }

    /**
     * {@link #argmax(Tensor, int[])} of the {@code n} floats at float offset {@code off} of {@code s}.
     *
     * @param s   the memory
     * @param off the first float, in floats
     * @param n   how many floats, ≥ 1
     * @return the index of the largest, 0..n-1
     */
    public static int argmax(MemorySegment s, long off, int n) {
        int best = 0;
        float bv = s.getAtIndex(JAVA_FLOAT, off);
        for (int i = 1; i < n && bv == bv; i++) {
            float v = s.getAtIndex(JAVA_FLOAT, off + i);
            if (v > bv || v != v) {
                bv = v;
                best = i;
            }
        }
        return best;
    }

    private static void apply(String op, Tensor in, Tensor out, boolean log) {
        Checks.alive(op, "logits", in);
        Checks.shape(op, "out", out, in.rows(), in.cols());
        for (int r = 0; r < in.rows(); r++) {
            row(in.segment(), in.offset() + (long) r * in.ld(), out.segment(), out.offset() + (long) r * out.ld(), in.cols(), log);
        }
    }

    /** Softmax (or log-softmax) of n floats at (src, so) into (dst, dOff); dst may be src. */
    static void row(MemorySegment src, long so, MemorySegment dst, long dOff, int n, boolean log) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, src.getAtIndex(JAVA_FLOAT, so + i));
        double sum = 0;
        for (int i = 0; i < n; i++) sum += StrictMath.exp(src.getAtIndex(JAVA_FLOAT, so + i) - max);
        double logSum = StrictMath.log(sum);
        for (int i = 0; i < n; i++) {
            double z = src.getAtIndex(JAVA_FLOAT, so + i) - max;
            dst.setAtIndex(JAVA_FLOAT, dOff + i, (float) (log ? z - logSum : StrictMath.exp(z) / sum));
        }
    }
}
