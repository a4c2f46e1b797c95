package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.TestBackends;
import dev.panamarnn.kernel.Bf16Products;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedProducts;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Backpropagation checked against central finite differences of an independent float64 forward pass, written
 * here with plain loops (no code of the library): PyTorch's LSTM (with {@code proj_size}), GRU and Elman RNN
 * (tanh, ReLU), several layers, both directions, batch-first, h0/c0 and per-sample lengths with packed-sequence
 * semantics; the cells; Linear with cross-entropy; Embedding.
 *
 * <p>The scalar loss is {@code L = Σ output·R1 + Σ h_n·R2 + Σ c_n·R3} with fixed random {@code R}: its gradient
 * w.r.t. the outputs is exactly {@code (R1, R2, R3)}, which is what {@link TrainableRecurrent#backward} is given,
 * so the analytic gradients it returns (and accumulates into {@link Param#grad()}) must equal {@code ∂L/∂θ}.
 * Every entry of every parameter tensor, of the input and of h0/c0 is checked (the tensors are small: I=3,
 * H=5, T=4, B=2), not a sample.
 *
 * <p><b>Forward</b> (float32 layer vs the float64 reference on the same float values): within
 * {@code 1e-5·max|ref| + 1e-7} per tensor. Float32 rounding through 4 steps and up to 3 layers stays near
 * {@code 1e-7} relative (observed at most 4e-7 of the tensor's max, scalar and simd): a margin of 25.
 *
 * <p><b>Step.</b> {@code h = 1e-6·max(1, |θ|)} (the actual step is {@code (θ+h) - (θ-h)} as represented). The
 * central difference's error is {@code h²/6·|L'''|} (truncation) plus about {@code ε64·|L|/h} (rounding of L,
 * {@code ε64 = 2.2e-16}); with {@code |L| ≲ 10} and {@code |L'''| ≲ 10²} that is {@code ~2e-11 + ~2e-9}, so the
 * FD gradients are good to ~1e-8 absolute, two orders below the float32 error of the analytic gradient.
 * {@code h ≈ ε64^(1/3) ≈ 6e-6} would balance the two; 1e-6 keeps the truncation error negligible and still
 * leaves the rounding error far below the tolerance (steps of 1e-4 and 1e-8 change the worst disagreement below
 * by under 10%, so it is the float32 side's). For ReLU the check asserts that no pre-activation lies within
 * {@value #RELU_MARGIN} of the kink, so no difference crosses it.
 *
 * <p><b>Gradients</b> (float32 analytic vs float64 FD): within {@code 1e-5·max(max|analytic|, max|FD|) + 1e-7}
 * per tensor. The analytic gradients are float32 sums over steps and samples; their disagreement with the FD
 * values was at most 5.5e-7 of the tensor's max over every case on scalar and simd, so 1e-5 leaves a factor of
 * about 18 for another summation order (a BLAS backend), and is ten times tighter than the PyTorch fixtures'
 * 1e-4. A wrong term is far larger: {@link #detectsWrongGradients} shows that the check rejects weight gradients
 * scaled by 1.0001, or missing the last step's contribution, or a single entry off by 1e-4 of its tensor's max.
 * The absolute 1e-7 only matters for tensors whose gradient is all but zero (a tensor whose gradient is all
 * below 1e-6 is refused as proving nothing).
 */
public class FiniteDifferenceTest {
    /** Which backends this class runs; a subclass may narrow it. */
    protected boolean runsOn(String backend) {
        return true;
    }

    static final int I = 3, H = 5, T = 4, B = 2;
    static final double STEP = 1e-6;
    static final double FWD_REL = 1e-5, FWD_ABS = 1e-7;
    static final double GRAD_REL = 1e-5, GRAD_ABS = 1e-7;
    static final double RELU_MARGIN = 1e-4;

    /** One layer configuration; {@code lengths} null: all T. */
    record Case(String name, Mode mode, int layers, boolean bidir, boolean bias, boolean batchFirst, int proj, boolean h0, boolean c0,
                int[] lengths, long seed) {
        LayerSpec spec() {
            return new LayerSpec(mode, I, H, layers, bidir, bias, batchFirst, proj);
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("lstm 2 layers bidirectional proj 3, h0 c0, lengths 4 2", Mode.LSTM, 2, true, true, false, 3, true, true, new int[] {4, 2}, 11),
                new Case("lstm batch-first, h0 c0, lengths 3 4", Mode.LSTM, 1, false, true, true, 0, true, true, new int[] {3, 4}, 12),
                new Case("lstm 2 layers bidirectional no bias, zero state, full length", Mode.LSTM, 2, true, false, false, 0, false, false, null, 13),
                new Case("lstm proj 2 batch-first, h0 only, lengths 1 3", Mode.LSTM, 1, false, true, true, 2, true, false, new int[] {1, 3}, 14),
                new Case("gru 2 layers bidirectional, h0, lengths 2 4", Mode.GRU, 2, true, true, false, 0, true, false, new int[] {2, 4}, 15),
                new Case("gru batch-first no bias, h0, full length", Mode.GRU, 1, false, false, true, 0, true, false, null, 16),
                new Case("gru 3 layers, zero state, lengths 4 3", Mode.GRU, 3, false, true, false, 0, false, false, new int[] {4, 3}, 17),
                new Case("rnn_tanh 2 layers bidirectional, h0, lengths 4 1", Mode.RNN_TANH, 2, true, true, false, 0, true, false, new int[] {4, 1}, 18),
                new Case("rnn_tanh batch-first bidirectional no bias, full length", Mode.RNN_TANH, 1, true, false, true, 0, true, false, null, 19),
                new Case("rnn_relu 2 layers bidirectional, h0, lengths 3 4", Mode.RNN_RELU, 2, true, true, false, 0, true, false, new int[] {3, 4}, 20));
    }

    /** The backends to run: every available one this class runs on. */
    List<String> backends() {
        List<String> names = new ArrayList<>();
        for (Backend.Status s : Backend.list()) if (s.available() && runsOn(s.name())) names.add(s.name());
        return names;
    }

    @TestFactory
    Stream<DynamicTest> recurrentLayers() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String b : backends()) {
            for (Case c : cases()) {
                tests.add(DynamicTest.dynamicTest(b + " " + c.name(), () -> {
                    String bad = checkLayer(Backend.get(b), c, null);
                    if (bad != null) fail(bad);
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> cells() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String b : backends()) {
            for (Mode m : Mode.values()) {
                for (boolean bias : new boolean[] {true, false}) {
                    tests.add(DynamicTest.dynamicTest(b + " " + m + (bias ? "" : " no bias") + " cell", () -> checkCell(Backend.get(b), m, bias)));
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> heads() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String b : backends()) {
            tests.add(DynamicTest.dynamicTest(b + " linear + cross-entropy", () -> checkLinearCrossEntropy(Backend.get(b))));
            tests.add(DynamicTest.dynamicTest(b + " embedding", () -> checkEmbedding(Backend.get(b))));
        }
        return tests.stream();
    }

    /**
     * The check can fail: gradients from a backend whose weight-gradient products ({@code dW = dGatesᵀ·X}, the
     * only products with a transposed A) are scaled by 1.0001, or skip the last step's rows, are rejected; so is
     * one analytic entry moved by 1e-4 of its tensor's max. The same backend unmutated passes.
     */
    @Test
    void detectsWrongGradients() {
        Case c = cases().get(0);
        assertNull(checkLayer(mutant(1f, false), c, null), "the wrapped scalar backend, unmutated, passes");
        String scaled = checkLayer(mutant(1.0001f, false), c, null);
        assertNotNull(scaled, "weight gradients scaled by 1.0001 must be rejected");
        assertTrue(scaled.startsWith("grad of rnn.weight_") || scaled.startsWith("grad of rnn.bias_"), scaled);
        String lastStep = checkLayer(mutant(1f, true), cases().get(4), null);
        assertNotNull(lastStep, "weight gradients without the last step must be rejected");
        // one entry of one tensor off by 1e-4 of the tensor's max
        String one = checkLayer(Backend.get("scalar"), c, (name, g) -> {
            if (name.equals("rnn.weight_hh_l1_reverse")) {
                double max = 0;
                for (float v : g) max = Math.max(max, Math.abs(v));
                g[7] += (float) (1e-4 * max);
            }
        });
        assertNotNull(one, "one entry off by 1e-4·max must be rejected");
        assertTrue(one.startsWith("grad of rnn.weight_hh_l1_reverse[7]"), one);
    }

    // ---------------------------------------------------------------------------------------------------------
    // the float64 reference

    /** PyTorch's recurrent layer in float64, time-major, over named parameters (flat, row-major). */
    static final class RefRnn {
        final LayerSpec spec;
        final String prefix;
        final boolean cellNames;
        final Map<String, double[]> w = new LinkedHashMap<>();
        final int dirs, out, gates;
        /** The smallest |pre-activation| of a ReLU unit in the last forward (infinity for other modes). */
        double minReluPre;

        RefRnn(LayerSpec spec, String prefix, boolean cellNames, List<Param> params) {
            this.spec = spec;
            this.prefix = prefix;
            this.cellNames = cellNames;
            this.dirs = spec.bidirectional() ? 2 : 1;
            this.out = spec.projSize() > 0 ? spec.projSize() : spec.hiddenSize();
            this.gates = spec.mode().gates() * spec.hiddenSize();
            for (Param p : params) w.put(p.name(), toDouble(p.value().toArray()));
        }

        String name(String what, int l, int d) {
            return prefix + what + (cellNames ? "" : "_l" + l + (d == 1 ? "_reverse" : ""));
        }

        /** The output {@code [T][B][D·out]}, h_n {@code [L·D][B][out]} and c_n {@code [L·D][B][H]}, flat. */
        record Fwd(double[] y, double[] hN, double[] cN) {}

        /**
         * @param x       the input, time-major {@code [t][b][I]}
         * @param h0      {@code [L·D][b][out]} or null (zeros)
         * @param c0      {@code [L·D][b][H]} or null (zeros)
         * @param lengths per sample, or null (all t)
         */
        Fwd forward(double[] x, int t, int b, double[] h0, double[] c0, int[] lengths) {
            final int hid = spec.hiddenSize(), layers = spec.numLayers();
            final Mode mode = spec.mode();
            minReluPre = Double.POSITIVE_INFINITY;
            double[] hN = new double[layers * dirs * b * out], cN = new double[layers * dirs * b * hid];
            double[] in = x, y = null;
            int inSize = spec.inputSize();
            for (int l = 0; l < layers; l++) {
                y = new double[t * b * dirs * out]; // zero after each sample's length
                for (int d = 0; d < dirs; d++) {
                    double[] wi = w.get(name("weight_ih", l, d)), wh = w.get(name("weight_hh", l, d));
                    double[] bi = spec.bias() ? w.get(name("bias_ih", l, d)) : null, bh = spec.bias() ? w.get(name("bias_hh", l, d)) : null;
                    double[] wr = spec.projSize() > 0 ? w.get(name("weight_hr", l, d)) : null;
                    int s = l * dirs + d;
                    for (int bi0 = 0; bi0 < b; bi0++) {
                        double[] h = new double[out], c = new double[hid];
                        if (h0 != null) System.arraycopy(h0, (s * b + bi0) * out, h, 0, out);
                        if (c0 != null) System.arraycopy(c0, (s * b + bi0) * hid, c, 0, hid);
                        int len = lengths == null ? t : lengths[bi0];
                        // forward: steps 0..len-1; reverse: len-1..0, starting from h0 at the sample's last step
                        for (int k = 0; k < len; k++) {
                            int ti = d == 0 ? k : len - 1 - k;
                            int xo = (ti * b + bi0) * inSize;
                            double[] gi = new double[gates], gh = new double[gates];
                            for (int g = 0; g < gates; g++) {
                                double a = bi == null ? 0 : bi[g], r = bh == null ? 0 : bh[g];
                                for (int j = 0; j < inSize; j++) a += wi[g * inSize + j] * in[xo + j];
                                for (int j = 0; j < out; j++) r += wh[g * out + j] * h[j];
                                gi[g] = a;
                                gh[g] = r;
                            }
                            double[] hNew = new double[out];
                            switch (mode) {
                                case LSTM -> {
                                    double[] hFull = new double[hid];
                                    for (int j = 0; j < hid; j++) {
                                        double ig = sigmoid(gi[j] + gh[j]), fg = sigmoid(gi[hid + j] + gh[hid + j]);
                                        double gg = Math.tanh(gi[2 * hid + j] + gh[2 * hid + j]), og = sigmoid(gi[3 * hid + j] + gh[3 * hid + j]);
                                        c[j] = fg * c[j] + ig * gg;
                                        hFull[j] = og * Math.tanh(c[j]);
                                    }
                                    if (wr == null) {
                                        hNew = hFull;
                                    } else {
                                        for (int p = 0; p < out; p++) {
                                            double v = 0;
                                            for (int j = 0; j < hid; j++) v += wr[p * hid + j] * hFull[j];
                                            hNew[p] = v;
                                        }
                                    }
                                }
                                case GRU -> {
                                    for (int j = 0; j < hid; j++) {
                                        double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[hid + j] + gh[hid + j]);
                                        double n = Math.tanh(gi[2 * hid + j] + r * gh[2 * hid + j]);
                                        hNew[j] = (1 - z) * n + z * h[j];
                                    }
                                }
                                case RNN_TANH -> {
                                    for (int j = 0; j < hid; j++) hNew[j] = Math.tanh(gi[j] + gh[j]);
                                }
                                case RNN_RELU -> {
                                    for (int j = 0; j < hid; j++) {
                                        double pre = gi[j] + gh[j];
                                        minReluPre = Math.min(minReluPre, Math.abs(pre));
                                        hNew[j] = Math.max(0, pre);
                                    }
                                }
                            }
                            h = hNew;
                            System.arraycopy(h, 0, y, (ti * b + bi0) * dirs * out + d * out, out);
                        }
                        System.arraycopy(h, 0, hN, (s * b + bi0) * out, out);
                        System.arraycopy(c, 0, cN, (s * b + bi0) * hid, hid);
                    }
                }
                in = y;
                inSize = dirs * out;
            }
            return new Fwd(y, hN, cN);
        }
    }

    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    // ---------------------------------------------------------------------------------------------------------
    // recurrent layers

    /** Lets {@link #detectsWrongGradients} corrupt an analytic gradient (by tensor name) before the comparison. */
    interface Corrupt {
        void apply(String name, float[] grad);
    }

    /** Runs one case; returns the first disagreement (null: none). Forward disagreements and set-up errors fail directly. */
    static String checkLayer(Backend backend, Case c, Corrupt corrupt) {
        LayerSpec spec = c.spec();
        int dirs = spec.directions(), out = spec.outputSize(), states = spec.numLayers() * dirs, yw = dirs * out;
        boolean lstm = c.mode() == Mode.LSTM;
        SplittableRandom rng = new SplittableRandom(c.seed() * 7919);
        float[] x = uniform(rng, T * B * I, 1), h0 = uniform(rng, states * B * out, 0.5), c0 = uniform(rng, states * B * H, 0.5);
        float[] r1 = uniform(rng, T * B * yw, 1), r2 = uniform(rng, states * B * out, 1), r3 = uniform(rng, states * B * H, 1);
        String ctx = c.name() + " on " + backend.name();
        try (Arena arena = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(spec, "rnn.", c.seed(), backend)) {
            Tensor input = layout(arena, x, spec.batchFirst(), I);
            Tensor h0t = c.h0() ? Tensor.of(arena, h0, states, B, out) : null, c0t = c.c0() ? Tensor.of(arena, c0, states, B, H) : null;
            rnn.zeroGrad();
            TrainableRecurrent.Result res = rnn.forward(input, h0t, c0t, c.lengths() == null ? null : c.lengths().clone());

            // (a) the float64 forward on the same float values
            RefRnn ref = new RefRnn(spec, "rnn.", false, rnn.parameters());
            double[] xd = toDouble(x), h0d = c.h0() ? toDouble(h0) : new double[states * B * out], c0d = c.c0() ? toDouble(c0) : new double[states * B * H];
            RefRnn.Fwd f = ref.forward(xd, T, B, h0d, c0d, c.lengths());
            forwardNear("output", f.y(), timeMajor(res.output().toArray(), spec.batchFirst(), yw), ctx);
            forwardNear("h_n", f.hN(), res.hN().toArray(), ctx);
            if (lstm) forwardNear("c_n", f.cN(), res.cN().toArray(), ctx);
            else assertNull(res.cN(), "c_n of a " + c.mode());
            if (c.mode() == Mode.RNN_RELU) {
                assertTrue(ref.minReluPre > RELU_MARGIN, "a ReLU pre-activation is " + ref.minReluPre + " from the kink; pick another seed (" + ctx + ")");
            }

            // (b) analytic gradients with dOutput = R1, dHN = R2, dCN = R3
            TrainableRecurrent.Grads g = rnn.backward(layout(arena, r1, spec.batchFirst(), yw), Tensor.of(arena, r2, states, B, out),
                    lstm ? Tensor.of(arena, r3, states, B, H) : null);
            Map<String, float[]> analytic = new LinkedHashMap<>();
            for (Param p : rnn.parameters()) analytic.put("grad of " + p.name(), p.grad().toArray());
            analytic.put("grad of input", timeMajor(g.dInput().toArray(), spec.batchFirst(), I));
            analytic.put("grad of h0", g.dH0().toArray());
            if (lstm) analytic.put("grad of c0", g.dC0().toArray());
            else assertNull(g.dC0(), "dC0 of a " + c.mode());
            if (corrupt != null) analytic.forEach((n, a) -> corrupt.apply(n.substring("grad of ".length()), a));

            double[] r1d = toDouble(r1), r2d = toDouble(r2), r3d = toDouble(r3);
            DoubleSupplier loss = () -> {
                RefRnn.Fwd v = ref.forward(xd, T, B, h0d, c0d, c.lengths());
                return dot(v.y(), r1d) + dot(v.hN(), r2d) + (lstm ? dot(v.cN(), r3d) : 0);
            };
            Map<String, double[]> numeric = new LinkedHashMap<>();
            for (Param p : rnn.parameters()) numeric.put("grad of " + p.name(), centralDifferences(ref.w.get(p.name()), loss));
            numeric.put("grad of input", centralDifferences(xd, loss));
            numeric.put("grad of h0", centralDifferences(h0d, loss));
            if (lstm) numeric.put("grad of c0", centralDifferences(c0d, loss));
            if (c.mode() == Mode.RNN_RELU) assertTrue(ref.minReluPre > RELU_MARGIN, "ReLU margin after the differences (" + ctx + ")");
            assertEquals(numeric.keySet(), analytic.keySet());
            for (String n : numeric.keySet()) {
                String bad = gradMismatch(n, numeric.get(n), analytic.get(n), ctx);
                if (bad != null) return bad;
            }
            return null;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // cells

    private static void checkCell(Backend backend, Mode mode, boolean bias) {
        boolean lstm = mode == Mode.LSTM;
        SplittableRandom rng = new SplittableRandom(mode.ordinal() * 31L + (bias ? 1 : 0));
        float[] x = uniform(rng, B * I, 1), hx = uniform(rng, B * H, 0.5), cx = uniform(rng, B * H, 0.5);
        float[] r2 = uniform(rng, B * H, 1), r3 = uniform(rng, B * H, 1);
        String ctx = mode + (bias ? "" : " no bias") + " cell on " + backend.name();
        try (Arena arena = Arena.ofConfined(); TrainableCell cell = TrainableCell.create(mode, I, H, bias, "cell.", 40 + mode.ordinal(), backend)) {
            TrainableCell.State s = cell.forward(Tensor.of(arena, x, B, I), Tensor.of(arena, hx, B, H), lstm ? Tensor.of(arena, cx, B, H) : null);
            RefRnn ref = new RefRnn(new LayerSpec(mode, I, H, 1, false, bias, false, 0), "cell.", true, cell.parameters());
            double[] xd = toDouble(x), hd = toDouble(hx), cd = lstm ? toDouble(cx) : new double[B * H];
            RefRnn.Fwd f = ref.forward(xd, 1, B, hd, cd, null);
            forwardNear("h", f.hN(), s.h().toArray(), ctx);
            if (lstm) forwardNear("c", f.cN(), s.c().toArray(), ctx);
            if (mode == Mode.RNN_RELU) assertTrue(ref.minReluPre > RELU_MARGIN, "ReLU pre-activation near the kink (" + ctx + ")");
            TrainableRecurrent.Grads g = cell.backward(Tensor.of(arena, r2, B, H), lstm ? Tensor.of(arena, r3, B, H) : null);
            double[] r2d = toDouble(r2), r3d = toDouble(r3);
            DoubleSupplier loss = () -> {
                RefRnn.Fwd v = ref.forward(xd, 1, B, hd, cd, null);
                return dot(v.hN(), r2d) + (lstm ? dot(v.cN(), r3d) : 0);
            };
            for (Param p : cell.parameters()) expectGrad("grad of " + p.name(), centralDifferences(ref.w.get(p.name()), loss), p.grad().toArray(), ctx);
            expectGrad("grad of input", centralDifferences(xd, loss), g.dInput().toArray(), ctx);
            expectGrad("grad of hx", centralDifferences(hd, loss), g.dH0().toArray(), ctx);
            if (lstm) expectGrad("grad of cx", centralDifferences(cd, loss), g.dC0().toArray(), ctx);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Linear + cross-entropy, Embedding

    /** PyTorch's cross-entropy in float64: mean (over counted rows) or sum of {@code logsumexp(z) - z[target]}. */
    static double crossEntropy(double[] z, int n, int c, int[] targets, int ignore, boolean mean) {
        double total = 0;
        int counted = 0;
        for (int i = 0; i < n; i++) {
            if (targets[i] == ignore) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < c; j++) max = Math.max(max, z[i * c + j]);
            for (int j = 0; j < c; j++) sum += Math.exp(z[i * c + j] - max);
            total += max + Math.log(sum) - z[i * c + targets[i]];
            counted++;
        }
        return mean ? total / counted : total;
    }

    private static void checkLinearCrossEntropy(Backend backend) {
        final int n = 4, in = 3, c = 5;
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = uniform(rng, n * in, 2);
        int[] targets = {2, 0, 3, 4};
        CrossEntropyLoss[] losses = {new CrossEntropyLoss(), new CrossEntropyLoss(3, true), new CrossEntropyLoss(3, false), new CrossEntropyLoss(-100, false)};
        try (Arena arena = Arena.ofConfined(); TrainableLinear fc = TrainableLinear.create(in, c, true, "fc.", 8, backend)) {
            // PyTorch's init gives small logits: scale the weights up so that the softmax is far from uniform
            float[] w0 = fc.parameters().get(0).value().toArray();
            for (int i = 0; i < w0.length; i++) w0[i] *= 4;
            fc.parameters().get(0).value().copyFrom(w0);
            double[] wd = toDouble(fc.parameters().get(0).value().toArray()), bd = toDouble(fc.parameters().get(1).value().toArray()), xd = toDouble(x);
            for (CrossEntropyLoss ce : losses) {
                String ctx = "linear + " + ce + " on " + backend.name();
                fc.zeroGrad();
                Tensor logits = fc.forward(Tensor.of(arena, x, n, in));
                Tensor dLogits = Tensor.allocate(arena, n, c);
                float value = ce.forwardBackward(logits, targets, dLogits);
                // the loss w.r.t. the logits as given (float32 values)
                double[] z = toDouble(logits.toArray());
                double refLoss = crossEntropy(z, n, c, targets, ce.ignoreIndex(), ce.mean());
                assertEquals(refLoss, value, 1e-6 * Math.abs(refLoss) + 1e-7, "loss (" + ctx + ")");
                expectGrad("grad of logits", centralDifferences(z, () -> crossEntropy(z, n, c, targets, ce.ignoreIndex(), ce.mean())), dLogits.toArray(), ctx);
                // through the Linear layer, in float64
                DoubleSupplier loss = () -> {
                    double[] zz = new double[n * c];
                    for (int i = 0; i < n; i++) {
                        for (int o = 0; o < c; o++) {
                            double v = bd[o];
                            for (int j = 0; j < in; j++) v += wd[o * in + j] * xd[i * in + j];
                            zz[i * c + o] = v;
                        }
                    }
                    return crossEntropy(zz, n, c, targets, ce.ignoreIndex(), ce.mean());
                };
                assertEquals(loss.getAsDouble(), value, 1e-5 * Math.abs(refLoss) + 1e-6, "loss through the layer (" + ctx + ")");
                Tensor dx = fc.backward(dLogits);
                expectGrad("grad of fc.weight", centralDifferences(wd, loss), fc.parameters().get(0).grad().toArray(), ctx);
                expectGrad("grad of fc.bias", centralDifferences(bd, loss), fc.parameters().get(1).grad().toArray(), ctx);
                expectGrad("grad of x", centralDifferences(xd, loss), dx.toArray(), ctx);
            }
        }
    }

    private static void checkEmbedding(Backend backend) {
        final int size = 6, dim = 4;
        int[] ids = {1, 4, 1, 0, 5, 1};
        SplittableRandom rng = new SplittableRandom(9);
        float[] r = uniform(rng, ids.length * dim, 1);
        String ctx = "embedding on " + backend.name();
        try (Arena arena = Arena.ofConfined(); TrainableEmbedding emb = TrainableEmbedding.create(size, dim, "e.", 3, backend)) {
            Tensor y = emb.forward(ids);
            double[] table = toDouble(emb.parameters().get(0).value().toArray()), rd = toDouble(r);
            DoubleSupplier loss = () -> {
                double v = 0;
                for (int i = 0; i < ids.length; i++) for (int j = 0; j < dim; j++) v += table[ids[i] * dim + j] * rd[i * dim + j];
                return v;
            };
            double[] rows = new double[ids.length * dim];
            for (int i = 0; i < ids.length; i++) System.arraycopy(table, ids[i] * dim, rows, i * dim, dim);
            forwardNear("embedding rows", rows, y.toArray(), ctx);
            emb.backward(Tensor.of(arena, r, ids.length, dim));
            expectGrad("grad of e.weight", centralDifferences(table, loss), emb.parameters().get(0).grad().toArray(), ctx);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    /** {@code ∂L/∂θ_i} for every i by central differences (θ restored afterwards). */
    static double[] centralDifferences(double[] theta, DoubleSupplier loss) {
        double[] g = new double[theta.length];
        for (int i = 0; i < theta.length; i++) {
            double v = theta[i], h = STEP * Math.max(1, Math.abs(v));
            double up = v + h, down = v - h;
            theta[i] = up;
            double lp = loss.getAsDouble();
            theta[i] = down;
            double lm = loss.getAsDouble();
            theta[i] = v;
            g[i] = (lp - lm) / (up - down);
        }
        return g;
    }

    static void expectGrad(String what, double[] numeric, float[] analytic, String ctx) {
        String bad = gradMismatch(what, numeric, analytic, ctx);
        if (bad != null) fail(bad);
    }

    /** The first entry outside {@code GRAD_REL·max(max|analytic|, max|numeric|) + GRAD_ABS}, or null. */
    static String gradMismatch(String what, double[] numeric, float[] analytic, String ctx) {
        if (numeric.length != analytic.length) return what + ": " + analytic.length + " analytic entries, " + numeric.length + " numeric (" + ctx + ")";
        double max = 0;
        for (int i = 0; i < numeric.length; i++) max = Math.max(max, Math.max(Math.abs(numeric[i]), Math.abs(analytic[i])));
        if (!(max > 1e-6)) return what + ": every entry is (nearly) zero, the comparison would prove nothing (" + ctx + ")";
        double tol = GRAD_REL * max + GRAD_ABS;
        for (int i = 0; i < numeric.length; i++) {
            double d = Math.abs(numeric[i] - analytic[i]);
            if (!(d <= tol)) {
                return String.format("%s[%d]: finite differences %.8g, analytic %.8g, |diff| %.3g > %.3g (max %.3g; %s)", what, i, numeric[i],
                        analytic[i], d, tol, max, ctx);
            }
        }
        return null;
    }

    static void forwardNear(String what, double[] expected, float[] actual, String ctx) {
        assertEquals(expected.length, actual.length, what + ": element count (" + ctx + ")");
        double max = 0;
        for (double e : expected) max = Math.max(max, Math.abs(e));
        double tol = FWD_REL * max + FWD_ABS;
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                fail(String.format("forward %s[%d]: float64 reference %.8g, float32 %.8g, |diff| %.3g > %.3g (%s)", what, i, expected[i], actual[i],
                        Math.abs(expected[i] - actual[i]), tol, ctx));
            }
        }
    }

    static float[] uniform(SplittableRandom rng, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        return v;
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** A time-major {@code [T][B][n]} array as the layer's tensor: {@code (T, B, n)} or batch-first {@code (B, T, n)}. */
    static Tensor layout(Arena arena, float[] timeMajor, boolean batchFirst, int n) {
        if (!batchFirst) return Tensor.of(arena, timeMajor, T, B, n);
        float[] v = new float[timeMajor.length];
        for (int t = 0; t < T; t++) for (int b = 0; b < B; b++) System.arraycopy(timeMajor, (t * B + b) * n, v, (b * T + t) * n, n);
        return Tensor.of(arena, v, B, T, n);
    }

    /** The layer's layout back to time-major. */
    static float[] timeMajor(float[] v, boolean batchFirst, int n) {
        if (!batchFirst) return v;
        float[] r = new float[v.length];
        for (int t = 0; t < T; t++) for (int b = 0; b < B; b++) System.arraycopy(v, (b * T + t) * n, r, (t * B + b) * n, n);
        return r;
    }

    /**
     * The scalar backend with its transposed-A products (the weight gradients {@code dW = dGatesᵀ·X}) changed:
     * alpha scaled by {@code scale}, and with {@code dropLastStep} the reduction over {@code T·B} rows cut to the
     * first {@code (T-1)·B} (a BPTT loop that forgets its last step).
     */
    static Backend mutant(float scale, boolean dropLastStep) {
        ScalarKernelProvider p = new ScalarKernelProvider();
        Object products = p.products();
        Mutated m = new Mutated((Bf16Products) products, (PreparedProducts) products, scale, dropLastStep);
        return TestBackends.of(new Kernels("mutated-scalar", m, m, m, p.cellMath().orElseThrow()));
    }

    private record Mutated(Bf16Products bf16, PreparedProducts base, float scale, boolean dropLastStep) implements Bf16Products, PreparedProducts {
        @Override
        public void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                          float beta, MemorySegment c, long cOff, int ldc) {
            if (ta) {
                alpha *= scale;
                if (dropLastStep && k == T * B) k -= B;
            }
            base.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }

        @Override
        public void sgemv(boolean ta, int m, int n, float alpha, MemorySegment a, long aOff, int lda, MemorySegment x, long xOff, float beta, MemorySegment y,
                          long yOff) {
            base.sgemv(ta, m, n, alpha, a, aOff, lda, x, xOff, beta, y, yOff);
        }

        @Override
        public void sgemmBf16(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb, float beta,
                              MemorySegment c, long cOff, int ldc) {
            bf16.sgemmBf16(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }
    }
}
