package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** PyTorch's {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient by {@code min(1, maxNorm / (total + 1e-6))}, {@code total} being the 2-norm of all
     * gradients together, as PyTorch 1.13 (which multiplies even when the factor is 1).
     *
     * @param params  the parameters whose gradients are clipped
     * @param maxNorm the largest norm allowed, &gt; 0
     * @return the total norm before clipping
     * @throws IllegalArgumentException if {@code maxNorm} is not positive
     */
    public static double clipGradNorm(List<Param> params, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
        double total = 0;
        for (Param p : params) {
            MemorySegment g = p.grad().segment();
            double sq = 0;
            for (long i = 0, n = p.size(); i < n; i++) {
                double x = g.getAtIndex(JAVA_FLOAT, i);
                sq += x * x;
            }
            float norm = (float) Math.sqrt(sq); // PyTorch: each tensor's norm in float32, then the norm of the norms
            total += (double) norm * norm;
        }
        float totalNorm = (float) Math.sqrt(total);
        float coef = Math.min(1f, (float) maxNorm / (totalNorm + 1e-6f));
        for (Param p : params) {
            MemorySegment g = p.grad().segment();
            for (long i = 0, n = p.size(); i < n; i++) g.setAtIndex(JAVA_FLOAT, i, g.getAtIndex(JAVA_FLOAT, i) * coef);
        }
        return totalNorm;
    }
}
