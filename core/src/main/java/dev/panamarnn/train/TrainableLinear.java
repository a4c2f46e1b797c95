package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import java.util.SplittableRandom;

/**
 * PyTorch's {@code nn.Linear} being trained: {@code y = x·Wᵀ + b} over rows, and its backward
 * ({@code dW += dyᵀ·x}, {@code db += Σ dy}, {@code dx = dy·W}) as GEMMs.
 */
public final class TrainableLinear extends Trainable {
    private final int in, outF;
    private final Param weight, bias;
    private final Kernels k;
    private Tensor lastX;
    private int lastRows;

    private TrainableLinear(int in, int out, boolean bias, String prefix, Backend backend) {
        super(backend);
        if (in < 1 || out < 1) throw new IllegalArgumentException("Linear needs in and out features >= 1, got " + in + ", " + out);
        this.in = in;
        this.outF = out;
        String p = prefix == null ? "" : prefix;
        this.weight = param(p + "weight", out, in);
        this.bias = bias ? param(p + "bias", out) : null;
        this.k = KernelAccess.of(this.backend);
    }

    /**
     * A layer initialised as PyTorch's: weight and bias uniform in {@code ±1/sqrt(in)}.
     *
     * @param in      input features
     * @param out     output features
     * @param bias    whether it has a bias
     * @param prefix  the names' prefix, such as {@code "fc."}
     * @param seed    the random seed
     * @param backend the backend ({@code null}: the default)
     * @return the layer
     */
    public static TrainableLinear create(int in, int out, boolean bias, String prefix, long seed, Backend backend) {
        TrainableLinear l = new TrainableLinear(in, out, bias, prefix, backend);
        SplittableRandom rng = new SplittableRandom(seed);
        double bound = 1 / Math.sqrt(in);
        for (Param p : l.parameters()) {
            float[] v = new float[(int) p.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            p.value().copyFrom(v);
        }
        return l;
    }

    /**
     * Input features.
     *
     * @return input features
     */
    public int inFeatures() {
        return in;
    }

    /**
     * Output features.
     *
     * @return output features
     */
    public int outFeatures() {
        return outF;
    }

    /**
     * {@code y = x·Wᵀ + b}; keeps {@code x} (a reference: do not change it before {@link #backward}).
     *
     * @param x the input, seen as a matrix {@code [N × in]}
     * @return the output {@code [N × out]}, a buffer of this layer valid until its next forward
     * @throws IllegalArgumentException if x does not have {@code in} columns
     */
    public Tensor forward(Tensor x) {
        checkOpen();
        lastX = null;
        if (x.cols() != in) throw new IllegalArgumentException("Linear input: expected last dimension " + in + ", got " + x.shapeString());
        int n = x.rows();
        Tensor y = buffers.get("y", n, outF);
        if (bias != null) {
            for (int r = 0; r < n; r++) TrainableRecurrent.copyRows(bias.value().segment(), 0, y.segment(), (long) r * outF, outF);
        }
        if (n > 0) k.sgemm(false, true, n, outF, in, 1f, x.segment(), x.offset(), x.ld(), weight.value().segment(), 0, in, bias != null ? 1f : 0f, y.segment(), 0, outF);
        lastX = x;
        lastRows = n;
        return y;
    }

    /**
     * Adds the weight's and bias's gradients and returns the input's.
     *
     * @param dy the gradient of the last forward's output {@code [N × out]}
     * @return {@code dx [N × in]}, a buffer of this layer valid until its next backward
     * @throws IllegalStateException if no forward ran
     * @throws IllegalArgumentException if dy's shape does not fit the last forward
     */
    public Tensor backward(Tensor dy) {
        checkOpen();
        if (lastX == null) throw new IllegalStateException("backward needs a forward pass first");
        int n = lastRows;
        if (dy.rows() != n || dy.cols() != outF) {
            throw new IllegalArgumentException("Linear dy: expected [" + n + " × " + outF + "], got " + dy.shapeString());
        }
        Tensor dx = buffers.get("dx", n, in);
        if (n == 0) {
            lastX = null;
            return dx;
        }
        k.sgemm(true, false, outF, in, n, 1f, dy.segment(), dy.offset(), dy.ld(), lastX.segment(), lastX.offset(), lastX.ld(), 1f, weight.grad().segment(), 0, in);
        if (bias != null) {
            Tensor ones = buffers.get("ones", 1, n);
            ones.fill(1f);
            k.sgemv(true, n, outF, 1f, dy.segment(), dy.offset(), dy.ld(), ones.segment(), 0, 1f, bias.grad().segment(), 0);
        }
        k.sgemm(false, false, n, in, outF, 1f, dy.segment(), dy.offset(), dy.ld(), weight.value().segment(), 0, in, 0f, dx.segment(), 0, in);
        lastX = null;
        return dx;
    }
}
