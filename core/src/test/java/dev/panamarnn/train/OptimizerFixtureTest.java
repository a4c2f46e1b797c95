package dev.panamarnn.train;

import static dev.panamarnn.train.TrainFixtureTest.file;
import static dev.panamarnn.train.TrainFixtureTest.ints;
import static dev.panamarnn.train.TrainFixtureTest.prefixed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.Mode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Optimisers, gradient clipping and whole training runs against PyTorch 1.13 ({@code scripts/make-train-fixtures}).
 *
 * <p>One to three SGD, Adam and AdamW steps from the same gradients equal PyTorch's parameters within
 * {@code 1e-6} absolute (the updates are the same float32 operations in the same order; parameters are O(1)).
 * 50 steps of training on a fixed batch (an Embedding+LSTM+Linear language model with Adam and clipping, a
 * bidirectional GRU classifier over packed sequences with SGD and momentum) track PyTorch's loss at every step
 * within {@code 1e-3}, on every backend.
 */
public class OptimizerFixtureTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    /** Two parameters with gradients, as the fixture's p1 (6×5) and p2 (5). */
    private static final class Params extends Trainable {
        final Param p1 = param("p1", 6, 5), p2 = param("p2", 5);

        Params() {
            super(Backend.get("scalar"));
        }
    }

    private static final Map<String, Function<List<Param>, Optimizer>> OPTIMISERS = Map.of(
            "sgd", p -> new Sgd(p, 0.1, 0, 0, 0, false),
            "sgdm", p -> new Sgd(p, 0.1, 0.9, 0, 0.01, false),
            "sgdn", p -> new Sgd(p, 0.1, 0.9, 0, 0, true),
            "adam", p -> Adam.of(p, 1e-2),
            "adamwd", p -> new Adam(p, 1e-2, 0.9, 0.999, 1e-8, 0.01, false),
            "adamw", p -> Adam.adamW(p, 1e-2, 0.01));

    @Test
    void stepsEqualPyTorchs() throws IOException {
        try (SafeTensors st = SafeTensors.open(file("optim.safetensors"))) {
            assertEquals("sgd,sgdm,sgdn,adam,adamwd,adamw", st.metadata().get("optimisers"));
            for (var e : OPTIMISERS.entrySet()) {
                try (Params ps = new Params()) {
                    ps.p1.value().copyFrom(st.toFloatArray("p1"));
                    ps.p2.value().copyFrom(st.toFloatArray("p2"));
                    Optimizer opt = e.getValue().apply(ps.parameters());
                    for (int k = 1; k <= 3; k++) {
                        ps.p1.grad().copyFrom(st.toFloatArray("step" + k + ".g1"));
                        ps.p2.grad().copyFrom(st.toFloatArray("step" + k + ".g2"));
                        opt.step();
                        close(e.getKey() + " step " + k + " p1", st.toFloatArray(e.getKey() + ".step" + k + ".p1"), ps.p1.value().toArray(), 1e-6);
                        close(e.getKey() + " step " + k + " p2", st.toFloatArray(e.getKey() + ".step" + k + ".p2"), ps.p2.value().toArray(), 1e-6);
                    }
                }
            }
        }
    }

    @Test
    void clipGradNormEqualsPyTorchs() throws IOException {
        try (SafeTensors st = SafeTensors.open(file("optim.safetensors")); Params ps = new Params()) {
            ps.p1.grad().copyFrom(st.toFloatArray("step1.g1"));
            ps.p2.grad().copyFrom(st.toFloatArray("step1.g2"));
            double norm = GradClip.clipGradNorm(ps.parameters(), 1.0);
            assertEquals(st.toFloatArray("clip.total_norm")[0], norm, 1e-6);
            close("clipped g1", st.toFloatArray("clip.g1"), ps.p1.grad().toArray(), 1e-7);
            close("clipped g2", st.toFloatArray("clip.g2"), ps.p2.grad().toArray(), 1e-7);
        }
    }

    @TestFactory
    Stream<DynamicTest> lossCurves() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            tests.add(DynamicTest.dynamicTest(s.name() + " curve_lm", () -> curveLm(Backend.get(s.name()))));
            tests.add(DynamicTest.dynamicTest(s.name() + " curve_cls", () -> curveCls(Backend.get(s.name()))));
        }
        return tests.stream();
    }

    static ModelConfig lmConfig() {
        List<String> vocab = new ArrayList<>();
        for (int i = 0; i < 11; i++) vocab.add("t" + i);
        return new ModelConfig(null, "curve_lm", ModelConfig.Structure.LM, "", vocab, null, 0, 1, 2, 0, null,
                new ModelConfig.Part("embed.", "rnn.", Mode.LSTM, 8, 16, 2, false, "fc."), null, null, 0, Map.of());
    }

    private static void curveLm(Backend backend) throws IOException {
        try (SafeTensors st = SafeTensors.open(file("curve_lm.safetensors"));
             TrainableLanguageModel lm = TrainableLanguageModel.of(lmConfig(), prefixed(st, ""), backend)) {
            long[] flat = st.toLongArray("tokens");
            int[][] tokens = new int[4][10];
            for (int i = 0; i < flat.length; i++) tokens[i / 10][i % 10] = (int) flat[i];
            Optimizer opt = Adam.of(lm.parameters(), 1e-2);
            CrossEntropyLoss ce = new CrossEntropyLoss(0, true);
            float[] losses = st.toFloatArray("losses");
            for (int step = 0; step < 50; step++) {
                lm.zeroGrad();
                float loss = lm.lossAndGradients(tokens, ce);
                if (step == 0) {
                    for (Param p : lm.parameters()) TrainFixtureTest.near("grad of " + p.name(), st.toFloatArray("grad." + p.name()), p.grad().toArray(), "curve_lm on " + backend.name());
                }
                if (Math.abs(loss - losses[step]) > 1e-3) fail("curve_lm step " + step + ": loss " + loss + ", PyTorch " + losses[step] + " (" + backend.name() + ")");
                GradClip.clipGradNorm(lm.parameters(), 1.0);
                opt.step();
            }
        }
    }

    private static void curveCls(Backend backend) throws IOException {
        try (SafeTensors st = SafeTensors.open(file("curve_cls.safetensors")); Arena arena = Arena.ofConfined()) {
            ModelConfig cfg = new ModelConfig(null, "curve_cls", ModelConfig.Structure.N_VS_1, "", null, null, 0, 0, 0, 3,
                    List.of("a", "b", "c", "d"), new ModelConfig.Part(null, "rnn.", Mode.GRU, 3, 10, 1, true, "fc."), null, null, 0, Map.of());
            try (TrainableClassifier cls = TrainableClassifier.of(cfg, prefixed(st, ""), backend)) {
                Tensor x = st.toTensor("x", arena);
                int[] lengths = ints(st, "lengths"), labels = ints(st, "labels");
                Optimizer opt = Sgd.of(cls.parameters(), 0.1, 0.9);
                float[] losses = st.toFloatArray("losses");
                for (int step = 0; step < 50; step++) {
                    cls.zeroGrad();
                    float loss = cls.lossAndGradients(x, lengths, labels, new CrossEntropyLoss());
                    if (step == 0) {
                        for (Param p : cls.parameters()) TrainFixtureTest.near("grad of " + p.name(), st.toFloatArray("grad." + p.name()), p.grad().toArray(), "curve_cls on " + backend.name());
                    }
                    if (Math.abs(loss - losses[step]) > 1e-3) fail("curve_cls step " + step + ": loss " + loss + ", PyTorch " + losses[step] + " (" + backend.name() + ")");
                    opt.step();
                }
            }
        }
    }

    static void close(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) fail(String.format("%s[%d]: expected %.9g got %.9g", what, i, expected[i], actual[i]));
        }
    }
}
