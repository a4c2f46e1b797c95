package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * PyTorch 1.13's {@code torch.optim.Adam} and {@code AdamW} (single-tensor path), step for step in float32:
 * Adam adds {@code wd·p} to the gradient; AdamW first scales {@code p} by {@code 1 - lr·wd}; then
 * {@code m = β1·m + (1-β1)·g}, {@code v = β2·v + (1-β2)·g²},
 * {@code p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)}. The moments live on the heap.
 */
public final class Adam implements Optimizer {
    private final List<Param> params;
    private double lr;
    private final float beta1, beta2, eps, weightDecay;
    private final boolean decoupled;
    private final float[][] m, v;
    private int t;

    /**
     * An optimiser with every hyper-parameter given.
     *
     * @param params      the parameters to update
     * @param lr          the learning rate
     * @param beta1       the first moment's decay
     * @param beta2       the second moment's decay
     * @param eps         added to the denominator
     * @param weightDecay the weight decay
     * @param decoupled   AdamW's decoupled decay (else Adam's L2 term on the gradient)
     * @throws IllegalArgumentException if a hyper-parameter is out of range
     */
    public Adam(List<Param> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
        Checks.rate("lr", lr);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        Checks.rate("eps", eps);
        Checks.rate("weight_decay", weightDecay);
        this.params = List.copyOf(params);
        this.lr = lr;
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        this.decoupled = decoupled;
        this.m = new float[this.params.size()][];
        this.v = new float[this.params.size()][];
    }

    /**
     * Adam with PyTorch's defaults (β = 0.9, 0.999; eps 1e-8; no weight decay).
     *
     * @param params the parameters to update
     * @param lr     the learning rate
     * @return the optimiser
     */
    public static Adam of(List<Param> params, double lr) {
        return new Adam(params, lr, 0.9, 0.999, 1e-8, 0, false);
    }

    /**
     * AdamW with PyTorch's defaults (β = 0.9, 0.999; eps 1e-8) and the given weight decay.
     *
     * @param params      the parameters to update
     * @param lr          the learning rate
     * @param weightDecay the decoupled weight decay (PyTorch's default 0.01)
     * @return the optimiser
     */
    public static Adam adamW(List<Param> params, double lr, double weightDecay) {
        return new Adam(params, lr, 0.9, 0.999, 1e-8, weightDecay, true);
    }

    @Override
    public void step() {
        t++;
        // as PyTorch: the corrections in double (Python floats), applied to float32 tensors
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        float stepSize = (float) (lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2), lrF = (float) lr;
        float decay = decoupled ? (float) (1 - lr * weightDecay) : 1f;
        for (int pi = 0; pi < params.size(); pi++) {
            Param p = params.get(pi);
            MemorySegment w = p.value().segment(), gs = p.grad().segment();
            int n = (int) p.size();
            if (m[pi] == null) {
                m[pi] = new float[n];
                v[pi] = new float[n];
            }
            float[] mp = m[pi], vp = v[pi];
            for (int i = 0; i < n; i++) {
                float x = w.getAtIndex(JAVA_FLOAT, i);
                float g = gs.getAtIndex(JAVA_FLOAT, i);
                if (decoupled) x = x * decay;
                else if (weightDecay != 0) g = g + weightDecay * x;
                float mi = mp[i] * beta1 + g * (1f - beta1);
                float vi = vp[i] * beta2 + g * g * (1f - beta2);
                mp[i] = mi;
                vp[i] = vi;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
                w.setAtIndex(JAVA_FLOAT, i, x + (-stepSize) * (mi / denom));
            }
        }
    }

    @Override
    public double learningRate() {
        return lr;
    }

    @Override
    public void learningRate(double lr) {
        Checks.rate("lr", lr);
        this.lr = lr;
    }

    @Override
    public List<Param> parameters() {
        return params;
    }
}
