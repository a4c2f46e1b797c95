package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.junit.jupiter.api.TestFactory;

/**
 * The layer on every available backend against {@link ReferenceRnn} over seeded random configurations:
 * every mode, 1–3 layers, both directions, batch-first, bias on and off, projection, h0/c0, lengths.
 * Tolerance 2e-5·(1 + |ref|): float32 GEMMs over at most ~80 terms (≈1e-6 relative) plus activation
 * approximations (≤ 1e-6 absolute), compounded over a few steps and layers of contracting maps.
 */
public class RecurrentLayerRandomTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }


    @TestFactory
    Stream<DynamicTest> matchesReferenceOnEveryBackend() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (int i = 0; i < 48; i++) {
                long seed = 7000 + i;
                tests.add(DynamicTest.dynamicTest(s.name() + " case " + i + " seed " + seed, () -> runCase(Backend.get(s.name()), seed)));
            }
        }
        return tests.stream();
    }

    static LayerSpec randomSpec(Random r) {
        Mode mode = Mode.values()[r.nextInt(4)];
        int hidden = 1 + r.nextInt(19);
        int proj = mode == Mode.LSTM && hidden > 2 && r.nextInt(3) == 0 ? 1 + r.nextInt(hidden - 1) : 0;
        return new LayerSpec(mode, 1 + r.nextInt(17), hidden, 1 + r.nextInt(3), r.nextBoolean(), r.nextInt(4) != 0, r.nextBoolean(), proj);
    }

    static Map<String, float[]> randomWeights(LayerSpec spec, Random r, Map<String, int[]> shapes) {
        Map<String, float[]> w = new HashMap<>();
        int G = spec.mode().gates(), H = spec.hiddenSize(), P = spec.outputSize();
        double k = 1 / Math.sqrt(H);
        for (int l = 0; l < spec.numLayers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                put(w, shapes, "weight_ih" + sfx, r, 2 * k, G * H, spec.layerInputSize(l));
                put(w, shapes, "weight_hh" + sfx, r, 2 * k, G * H, P);
                if (spec.bias()) {
                    put(w, shapes, "bias_ih" + sfx, r, k, G * H);
                    put(w, shapes, "bias_hh" + sfx, r, k, G * H);
                }
                if (spec.projSize() > 0) put(w, shapes, "weight_hr" + sfx, r, k, P, H);
            }
        }
        return w;
    }

    private static void put(Map<String, float[]> w, Map<String, int[]> shapes, String name, Random r, double scale, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        w.put(name, a);
        shapes.put(name, shape);
    }

    private static void runCase(Backend backend, long seed) {
        Random r = new Random(seed);
        LayerSpec spec = randomSpec(r);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes);
        int T = 1 + r.nextInt(7), B = 1 + r.nextInt(5), D = spec.directions(), P = spec.outputSize(), LD = spec.numLayers() * D;
        double[][][] x = rand(r, T, B, spec.inputSize(), 2);
        double[][][] h0 = r.nextBoolean() ? rand(r, LD, B, P, 1) : null;
        double[][][] c0 = spec.mode() == Mode.LSTM && r.nextBoolean() ? rand(r, LD, B, spec.hiddenSize(), 1) : null;
        int[] lengths = null;
        if (r.nextBoolean()) {
            lengths = new int[B];
            for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
        }
        double[][][][] ref = ReferenceRnn.forward(spec, w, x, h0, c0, lengths);
        String ctx = spec + " T=" + T + " B=" + B + " h0=" + (h0 != null) + " c0=" + (c0 != null) + " lengths="
                + java.util.Arrays.toString(lengths) + " backend=" + backend.name() + " seed=" + seed;
        try (Arena arena = Arena.ofConfined();
             RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", backend)) {
            Tensor in = spec.batchFirst() ? Tensor.of(arena, flatBatchFirst(x), B, T, spec.inputSize()) : Tensor.of(arena, flat(x), T, B, spec.inputSize());
            RecurrentLayer.Result res = layer.forward(arena, in, h0 == null ? null : Tensor.of(arena, flat(h0), LD, B, P),
                    c0 == null ? null : Tensor.of(arena, flat(c0), LD, B, spec.hiddenSize()), lengths);
            double[][][] expOut = spec.batchFirst() ? transpose01(ref[0]) : ref[0];
            compare("output", flat(expOut), res.output().toArray(), ctx);
            compare("h_n", flat(ref[1]), res.hN().toArray(), ctx);
            if (spec.mode() == Mode.LSTM) compare("c_n", flat(ref[2]), res.cN().toArray(), ctx);
            else assertNull(res.cN());
            // Same call again (warm workspace) gives bit-identical results.
            RecurrentLayer.Result again = layer.forward(arena, in, h0 == null ? null : Tensor.of(arena, flat(h0), LD, B, P),
                    c0 == null ? null : Tensor.of(arena, flat(c0), LD, B, spec.hiddenSize()), lengths);
            assertArrayEquals(res.output().toArray(), again.output().toArray(), ctx);
        }
    }

    static void compare(String what, float[] expected, float[] actual, String ctx) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + " != " + expected.length + " " + ctx);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            if (!(Math.abs(e - a) <= 2e-5 * (1 + Math.abs(e)))) {
                fail(String.format("%s[%d]: expected %.8g got %.8g (%s)", what, i, e, a, ctx));
            }
        }
    }

    static double[][][] rand(Random r, int a, int b, int c, double scale) {
        double[][][] x = new double[a][b][c];
        for (double[][] p : x) for (double[] q : p) for (int i = 0; i < c; i++) q[i] = (float) (r.nextGaussian() * scale);
        return x;
    }

    static float[] flat(double[][][] x) {
        int a = x.length, b = x[0].length, c = x[0][0].length;
        float[] f = new float[a * b * c];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) for (int k = 0; k < c; k++) f[(i * b + j) * c + k] = (float) x[i][j][k];
        return f;
    }

    static float[] flatBatchFirst(double[][][] x) {
        return flat(transpose01(x));
    }

    static double[][][] transpose01(double[][][] x) {
        int a = x.length, b = x[0].length;
        double[][][] y = new double[b][a][];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) y[j][i] = x[i][j];
        return y;
    }
}
