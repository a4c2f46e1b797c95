package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.compare;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.flat;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.flatBatchFirst;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.rand;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.transpose01;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The two-thread forward pass ({@link Parallelism} 2: projection by columns, directions per thread, steps
 * by partition of the hidden units) and the partitioned weight layout it needs, against the
 * double-precision reference and against the one-thread pass, on every backend. Hidden sizes from 64
 * up, so the weights have two partitions (smaller layers keep one and never split a step).
 */
public class TwoThreadForwardTest {
    protected boolean runsOn(String backend) {
        return true;
    }

    @TestFactory
    Stream<DynamicTest> twoThreadsMatchReferenceAndOneThread() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (int i = 0; i < 16; i++) {
                long seed = 9100 + i;
                tests.add(DynamicTest.dynamicTest(s.name() + " case " + i + " seed " + seed, () -> runCase(Backend.get(s.name()), seed)));
            }
        }
        return tests.stream();
    }

    private static void runCase(Backend backend, long seed) {
        Random r = new Random(seed);
        Mode mode = Mode.values()[(int) (seed % 4)];
        int[] hs = {64, 67, 96, 130};
        int H = hs[r.nextInt(hs.length)];
        boolean bi = r.nextInt(3) == 0;
        LayerSpec spec = new LayerSpec(mode, 1 + r.nextInt(40), H, 1 + r.nextInt(2), bi, r.nextInt(5) != 0, r.nextBoolean(), 0);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes);
        boolean batch1 = r.nextInt(4) == 0;
        int B = batch1 ? 1 : 4 + r.nextInt(5), T = batch1 ? 64 + r.nextInt(10) : 16 + r.nextInt(9); // T·B·H ≥ 4096: worth a second thread
        int D = spec.directions(), P = spec.outputSize(), LD = spec.numLayers() * D;
        double[][][] x = rand(r, T, B, spec.inputSize(), 2);
        double[][][] h0 = r.nextBoolean() ? rand(r, LD, B, P, 1) : null;
        double[][][] c0 = mode == Mode.LSTM && r.nextBoolean() ? rand(r, LD, B, H, 1) : null;
        int[] lengths = null;
        if (B > 1 && r.nextBoolean()) {
            lengths = new int[B];
            for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
        }
        double[][][][] ref = ReferenceRnn.forward(spec, w, x, h0, c0, lengths);
        String ctx = spec + " T=" + T + " B=" + B + " lengths=" + java.util.Arrays.toString(lengths) + " backend=" + backend.name() + " seed=" + seed;
        int before = Parallelism.threads();
        // A shared arena: the helper thread may touch it (with a confined one the call runs alone).
        try (Arena arena = Arena.ofShared(); RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", backend)) {
            assertEquals(2, dev.panamarnn.engine.Weights.cuts(LayerWeights.shape(spec)).length - 1, "two partitions at hidden " + H);
            Tensor in = spec.batchFirst() ? Tensor.of(arena, flatBatchFirst(x), B, T, spec.inputSize()) : Tensor.of(arena, flat(x), T, B, spec.inputSize());
            Tensor th0 = h0 == null ? null : Tensor.of(arena, flat(h0), LD, B, P);
            Tensor tc0 = c0 == null ? null : Tensor.of(arena, flat(c0), LD, B, H);
            Parallelism.setThreads(1);
            RecurrentLayer.Result one = layer.forward(arena, in, th0, tc0, lengths);
            Parallelism.setThreads(2);
            long jobs = dev.panamarnn.engine.Helper.shared().jobs();
            RecurrentLayer.Result two = layer.forward(arena, in, th0, tc0, lengths);
            org.junit.jupiter.api.Assertions.assertTrue(dev.panamarnn.engine.Helper.shared().jobs() > jobs, "the second thread took part");
            double[][][] expOut = spec.batchFirst() ? transpose01(ref[0]) : ref[0];
            for (RecurrentLayer.Result res : List.of(one, two)) {
                String c = ctx + (res == one ? " (1 thread)" : " (2 threads)");
                compare("output", flat(expOut), res.output().toArray(), c);
                compare("h_n", flat(ref[1]), res.hN().toArray(), c);
                if (mode == Mode.LSTM) compare("c_n", flat(ref[2]), res.cN().toArray(), c);
            }
            compare("output, 2 threads vs 1", one.output().toArray(), two.output().toArray(), ctx);
            compare("h_n, 2 threads vs 1", one.hN().toArray(), two.hN().toArray(), ctx);
        } finally {
            Parallelism.setThreads(before);
        }
    }

    @org.junit.jupiter.api.Test
    void confinedTensorsRunOnTheCallingThreadAlone() {
        Random r = new Random(5);
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 8, 96);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes);
        int before = Parallelism.threads();
        try (Arena arena = Arena.ofConfined(); RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", Backend.get("simd"))) {
            Tensor in = Tensor.of(arena, flat(rand(r, 40, 4, 8, 1)), 40, 4, 8);
            Parallelism.setThreads(1);
            float[] one = layer.forward(arena, in).output().toArray();
            Parallelism.setThreads(2);
            long jobs = dev.panamarnn.engine.Helper.shared().jobs();
            float[] two = layer.forward(arena, in).output().toArray();
            assertEquals(jobs, dev.panamarnn.engine.Helper.shared().jobs(), "the helper must not touch a confined arena");
            org.junit.jupiter.api.Assertions.assertArrayEquals(one, two);
        } finally {
            Parallelism.setThreads(before);
        }
    }

    @TestFactory
    Stream<DynamicTest> partitionedCellsMatchReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (Mode mode : Mode.values()) {
                tests.add(DynamicTest.dynamicTest(s.name() + " " + mode, () -> cellCase(Backend.get(s.name()), mode)));
            }
        }
        return tests.stream();
    }

    private static void cellCase(Backend backend, Mode mode) {
        Random r = new Random(77 + mode.ordinal());
        int H = 72, I = 9, B = 3;
        LayerSpec spec = LayerSpec.of(mode, I, H);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> lw = randomWeights(spec, r, shapes);
        Map<String, float[]> cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        for (String n : lw.keySet()) {
            String cn = n.replace("_l0", "");
            cw.put(cn, lw.get(n));
            cs.put(cn, shapes.get(n));
        }
        double[][][] x = rand(r, 1, B, I, 2), h = rand(r, 1, B, H, 1), c = rand(r, 1, B, H, 1);
        try (Arena arena = Arena.ofConfined(); RecurrentCell cell = RecurrentCell.load(StateDict.of(cw, cs), "", mode.gates() == 1 ? mode : null, backend)) {
            Tensor tx = Tensor.of(arena, flat(x), B, I), th = Tensor.of(arena, flat(h), B, H);
            Tensor tc = mode == Mode.LSTM ? Tensor.of(arena, flat(c), B, H) : null;
            cell.step(tx, th, tc);
            float[] wantH = new float[B * H], wantC = new float[B * H];
            for (int b = 0; b < B; b++) {
                double[][] res = ReferenceRnn.cell(spec, lw, "_l0", x[0][b], h[0][b], mode == Mode.LSTM ? c[0][b] : null);
                for (int j = 0; j < H; j++) {
                    wantH[b * H + j] = (float) res[0][j];
                    if (mode == Mode.LSTM) wantC[b * H + j] = (float) res[1][j];
                }
            }
            compare("h", wantH, th.toArray(), mode + " cell " + backend.name());
            if (mode == Mode.LSTM) compare("c", wantC, tc.toArray(), mode + " cell " + backend.name());
        }
    }
}
