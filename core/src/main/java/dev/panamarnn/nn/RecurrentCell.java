package dev.panamarnn.nn;

import dev.panamarnn.Backend;
import dev.panamarnn.Checks;
import dev.panamarnn.Tensor;
import dev.panamarnn.engine.CellRun;
import dev.panamarnn.engine.Resources;
import dev.panamarnn.engine.Scratch;
import dev.panamarnn.engine.Weights;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One recurrent step with caller-held state, like PyTorch's {@code nn.RNNCell}, {@code nn.LSTMCell} and
 * {@code nn.GRUCell}; weights named {@code weight_ih}, {@code weight_hh}, {@code bias_ih}, {@code bias_hh}.
 *
 * <p>{@link #step} reads {@code x [B × input_size]} and the state {@code h [B × hidden]} (and for LSTM
 * {@code c [B × hidden]}) and overwrites the state with the next one. Thread-safe; scratch comes from a
 * pool the cell owns. A rejected call leaves the state untouched.
 */
public final class RecurrentCell implements AutoCloseable {
    private final LayerSpec spec;
    private final Resources resources;
    private final Backend backend;
    /** The backend's unchecked kernels: reached only after this class has checked every argument. */
    private final dev.panamarnn.kernel.Kernels kernels;

    private RecurrentCell(LayerSpec spec, Weights weights, Backend backend) {
        this.spec = spec;
        this.backend = backend;
        this.kernels = dev.panamarnn.internal.KernelAccess.of(backend);
        weights.prepare(kernels, false); // before the weights are published through resources' final field
        this.resources = new Resources(weights, "cell");
    }

    /**
     * Loads a cell from {@code weight_ih}, {@code weight_hh} and optional biases under {@code prefix}. The
     * type is read from the gate count; {@code modeHint} is needed only for an Elman cell (tanh or ReLU).
     *
     * @param weights  the tensors, copied at load
     * @param prefix   prepended to every name, e.g. {@code "cell."}; {@code ""} for none
     * @param modeHint needed only for an Elman cell ({@link Mode#RNN_TANH} or {@link Mode#RNN_RELU}); else null
     * @param backend  the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the cell, to close
     * @throws IllegalArgumentException if the tensors do not make a cell; the message names what is missing or wrong
     */
    public static RecurrentCell load(StateDict weights, String prefix, Mode modeHint, Backend backend) {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(prefix, "prefix");
        for (String n : new String[] {"weight_ih", "weight_hh"}) {
            if (!weights.contains(prefix + n)) {
                List<String> present = weights.names().stream().sorted().limit(8).map(t -> dev.panamarnn.Text.escape(t, dev.panamarnn.Text.MAX_SHOWN)).toList();
                throw new IllegalArgumentException("no recurrent cell found: expected tensors " + dev.panamarnn.Text.quote(prefix + "weight_ih") + " and "
                        + dev.panamarnn.Text.quote(prefix + "weight_hh") + " (nn.RNNCell/LSTMCell/GRUCell names); missing "
                        + dev.panamarnn.Text.quote(prefix + n) + "; tensors present: " + present + (weights.names().size() > 8 ? " …" : ""));
            }
        }
        StateDict asLayer = new LayerNames(weights, prefix);
        LayerSpec spec = LayerWeights.infer(asLayer, "", modeHint, false);
        if (spec.projSize() > 0) throw new IllegalArgumentException("cells have no projection");
        Backend be = backend == null ? Backend.defaultBackend() : backend; // before anything is allocated
        boolean bf16 = WeightFormat.fromProperty().bf16On(dev.panamarnn.internal.KernelAccess.of(be), LayerWeights.whhFloats(spec), 1, null);
        Weights w = LayerWeights.load(asLayer, "", spec, bf16, LoadOptions.strict());
        try {
            return new RecurrentCell(spec, w, be);
        } catch (Throwable e) {
            w.close();
            throw e;
        }
    }

    /**
     * The cell type.
     *
     * @return the mode
     */
    public Mode mode() {
        return spec.mode();
    }

    /**
     * Features per input row.
     *
     * @return {@code input_size}
     */
    public int inputSize() {
        return spec.inputSize();
    }

    /**
     * Features of the state.
     *
     * @return {@code hidden_size}
     */
    public int hiddenSize() {
        return spec.hiddenSize();
    }

    /**
     * Advances the state one step: {@code h} (and {@code c} for LSTM; null otherwise) are overwritten.
     *
     * @param x the input {@code [B × input_size]}
     * @param h the hidden state {@code [B × hidden]}, read and overwritten
     * @param c the cell state {@code [B × hidden]} for LSTM, read and overwritten; else null
     * @throws IllegalArgumentException if a shape does not fit, or the states overlap x or each other
     * @throws IllegalStateException if the cell was closed or a tensor's arena is
     */
    public void step(Tensor x, Tensor h, Tensor c) {
        Checks.alive("step", "x", x);
        int B = x.rows(), I = spec.inputSize(), H = spec.hiddenSize();
        if (x.cols() != I || B < 1) {
            throw new IllegalArgumentException("step: x must be [batch × " + I + "] (batch >= 1), got " + x.shapeString());
        }
        Checks.shape("step", "h", h, B, H);
        if (spec.mode() == Mode.LSTM) Checks.shape("step", "c", c, B, H);
        else if (c != null) throw new IllegalArgumentException("step: c is only for LSTM, this cell is " + spec.mode());
        Checks.disjoint("step", "h", h.segment(), h.offset(), Tensor.requiredFloats(B, H, h.ld()), "x", x.segment(), x.offset(),
                Tensor.requiredFloats(B, I, x.ld()));
        if (c != null) {
            Checks.disjoint("step", "c", c.segment(), c.offset(), Tensor.requiredFloats(B, H, c.ld()), "h", h.segment(), h.offset(),
                    Tensor.requiredFloats(B, H, h.ld()));
        }
        Scratch ws = resources.enter("step", null);
        try {
            CellRun.step(resources.weights(), kernels, ws, B, x, h, c);
        } finally {
            resources.exit(ws, null);
        }
    }

    /**
     * {@link #step(Tensor, Tensor, Tensor)} on plain arrays, row-major: {@code x} is {@code batch × input_size}
     * floats, {@code h} {@code batch × hidden_size}, and for LSTM {@code c} {@code batch × hidden_size} (null
     * otherwise); {@code h} and {@code c} are overwritten with the next state. The same bits as the tensor
     * step. Each call copies into native memory of its own (an arena closed before it returns) and back:
     * for a hot loop, use the tensor step.
     *
     * @param x     the input, {@code batch × input_size} floats, row-major
     * @param h     the hidden state, {@code batch × hidden_size} floats, read and overwritten
     * @param c     the cell state for LSTM, {@code batch × hidden_size} floats, read and overwritten; else null
     * @param batch the number of samples (rows), {@code batch ≥ 1}
     * @throws IllegalArgumentException if {@code batch} is below 1, if an array is null or not of the length its
     *     shape needs (the message names the array and that length), or if {@code c} is given to a cell that is
     *     not an LSTM; the state is then untouched
     * @throws IllegalStateException if the cell was closed; the state is then untouched
     */
    public void step(float[] x, float[] h, float[] c, int batch) {
        ArrayCalls.step(this, x, h, c, batch);
    }

    /** Waits for running calls, then frees the weights. Idempotent. */
    @Override
    public void close() {
        resources.close();
    }

    /** Presents a cell's {@code weight_ih} etc. under the layer names {@code weight_ih_l0} etc. */
    private record LayerNames(StateDict inner, String prefix) implements StateDict {
        private static final Set<String> KINDS = Set.of("weight_ih", "weight_hh", "bias_ih", "bias_hh");

        @Override
        public Set<String> names() {
            return inner.names().stream().filter(n -> n.startsWith(prefix) && KINDS.contains(n.substring(prefix.length())))
                    .map(n -> n.substring(prefix.length()) + "_l0").collect(Collectors.toSet());
        }

        @Override
        public int[] shape(String name) {
            return inner.shape(cellName(name));
        }

        @Override
        public float[] floats(String name) {
            return inner.floats(cellName(name));
        }

        // dtype() stays the default: a non-float tensor is then refused by the inner dict's accessors, under its own name.
        @Override
        public void copyTo(String name, java.lang.foreign.MemorySegment dst, long dstOffset) {
            inner.copyTo(cellName(name), dst, dstOffset);
        }

        private String cellName(String layerName) {
            if (!layerName.endsWith("_l0")) throw new IllegalArgumentException("cell weights have no tensor " + dev.panamarnn.Text.quote(layerName));
            return prefix + layerName.substring(0, layerName.length() - 3);
        }
    }
}
