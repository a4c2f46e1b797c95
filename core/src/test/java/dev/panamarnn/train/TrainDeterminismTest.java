package dev.panamarnn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Training is reproducible: the same seed gives bit-identical parameters (and losses) after {@value #STEPS} steps
 * of Adam with gradient clipping on a fixed random batch, for a language model (Embedding + 2-layer LSTM +
 * Linear), a bidirectional GRU classifier over packed sequences, and a GRU seq2seq model, on every available
 * backend (the same backend twice; backends may differ from each other in the last bits). A model trained,
 * reloaded with its initial weights and trained again with a new optimiser repeats its first run bit for bit
 * (the buffers it reuses carry nothing over). Different seeds give different weights; the initial weights do
 * not depend on the backend.
 */
public class TrainDeterminismTest {
    /** Which backends this class runs; a subclass may narrow it. */
    protected boolean runsOn(String backend) {
        return true;
    }

    static final int STEPS = 20;

    static ModelConfig lmConfig() {
        List<String> vocab = new ArrayList<>();
        for (int i = 0; i < 11; i++) vocab.add("t" + i);
        return new ModelConfig(null, "det_lm", ModelConfig.Structure.LM, "", vocab, null, 0, 1, 2, 0, null,
                new ModelConfig.Part("embed.", "rnn.", Mode.LSTM, 8, 12, 2, false, "fc."), null, null, 0, Map.of());
    }

    static ModelConfig clsConfig() {
        return new ModelConfig(null, "det_cls", ModelConfig.Structure.N_VS_1, "", null, null, 0, 0, 0, 3,
                List.of("a", "b", "c", "d"), new ModelConfig.Part(null, "rnn.", Mode.GRU, 3, 10, 2, true, "fc."), null, null, 0, Map.of());
    }

    static ModelConfig s2sConfig() {
        List<String> src = new ArrayList<>(), tgt = new ArrayList<>();
        for (int i = 0; i < 9; i++) src.add("s" + i);
        for (int i = 0; i < 7; i++) tgt.add("o" + i);
        return new ModelConfig(null, "det_s2s", ModelConfig.Structure.SEQ2SEQ, "", src, tgt, 0, 1, 2, 0, null, null,
                new ModelConfig.Part("enc_embed.", "encoder.", Mode.GRU, 6, 10, 1, false, null),
                new ModelConfig.Part("dec_embed.", "decoder.", Mode.GRU, 6, 10, 1, false, "fc."), 16, Map.of());
    }

    /** One kind of model: how to make it and how to run one step of its loss on the fixed batch. */
    record Kind(String name, ModelConfig cfg, Maker maker, Step step) {}

    interface Maker {
        TrainableModel make(ModelConfig cfg, long seed, Backend backend);
    }

    interface Step {
        float lossAndGradients(TrainableModel m, Arena arena);
    }

    static List<Kind> kinds() {
        // the fixed batches (drawn once, the same for every run)
        SplittableRandom r = new SplittableRandom(2024);
        int[][] lmSeqs = new int[5][];
        for (int i = 0; i < lmSeqs.length; i++) {
            int len = 3 + r.nextInt(7);
            lmSeqs[i] = new int[len];
            lmSeqs[i][0] = 1;
            for (int j = 1; j < len - 1; j++) lmSeqs[i][j] = 3 + r.nextInt(8);
            lmSeqs[i][len - 1] = 2;
        }
        final int b = 5, t = 6, in = 3;
        float[] x = new float[b * t * in];
        int[] lengths = new int[b], labels = new int[b];
        for (int i = 0; i < b; i++) {
            lengths[i] = 1 + r.nextInt(t);
            labels[i] = r.nextInt(4);
            for (int j = 0; j < lengths[i] * in; j++) x[i * t * in + j] = (float) (r.nextDouble() * 2 - 1); // zero after the length
        }
        lengths[0] = t;
        int[][] sources = new int[4][], targets = new int[4][];
        for (int i = 0; i < sources.length; i++) {
            sources[i] = new int[1 + r.nextInt(5)];
            for (int j = 0; j < sources[i].length; j++) sources[i][j] = 3 + r.nextInt(6);
            targets[i] = new int[1 + r.nextInt(5)];
            for (int j = 0; j < targets[i].length - 1; j++) targets[i][j] = 3 + r.nextInt(4);
            targets[i][targets[i].length - 1] = 2;
        }
        CrossEntropyLoss ignorePad = new CrossEntropyLoss(0, true);
        return List.of(
                new Kind("language model", lmConfig(), TrainableLanguageModel::create,
                        (m, a) -> ((TrainableLanguageModel) m).lossAndGradients(lmSeqs, ignorePad)),
                new Kind("classifier", clsConfig(), TrainableClassifier::create,
                        (m, a) -> ((TrainableClassifier) m).lossAndGradients(Tensor.of(a, x, b, t, in), lengths, labels, new CrossEntropyLoss())),
                new Kind("seq2seq", s2sConfig(), TrainableSeq2Seq::create,
                        (m, a) -> ((TrainableSeq2Seq) m).lossAndGradients(sources, targets, ignorePad)));
    }

    /** The parameters' bits and the losses of one training run. */
    record Run(Map<String, int[]> bits, float[] losses) {}

    static Map<String, int[]> bits(List<Param> params) {
        Map<String, int[]> m = new java.util.LinkedHashMap<>();
        for (Param p : params) {
            float[] v = p.value().toArray();
            int[] b = new int[v.length];
            for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
            m.put(p.name(), b);
        }
        return m;
    }

    /** {@value #STEPS} steps of Adam (lr 1e-2) with clipping at norm 1 on the kind's batch, from the model's current weights. */
    static Run train(Kind k, TrainableModel m) {
        float[] losses = new float[STEPS];
        Optimizer opt = Adam.of(m.parameters(), 1e-2);
        try (Arena arena = Arena.ofConfined()) {
            for (int s = 0; s < STEPS; s++) {
                m.zeroGrad();
                losses[s] = k.step().lossAndGradients(m, arena);
                GradClip.clipGradNorm(m.parameters(), 1.0);
                opt.step();
            }
        }
        return new Run(bits(m.parameters()), losses);
    }

    static Run freshRun(Kind k, long seed, Backend backend) {
        try (TrainableModel m = k.maker().make(k.cfg(), seed, backend)) {
            return train(k, m);
        }
    }

    List<String> backends() {
        List<String> names = new ArrayList<>();
        for (Backend.Status s : Backend.list()) if (s.available() && runsOn(s.name())) names.add(s.name());
        return names;
    }

    @TestFactory
    Stream<DynamicTest> sameSeedSameBits() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String b : backends()) {
            for (Kind k : kinds()) {
                tests.add(DynamicTest.dynamicTest(b + " " + k.name(), () -> {
                    Backend backend = Backend.get(b);
                    String ctx = k.name() + " on " + b;
                    try (TrainableModel m = k.maker().make(k.cfg(), 7, backend)) {
                        StateDict initial = m.stateDict();
                        Run first = train(k, m);
                        // training happened: the loss went down
                        assertTrue(first.losses()[STEPS - 1] < first.losses()[0] - 0.05, "loss " + Arrays.toString(first.losses()) + " (" + ctx + ")");
                        sameBits("second model of the same seed", first, freshRun(k, 7, backend), ctx);
                        // the same model again, from its initial weights, with a new optimiser
                        m.load(initial);
                        sameBits("rerun of a reloaded model", first, train(k, m), ctx);
                    }
                }));
            }
        }
        return tests.stream();
    }

    private static void sameBits(String what, Run a, Run b, String ctx) {
        for (int s = 0; s < STEPS; s++) {
            assertEquals(Float.floatToRawIntBits(a.losses()[s]), Float.floatToRawIntBits(b.losses()[s]),
                    what + ": loss at step " + s + " " + a.losses()[s] + " vs " + b.losses()[s] + " (" + ctx + ")");
        }
        assertEquals(a.bits().keySet(), b.bits().keySet());
        for (String n : a.bits().keySet()) assertArrayEquals(a.bits().get(n), b.bits().get(n), what + ": bits of " + n + " (" + ctx + ")");
    }

    @TestFactory
    Stream<DynamicTest> differentSeedsDifferentWeights() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String b : backends()) {
            for (Kind k : kinds()) {
                tests.add(DynamicTest.dynamicTest(b + " " + k.name(), () -> {
                    Backend backend = Backend.get(b);
                    String ctx = k.name() + " on " + b;
                    try (TrainableModel m1 = k.maker().make(k.cfg(), 7, backend); TrainableModel m2 = k.maker().make(k.cfg(), 8, backend)) {
                        allTensorsDiffer("initial", bits(m1.parameters()), bits(m2.parameters()), ctx);
                    }
                    allTensorsDiffer("trained", freshRun(k, 7, backend).bits(), freshRun(k, 8, backend).bits(), ctx);
                }));
            }
        }
        return tests.stream();
    }

    private static void allTensorsDiffer(String what, Map<String, int[]> a, Map<String, int[]> b, String ctx) {
        assertEquals(a.keySet(), b.keySet());
        for (String n : a.keySet()) assertFalse(Arrays.equals(a.get(n), b.get(n)), what + " " + n + " is the same for seeds 7 and 8 (" + ctx + ")");
    }

    /**
     * Models of nearby seeds are independent draws: no float value of one model's initial weights reappears in
     * the other's (random float32 values coincide by chance about never at these sizes). Fails if the modules'
     * random streams are derived from the seed so that one seed's module reuses another seed's stream (for
     * example embedding {@code seed+1}, recurrent layer {@code seed+2}, head {@code seed+3}: seed s's head then
     * draws the numbers of seed s+1's recurrent layer).
     */
    @Test
    void nearbySeedsShareNoWeights() {
        Backend backend = Backend.get("scalar");
        List<String> problems = new ArrayList<>();
        for (Kind k : kinds()) {
            for (long delta : new long[] {1, 2, 10}) {
                try (TrainableModel m1 = k.maker().make(k.cfg(), 7, backend); TrainableModel m2 = k.maker().make(k.cfg(), 7 + delta, backend)) {
                    Map<Integer, String> where = new HashMap<>();
                    for (Param p : m1.parameters()) for (float v : p.value().toArray()) if (v != 0f) where.putIfAbsent(Float.floatToRawIntBits(v), p.name());
                    Map<String, Integer> shared = new java.util.LinkedHashMap<>();
                    for (Param p : m2.parameters()) {
                        for (float v : p.value().toArray()) {
                            String other = where.get(Float.floatToRawIntBits(v));
                            if (other != null) shared.merge(p.name() + " (seed " + (7 + delta) + ") ~ " + other + " (seed 7)", 1, Integer::sum);
                        }
                    }
                    shared.forEach((pair, count) -> {
                        if (count > 2) problems.add(k.name() + ": " + count + " values of " + pair);
                    });
                }
            }
        }
        if (!problems.isEmpty()) fail("models of different seeds share weights:\n  " + String.join("\n  ", problems));
    }

    /** The initial weights come from the seed alone: the same on every backend. */
    @Test
    void initialWeightsDoNotDependOnTheBackend() {
        for (Kind k : kinds()) {
            Map<String, int[]> ref = null;
            for (String b : backends()) {
                try (TrainableModel m = k.maker().make(k.cfg(), 7, Backend.get(b))) {
                    Map<String, int[]> got = bits(m.parameters());
                    if (ref == null) ref = got;
                    else for (String n : ref.keySet()) assertArrayEquals(ref.get(n), got.get(n), k.name() + " " + n + " on " + b);
                }
            }
        }
    }
}
