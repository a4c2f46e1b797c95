package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to training gets a clear {@link IllegalArgumentException} or {@link IllegalStateException} whose
 * message names the tensor (and the shapes or values involved), never another exception or a crash, and a
 * refused call leaves every parameter and gradient as it was, bit for bit (checked after each refusal); the
 * module still works afterwards and computes what it computed before.
 */
public class TrainValidationTest {
    /** Which backends this class runs; a subclass may narrow it. */
    protected boolean runsOn(String backend) {
        return true;
    }

    /** The backend the modules run on: scalar, unless this class does not run there. */
    Backend backend() {
        if (runsOn("scalar")) return Backend.get("scalar");
        for (Backend.Status s : Backend.list()) if (s.available() && runsOn(s.name())) return Backend.get(s.name());
        throw new org.opentest4j.TestAbortedException("no backend to run on");
    }

    // the layer of most checks: LSTM, 2 layers, bidirectional, proj_size 3 (I=3, H=5), time-major; T=4, B=2
    static final int I = 3, H = 5, P = 3, T = 4, B = 2, L = 2, D = 2;
    static final LayerSpec SPEC = new LayerSpec(Mode.LSTM, I, H, L, true, true, false, P);

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    /** Every parameter's value and gradient bits. */
    record Snapshot(Map<String, float[]> values, Map<String, float[]> grads) {
        static Snapshot of(List<Param> params) {
            Map<String, float[]> v = new LinkedHashMap<>(), g = new LinkedHashMap<>();
            for (Param p : params) {
                v.put(p.name(), p.value().toArray());
                g.put(p.name(), p.grad().toArray());
            }
            return new Snapshot(v, g);
        }

        void assertSame(List<Param> params, String after) {
            Snapshot now = of(params);
            for (String n : values.keySet()) {
                assertArrayEquals(bits(values.get(n)), bits(now.values.get(n)), "value of " + n + " changed by a refused call (" + after + ")");
                assertArrayEquals(bits(grads.get(n)), bits(now.grads.get(n)), "gradient of " + n + " changed by a refused call (" + after + ")");
            }
        }
    }

    static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    /** {@code call} throws {@code type} with a message containing every fragment, and changes no parameter or gradient of {@code watched}. */
    static <X extends RuntimeException> X refused(Class<X> type, List<Param> watched, Executable call, String... fragments) {
        Snapshot before = Snapshot.of(watched);
        X e = assertThrows(type, call);
        String m = e.getMessage();
        for (String f : fragments) assertTrue(m != null && m.contains(f), "message \"" + m + "\" should contain \"" + f + "\"");
        before.assertSame(watched, m);
        return e;
    }

    static IllegalArgumentException badArg(List<Param> watched, Executable call, String... fragments) {
        return refused(IllegalArgumentException.class, watched, call, fragments);
    }

    static IllegalStateException badState(List<Param> watched, Executable call, String... fragments) {
        return refused(IllegalStateException.class, watched, call, fragments);
    }

    static Tensor random(Arena arena, long seed, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) t.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() - 0.5);
        t.copyFrom(v);
        return t;
    }

    /** The valid call of the layer of most checks. */
    record Call(Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor dOut, Tensor dHN, Tensor dCN) {
        static Call of(Arena a) {
            return new Call(random(a, 1, T, B, I), random(a, 2, L * D, B, P), random(a, 3, L * D, B, H), new int[] {4, 2},
                    random(a, 4, T, B, D * P), random(a, 5, L * D, B, P), random(a, 6, L * D, B, H));
        }

        TrainableRecurrent.Result forward(TrainableRecurrent rnn) {
            return rnn.forward(input, h0, c0, lengths);
        }

        TrainableRecurrent.Grads backward(TrainableRecurrent rnn) {
            return rnn.backward(dOut, dHN, dCN);
        }
    }

    /** The gradients of one valid forward and backward from zero gradients. */
    static Map<String, float[]> referenceGrads(TrainableRecurrent rnn, Call c) {
        rnn.zeroGrad();
        c.forward(rnn);
        c.backward(rnn);
        return Snapshot.of(rnn.parameters()).grads();
    }

    static void sameGrads(Map<String, float[]> want, TrainableRecurrent rnn, String what) {
        for (Param p : rnn.parameters()) assertArrayEquals(bits(want.get(p.name())), bits(p.grad().toArray()), "grad of " + p.name() + " " + what);
    }

    // ---------------------------------------------------------------------------------------------------------
    // TrainableRecurrent

    @Test
    void forwardRefusesBadShapesAndLengths() {
        try (Arena a = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend())) {
            Call c = Call.of(a);
            Map<String, float[]> want = referenceGrads(rnn, c); // gradients are non-zero from here on
            List<Param> ps = rnn.parameters();
            Tensor rank2 = random(a, 7, T * B, I), wide = random(a, 8, T, B, I + 1), empty = Tensor.allocate(a, 0, B, I);
            badArg(ps, () -> rnn.forward(rank2, c.h0(), c.c0(), null), "input", "rank 3", rank2.shapeString());
            badArg(ps, () -> rnn.forward(wide, c.h0(), c.c0(), null), "input", "input_size = 3", wide.shapeString());
            badArg(ps, () -> rnn.forward(empty, null, null, null), "input", empty.shapeString());
            for (int[] s : new int[][] {{L * D, B, H}, {L * D, B + 1, P}, {L * D - 1, B, P}, {L * D * B, P}}) {
                Tensor h0 = Tensor.allocate(a, s);
                badArg(ps, () -> rnn.forward(c.input(), h0, c.c0(), null), "h0", "(4, 2, 3)", h0.shapeString());
            }
            for (int[] s : new int[][] {{L * D, B, P}, {L * D, B + 1, H}, {1, B, H}}) {
                Tensor c0 = Tensor.allocate(a, s);
                badArg(ps, () -> rnn.forward(c.input(), c.h0(), c0, null), "c0", "(4, 2, 5)", c0.shapeString());
            }
            badArg(ps, () -> rnn.forward(c.input(), null, null, new int[] {4}), "lengths", "expected 2", "got 1");
            badArg(ps, () -> rnn.forward(c.input(), null, null, new int[] {4, 2, 1}), "lengths", "expected 2", "got 3");
            badArg(ps, () -> rnn.forward(c.input(), null, null, new int[] {4, 0}), "lengths[1] = 0", "1..4");
            badArg(ps, () -> rnn.forward(c.input(), null, null, new int[] {5, 2}), "lengths[0] = 5", "1..4");
            badArg(ps, () -> rnn.forward(c.input(), null, null, new int[] {-1, 2}), "lengths[0] = -1");
            // still works, and computes what it computed before
            rnn.zeroGrad();
            c.forward(rnn);
            c.backward(rnn);
            sameGrads(want, rnn, "after refused forward calls");
        }
    }

    @Test
    void cellStateOfALayerWithoutOne() {
        LayerSpec gru = new LayerSpec(Mode.GRU, I, H, 1, false, true, false, 0);
        try (Arena a = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(gru, "rnn.", 1, backend())) {
            Tensor x = random(a, 1, T, B, I), c0 = Tensor.allocate(a, 1, B, H);
            badArg(rnn.parameters(), () -> rnn.forward(x, null, c0, null), "c0", "GRU");
            rnn.forward(x, null, null, null);
            badArg(rnn.parameters(), () -> rnn.backward(null, null, c0), "dCN", "GRU");
            assertDoesNotThrow(() -> rnn.backward(null, Tensor.allocate(a, 1, B, H), null));
        }
    }

    @Test
    void backwardNeedsOneForwardEach() {
        try (Arena a = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend())) {
            Call c = Call.of(a);
            List<Param> ps = rnn.parameters();
            badState(ps, () -> c.backward(rnn), "forward");
            badState(ps, () -> rnn.backward(null, null, null), "forward");
            Map<String, float[]> want = referenceGrads(rnn, c);
            badState(ps, () -> c.backward(rnn), "forward"); // a second backward of one forward
            sameGrads(want, rnn, "after a second backward was refused");
            // a refused forward leaves no trace to go back through
            c.forward(rnn);
            badArg(ps, () -> rnn.forward(random(a, 9, T, B, I + 1), null, null, null), "input");
            badState(ps, () -> c.backward(rnn), "forward");
        }
    }

    @Test
    void backwardRefusesBadUpstreamGradientsAndKeepsTheTrace() {
        try (Arena a = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend())) {
            Call c = Call.of(a);
            Map<String, float[]> want = referenceGrads(rnn, c);
            List<Param> ps = rnn.parameters();
            rnn.zeroGrad();
            c.forward(rnn);
            for (int[] s : new int[][] {{T, B, D * P - 1}, {B, T, D * P}, {T * B, D * P}, {T + 1, B, D * P}}) {
                Tensor d = Tensor.allocate(a, s);
                badArg(ps, () -> rnn.backward(d, c.dHN(), c.dCN()), "dOutput", "(4, 2, 6)", d.shapeString());
            }
            for (int[] s : new int[][] {{L * D, B, H}, {L * D, 1, P}, {L * D * B, P}}) {
                Tensor d = Tensor.allocate(a, s);
                badArg(ps, () -> rnn.backward(c.dOut(), d, c.dCN()), "dHN", "(4, 2, 3)", d.shapeString());
            }
            Tensor dc = Tensor.allocate(a, L * D, B, P);
            badArg(ps, () -> rnn.backward(c.dOut(), c.dHN(), dc), "dCN", "(4, 2, 5)", dc.shapeString());
            // the refused calls kept the forward pass: the valid backward gives the reference gradients
            c.backward(rnn);
            sameGrads(want, rnn, "after refused backward calls");
        }
    }

    @Test
    void batchFirstShapes() {
        LayerSpec bf = SPEC.withBatchFirst(true);
        try (Arena a = Arena.ofConfined(); TrainableRecurrent rnn = TrainableRecurrent.create(bf, "rnn.", 1, backend())) {
            List<Param> ps = rnn.parameters();
            Tensor x = random(a, 1, B, T, I);
            rnn.forward(x, null, null, new int[] {4, 3});
            Tensor timeMajor = Tensor.allocate(a, T, B, D * P);
            badArg(ps, () -> rnn.backward(timeMajor, null, null), "dOutput", "(2, 4, 6)", timeMajor.shapeString());
            assertDoesNotThrow(() -> rnn.backward(Tensor.allocate(a, B, T, D * P), null, null));
            // lengths count the batch, the first dimension of a batch-first input
            badArg(ps, () -> rnn.forward(x, null, null, new int[] {4, 3, 2, 1}), "lengths", "expected 2");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // cells

    @Test
    void cellRefusesBadShapes() {
        try (Arena a = Arena.ofConfined(); TrainableCell cell = TrainableCell.create(Mode.LSTM, I, H, true, "cell.", 1, backend())) {
            List<Param> ps = cell.parameters();
            Tensor x = random(a, 1, B, I), h = random(a, 2, B, H);
            badState(ps, () -> cell.backward(h, h), "forward");
            Tensor x3 = random(a, 3, 1, B, I), xw = random(a, 4, B, I + 1), hb = random(a, 5, B + 1, H), hw = random(a, 6, B, H + 1);
            badArg(ps, () -> cell.forward(x3, null, null), "input", x3.shapeString());
            badArg(ps, () -> cell.forward(xw, null, null), "input", xw.shapeString());
            badArg(ps, () -> cell.forward(x, hb, null), "hx", hb.shapeString());
            badArg(ps, () -> cell.forward(x, hw, null), "hx", hw.shapeString());
            badArg(ps, () -> cell.forward(x, h, hw), "cx", hw.shapeString());
            cell.forward(x, h, h);
            Tensor d3 = random(a, 7, 1, B, H);
            badArg(ps, () -> cell.backward(d3, null), "dh", d3.shapeString());
            badArg(ps, () -> cell.backward(h, d3), "dc", d3.shapeString());
            assertDoesNotThrow(() -> cell.backward(h, h));
            badState(ps, () -> cell.backward(h, h), "forward");
        }
    }

    /**
     * The cell's errors name the cell's arguments ({@code cx}, {@code dh}, {@code dc}) and their {@code [B × H]}
     * shapes, not the names and {@code (1, B, H)} shapes of the layer it runs on ({@code c0}, {@code dHN}, {@code dCN}).
     */
    @Test
    void cellErrorsNameTheCellsArguments() {
        try (Arena a = Arena.ofConfined(); TrainableCell gru = TrainableCell.create(Mode.GRU, I, H, true, "cell.", 1, backend());
             TrainableCell lstm = TrainableCell.create(Mode.LSTM, I, H, true, "cell.", 1, backend())) {
            Tensor x = random(a, 1, B, I), h = random(a, 2, B, H), h3 = random(a, 3, B + 1, H);
            badArg(gru.parameters(), () -> gru.forward(x, h, h), "cx");
            gru.forward(x, h, null);
            badArg(gru.parameters(), () -> gru.backward(h3, null), "dh", h3.shapeString());
            badArg(gru.parameters(), () -> gru.backward(h, h), "dc");
            lstm.forward(x, h, h);
            badArg(lstm.parameters(), () -> lstm.backward(h, h3), "dc", h3.shapeString());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Linear, Embedding, cross-entropy

    @Test
    void linearRefusesBadShapes() {
        assertThrows(IllegalArgumentException.class, () -> TrainableLinear.create(0, 4, true, "fc.", 1, backend()));
        assertThrows(IllegalArgumentException.class, () -> TrainableLinear.create(3, 0, true, "fc.", 1, backend()));
        try (Arena a = Arena.ofConfined(); TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend())) {
            List<Param> ps = fc.parameters();
            Tensor x = random(a, 1, 5, 3), dy = random(a, 2, 5, 4);
            badState(ps, () -> fc.backward(dy), "forward");
            Tensor x4 = random(a, 3, 5, 4);
            badArg(ps, () -> fc.forward(x4), "Linear input", "3", x4.shapeString());
            fc.forward(x);
            for (int[] s : new int[][] {{5, 3}, {4, 4}, {6, 4}, {5, 5}}) {
                Tensor d = Tensor.allocate(a, s);
                badArg(ps, () -> fc.backward(d), "Linear dy", "[5 × 4]", d.shapeString());
            }
            fc.backward(dy);
            badState(ps, () -> fc.backward(dy), "forward");
        }
    }

    @Test
    void embeddingRefusesBadIdsAndShapes() {
        assertThrows(IllegalArgumentException.class, () -> TrainableEmbedding.create(0, 4, "e.", 1, backend()));
        assertThrows(IllegalArgumentException.class, () -> TrainableEmbedding.create(6, 0, "e.", 1, backend()));
        try (Arena a = Arena.ofConfined(); TrainableEmbedding emb = TrainableEmbedding.create(6, 4, "e.", 1, backend())) {
            List<Param> ps = emb.parameters();
            Tensor dy = random(a, 1, 3, 4);
            badState(ps, () -> emb.backward(dy), "forward");
            badArg(ps, () -> emb.forward(new int[] {0, 5, 6}), "ids[2] = 6", "0..5");
            badArg(ps, () -> emb.forward(new int[] {-1, 5, 2}), "ids[0] = -1", "0..5");
            Tensor before = emb.forward(new int[] {0, 5, 2});
            float[] rows = before.toArray();
            badArg(ps, () -> emb.forward(new int[] {1, Integer.MAX_VALUE}), "ids[1]");
            assertArrayEquals(rows, before.toArray(), "a refused lookup changed the last output");
            for (int[] s : new int[][] {{3, 5}, {2, 4}, {4, 4}}) {
                Tensor d = Tensor.allocate(a, s);
                badArg(ps, () -> emb.backward(d), "Embedding dy", "[3 × 4]", d.shapeString());
            }
            emb.backward(dy);
            badState(ps, () -> emb.backward(dy), "forward");
        }
    }

    @Test
    void crossEntropyRefusesBadTargetsAndShapes() {
        try (Arena a = Arena.ofConfined()) {
            Tensor logits = random(a, 1, 3, 5), d = Tensor.allocate(a, 3, 5);
            d.fill(42f);
            CrossEntropyLoss ce = new CrossEntropyLoss(), ignore = new CrossEntropyLoss(0, true);
            for (CrossEntropyLoss loss : new CrossEntropyLoss[] {ce, ignore}) {
                assertIae(() -> loss.forwardBackward(logits, new int[] {1, 5, 2}, d), "targets[1] = 5", "0..4");
                assertIae(() -> loss.forwardBackward(logits, new int[] {1, 2, -3}, d), "targets[2] = -3", "0..4");
                assertIae(() -> loss.forwardBackward(logits, new int[] {1, 2}, d), "targets", "expected 3", "got 2");
                assertIae(() -> loss.forwardBackward(logits, new int[] {1, 2, 3, 4}, d), "targets", "expected 3", "got 4");
                Tensor wrong = Tensor.allocate(a, 3, 4);
                assertIae(() -> loss.forwardBackward(logits, new int[] {1, 2, 3}, wrong), "dLogits", "[3 × 5]", wrong.shapeString());
                for (float v : d.toArray()) assertEquals(42f, v, "a refused loss wrote dLogits");
            }
            // -100 is only ignored by a loss whose ignore index it is
            assertIae(() -> ignore.forwardBackward(logits, new int[] {1, -100, 0}, Tensor.allocate(a, 3, 5)), "targets[1] = -100");
            assertDoesNotThrow(() -> ce.forwardBackward(logits, new int[] {1, -100, 0}, Tensor.allocate(a, 3, 5)));
            assertDoesNotThrow(() -> ignore.forwardBackward(logits, new int[] {1, 0, 0}, d)); // 0 is ignored there
        }
    }

    static void assertIae(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String f : fragments) assertTrue(e.getMessage() != null && e.getMessage().contains(f), "message \"" + e.getMessage() + "\" should contain \"" + f + "\"");
    }

    // ---------------------------------------------------------------------------------------------------------
    // optimisers, clipping, schedules

    @Test
    void optimisersRefuseHyperParametersOutOfRange() {
        try (TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend())) {
            List<Param> ps = fc.parameters();
            double nan = Double.NaN, inf = Double.POSITIVE_INFINITY;
            for (double bad : new double[] {-1e-3, nan, inf}) {
                assertIae(() -> new Sgd(ps, bad, 0, 0, 0, false), "lr");
                assertIae(() -> new Sgd(ps, 0.1, bad, 0, 0, false), "momentum");
                assertIae(() -> new Sgd(ps, 0.1, 0, 0, bad, false), "weight_decay");
                assertIae(() -> Adam.of(ps, bad), "lr");
                assertIae(() -> new Adam(ps, 1e-3, 0.9, 0.999, bad, 0, false), "eps");
                assertIae(() -> new Adam(ps, 1e-3, 0.9, 0.999, 1e-8, bad, false), "weight_decay");
                assertIae(() -> Adam.adamW(ps, 1e-3, bad), "weight_decay");
            }
            for (double bad : new double[] {-0.1, 1.0, 1.5, Double.NaN}) {
                assertIae(() -> new Adam(ps, 1e-3, bad, 0.999, 1e-8, 0, false), "beta1", String.valueOf(bad));
                assertIae(() -> new Adam(ps, 1e-3, 0.9, bad, 1e-8, 0, false), "beta2", String.valueOf(bad));
            }
            assertIae(() -> new Sgd(ps, 0.1, 0, 0, 0, true), "Nesterov");
            assertIae(() -> new Sgd(ps, 0.1, 0.9, 0.1, 0, true), "Nesterov");
            Sgd sgd = Sgd.of(ps, 0.1, 0.9);
            Adam adam = Adam.of(ps, 1e-3);
            for (Optimizer o : new Optimizer[] {sgd, adam}) {
                double lr = o.learningRate();
                for (double bad : new double[] {-1, Double.NaN, Double.POSITIVE_INFINITY}) {
                    assertIae(() -> o.learningRate(bad), "lr");
                    assertEquals(lr, o.learningRate(), "a refused rate was kept");
                }
            }
            // clipping: the norm must be finite and > 0; refused, it leaves the gradients alone
            ps.get(0).grad().fill(3f);
            for (double bad : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
                badArg(ps, () -> GradClip.clipGradNorm(ps, bad), "maxNorm");
            }
            assertIae(() -> LrSchedule.step(0.1, 0, 0.5), "every");
            assertIae(() -> LrSchedule.cosine(0.1, 0, 0), "tMax");
        }
    }

    /** SGD's dampening: PyTorch takes any number, but a NaN or infinite one makes every parameter NaN at the second step. */
    @Test
    void sgdRefusesANonFiniteDampening() {
        try (TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend())) {
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                assertIae(() -> new Sgd(fc.parameters(), 0.1, 0.9, bad, 0, false), "dampening");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // load

    static StateDict copyOf(StateDict sd, String without, String reshape, int[] shape) {
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (String n : sd.names()) {
            if (n.equals(without)) continue;
            float[] v = sd.floats(n);
            for (int i = 0; i < v.length; i++) v[i] += 1f; // every tensor differs from the module's
            data.put(n, v);
            shapes.put(n, n.equals(reshape) ? shape : sd.shape(n));
        }
        return StateDict.of(data, shapes);
    }

    @Test
    void loadIsAllOrNothing() {
        try (TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend());
             TrainableRecurrent other = TrainableRecurrent.create(SPEC, "rnn.", 2, backend())) {
            List<Param> ps = rnn.parameters();
            StateDict sd = other.stateDict();
            // the last tensor (in load order) missing, or misshapen: nothing is loaded
            badArg(ps, () -> rnn.load(copyOf(sd, "rnn.weight_hr_l1_reverse", null, null)), "rnn.weight_hr_l1_reverse");
            badArg(ps, () -> rnn.load(copyOf(sd, null, "rnn.weight_hr_l1_reverse", new int[] {H, P})), "rnn.weight_hr_l1_reverse", "[3, 5]", "[5, 3]");
            badArg(ps, () -> rnn.load(copyOf(sd, null, "rnn.bias_hh_l1_reverse", new int[] {1, 4 * H})), "rnn.bias_hh_l1_reverse", "[20]", "[1, 20]");
            badArg(ps, () -> rnn.load(copyOf(sd, "rnn.weight_ih_l0", null, null)), "rnn.weight_ih_l0");
            // under another prefix nothing matches
            badArg(ps, () -> rnn.load(StateDict.of(Map.of("lstm.weight_ih_l0", new float[4 * H * I]), Map.of("lstm.weight_ih_l0", new int[] {4 * H, I}))),
                    "rnn.weight_ih_l0");
            assertThrows(IllegalArgumentException.class, () -> TrainableRecurrent.create(SPEC, copyOf(sd, "rnn.bias_ih_l1", null, null), "rnn.", backend()));
            // a valid one loads every tensor
            StateDict good = copyOf(sd, null, null, null);
            rnn.load(good);
            for (Param p : ps) assertArrayEquals(good.floats(p.name()), p.value().toArray(), p.name());
        }
        try (TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend());
             TrainableEmbedding emb = TrainableEmbedding.create(6, 4, "e.", 1, backend());
             TrainableCell cell = TrainableCell.create(Mode.GRU, I, H, true, "cell.", 1, backend())) {
            badArg(fc.parameters(), () -> fc.load(copyOf(fc.stateDict(), "fc.bias", null, null)), "fc.bias");
            badArg(fc.parameters(), () -> fc.load(copyOf(fc.stateDict(), null, "fc.weight", new int[] {3, 4})), "fc.weight", "[4, 3]", "[3, 4]");
            badArg(emb.parameters(), () -> emb.load(copyOf(emb.stateDict(), null, "e.weight", new int[] {4, 6})), "e.weight", "[6, 4]", "[4, 6]");
            badArg(cell.parameters(), () -> cell.load(copyOf(cell.stateDict(), "cell.bias_hh", null, null)), "cell.bias_hh");
        }
    }

    /**
     * A safetensors file whose tensor has the right shape but an integer type: refused by name before anything
     * is copied, as the inference loaders refuse it ({@link StateDict#dtype}).
     */
    @Test
    void loadRefusesAnIntegerTensorBeforeCopyingAny(@TempDir Path dir) throws IOException {
        try (TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend())) {
            Path f = dir.resolve("w.safetensors");
            float[] w = new float[12];
            Arrays.fill(w, 0.5f);
            new SafeTensorsWriter().add("fc.weight", w, 4, 3).add("fc.bias", new int[] {1, 2, 3, 4}, 4).write(f);
            try (SafeTensors st = SafeTensors.open(f)) {
                badArg(fc.parameters(), () -> fc.load(st.asStateDict()), "fc.bias", "I32");
            }
        }
    }

    @Test
    void modelsRefuseIncompleteWeights() {
        ModelConfig cfg = TrainDeterminismTest.lmConfig();
        try (TrainableLanguageModel lm = TrainableLanguageModel.create(cfg, 1, backend())) {
            StateDict sd = lm.stateDict();
            assertIae(() -> TrainableLanguageModel.of(cfg, copyOf(sd, "fc.bias", null, null), backend()), "fc.bias");
            assertIae(() -> TrainableLanguageModel.of(cfg, copyOf(sd, "embed.weight", null, null), backend()), "embed.weight");
            assertIae(() -> TrainableLanguageModel.of(cfg, copyOf(sd, null, "rnn.weight_hh_l1", new int[] {12, 48}), backend()), "rnn.weight_hh_l1");
            assertIae(() -> TrainableClassifier.create(cfg, 1, backend()), "n_vs_1");
            // a model's load: every module's tensors are checked before any is copied
            List<Param> ps = lm.parameters();
            badArg(ps, () -> lm.load(copyOf(sd, "fc.bias", null, null)), "fc.bias");
            badArg(ps, () -> lm.load(copyOf(sd, null, "fc.weight", new int[] {12, 11})), "fc.weight", "[11, 12]", "[12, 11]");
            StateDict good = copyOf(sd, null, null, null);
            lm.load(good);
            for (Param p : ps) assertArrayEquals(good.floats(p.name()), p.value().toArray(), p.name());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // application models

    @Test
    void modelsRefuseBadBatches() {
        Backend be = backend();
        try (Arena a = Arena.ofConfined(); TrainableLanguageModel lm = TrainableLanguageModel.create(TrainDeterminismTest.lmConfig(), 1, be);
             TrainableClassifier cls = TrainableClassifier.create(TrainDeterminismTest.clsConfig(), 1, be);
             TrainableSeq2Seq s2s = TrainableSeq2Seq.create(TrainDeterminismTest.s2sConfig(), 1, be)) {
            CrossEntropyLoss ce = new CrossEntropyLoss(0, true);
            // gradients non-zero first
            lm.lossAndGradients(new int[][] {{1, 4, 5, 2}, {1, 3, 2}}, ce);
            List<Param> lp = lm.parameters();
            badArg(lp, () -> lm.lossAndGradients(new int[][] {{1, 4, 5, 2}, {1}}, ce), "at least 2 tokens");
            badArg(lp, () -> lm.lossAndGradients(new int[][] {{1, 4, 11, 2}}, ce), "ids[2] = 11", "0..10");
            badArg(lp, () -> lm.lossAndGradients(new int[][] {{1, 4, -2, 2}}, ce), "ids[2] = -2");
            badArg(lp, () -> lm.lossAndGradients(new int[][] {{1, 4, 5, 12}}, ce), "targets[2] = 12", "0..10");
            badArg(lp, () -> lm.lossAndGradients(new int[0][], ce));

            Tensor x = random(a, 1, 3, 4, 3);
            int[] lengths = {4, 2, 1};
            cls.lossAndGradients(x, lengths, new int[] {0, 1, 3}, new CrossEntropyLoss());
            List<Param> cp = cls.parameters();
            badArg(cp, () -> cls.lossAndGradients(x, lengths, new int[] {0, 1}, new CrossEntropyLoss()), "labels", "expected 3", "got 2");
            badArg(cp, () -> cls.lossAndGradients(x, lengths, new int[] {0, 4, 1}, new CrossEntropyLoss()), "4", "0..3");
            badArg(cp, () -> cls.lossAndGradients(x, new int[] {4, 5, 1}, new int[] {0, 1, 2}, new CrossEntropyLoss()), "lengths[1] = 5", "1..4");
            badArg(cp, () -> cls.lossAndGradients(x, new int[] {4, 2}, new int[] {0, 1, 2}, new CrossEntropyLoss()), "lengths", "expected 3");
            Tensor x2 = random(a, 2, 3, 4, 2);
            badArg(cp, () -> cls.lossAndGradients(x2, lengths, new int[] {0, 1, 2}, new CrossEntropyLoss()), "input", x2.shapeString());

            s2s.lossAndGradients(new int[][] {{3, 4}, {5}}, new int[][] {{3, 2}, {4, 5, 2}}, ce);
            List<Param> sp = s2s.parameters();
            badArg(sp, () -> s2s.lossAndGradients(new int[][] {{3, 4}, {5}}, new int[][] {{3, 2}}, ce), "targets", "expected 2", "got 1");
            badArg(sp, () -> s2s.lossAndGradients(new int[][] {{3, 4}, {}}, new int[][] {{3, 2}, {2}}, ce), "sequence 1", "empty");
            badArg(sp, () -> s2s.lossAndGradients(new int[][] {{3, 9}, {5}}, new int[][] {{3, 2}, {2}}, ce), "ids[1] = 9", "0..8");
            badArg(sp, () -> s2s.lossAndGradients(new int[][] {{3, 4}, {5}}, new int[][] {{3, 2}, {7}}, ce), "7", "0..6");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // use after close

    @Test
    void useAfterCloseIsRefused() {
        try (Arena a = Arena.ofConfined()) {
            Call c = Call.of(a);
            TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend());
            StateDict sd = rnn.stateDict();
            TrainableRecurrent.Result r = c.forward(rnn);
            List<Param> ps = rnn.parameters();
            rnn.close();
            rnn.close(); // idempotent
            assertIse(() -> c.forward(rnn), "TrainableRecurrent is closed");
            assertIse(() -> c.backward(rnn), "TrainableRecurrent is closed");
            assertIse(rnn::zeroGrad, "TrainableRecurrent is closed");
            assertIse(rnn::stateDict, "TrainableRecurrent is closed");
            assertIse(() -> rnn.load(sd), "TrainableRecurrent is closed");
            assertIse(() -> r.output().toArray(), "closed");
            assertIse(() -> ps.get(0).value().toArray(), "closed");
            assertIse(() -> ps.get(0).grad().fill(0f), "closed");
            assertIse(() -> Adam.of(ps, 1e-3).step());
            assertIse(() -> Sgd.of(ps, 1e-3, 0).step());
            assertIse(() -> GradClip.clipGradNorm(ps, 1.0));

            TrainableLinear fc = TrainableLinear.create(3, 4, true, "fc.", 1, backend());
            fc.close();
            assertIse(() -> fc.forward(random(a, 1, 2, 3)), "TrainableLinear is closed");
            assertIse(() -> fc.backward(random(a, 1, 2, 4)), "TrainableLinear is closed");
            TrainableEmbedding emb = TrainableEmbedding.create(6, 4, "e.", 1, backend());
            emb.close();
            assertIse(() -> emb.forward(new int[] {1}), "TrainableEmbedding is closed");
            assertIse(() -> emb.backward(random(a, 1, 1, 4)), "TrainableEmbedding is closed");
            TrainableCell cell = TrainableCell.create(Mode.LSTM, I, H, true, "cell.", 1, backend());
            cell.close();
            assertIse(() -> cell.forward(random(a, 1, B, I), null, null), "TrainableCell is closed");
            assertIse(() -> cell.backward(null, null), "TrainableCell is closed");
            assertIse(cell::zeroGrad, "TrainableCell is closed");

            TrainableLanguageModel lm = TrainableLanguageModel.create(TrainDeterminismTest.lmConfig(), 1, backend());
            lm.close();
            lm.close();
            assertIse(() -> lm.lossAndGradients(new int[][] {{1, 3, 2}}, new CrossEntropyLoss(0, true)), "closed");
            assertIse(lm::zeroGrad, "closed");
            assertIse(lm::stateDict, "closed");
            assertIse(() -> lm.load(sd), "closed");
        }
    }

    /** An input whose memory was freed is refused (the JDK's scope check), and changes nothing. */
    @Test
    void inputsWhoseArenaIsClosed() {
        try (TrainableRecurrent rnn = TrainableRecurrent.create(SPEC, "rnn.", 1, backend()); Arena live = Arena.ofConfined()) {
            Call good = Call.of(live);
            Map<String, float[]> want = referenceGrads(rnn, good);
            Tensor x;
            Tensor d;
            try (Arena gone = Arena.ofConfined()) {
                x = random(gone, 1, T, B, I);
                d = random(gone, 2, T, B, D * P);
            }
            badState(rnn.parameters(), () -> rnn.forward(x, null, null, null));
            good.forward(rnn);
            badState(rnn.parameters(), () -> rnn.backward(d, null, null));
            rnn.zeroGrad();
            good.forward(rnn);
            good.backward(rnn);
            sameGrads(want, rnn, "after inputs of a closed arena were refused");
        }
    }

    static void assertIse(Executable call, String... fragments) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        for (String f : fragments) assertTrue(e.getMessage() != null && e.getMessage().contains(f), "message \"" + e.getMessage() + "\" should contain \"" + f + "\"");
    }

    // ---------------------------------------------------------------------------------------------------------
    // checkpoints

    @Test
    void checkpointRefusesDuplicateNames(@TempDir Path dir) {
        try (TrainableLinear a = TrainableLinear.create(3, 4, true, "fc.", 1, backend()); TrainableLinear b = TrainableLinear.create(3, 4, true, "fc.", 2, backend())) {
            Path f = dir.resolve("ckpt.safetensors");
            assertIae(() -> Checkpoint.save(f, Map.of("format", "pt"), List.of(a, b)), "fc.weight");
            assertFalse(Files.exists(f), "a refused checkpoint left a file");
            List<Trainable> none = new ArrayList<>();
            assertDoesNotThrow(() -> Checkpoint.save(f, Map.of(), none));
        }
    }
}
