package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Training against PyTorch 1.13's autograd ({@code scripts/make-train-fixtures}), on every backend that can run
 * here: the gradients of every weight, bias, input and initial state of recurrent layers (all modes, layers,
 * directions, batch-first, projection, h0/c0, lengths) and cells, Linear, Embedding and cross-entropy.
 *
 * <p>Tolerance for gradients and outputs: {@code 1e-4·max|ref|} per tensor. The references were computed in
 * float64; a float32 implementation differs from them by float32 rounding accumulated over the steps and the
 * sums of the weight gradients (PyTorch's own float32 autograd is within 5e-7·max|ref|, ours observed below
 * 1e-5·max|ref|), so 1e-4 leaves room for summation order and still fails on any wrong term (a gate's
 * derivative off by a factor, a missing step, a mask in the wrong place change gradients by far more).
 */
public class TrainFixtureTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    static final String DIR = "/fixtures/train/";

    static List<String> cases() throws IOException {
        return dev.panamarnn.FixtureFiles.index(DIR);
    }

    /** The fixture as a file: directly from the class path, or copied out of the test jar. */
    static Path file(String name) throws IOException {
        return dev.panamarnn.FixtureFiles.file(DIR, name);
    }

    @TestFactory
    Stream<DynamicTest> gradients() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        List<String> names = cases();
        if (names.size() < 20) fail("expected the full training fixture set, found " + names.size());
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (String name : names) {
                if (name.startsWith("layer_")) tests.add(DynamicTest.dynamicTest(s.name() + " " + name, () -> layer(Backend.get(s.name()), name)));
                if (name.startsWith("cell_")) tests.add(DynamicTest.dynamicTest(s.name() + " " + name, () -> cell(Backend.get(s.name()), name)));
            }
            tests.add(DynamicTest.dynamicTest(s.name() + " heads", () -> heads(Backend.get(s.name()))));
        }
        return tests.stream();
    }

    static StateDict prefixed(SafeTensors st, String prefix) {
        StateDict all = st.asStateDict();
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (String n : st.names()) {
            if (n.startsWith(prefix) && st.info(n).dtype() == dev.panamarnn.io.DType.F32 && !n.startsWith("grad.") && !n.startsWith("final.")) {
                data.put(n, all.floats(n));
                shapes.put(n, all.shape(n));
            }
        }
        return StateDict.of(data, shapes);
    }

    static int[] ints(SafeTensors st, String name) {
        long[] l = st.toLongArray(name);
        int[] r = new int[l.length];
        for (int i = 0; i < l.length; i++) r[i] = Math.toIntExact(l[i]);
        return r;
    }

    private static void layer(Backend backend, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file(name)); Arena arena = Arena.ofConfined()) {
            Map<String, String> md = st.metadata();
            Mode mode = Mode.valueOf(md.get("mode"));
            LayerSpec spec = new LayerSpec(mode, Integer.parseInt(md.get("input_size")), Integer.parseInt(md.get("hidden_size")),
                    Integer.parseInt(md.get("num_layers")), Boolean.parseBoolean(md.get("bidirectional")), Boolean.parseBoolean(md.get("bias")),
                    Boolean.parseBoolean(md.get("batch_first")), Integer.parseInt(md.get("proj_size")));
            try (TrainableRecurrent rnn = TrainableRecurrent.create(spec, prefixed(st, "rnn."), "rnn.", backend)) {
                Tensor h0 = st.contains("h0") ? st.toTensor("h0", arena) : null;
                Tensor c0 = st.contains("c0") ? st.toTensor("c0", arena) : null;
                int[] lengths = st.contains("lengths") ? ints(st, "lengths") : null;
                String ctx = name + " on " + backend.name();
                // twice: the second pass reuses the buffers, and gradients accumulate from zero after zeroGrad
                for (int round = 0; round < 2; round++) {
                    rnn.zeroGrad();
                    TrainableRecurrent.Result r = rnn.forward(st.toTensor("input", arena), h0, c0, lengths);
                    near("output", st.toFloatArray("output"), r.output().toArray(), ctx);
                    near("h_n", st.toFloatArray("h_n"), r.hN().toArray(), ctx);
                    if (mode == Mode.LSTM) near("c_n", st.toFloatArray("c_n"), r.cN().toArray(), ctx);
                    else assertNull(r.cN());
                    TrainableRecurrent.Grads g = rnn.backward(st.toTensor("d_output", arena), st.toTensor("d_h_n", arena),
                            mode == Mode.LSTM ? st.toTensor("d_c_n", arena) : null);
                    for (Param p : rnn.parameters()) near("grad of " + p.name(), st.toFloatArray("grad." + p.name()), p.grad().toArray(), ctx);
                    near("grad of input", st.toFloatArray("grad.input"), g.dInput().toArray(), ctx);
                    if (h0 != null) near("grad of h0", st.toFloatArray("grad.h0"), g.dH0().toArray(), ctx);
                    if (c0 != null) near("grad of c0", st.toFloatArray("grad.c0"), g.dC0().toArray(), ctx);
                }
            }
        }
    }

    private static void cell(Backend backend, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file(name)); Arena arena = Arena.ofConfined()) {
            Mode mode = Mode.valueOf(st.metadata().get("mode"));
            Tensor x = st.toTensor("input", arena);
            try (TrainableCell cell = TrainableCell.create(mode, x.dim(1), st.info("hx").shape()[1], true, "cell.", 0, backend)) {
                cell.load(prefixed(st, "cell."));
                cell.zeroGrad();
                String ctx = name + " on " + backend.name();
                TrainableCell.State s = cell.forward(x, st.toTensor("hx", arena), mode == Mode.LSTM ? st.toTensor("cx", arena) : null);
                near("h", st.toFloatArray("h"), s.h().toArray(), ctx);
                if (mode == Mode.LSTM) near("c", st.toFloatArray("c"), s.c().toArray(), ctx);
                TrainableRecurrent.Grads g = cell.backward(st.toTensor("d_h", arena), mode == Mode.LSTM ? st.toTensor("d_c", arena) : null);
                for (Param p : cell.parameters()) near("grad of " + p.name(), st.toFloatArray("grad." + p.name()), p.grad().toArray(), ctx);
                near("grad of input", st.toFloatArray("grad.input"), g.dInput().toArray(), ctx);
                near("grad of hx", st.toFloatArray("grad.hx"), g.dH0().toArray(), ctx);
                if (mode == Mode.LSTM) near("grad of cx", st.toFloatArray("grad.cx"), g.dC0().toArray(), ctx);
            }
        }
    }

    private static void heads(Backend backend) throws IOException {
        try (SafeTensors st = SafeTensors.open(file("heads.safetensors")); Arena arena = Arena.ofConfined()) {
            String ctx = "heads on " + backend.name();
            Tensor x = st.toTensor("linear_x", arena);
            int[] w = st.info("linear.weight").shape();
            try (TrainableLinear fc = TrainableLinear.create(w[1], w[0], true, "linear.", 0, backend)) {
                fc.load(prefixed(st, "linear."));
                fc.zeroGrad();
                near("linear y", st.toFloatArray("linear_y"), fc.forward(x).toArray(), ctx);
                Tensor dx = fc.backward(st.toTensor("linear_dy", arena));
                near("grad of linear.weight", st.toFloatArray("grad.linear.weight"), fc.parameters().get(0).grad().toArray(), ctx);
                near("grad of linear.bias", st.toFloatArray("grad.linear.bias"), fc.parameters().get(1).grad().toArray(), ctx);
                near("grad of linear_x", st.toFloatArray("grad.linear_x"), dx.toArray(), ctx);
            }
            int[] e = st.info("embed.weight").shape();
            try (TrainableEmbedding emb = TrainableEmbedding.create(e[0], e[1], "embed.", 0, backend)) {
                emb.load(prefixed(st, "embed."));
                emb.zeroGrad();
                int[] ids = ints(st, "embed_ids");
                emb.forward(ids);
                Tensor dy = st.toTensor("embed_dy", arena);
                emb.backward(dy.reshape(ids.length, e[1]));
                near("grad of embed.weight", st.toFloatArray("grad.embed.weight"), emb.parameters().get(0).grad().toArray(), ctx);
            }
            Tensor logits = st.toTensor("ce_logits", arena);
            int[] targets = ints(st, "ce_targets");
            Tensor d = Tensor.allocate(arena, logits.rows(), logits.cols());
            String[][] variants = {{"ce_mean", "0", "true"}, {"ce_sum", "0", "false"}, {"ce_plain", "-100", "true"}};
            for (String[] v : variants) {
                float loss = new CrossEntropyLoss(Integer.parseInt(v[1]), Boolean.parseBoolean(v[2])).forwardBackward(logits, targets, d);
                near(v[0] + " loss", st.toFloatArray(v[0] + "_loss"), new float[] {loss}, ctx);
                near("grad of " + v[0] + " logits", st.toFloatArray("grad." + v[0] + "_logits"), d.toArray(), ctx);
            }
        }
    }

    /** Within {@code 1e-4·max|expected|} (and 1e-7 absolute for an all-zero reference). */
    static void near(String what, float[] expected, float[] actual, String ctx) {
        assertEquals(expected.length, actual.length, what + ": element count (" + ctx + ")");
        double max = 0;
        for (float e : expected) max = Math.max(max, Math.abs(e));
        double tol = Math.max(1e-7, 1e-4 * max);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                fail(String.format("%s[%d]: expected %.8g got %.8g, |diff| %.3g > %.3g (%s)", what, i, expected[i], actual[i],
                        Math.abs(expected[i] - actual[i]), tol, ctx));
            }
        }
    }
}
