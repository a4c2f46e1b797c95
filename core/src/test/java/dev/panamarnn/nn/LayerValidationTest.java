package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * One test per validation rule of the model layer's public entry points: every bad argument gives an
 * exception whose message names the operand, what was expected and what was given; the call writes
 * nothing (the caller's tensors keep their bits) and the model still gives the same bits afterwards.
 */
public class LayerValidationTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    private static final int T = 5, B = 3, I = 4, H = 6;

    /** A bidirectional two-layer LSTM with every caller tensor allocated, and a call that is valid. */
    private static final class Call {
        final Arena arena = Arena.ofShared();
        final RecurrentLayer layer;
        Tensor input, h0, c0, output, hN, cN;
        int[] lengths = {5, 2, 4};
        Workspace workspace;

        Call(Backend backend) {
            LayerSpec spec = LayerSpec.of(Mode.LSTM, I, H).withLayers(2).withBidirectional(true);
            Map<String, int[]> shapes = new HashMap<>();
            Map<String, float[]> w = randomWeights(spec, new Random(3), shapes);
            layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", backend);
            Random r = new Random(4);
            input = random(r, T, B, I);
            h0 = random(r, 4, B, H);
            c0 = random(r, 4, B, H);
            output = random(r, T, B, 2 * H);
            hN = random(r, 4, B, H);
            cN = random(r, 4, B, H);
        }

        Tensor random(Random r, int... shape) {
            Tensor t = Tensor.allocate(arena, shape);
            float[] a = new float[(int) t.size()];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            t.copyFrom(a);
            return t;
        }

        void run() {
            layer.forward(input, h0, c0, lengths, output, hN, cN, workspace);
        }

        List<float[]> snapshot() {
            List<float[]> s = new ArrayList<>();
            for (Tensor t : new Tensor[] {input, h0, c0, output, hN, cN}) s.add(t != null && t.isAlive() ? t.toArray() : null);
            return s;
        }
    }

    private record Rule(String name, Class<? extends Throwable> type, Consumer<Call> breakIt, String... fragments) {}

    private static final List<Rule> FORWARD_RULES = List.of(
            new Rule("input null", IllegalArgumentException.class, c -> c.input = null, "input is null"),
            new Rule("input rank 2", IllegalArgumentException.class, c -> c.input = Tensor.allocate(c.arena, T * B, I),
                    "input must be (seq_len, batch, input_size=4)", "got [15, 4]"),
            new Rule("input feature size", IllegalArgumentException.class, c -> c.input = Tensor.allocate(c.arena, T, B, I + 1),
                    "input_size=4", "got [5, 3, 5]"),
            new Rule("input of a closed arena", IllegalStateException.class, c -> {
                Arena a = Arena.ofConfined();
                c.input = Tensor.allocate(a, T, B, I);
                a.close();
            }, "input", "arena was closed"),
            new Rule("h0 batch", IllegalArgumentException.class, c -> c.h0 = Tensor.allocate(c.arena, 4, B + 1, H),
                    "h0 must be", "[4, 3, 6]", "got [4, 4, 6]"),
            new Rule("h0 layers·directions", IllegalArgumentException.class, c -> c.h0 = Tensor.allocate(c.arena, 2, B, H),
                    "h0 must be (num_layers·directions", "got [2, 3, 6]"),
            new Rule("c0 size", IllegalArgumentException.class, c -> c.c0 = Tensor.allocate(c.arena, 4, B, H - 1), "c0 must be", "got [4, 3, 5]"),
            new Rule("output shape", IllegalArgumentException.class, c -> c.output = Tensor.allocate(c.arena, T, B, H),
                    "output must be (seq_len, batch, directions·hidden_size)", "[5, 3, 12]", "got [5, 3, 6]"),
            new Rule("output null", IllegalArgumentException.class, c -> c.output = null, "output"),
            new Rule("h_n shape", IllegalArgumentException.class, c -> c.hN = Tensor.allocate(c.arena, 4, B, H + 2), "h_n must be", "got [4, 3, 8]"),
            new Rule("c_n shape", IllegalArgumentException.class, c -> c.cN = Tensor.allocate(c.arena, 3, B, H), "c_n must be", "got [3, 3, 6]"),
            new Rule("lengths count", IllegalArgumentException.class, c -> c.lengths = new int[] {5, 5}, "one entry per sample (3), got 2"),
            new Rule("length zero", IllegalArgumentException.class, c -> c.lengths = new int[] {5, 0, 1}, "lengths[1] must be in 1..5", "got 0"),
            new Rule("length past seq_len", IllegalArgumentException.class, c -> c.lengths = new int[] {6, 1, 1}, "lengths[0] must be in 1..5", "got 6"),
            new Rule("negative length", IllegalArgumentException.class, c -> c.lengths = new int[] {1, 1, -3}, "lengths[2]", "got -3"),
            new Rule("output aliasing input", IllegalArgumentException.class, c -> {
                Tensor big = Tensor.allocate(c.arena, T, B, 2 * H);
                c.output = big;
                c.input = Tensor.wrap(big.segment(), big.offset(), I, T, B, I);
            }, "output", "input", "overlap"),
            new Rule("h_n aliasing output", IllegalArgumentException.class, c -> c.hN = Tensor.wrap(c.output.segment(), c.output.offset(), H, 4, B, H),
                    "h_n", "output", "overlap"),
            new Rule("c_n aliasing h_n", IllegalArgumentException.class, c -> c.cN = c.hN, "c_n", "h_n", "overlap"),
            // h0 and c0 are read when their layer-direction starts: an output overlapping the other state
            // would be overwritten first (h0 and c0 have the same shape here: no projection).
            new Rule("c_n is h0", IllegalArgumentException.class, c -> c.cN = c.h0, "c_n", "h0", "overlap"),
            new Rule("h_n is c0", IllegalArgumentException.class, c -> c.hN = c.c0, "h_n", "c0", "overlap"),
            new Rule("closed workspace", IllegalStateException.class, c -> {
                c.workspace = new Workspace();
                c.workspace.close();
            }, "workspace is closed"),
            new Rule("workspace in use by another call", IllegalStateException.class, c -> {
                c.workspace = new Workspace();
                c.workspace.scratch().acquire();
            }, "already in use", "one workspace per thread"),
            new Rule("closed layer", IllegalStateException.class, c -> c.layer.close(), "forward", "closed"));

    @TestFactory
    Stream<DynamicTest> forwardRejectsBadArgumentsAndWritesNothing() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (Rule rule : FORWARD_RULES) {
                tests.add(DynamicTest.dynamicTest(s.name() + ": " + rule.name(), () -> check(Backend.get(s.name()), rule)));
            }
        }
        return tests.stream();
    }

    private static void check(Backend backend, Rule rule) {
        Call good = new Call(backend);
        try {
            good.run();
            List<float[]> reference = good.snapshot();
            Call c = new Call(backend);
            try {
                rule.breakIt().accept(c);
                List<float[]> before = c.snapshot();
                Throwable e = assertThrows(rule.type(), c::run, rule.name());
                for (String f : rule.fragments()) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
                List<float[]> after = c.snapshot();
                for (int i = 0; i < before.size(); i++) {
                    if (before.get(i) != null && after.get(i) != null) assertArrayEquals(before.get(i), after.get(i), rule.name() + ": tensor " + i + " was written");
                }
                if (c.workspace != null && !rule.name().contains("closed")) c.workspace.scratch().release();
                // The model is unchanged: the valid call again gives the same bits.
                if (!rule.name().equals("closed layer")) {
                    Call again = new Call(backend);
                    try {
                        c.layer.forward(again.input, again.h0, again.c0, again.lengths, again.output, again.hN, again.cN, null);
                        List<float[]> now = again.snapshot();
                        for (int i = 0; i < now.size(); i++) assertArrayEquals(reference.get(i), now.get(i), rule.name() + ": model changed");
                    } finally {
                        again.layer.close();
                        again.arena.close();
                    }
                }
            } finally {
                c.layer.close();
                c.arena.close();
            }
        } finally {
            good.layer.close();
            good.arena.close();
        }
    }

    @Test
    void loadingRejectsMissingAndMisshapenWeights() {
        LayerSpec spec = LayerSpec.of(Mode.GRU, I, H);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, new Random(1), shapes);
        Map<String, float[]> missing = new HashMap<>(w);
        missing.remove("weight_hh_l0");
        Map<String, int[]> missingShapes = new HashMap<>(shapes);
        missingShapes.remove("weight_hh_l0");
        var e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.create(spec, StateDict.of(missing, missingShapes), "", null));
        assertTrue(e.getMessage().contains("weight_hh_l0"), e.getMessage());

        Map<String, int[]> wrong = new HashMap<>(shapes);
        wrong.put("weight_ih_l0", new int[] {3 * H, I + 1});
        Map<String, float[]> wrongData = new HashMap<>(w);
        wrongData.put("weight_ih_l0", new float[3 * H * (I + 1)]);
        e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.create(spec, StateDict.of(wrongData, wrong), "", null));
        assertTrue(e.getMessage().contains("weight_ih_l0") && e.getMessage().contains("[18, 5]"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.load(StateDict.of(w, shapes), "encoder.", null, false, null));
        assertTrue(e.getMessage().contains("encoder."), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.load(StateDict.of(w, shapes), "", Mode.LSTM, false, null));
        assertTrue(e.getMessage().contains("LSTM"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.of(Mode.GRU, 0, H));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.of(Mode.GRU, I, H).withProjSize(2));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.of(Mode.LSTM, I, H).withProjSize(H));
        assertThrows(IllegalArgumentException.class, () -> LayerSpec.of(Mode.LSTM, 1 << 20, 1 << 12));
    }

    @Test
    void linearEmbeddingAndHeadsRejectBadArguments() {
        Map<String, float[]> w = new HashMap<>();
        Map<String, int[]> s = new HashMap<>();
        w.put("weight", new float[12]);
        s.put("weight", new int[] {3, 4});
        w.put("bias", new float[3]);
        s.put("bias", new int[] {3});
        try (Arena arena = Arena.ofConfined(); Linear lin = Linear.load(StateDict.of(w, s), "", Backend.get("simd"));
             Embedding emb = Embedding.load(StateDict.of(Map.of("weight", w.get("weight")), Map.of("weight", s.get("weight"))), "")) {
            Tensor x = Tensor.allocate(arena, 2, 4), y = Tensor.allocate(arena, 2, 3);
            y.fill(7f);
            var e = assertThrows(IllegalArgumentException.class, () -> lin.forward(Tensor.allocate(arena, 2, 5), y));
            assertTrue(e.getMessage().contains("4 features") && e.getMessage().contains("[2, 5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> lin.forward(x, Tensor.allocate(arena, 3, 3)));
            assertTrue(e.getMessage().contains("y must be [2 × 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> lin.forward(x, Tensor.wrap(x.segment(), 0, 3, 2, 3)));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> emb.lookup(new int[] {0, 3}, Tensor.allocate(arena, 2, 4)));
            assertTrue(e.getMessage().contains("token id 3 at position 1 is outside 0..2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> emb.lookup(new int[] {-1, 0}, Tensor.allocate(arena, 2, 4)));
            assertTrue(e.getMessage().contains("token id -1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> emb.lookup(new int[] {0}, y));
            assertTrue(e.getMessage().contains("out must be [1 × 4]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Heads.argmax(y, new int[3]));
            assertTrue(e.getMessage().contains("one entry per row (2), got 3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Heads.softmax(y, Tensor.allocate(arena, 2, 4)));
            assertArrayEquals(new float[] {7, 7, 7, 7, 7, 7}, y.toArray(), "a rejected call wrote into y");
            lin.close();
            emb.close();
            assertThrows(IllegalStateException.class, () -> lin.forward(x, y));
            assertThrows(IllegalStateException.class, () -> emb.lookup(new int[] {0, 1}, Tensor.allocate(arena, 2, 4)));
        }
        Map<String, int[]> bad = new HashMap<>(s);
        Map<String, float[]> badData = new HashMap<>(w);
        bad.put("bias", new int[] {4});
        badData.put("bias", new float[4]);
        var e = assertThrows(IllegalArgumentException.class, () -> Linear.load(StateDict.of(badData, bad), "", null));
        assertTrue(e.getMessage().contains("'bias' must have shape [3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Embedding.load(StateDict.of(w, s), "emb."));
        assertTrue(e.getMessage().contains("missing tensor 'emb.weight'"), e.getMessage());
    }
}
