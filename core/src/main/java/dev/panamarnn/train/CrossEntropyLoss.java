package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * PyTorch's {@code nn.CrossEntropyLoss} over logits {@code [N × C]} and class targets: log-softmax per row
 * (in double), the mean or sum of {@code -log p[target]} over rows whose target is not {@code ignoreIndex},
 * and the gradient {@code softmax - onehot} (divided by the number of counted rows for the mean; zero for
 * ignored rows).
 *
 * @param ignoreIndex targets equal to it count for nothing (PyTorch's default is -100)
 * @param mean        whether the reduction is the mean (else the sum)
 */
public record CrossEntropyLoss(int ignoreIndex, boolean mean) {

    /** PyTorch's default: mean, nothing ignored. */
    public CrossEntropyLoss() {
        this(-100, true);
    }

    /**
     * The loss, and its gradient w.r.t. the logits written into {@code dLogits}.
     *
     * @param logits  {@code [N × C]}
     * @param targets N class ids in {@code 0..C-1}, or {@code ignoreIndex}
     * @param dLogits {@code [N × C]}, written (may be {@code logits} itself)
     * @return the loss (NaN for a mean over no counted row, as PyTorch)
     * @throws IllegalArgumentException naming the position of a target out of range, or a shape that does not fit
     */
    public float forwardBackward(Tensor logits, int[] targets, Tensor dLogits) {
        int n = logits.rows(), c = logits.cols();
        if (targets.length != n) throw new IllegalArgumentException("targets: expected " + n + " (one per logits row), got " + targets.length);
        if (dLogits.rows() != n || dLogits.cols() != c) throw new IllegalArgumentException("dLogits: expected [" + n + " × " + c + "], got " + dLogits.shapeString());
        int counted = 0;
        for (int i = 0; i < n; i++) {
            if (targets[i] == ignoreIndex) continue;
            if (targets[i] < 0 || targets[i] >= c) throw new IllegalArgumentException("targets[" + i + "] = " + targets[i] + " is outside 0.." + (c - 1));
            counted++;
        }
        MemorySegment ls = logits.segment(), ds = dLogits.segment();
        double total = 0;
        double scale = mean ? 1.0 / counted : 1.0;
        for (int i = 0; i < n; i++) {
            long lo = logits.offset() + (long) i * logits.ld(), dOff = dLogits.offset() + (long) i * dLogits.ld();
            if (targets[i] == ignoreIndex) {
                for (int j = 0; j < c; j++) ds.setAtIndex(JAVA_FLOAT, dOff + j, 0f);
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, ls.getAtIndex(JAVA_FLOAT, lo + j));
            double sum = 0;
            for (int j = 0; j < c; j++) sum += Math.exp(ls.getAtIndex(JAVA_FLOAT, lo + j) - max);
            double logZ = max + Math.log(sum);
            total += logZ - ls.getAtIndex(JAVA_FLOAT, lo + targets[i]);
            for (int j = 0; j < c; j++) {
                double p = Math.exp(ls.getAtIndex(JAVA_FLOAT, lo + j) - logZ);
                ds.setAtIndex(JAVA_FLOAT, dOff + j, (float) ((p - (j == targets[i] ? 1 : 0)) * scale));
            }
        }
        return counted == 0 && mean ? Float.NaN : (float) (total * scale);
    }

    /**
     * How many rows' largest logit (the first, on a tie) is their target; rows whose target is
     * {@code ignoreIndex} are not counted.
     *
     * @param logits  {@code [N × C]}
     * @param targets N class ids, or {@code ignoreIndex}
     * @return the number of correct rows
     * @throws IllegalArgumentException if the counts do not fit
     */
    public int correct(Tensor logits, int[] targets) {
        int n = logits.rows(), c = logits.cols();
        if (targets.length != n) throw new IllegalArgumentException("targets: expected " + n + " (one per logits row), got " + targets.length);
        MemorySegment ls = logits.segment();
        int ok = 0;
        for (int i = 0; i < n; i++) {
            if (targets[i] == ignoreIndex) continue;
            long lo = logits.offset() + (long) i * logits.ld();
            int best = 0;
            float bv = ls.getAtIndex(JAVA_FLOAT, lo);
            for (int j = 1; j < c; j++) {
                float v = ls.getAtIndex(JAVA_FLOAT, lo + j);
                if (v > bv) {
                    bv = v;
                    best = j;
                }
            }
            if (best == targets[i]) ok++;
        }
        return ok;
    }
}
