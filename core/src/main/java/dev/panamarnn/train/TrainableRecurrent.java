package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.TrainMath;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A recurrent sequence layer being trained: PyTorch's {@code nn.LSTM}/{@code nn.GRU}/{@code nn.RNN} in every
 * configuration {@link dev.panamarnn.nn.RecurrentLayer} runs (layers, directions, {@code batch_first},
 * {@code proj_size}, h0/c0, per-sample lengths with packed-sequence semantics), with backpropagation through
 * time.
 *
 * <p>{@link #forward} runs the sequence and keeps what {@link #backward} needs (gate activations, previous
 * states, cells) in buffers the layer reuses from call to call; {@link #backward} adds the gradients of every
 * weight and bias to {@link Param#grad()} and returns those of the input and the initial state. Per layer and
 * direction, the input projection of all steps is one GEMM, each step one GEMM for {@code h·W_hhᵀ} and one for
 * the gradient flowing to the previous state, and the weight gradients one GEMM each over all steps
 * ({@code dW_ih = Σ_t dGates_tᵀ·x_t}, {@code dW_hh = Σ_t dGates_tᵀ·h_{t-1}}).
 *
 * <p>Inference does not go through this class: export {@link #stateDict()} to
 * {@link dev.panamarnn.nn.RecurrentLayer#create} and run the immutable, allocation-free layer.
 */
public final class TrainableRecurrent extends Trainable {
    private final LayerSpec spec;
    private final int dirs, hidden, out, gates;
    private final Param[][] wIh, wHh, bIh, bHh, wHr;
    private final Kernels k;
    private final TrainMath math;
    // the last forward's shape, and whether backward may run
    private int seqLen, batch;
    private int[] lengths;
    private boolean haveTrace;

    private TrainableRecurrent(LayerSpec spec, String prefix, boolean cellNames, Backend backend) {
        super(backend);
        this.spec = Objects.requireNonNull(spec, "spec");
        this.dirs = spec.bidirectional() ? 2 : 1;
        this.hidden = spec.hiddenSize();
        this.out = spec.projSize() > 0 ? spec.projSize() : hidden;
        this.gates = spec.mode().gates() * hidden;
        int layers = spec.numLayers();
        wIh = new Param[layers][dirs];
        wHh = new Param[layers][dirs];
        bIh = new Param[layers][dirs];
        bHh = new Param[layers][dirs];
        wHr = new Param[layers][dirs];
        String p = prefix == null ? "" : prefix;
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < dirs; d++) {
                String s = cellNames ? "" : "_l" + l + (d == 1 ? "_reverse" : "");
                wIh[l][d] = param(p + "weight_ih" + s, gates, inputSize(l));
                wHh[l][d] = param(p + "weight_hh" + s, gates, out);
                if (spec.bias()) {
                    bIh[l][d] = param(p + "bias_ih" + s, gates);
                    bHh[l][d] = param(p + "bias_hh" + s, gates);
                }
                if (spec.projSize() > 0) wHr[l][d] = param(p + "weight_hr" + s, out, hidden);
            }
        }
        this.k = KernelAccess.of(this.backend);
        this.math = TrainMath.forBackend(this.backend.name());
    }

    /**
     * A layer initialised as PyTorch initialises one: every weight and bias uniform in
     * {@code ±1/sqrt(hidden_size)}, drawn from {@code seed}.
     *
     * @param spec    the layer's hyper-parameters
     * @param prefix  the names' prefix, such as {@code "rnn."} (or empty)
     * @param seed    the random seed
     * @param backend the backend of the products and activations ({@code null}: the default)
     * @return the layer
     */
    public static TrainableRecurrent create(LayerSpec spec, String prefix, long seed, Backend backend) {
        TrainableRecurrent r = new TrainableRecurrent(spec, prefix, false, backend);
        r.initUniform(new SplittableRandom(seed), 1.0 / Math.sqrt(spec.hiddenSize()));
        return r;
    }

    /**
     * A layer holding {@code weights} (PyTorch's names under {@code prefix}).
     *
     * @param spec    the layer's hyper-parameters
     * @param weights the weights
     * @param prefix  the names' prefix, such as {@code "rnn."} (or empty)
     * @param backend the backend ({@code null}: the default)
     * @return the layer
     * @throws IllegalArgumentException naming the tensor if one is missing or has another shape
     */
    public static TrainableRecurrent create(LayerSpec spec, StateDict weights, String prefix, Backend backend) {
        TrainableRecurrent r = new TrainableRecurrent(spec, prefix, false, backend);
        try {
            r.load(weights);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    /** A one-layer, one-direction layer named as PyTorch's cells ({@code weight_ih}, no suffix): for {@link TrainableCell}. */
    static TrainableRecurrent forCell(Mode mode, int inputSize, int hiddenSize, boolean bias, String prefix, Backend backend) {
        return new TrainableRecurrent(new LayerSpec(mode, inputSize, hiddenSize, 1, false, bias, false, 0), prefix, true, backend);
    }

    void initUniform(SplittableRandom rng, double bound) {
        for (Param p : parameters()) {
            float[] v = new float[(int) p.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            p.value().copyFrom(v);
        }
    }

    /**
     * The layer's hyper-parameters.
     *
     * @return the layer's hyper-parameters
     */
    public LayerSpec spec() {
        return spec;
    }

    private int inputSize(int l) {
        return l == 0 ? spec.inputSize() : dirs * out;
    }

    /**
     * What {@link #forward} returns: views of the layer's buffers, valid until its next forward call.
     *
     * @param output every step's output, {@code (T, B, D·H_out)} or batch-first {@code (B, T, D·H_out)};
     *               zero after a sample's length
     * @param hN     the last state, {@code (L·D, B, H_out)}
     * @param cN     the last cell, {@code (L·D, B, H)}, LSTM only (else {@code null})
     */
    public record Result(Tensor output, Tensor hN, Tensor cN) {}

    /**
     * What {@link #backward} returns: views of the layer's buffers, valid until its next call.
     *
     * @param dInput the gradient of the input, the input's shape
     * @param dH0    the gradient of the initial state, {@code (L·D, B, H_out)}
     * @param dC0    the gradient of the initial cell, {@code (L·D, B, H)}, LSTM only (else {@code null})
     */
    public record Grads(Tensor dInput, Tensor dH0, Tensor dC0) {}

    /**
     * Runs the layer over a batch and keeps what {@link #backward} needs.
     *
     * @param input   {@code (T, B, I)}, or {@code (B, T, I)} when batch-first
     * @param h0      the initial state {@code (L·D, B, H_out)}, or {@code null} for zeros
     * @param c0      the initial cell {@code (L·D, B, H)} (LSTM), or {@code null} for zeros
     * @param lengths each sample's length in {@code 1..T} (steps after it are padding: the state stops there and
     *                the output is zero, as over PyTorch's packed sequences), or {@code null}: all {@code T}
     * @return the output and last states
     * @throws IllegalArgumentException naming the tensor if a shape or length does not fit
     */
    public Result forward(Tensor input, Tensor h0, Tensor c0, int[] lengths) {
        checkOpen();
        haveTrace = false;
        Objects.requireNonNull(input, "input");
        if (input.rank() != 3) throw new IllegalArgumentException("input: expected rank 3 " + layoutName() + ", got " + input.shapeString());
        int t = spec.batchFirst() ? input.dim(1) : input.dim(0), b = spec.batchFirst() ? input.dim(0) : input.dim(1);
        if (t < 1 || b < 1) throw new IllegalArgumentException("input: needs at least one step and one sample, got " + input.shapeString());
        if (input.dim(2) != spec.inputSize()) {
            throw new IllegalArgumentException("input: expected last dimension input_size = " + spec.inputSize() + ", got " + input.shapeString());
        }
        int states = spec.numLayers() * dirs;
        checkState("h0", h0, states, b, out);
        if (spec.mode() == Mode.LSTM) checkState("c0", c0, states, b, hidden);
        else if (c0 != null) throw new IllegalArgumentException("c0: only an LSTM has a cell state, this layer is " + spec.mode());
        int[] lens = checkLengths(lengths, t, b);
        if ((long) t * b * Math.max(gates, dirs * out) > Integer.MAX_VALUE) throw new IllegalArgumentException("input " + input.shapeString() + " is too large for one call");

        this.seqLen = t;
        this.batch = b;
        this.lengths = lens;
        Tensor x0 = buffers.get("x0", t * b, spec.inputSize());
        toTimeMajor(input, x0, t, b, spec.inputSize());
        Tensor hN = buffers.get("hN", states * b, out), cN = spec.mode() == Mode.LSTM ? buffers.get("cN", states * b, hidden) : null;
        Tensor x = x0;
        for (int l = 0; l < spec.numLayers(); l++) {
            Tensor y = buffers.get("y" + l, t * b, dirs * out);
            for (int d = 0; d < dirs; d++) forwardDirection(l, d, x, y, h0, c0, hN, cN);
            x = y;
        }
        Tensor output;
        if (spec.batchFirst()) {
            output = buffers.get("out", b * t, dirs * out);
            fromTimeMajor(x, output, t, b, dirs * out);
            output = output.reshape(b, t, dirs * out);
        } else {
            output = x.reshape(t, b, dirs * out);
        }
        haveTrace = true;
        return new Result(output, hN.reshape(states, b, out), cN == null ? null : cN.reshape(states, b, hidden));
    }

    private String layoutName() {
        return spec.batchFirst() ? "(B, T, input_size)" : "(T, B, input_size)";
    }

    private static void checkState(String name, Tensor s, int states, int b, int h) {
        if (s == null) return;
        if (s.rank() != 3 || s.dim(0) != states || s.dim(1) != b || s.dim(2) != h) {
            throw new IllegalArgumentException(name + ": expected (" + states + ", " + b + ", " + h + "), got " + s.shapeString());
        }
    }

    private static int[] checkLengths(int[] lengths, int t, int b) {
        if (lengths == null) return null;
        if (lengths.length != b) throw new IllegalArgumentException("lengths: expected " + b + " (one per sample), got " + lengths.length);
        for (int i = 0; i < b; i++) {
            if (lengths[i] < 1 || lengths[i] > t) {
                throw new IllegalArgumentException("lengths[" + i + "] = " + lengths[i] + " is outside 1.." + t);
            }
        }
        return lengths.clone();
    }

    private boolean active(int bi, int t) {
        return lengths == null || t < lengths[bi];
    }

    private String key(String what, int l, int d) {
        return what + l + "." + d;
    }

    private void forwardDirection(int l, int d, Tensor x, Tensor y, Tensor h0, Tensor c0, Tensor hN, Tensor cN) {
        final int t = seqLen, b = batch, h = hidden, g = gates, in = inputSize(l);
        final boolean lstm = spec.mode() == Mode.LSTM, gru = spec.mode() == Mode.GRU, proj = spec.projSize() > 0;
        Tensor wi = wIh[l][d].value(), wh = wHh[l][d].value();
        MemorySegment xs = x.segment();
        // all steps' input projection in one product: XW = X·W_ihᵀ + b_ih
        Tensor xw = buffers.get("xw", t * b, g);
        MemorySegment xws = xw.segment();
        if (spec.bias()) broadcastRows(bIh[l][d].value(), xw, t * b);
        k.sgemm(false, true, t * b, g, in, 1f, xs, x.offset(), x.ld(), wi.segment(), 0, in, spec.bias() ? 1f : 0f, xws, 0, g);

        Tensor act = buffers.get(key("act", l, d), t * b, g);
        Tensor hp = buffers.get(key("hp", l, d), t * b, out);
        Tensor cp = lstm ? buffers.get(key("cp", l, d), t * b, h) : null;
        Tensor ct = lstm ? buffers.get(key("ct", l, d), t * b, h) : null;
        Tensor tc = lstm ? buffers.get(key("tc", l, d), t * b, h) : null;
        Tensor hf = proj ? buffers.get(key("hf", l, d), t * b, h) : null;
        Tensor hn = gru ? buffers.get(key("hn", l, d), t * b, h) : null;
        Tensor hw = buffers.get("hw", b, g), hpr = proj ? buffers.get("hproj", b, out) : null;
        // the running state: this direction's rows of hN / cN
        int sIdx = l * dirs + d;
        MemorySegment hs = hN.segment(), cs = lstm ? cN.segment() : null;
        long hOff = (long) sIdx * b * out, cOff = (long) sIdx * b * h;
        if (h0 == null) hs.asSlice(hOff * 4, (long) b * out * 4).fill((byte) 0);
        else stateRows(h0, sIdx * b, b, hs, hOff);
        if (lstm) {
            if (c0 == null) cs.asSlice(cOff * 4, (long) b * h * 4).fill((byte) 0);
            else stateRows(c0, sIdx * b, b, cs, cOff);
        }
        MemorySegment as = act.segment(), hps = hp.segment(), ys = y.segment(), hws = hw.segment();
        int yld = dirs * out;
        for (int s = 0; s < t; s++) {
            int ti = d == 0 ? s : t - 1 - s;
            long row = (long) ti * b;
            // keep the previous state for backward, then HW = b_hh + h_prev·W_hhᵀ
            copyRows(hs, hOff, hps, row * out, b * out);
            if (lstm) copyRows(cs, cOff, cp.segment(), row * h, b * h);
            if (spec.bias()) broadcastRows(bHh[l][d].value(), hw, b);
            k.sgemm(false, true, b, g, out, 1f, hps, row * out, out, wh.segment(), 0, out, spec.bias() ? 1f : 0f, hws, 0, g);
            long a0 = row * g;
            switch (spec.mode()) {
                case LSTM -> {
                    math.add(b * g, xws, a0, hws, 0, as, a0);
                    for (int bi = 0; bi < b; bi++) {
                        long r = a0 + (long) bi * g;
                        k.sigmoid(2 * h, as, r, as, r);
                        k.tanh(h, as, r + 2L * h, as, r + 2L * h);
                        k.sigmoid(h, as, r + 3L * h, as, r + 3L * h);
                        math.lstmState(h, as, r, cp.segment(), (row + bi) * h, ct.segment(), (row + bi) * h);
                    }
                    k.tanh(b * h, ct.segment(), row * h, tc.segment(), row * h);
                    for (int bi = 0; bi < b; bi++) {
                        long r = a0 + (long) bi * g;
                        if (proj) math.lstmOutput(h, as, r, tc.segment(), (row + bi) * h, hf.segment(), (row + bi) * h);
                        else if (active(bi, ti)) math.lstmOutput(h, as, r, tc.segment(), (row + bi) * h, hs, hOff + (long) bi * h);
                        if (active(bi, ti)) copyRows(ct.segment(), (row + bi) * h, cs, cOff + (long) bi * h, h);
                    }
                    if (proj) {
                        k.sgemm(false, true, b, out, h, 1f, hf.segment(), row * h, h, wHr[l][d].value().segment(), 0, h, 0f, hpr.segment(), 0, out);
                        for (int bi = 0; bi < b; bi++) {
                            if (active(bi, ti)) copyRows(hpr.segment(), (long) bi * out, hs, hOff + (long) bi * out, out);
                        }
                    }
                }
                case GRU -> {
                    for (int bi = 0; bi < b; bi++) {
                        long r = a0 + (long) bi * g, w = (long) bi * g;
                        math.add(2 * h, xws, r, hws, w, as, r);
                        k.sigmoid(2 * h, as, r, as, r);
                        copyRows(hws, w + 2L * h, hn.segment(), (row + bi) * h, h);
                        math.gruCandidate(h, as, r, xws, r, hn.segment(), (row + bi) * h);
                        k.tanh(h, as, r + 2L * h, as, r + 2L * h);
                        if (active(bi, ti)) math.gruState(h, as, r, hps, (row + bi) * out, hs, hOff + (long) bi * out);
                    }
                }
                default -> {
                    math.add(b * g, xws, a0, hws, 0, as, a0);
                    if (spec.mode() == Mode.RNN_RELU) k.relu(b * g, as, a0, as, a0);
                    else k.tanh(b * g, as, a0, as, a0);
                    for (int bi = 0; bi < b; bi++) {
                        if (active(bi, ti)) copyRows(as, a0 + (long) bi * g, hs, hOff + (long) bi * out, out);
                    }
                }
            }
            // this step's output: the new state, zero after the sample's length
            for (int bi = 0; bi < b; bi++) {
                long yo = (row + bi) * yld + (long) d * out;
                if (active(bi, ti)) copyRows(hs, hOff + (long) bi * out, ys, yo, out);
                else ys.asSlice(yo * 4, (long) out * 4).fill((byte) 0);
            }
        }
    }

    /**
     * Backpropagation through time of the last {@link #forward}: adds every weight's and bias's gradient to
     * {@link Param#grad()} and returns the gradients of the input and the initial states. Any upstream gradient
     * may be {@code null} (zero). A call that is refused changes no gradient.
     *
     * @param dOutput the loss's gradient w.r.t. the output (the output's shape), or {@code null}
     * @param dHN     w.r.t. {@code h_n} {@code (L·D, B, H_out)}, or {@code null}
     * @param dCN     w.r.t. {@code c_n} {@code (L·D, B, H)} (LSTM), or {@code null}
     * @return the gradients of input, h0 and c0
     * @throws IllegalStateException if no forward pass was kept
     * @throws IllegalArgumentException naming the tensor if a shape does not fit the last forward call
     */
    public Grads backward(Tensor dOutput, Tensor dHN, Tensor dCN) {
        checkOpen();
        if (!haveTrace) throw new IllegalStateException("backward needs a forward pass first (one backward per forward)");
        final int t = seqLen, b = batch, states = spec.numLayers() * dirs, lastY = dirs * out;
        if (dOutput != null) {
            int[] want = spec.batchFirst() ? new int[] {b, t, lastY} : new int[] {t, b, lastY};
            if (!Arrays.equals(dOutput.shape(), want)) {
                throw new IllegalArgumentException("dOutput: expected " + Arrays.toString(want).replace('[', '(').replace(']', ')') + ", got " + dOutput.shapeString());
            }
        }
        checkState("dHN", dHN, states, b, out);
        if (spec.mode() == Mode.LSTM) checkState("dCN", dCN, states, b, hidden);
        else if (dCN != null) throw new IllegalArgumentException("dCN: only an LSTM has a cell state, this layer is " + spec.mode());
        haveTrace = false;

        Tensor dy = buffers.get("dy" + (spec.numLayers() - 1), t * b, lastY);
        if (dOutput == null) dy.segment().asSlice(0, (long) t * b * lastY * 4).fill((byte) 0);
        else if (spec.batchFirst()) toTimeMajor(dOutput, dy, t, b, lastY);
        else copyRows(dOutput, dy, t * b, lastY);
        Tensor dh0 = buffers.get("dh0", states * b, out), dc0 = spec.mode() == Mode.LSTM ? buffers.get("dc0", states * b, hidden) : null;
        Tensor dx = null;
        for (int l = spec.numLayers() - 1; l >= 0; l--) {
            Tensor x = l == 0 ? buffers.get("x0", t * b, spec.inputSize()) : buffers.get("y" + (l - 1), t * b, dirs * out);
            dx = buffers.get(l == 0 ? "dx0" : "dy" + (l - 1), t * b, inputSize(l));
            Tensor dyl = buffers.get("dy" + l, t * b, dirs * out);
            for (int d = 0; d < dirs; d++) backwardDirection(l, d, x, dyl, dx, dHN, dCN, dh0, dc0);
        }
        Tensor dInput;
        if (spec.batchFirst()) {
            dInput = buffers.get("dInput", b * t, spec.inputSize());
            fromTimeMajor(dx, dInput, t, b, spec.inputSize());
            dInput = dInput.reshape(b, t, spec.inputSize());
        } else {
            dInput = dx.reshape(t, b, spec.inputSize());
        }
        return new Grads(dInput, dh0.reshape(states, b, out), dc0 == null ? null : dc0.reshape(states, b, hidden));
    }

    private void backwardDirection(int l, int d, Tensor x, Tensor dyl, Tensor dx, Tensor dHN, Tensor dCN, Tensor dh0, Tensor dc0) {
        final int t = seqLen, b = batch, h = hidden, g = gates, in = inputSize(l), yld = dirs * out;
        final boolean lstm = spec.mode() == Mode.LSTM, gru = spec.mode() == Mode.GRU, proj = spec.projSize() > 0;
        MemorySegment as = buffers.get(key("act", l, d), t * b, g).segment();
        MemorySegment hps = buffers.get(key("hp", l, d), t * b, out).segment();
        MemorySegment cps = lstm ? buffers.get(key("cp", l, d), t * b, h).segment() : null;
        MemorySegment tcs = lstm ? buffers.get(key("tc", l, d), t * b, h).segment() : null;
        MemorySegment hns = gru ? buffers.get(key("hn", l, d), t * b, h).segment() : null;
        Tensor dxw = buffers.get("dxw", t * b, g), dhw = gru ? buffers.get("dhw", t * b, g) : dxw;
        Tensor dp = proj ? buffers.get("dp", t * b, out) : null;
        Tensor dhA = buffers.get("dhA", b, out), dhB = buffers.get("dhB", b, out), dc = lstm ? buffers.get("dc", b, h) : null;
        Tensor dhf = proj ? buffers.get("dhf", b, h) : null, dDirect = gru ? buffers.get("dDirect", b, out) : null;
        MemorySegment dxs = dxw.segment(), dhws = dhw.segment(), dys = dyl.segment();
        int sIdx = l * dirs + d;
        long sOff = (long) sIdx * b * out, cOff = (long) sIdx * b * h;
        // the gradient flowing into the last state
        if (dHN == null) dhA.fill(0f);
        else stateRows(dHN, sIdx * b, b, dhA.segment(), 0);
        if (lstm) {
            if (dCN == null) dc.fill(0f);
            else stateRows(dCN, sIdx * b, b, dc.segment(), 0);
        }
        Tensor dh = dhA, dhNext = dhB;
        Tensor wh = wHh[l][d].value();
        for (int s = t - 1; s >= 0; s--) {
            int ti = d == 0 ? s : t - 1 - s;
            long row = (long) ti * b;
            MemorySegment dhs = dh.segment();
            for (int bi = 0; bi < b; bi++) {
                if (active(bi, ti)) math.accumulate(out, dys, (row + bi) * yld + (long) d * out, dhs, (long) bi * out);
            }
            switch (spec.mode()) {
                case LSTM -> {
                    MemorySegment dOut = dhs;
                    long dOutLd = out;
                    if (proj) {
                        for (int bi = 0; bi < b; bi++) {
                            long po = (row + bi) * out;
                            if (active(bi, ti)) copyRows(dhs, (long) bi * out, dp.segment(), po, out);
                            else dp.segment().asSlice(po * 4, (long) out * 4).fill((byte) 0);
                        }
                        k.sgemm(false, false, b, h, out, 1f, dp.segment(), row * out, out, wHr[l][d].value().segment(), 0, h, 0f, dhf.segment(), 0, h);
                        dOut = dhf.segment();
                        dOutLd = h;
                    }
                    for (int bi = 0; bi < b; bi++) {
                        long r = (row + bi) * g;
                        if (active(bi, ti)) {
                            math.lstmBackward(h, as, r, tcs, (row + bi) * h, cps, (row + bi) * h, dOut, bi * dOutLd, dc.segment(), (long) bi * h, dxs, r);
                        } else {
                            dxs.asSlice(r * 4, (long) g * 4).fill((byte) 0);
                        }
                    }
                }
                case GRU -> {
                    for (int bi = 0; bi < b; bi++) {
                        long r = (row + bi) * g;
                        if (active(bi, ti)) {
                            math.gruBackward(h, as, r, hns, (row + bi) * h, hps, (row + bi) * out, dhs, (long) bi * out, dxs, r, dhws, r,
                                    dDirect.segment(), (long) bi * out);
                        } else {
                            dxs.asSlice(r * 4, (long) g * 4).fill((byte) 0);
                            dhws.asSlice(r * 4, (long) g * 4).fill((byte) 0);
                            copyRows(dhs, (long) bi * out, dDirect.segment(), (long) bi * out, out);
                        }
                    }
                }
                default -> {
                    boolean relu = spec.mode() == Mode.RNN_RELU;
                    for (int bi = 0; bi < b; bi++) {
                        long r = (row + bi) * g;
                        if (active(bi, ti)) math.rnnBackward(h, relu, as, r, dhs, (long) bi * out, dxs, r);
                        else dxs.asSlice(r * 4, (long) g * 4).fill((byte) 0);
                    }
                }
            }
            // the previous state's gradient: dGates_h·W_hh, plus what reaches it directly
            k.sgemm(false, false, b, out, g, 1f, dhws, row * g, g, wh.segment(), 0, out, 0f, dhNext.segment(), 0, out);
            if (gru) {
                math.accumulate(b * out, dDirect.segment(), 0, dhNext.segment(), 0);
            } else {
                for (int bi = 0; bi < b; bi++) {
                    if (!active(bi, ti)) math.accumulate(out, dhs, (long) bi * out, dhNext.segment(), (long) bi * out);
                }
            }
            Tensor swap = dh;
            dh = dhNext;
            dhNext = swap;
        }
        copyRows(dh.segment(), 0, dh0.segment(), sOff, b * out);
        if (lstm) copyRows(dc.segment(), 0, dc0.segment(), cOff, b * h);
        // the weights' gradients over all steps at once
        int n = t * b;
        k.sgemm(true, false, g, in, n, 1f, dxs, 0, g, x.segment(), x.offset(), x.ld(), 1f, wIh[l][d].grad().segment(), 0, in);
        k.sgemm(true, false, g, out, n, 1f, dhws, 0, g, hps, 0, out, 1f, wHh[l][d].grad().segment(), 0, out);
        if (spec.bias()) {
            Tensor ones = ones(n);
            k.sgemv(true, n, g, 1f, dxs, 0, g, ones.segment(), 0, 1f, bIh[l][d].grad().segment(), 0);
            k.sgemv(true, n, g, 1f, dhws, 0, g, ones.segment(), 0, 1f, bHh[l][d].grad().segment(), 0);
        }
        if (proj) {
            MemorySegment hfs = buffers.get(key("hf", l, d), t * b, h).segment();
            k.sgemm(true, false, out, h, n, 1f, dp.segment(), 0, out, hfs, 0, h, 1f, wHr[l][d].grad().segment(), 0, h);
        }
        // the input's gradient (both directions add into it)
        k.sgemm(false, false, n, in, g, 1f, dxs, 0, g, wIh[l][d].value().segment(), 0, in, d == 0 ? 0f : 1f, dx.segment(), 0, in);
    }

    private Tensor ones(int n) {
        Tensor o = buffers.get("ones", 1, n);
        if (o.get(0, n - 1) != 1f || o.get(0, 0) != 1f) o.fill(1f);
        return o;
    }

    private static void broadcastRows(Tensor bias, Tensor dst, int rows) {
        int n = bias.cols();
        for (int r = 0; r < rows; r++) MemorySegment.copy(bias.segment(), bias.offset() * 4, dst.segment(), (dst.offset() + (long) r * dst.ld()) * 4, (long) n * 4);
    }

    /** Rows {@code first..first+rows} of a state tensor (any leading dimension) into contiguous memory. */
    private static void stateRows(Tensor src, int first, int rows, MemorySegment dst, long dstOff) {
        int n = src.cols();
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(src.segment(), (src.offset() + (long) (first + r) * src.ld()) * 4, dst, (dstOff + (long) r * n) * 4, (long) n * 4);
        }
    }

    static void copyRows(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long floats) {
        MemorySegment.copy(src, srcOff * 4, dst, dstOff * 4, floats * 4);
    }

    /** Copies a tensor seen as {@code rows × cols} (any leading dimension) into a contiguous one. */
    static void copyRows(Tensor src, Tensor dst, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(src.segment(), (src.offset() + (long) r * src.ld()) * 4, dst.segment(), (dst.offset() + (long) r * cols) * 4, (long) cols * 4);
        }
    }

    /** {@code (T, B, n)} or {@code (B, T, n)} (as the spec says) into time-major rows {@code t·B + b}. */
    private void toTimeMajor(Tensor src, Tensor dst, int t, int b, int n) {
        if (!spec.batchFirst()) {
            copyRows(src, dst, t * b, n);
            return;
        }
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                MemorySegment.copy(src.segment(), (src.offset() + ((long) bi * t + ti) * src.ld()) * 4, dst.segment(), ((long) ti * b + bi) * n * 4, (long) n * 4);
            }
        }
    }

    private static void fromTimeMajor(Tensor src, Tensor dst, int t, int b, int n) {
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                MemorySegment.copy(src.segment(), ((long) ti * b + bi) * n * 4, dst.segment(), ((long) bi * t + ti) * n * 4, (long) n * 4);
            }
        }
    }

    @Override
    public String toString() {
        return "TrainableRecurrent" + spec + " on " + backend.name();
    }
}
