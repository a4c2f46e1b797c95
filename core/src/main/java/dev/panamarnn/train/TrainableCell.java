package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.nn.Mode;
import java.util.List;
import java.util.Objects;

/**
 * PyTorch's {@code nn.LSTMCell}/{@code GRUCell}/{@code RNNCell} being trained: one step with caller-held state
 * ({@code weight_ih}, {@code weight_hh}, {@code bias_ih}, {@code bias_hh}), and its backward. A step is a
 * {@link TrainableRecurrent} pass of one step, so cell and layer share one implementation.
 */
public final class TrainableCell extends Trainable {
    private final TrainableRecurrent step;
    private final Mode mode;
    private final int inputSize, hiddenSize;
    private int lastBatch = -1;

    private TrainableCell(Mode mode, int inputSize, int hiddenSize, boolean bias, String prefix, Backend backend) {
        super(backend);
        this.mode = Objects.requireNonNull(mode, "mode");
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.step = TrainableRecurrent.forCell(mode, inputSize, hiddenSize, bias, prefix, this.backend);
    }

    /**
     * A cell initialised as PyTorch's: uniform in {@code ±1/sqrt(hidden)}.
     *
     * @param mode       the cell type
     * @param inputSize  input features
     * @param hiddenSize state features
     * @param bias       whether it has biases
     * @param prefix     the names' prefix (or empty)
     * @param seed       the random seed
     * @param backend    the backend ({@code null}: the default)
     * @return the cell
     */
    public static TrainableCell create(Mode mode, int inputSize, int hiddenSize, boolean bias, String prefix, long seed, Backend backend) {
        TrainableCell c = new TrainableCell(mode, inputSize, hiddenSize, bias, prefix, backend);
        c.step.initUniform(new java.util.SplittableRandom(seed), 1.0 / Math.sqrt(hiddenSize));
        return c;
    }

    @Override
    public List<Param> parameters() {
        return step.parameters();
    }

    /**
     * What {@link #forward} returns: views of the cell's buffers, valid until its next forward.
     *
     * @param h the new state {@code [B × H]}
     * @param c the new cell {@code [B × H]} (LSTM), else {@code null}
     */
    public record State(Tensor h, Tensor c) {}

    /**
     * One step.
     *
     * @param x  the input {@code [B × I]}
     * @param hx the state {@code [B × H]}, or {@code null} for zeros
     * @param cx the cell {@code [B × H]} (LSTM), or {@code null} for zeros
     * @return the new state
     * @throws IllegalArgumentException naming the tensor if a shape does not fit
     */
    public State forward(Tensor x, Tensor hx, Tensor cx) {
        checkOpen();
        if (x.rank() != 2 || x.dim(1) != inputSize) throw new IllegalArgumentException("input: expected [B × " + inputSize + "], got " + x.shapeString());
        int b = x.dim(0);
        if (cx != null && mode != Mode.LSTM) throw new IllegalArgumentException("cx: only an LSTM cell has a cell state, this cell is " + mode);
        lastBatch = -1;
        TrainableRecurrent.Result r = step.forward(as3(x, "input", b, inputSize), as3(hx, "hx", b, hiddenSize), as3(cx, "cx", b, hiddenSize), null);
        lastBatch = b;
        return new State(r.hN().reshape(b, hiddenSize), r.cN() == null ? null : r.cN().reshape(b, hiddenSize));
    }

    /**
     * Backward of the last {@link #forward}: adds the weights' gradients and returns those of input and state.
     *
     * @param dh the gradient w.r.t. the new state {@code [B × H]}, or {@code null}
     * @param dc w.r.t. the new cell (LSTM), or {@code null}
     * @return {@code dInput [B × I]}, {@code dH0} = dhx and {@code dC0} = dcx, each as {@code [B × …]}
     */
    public TrainableRecurrent.Grads backward(Tensor dh, Tensor dc) {
        checkOpen();
        if (lastBatch < 0) throw new IllegalStateException("backward needs a forward step first (one backward per forward)");
        if (dc != null && mode != Mode.LSTM) throw new IllegalArgumentException("dc: only an LSTM cell has a cell state, this cell is " + mode);
        Tensor dh3 = dh == null ? null : as3(dh, "dh", lastBatch, hiddenSize), dc3 = dc == null ? null : as3(dc, "dc", lastBatch, hiddenSize);
        lastBatch = -1;
        TrainableRecurrent.Grads g = step.backward(null, dh3, dc3);
        int b = g.dH0().dim(1);
        return new TrainableRecurrent.Grads(g.dInput().reshape(b, inputSize), g.dH0().reshape(b, hiddenSize), g.dC0() == null ? null : g.dC0().reshape(b, hiddenSize));
    }

    private Tensor as3(Tensor t, String name, int b, int n) {
        if (t == null) return null;
        if (t.rank() != 2 || t.dim(0) != b || t.dim(1) != n) throw new IllegalArgumentException(name + ": expected [" + b + " × " + n + "], got " + t.shapeString());
        if (t.ld() == n) return t.reshape(1, b, n);
        Tensor c = buffers.get(name, b, n);
        TrainableRecurrent.copyRows(t, c, b, n);
        return c.reshape(1, b, n);
    }

    @Override
    public void close() {
        step.close();
        super.close();
    }
}
