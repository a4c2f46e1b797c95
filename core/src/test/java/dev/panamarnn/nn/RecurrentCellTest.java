package dev.panamarnn.nn;

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
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Cells against the reference, and stepping a cell equals running the one-layer sequence layer. */
class RecurrentCellTest {

    @TestFactory
    Stream<DynamicTest> cellsMatchReferenceAndLayer() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available()) continue;
            for (Mode mode : Mode.values()) {
                for (int i = 0; i < 6; i++) {
                    long seed = 400 + i * 10L + mode.ordinal();
                    tests.add(DynamicTest.dynamicTest(s.name() + " " + mode + " seed " + seed, () -> run(Backend.get(s.name()), mode, seed)));
                }
            }
        }
        return tests.stream();
    }

    private static void run(Backend backend, Mode mode, long seed) {
        Random r = new Random(seed);
        LayerSpec spec = new LayerSpec(mode, 1 + r.nextInt(20), 1 + r.nextInt(20), 1, false, r.nextInt(3) != 0, false, 0);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> lw = RecurrentLayerRandomTest.randomWeights(spec, r, shapes);
        // The same weights under cell names.
        Map<String, float[]> cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        lw.forEach((k, v) -> cw.put("cell." + k.replace("_l0", ""), v));
        shapes.forEach((k, v) -> cs.put("cell." + k.replace("_l0", ""), v));
        int T = 1 + r.nextInt(5), B = 1 + r.nextInt(4), H = spec.hiddenSize(), I = spec.inputSize();
        double[][][] x = RecurrentLayerRandomTest.rand(r, T, B, I, 2);
        double[][][] h0 = RecurrentLayerRandomTest.rand(r, 1, B, H, 1), c0 = RecurrentLayerRandomTest.rand(r, 1, B, H, 1);
        boolean lstm = mode == Mode.LSTM;
        String ctx = spec + " backend=" + backend.name() + " seed=" + seed;
        try (Arena arena = Arena.ofConfined();
             RecurrentCell cell = RecurrentCell.load(StateDict.of(cw, cs), "cell.", mode == Mode.RNN_RELU || mode == Mode.RNN_TANH ? mode : null, backend);
             RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(lw, shapes), "", backend)) {
            Tensor h = Tensor.of(arena, RecurrentLayerRandomTest.flat(h0), B, H);
            Tensor c = lstm ? Tensor.of(arena, RecurrentLayerRandomTest.flat(c0), B, H) : null;
            Tensor in = Tensor.of(arena, RecurrentLayerRandomTest.flat(x), T, B, I);
            RecurrentLayer.Result res = layer.forward(arena, in, Tensor.of(arena, RecurrentLayerRandomTest.flat(h0), 1, B, H),
                    lstm ? Tensor.of(arena, RecurrentLayerRandomTest.flat(c0), 1, B, H) : null, null);
            double[][] hr = h0[0], cr = c0[0];
            for (int t = 0; t < T; t++) {
                cell.step(in.slice(t), h, c);
                // Reference, one sample at a time.
                double[][] nh = new double[B][], nc = new double[B][];
                for (int b = 0; b < B; b++) {
                    double[][] hc = ReferenceRnn.cell(spec, lw, "_l0", x[t][b], hr[b], cr[b]);
                    nh[b] = hc[0];
                    nc[b] = hc[1];
                }
                hr = nh;
                cr = nc;
                RecurrentLayerRandomTest.compare("h at step " + t, RecurrentLayerRandomTest.flat(new double[][][] {hr}), h.toArray(), ctx);
                if (lstm) RecurrentLayerRandomTest.compare("c at step " + t, RecurrentLayerRandomTest.flat(new double[][][] {cr}), c.toArray(), ctx);
                // Step by step the cell equals the layer's output row for that step (up to summation order:
                // the layer projects all steps in one GEMM, the cell one step at a time).
                RecurrentLayerRandomTest.compare("layer output vs cell at step " + t, res.output().slice(t).toArray(), h.toArray(), ctx);
            }
        }
    }

    @Test
    void rejectsBadStateAndLeavesItIntact() {
        Random r = new Random(1);
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 3, 4);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> lw = RecurrentLayerRandomTest.randomWeights(spec, r, shapes);
        Map<String, float[]> cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        lw.forEach((k, v) -> cw.put(k.replace("_l0", ""), v));
        shapes.forEach((k, v) -> cs.put(k.replace("_l0", ""), v));
        try (Arena arena = Arena.ofConfined(); RecurrentCell cell = RecurrentCell.load(StateDict.of(cw, cs), "", null, Backend.get("scalar"))) {
            Tensor x = Tensor.allocate(arena, 2, 3), h = Tensor.allocate(arena, 2, 4), c = Tensor.allocate(arena, 3, 4);
            h.fill(0.25f);
            var e = assertThrows(IllegalArgumentException.class, () -> cell.step(x, h, c));
            assertTrue(e.getMessage().contains("c must be [2 × 4], got [3, 4]"), e.getMessage());
            assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f}, h.toArray());
            e = assertThrows(IllegalArgumentException.class, () -> cell.step(Tensor.allocate(arena, 2, 5), h, Tensor.allocate(arena, 2, 4)));
            assertTrue(e.getMessage().contains("x must be [batch × 3]"), e.getMessage());
            cell.close();
            assertThrows(IllegalStateException.class, () -> cell.step(x, h, Tensor.allocate(arena, 2, 4)));
        }
    }
}
