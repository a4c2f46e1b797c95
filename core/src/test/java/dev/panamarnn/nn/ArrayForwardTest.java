package dev.panamarnn.nn;

import static dev.panamarnn.nn.LayerLoaderTest.sameBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
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
import org.junit.jupiter.api.function.Executable;

/**
 * {@link RecurrentLayer#forward(float[], int, int)} and {@link RecurrentCell#step(float[], float[], float[], int)}
 * give the tensor path's bits, and a wrong array length is an error naming the array and the length it must have.
 */
class ArrayForwardTest {
    /** Random layers of every kind (layers, directions, batch-first, projection, bias), with and without h0, c0, lengths. */
    @TestFactory
    Stream<DynamicTest> arraysGiveTheTensorBits() {
        List<DynamicTest> tests = new ArrayList<>();
        for (long seed = 1; seed <= 24; seed++) {
            long s = seed;
            tests.add(DynamicTest.dynamicTest("seed " + s, () -> {
                Random r = new Random(s);
                LayerSpec spec = RecurrentLayerRandomTest.randomSpec(r);
                check(spec, 1 + r.nextInt(6), 1 + r.nextInt(4), r, s % 2 == 0, s % 3 == 0);
            }));
        }
        // Large enough for the second thread to take half (then the array path's arena is shared): the same bits.
        tests.add(DynamicTest.dynamicTest("two threads, helper takes half", () -> {
            int before = Parallelism.threads();
            Parallelism.setThreads(2);
            try {
                LayerSpec spec = new LayerSpec(Mode.LSTM, 24, 64, 2, true, true, false, 0);
                Random r = new Random(77);
                check(spec, 16, 5, r, true, true);
                check(spec.withBatchFirst(true), 16, 5, r, false, true);
            } finally {
                Parallelism.setThreads(before);
            }
        }));
        return tests.stream();
    }

    private static void check(LayerSpec spec, int T, int B, Random r, boolean states, boolean lengths) {
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(RecurrentLayerRandomTest.randomWeights(spec, r, shapes), shapes);
        int LD = spec.numLayers() * spec.directions();
        boolean lstm = spec.mode() == Mode.LSTM;
        float[] x = random(r, T * B * spec.inputSize());
        float[] h0 = states ? random(r, LD * B * spec.outputSize()) : null;
        float[] c0 = states && lstm ? random(r, LD * B * spec.hiddenSize()) : null;
        int[] lens = null;
        if (lengths) {
            lens = new int[B];
            for (int b = 0; b < B; b++) lens[b] = 1 + r.nextInt(T);
        }
        String ctx = spec + " T=" + T + " B=" + B;
        try (RecurrentLayer layer = RecurrentLayer.loader().spec(spec).load(sd); Arena arena = Arena.ofConfined()) {
            Tensor in = spec.batchFirst() ? Tensor.of(arena, x, B, T, spec.inputSize()) : Tensor.of(arena, x, T, B, spec.inputSize());
            RecurrentLayer.Result expected = layer.forward(arena, in, h0 == null ? null : Tensor.of(arena, h0, LD, B, spec.outputSize()),
                    c0 == null ? null : Tensor.of(arena, c0, LD, B, spec.hiddenSize()), lens);
            float[] xCopy = x.clone(), h0Copy = h0 == null ? null : h0.clone();
            RecurrentLayer.ArrayResult got = layer.forward(x, T, B, h0, c0, lens);
            sameBits("output", expected.output().toArray(), got.output(), ctx);
            sameBits("h_n", expected.hN().toArray(), got.hN(), ctx);
            if (lstm) sameBits("c_n", expected.cN().toArray(), got.cN(), ctx);
            else assertNull(got.cN(), ctx);
            assertArrayEquals(xCopy, x, "the input array is only read");
            if (h0 != null) assertArrayEquals(h0Copy, h0, "h0 is only read");
            if (!states && !lengths) sameBits("output", expected.output().toArray(), layer.forward(x, T, B), ctx + ", forward(float[], T, B)");
            if (!lengths) sameBits("output", expected.output().toArray(), layer.forward(x, T, B, h0, c0).output(), ctx + ", without lengths");
        }
    }

    @Test
    void wrongArrayLengthsNameTheArray() {
        LayerSpec lstm = new LayerSpec(Mode.LSTM, 5, 7, 2, true, true, false, 0);
        LayerSpec gru = LayerSpec.of(Mode.GRU, 5, 7).withBatchFirst(true);
        try (RecurrentLayer l = layer(lstm, 1); RecurrentLayer g = layer(gru, 2)) {
            float[] x = new float[3 * 4 * 5];
            rejects(() -> l.forward(new float[59], 3, 4), "forward: input has 59 floats; it must hold seq_len·batch·input_size = 3·4·5 = 60");
            rejects(() -> g.forward(new float[59], 3, 4), "forward: input has 59 floats; it must hold batch·seq_len·input_size = 4·3·5 = 60");
            rejects(() -> l.forward(null, 3, 4), "forward: input is null; it must hold seq_len·batch·input_size = 3·4·5 = 60 floats");
            rejects(() -> l.forward(x, 0, 4), "forward: seqLen must be >= 1, got 0");
            rejects(() -> l.forward(x, 3, -1), "forward: batch must be >= 1, got -1");
            rejects(() -> l.forward(x, 3, 4, new float[4 * 4 * 7 + 1], null), "forward: h0 has 113 floats; it must hold num_layers·directions·batch·hidden_size = 4·4·7 = 112");
            rejects(() -> l.forward(x, 3, 4, null, new float[3]), "forward: c0 has 3 floats; it must hold num_layers·directions·batch·hidden_size = 4·4·7 = 112");
            rejects(() -> g.forward(x, 3, 4, null, new float[28]), "forward: c0 is only for LSTM, this layer is GRU");
            rejects(() -> l.forward(x, 3, 4, null, null, new int[] {1, 2, 3}), "forward: lengths must have one entry per sample (4), got 3");
            rejects(() -> l.forward(x, 3, 4, null, null, new int[] {1, 2, 3, 4}), "forward: lengths[3] must be in 1..3 (seq_len), got 4");
        }
        try (RecurrentLayer p = layer(new LayerSpec(Mode.LSTM, 5, 7, 1, false, true, false, 3), 3)) {
            rejects(() -> p.forward(new float[5], 1, 1, new float[7], null), "forward: h0 has 7 floats; it must hold num_layers·directions·batch·proj_size = 1·1·3 = 3");
        }
    }

    /** Every cell fixture: the array step gives the tensor step's bits. */
    @TestFactory
    Stream<DynamicTest> cellArraysGiveTheTensorBits() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : PyTorchFixtureTest.cases()) {
            if (!name.startsWith("cell_")) continue;
            tests.add(DynamicTest.dynamicTest(name, () -> {
                try (SafeTensors st = SafeTensors.open(PyTorchFixtureTest.file(name)); Arena arena = Arena.ofConfined()) {
                    Mode mode = Mode.valueOf(st.metadata().get("mode"));
                    try (RecurrentCell cell = RecurrentCell.load(st.asStateDict(), st.metadata().getOrDefault("prefix", ""),
                            mode == Mode.RNN_RELU || mode == Mode.RNN_TANH ? mode : null, Backend.defaultBackend())) {
                        Tensor x = st.toTensor("input", arena), h = st.toTensor("hx", arena);
                        Tensor c = mode == Mode.LSTM ? st.toTensor("cx", arena) : null;
                        float[] xa = x.toArray(), ha = h.toArray(), ca = c == null ? null : c.toArray();
                        cell.step(x, h, c);
                        for (int step = 0; step < 3; step++) { // a few steps: the state carried in the arrays
                            cell.step(xa, ha, ca, x.rows());
                            sameBits("h", h.toArray(), ha, name + " step " + step);
                            if (c != null) sameBits("c", c.toArray(), ca, name + " step " + step);
                            cell.step(x, h, c);
                        }
                        PyTorchFixtureTest.compare("h", st.toFloatArray("expected_h"), stepOnce(cell, st, mode), name);
                    }
                }
            }));
        }
        return tests.stream();
    }

    private static float[] stepOnce(RecurrentCell cell, SafeTensors st, Mode mode) {
        float[] h = st.toFloatArray("hx"), c = mode == Mode.LSTM ? st.toFloatArray("cx") : null;
        cell.step(st.toFloatArray("input"), h, c, st.info("input").shape()[0]);
        return h;
    }

    @Test
    void wrongCellArraysNameTheArrayAndLeaveTheStateAlone() {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 5, 7);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> lw = RecurrentLayerRandomTest.randomWeights(spec, new Random(9), shapes);
        Map<String, float[]> cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        lw.forEach((k, v) -> cw.put(k.replace("_l0", ""), v));
        shapes.forEach((k, v) -> cs.put(k.replace("_l0", ""), v));
        try (RecurrentCell cell = RecurrentCell.load(StateDict.of(cw, cs), "", null, Backend.defaultBackend())) {
            float[] h = new float[21], c = new float[21];
            java.util.Arrays.fill(h, 0.5f);
            java.util.Arrays.fill(c, -0.25f);
            float[] h1 = h.clone(), c1 = c.clone();
            rejects(() -> cell.step(new float[14], h, c, 3), "step: x has 14 floats; it must hold batch·input_size = 3·5 = 15");
            rejects(() -> cell.step(new float[15], new float[20], c, 3), "step: h has 20 floats; it must hold batch·hidden_size = 3·7 = 21");
            rejects(() -> cell.step(new float[15], h, new float[22], 3), "step: c has 22 floats; it must hold batch·hidden_size = 3·7 = 21");
            rejects(() -> cell.step(new float[15], h, null, 3), "step: c (the LSTM cell state, batch·hidden_size = 3·7 floats) is null");
            rejects(() -> cell.step(new float[15], h, c, 0), "step: batch must be >= 1, got 0");
            assertArrayEquals(h1, h);
            assertArrayEquals(c1, c);
            cell.step(new float[15], h, c, 3);
            assertTrue(!java.util.Arrays.equals(h1, h), "a step changes the state");
        }
        LayerSpec g = LayerSpec.of(Mode.GRU, 2, 3);
        Map<String, int[]> gs = new HashMap<>();
        Map<String, float[]> gw = new HashMap<>();
        Map<String, int[]> gcs = new HashMap<>();
        RecurrentLayerRandomTest.randomWeights(g, new Random(10), gs).forEach((k, v) -> gw.put(k.replace("_l0", ""), v));
        gs.forEach((k, v) -> gcs.put(k.replace("_l0", ""), v));
        try (RecurrentCell cell = RecurrentCell.load(StateDict.of(gw, gcs), "", null, Backend.defaultBackend())) {
            rejects(() -> cell.step(new float[2], new float[3], new float[3], 1), "step: c is only for LSTM, this cell is GRU");
        }
    }

    private static RecurrentLayer layer(LayerSpec spec, long seed) {
        Map<String, int[]> shapes = new HashMap<>();
        return RecurrentLayer.loader().spec(spec).load(StateDict.of(RecurrentLayerRandomTest.randomWeights(spec, new Random(seed), shapes), shapes));
    }

    private static void rejects(Executable call, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals(message, e.getMessage());
    }

    private static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }
}
