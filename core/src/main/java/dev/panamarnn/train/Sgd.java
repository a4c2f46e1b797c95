package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * PyTorch 1.13's {@code torch.optim.SGD}, step for step in float32: {@code d = g + wd·p}; with momentum,
 * {@code buf = d} at the first step, then {@code buf = m·buf + (1-dampening)·d}, and {@code d = buf} (Nesterov:
 * {@code d + m·buf}); {@code p -= lr·d}. The momentum buffers live on the heap.
 */
public final class Sgd implements Optimizer {
    private final List<Param> params;
    private double lr;
    private final float momentum, dampening, weightDecay;
    private final boolean nesterov;
    private final float[][] buffers;
    private boolean started;

    /**
     * An optimiser with every hyper-parameter given.
     *
     * @param params      the parameters to update
     * @param lr          the learning rate
     * @param momentum    the momentum factor (0: none)
     * @param dampening   the dampening of momentum
     * @param weightDecay L2 penalty added to the gradient
     * @param nesterov    whether to use Nesterov momentum (needs momentum &gt; 0 and no dampening)
     * @throws IllegalArgumentException if a hyper-parameter is out of range
     */
    public Sgd(List<Param> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        Checks.rate("lr", lr);
        Checks.rate("momentum", momentum);
        Checks.rate("weight_decay", weightDecay);
        if (!Double.isFinite(dampening)) throw new IllegalArgumentException("dampening must be finite, got " + dampening);
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new IllegalArgumentException("Nesterov momentum requires a momentum and zero dampening");
        this.params = List.copyOf(params);
        this.lr = lr;
        this.momentum = (float) momentum;
        this.dampening = (float) dampening;
        this.weightDecay = (float) weightDecay;
        this.nesterov = nesterov;
        this.buffers = new float[this.params.size()][];
    }

    /**
     * Plain SGD with momentum and no weight decay.
     *
     * @param params   the parameters to update
     * @param lr       the learning rate
     * @param momentum the momentum factor (0: none)
     * @return the optimiser
     */
    public static Sgd of(List<Param> params, double lr, double momentum) {
        return new Sgd(params, lr, momentum, 0, 0, false);
    }

    @Override
    public void step() {
        float lrF = (float) lr;
        for (int pi = 0; pi < params.size(); pi++) {
            Param p = params.get(pi);
            MemorySegment v = p.value().segment(), g = p.grad().segment();
            int n = (int) p.size();
            if (momentum != 0 && buffers[pi] == null) buffers[pi] = new float[n];
            float[] buf = buffers[pi];
            for (int i = 0; i < n; i++) {
                float w = v.getAtIndex(JAVA_FLOAT, i);
                float d = g.getAtIndex(JAVA_FLOAT, i);
                if (weightDecay != 0) d = d + weightDecay * w;
                if (momentum != 0) {
                    float b = started ? momentum * buf[i] + (1f - dampening) * d : d;
                    buf[i] = b;
                    d = nesterov ? d + momentum * b : b;
                }
                v.setAtIndex(JAVA_FLOAT, i, w - lrF * d);
            }
        }
        started = true;
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
