package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every golden fixture made by PyTorch 1.13 ({@code scripts/make-fixtures}), on every backend that can
 * run here: layers (all modes, 1–3 layers, directions, batch-first, bias, h0/c0, lengths, projection,
 * F16/BF16 weights, name prefixes, NaN/Inf inputs, saturation) and cells.
 *
 * <p>Tolerance {@code 1e-5·max(1, |expected|)}: both sides compute in float32; PyTorch sums its GEMMs in
 * OpenBLAS's order, we in ours, and our activations are within 1e-6 of exact, so differences are a few
 * float32 ulps of the largest terms (observed ≤ ~1e-6). Values above 1 (ReLU layers, saturated inputs
 * scaled by 1e4) are compared relatively. Where the inputs were scaled up (metadata {@code input_scale},
 * 1e4 in the saturation cases) the pre-activations are sums of terms that large, whose float32 rounding
 * alone is about {@code 2⁻²⁴·k·scale}: the absolute tolerance grows to {@code 1e-6·input_scale}.
 * NaN must meet NaN and ±Inf the same infinity.
 */
public class PyTorchFixtureTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    private static final String DIR = "/fixtures/layers/";

    static List<String> cases() throws IOException {
        return dev.panamarnn.FixtureFiles.index(DIR);
    }

    /** The fixture as a file: directly from the class path, or copied out of the test jar. */
    static Path file(String name) throws IOException {
        return dev.panamarnn.FixtureFiles.file(DIR, name);
    }

    @TestFactory
    Stream<DynamicTest> fixtures() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        List<String> names = cases();
        if (names.size() < 50) fail("expected the full fixture set, found " + names.size());
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (String name : names) {
                tests.add(DynamicTest.dynamicTest(s.name() + " " + name, () -> {
                    if (name.startsWith("cell_")) runCell(Backend.get(s.name()), name);
                    else runLayer(Backend.get(s.name()), name);
                }));
            }
        }
        return tests.stream();
    }

    private static void runLayer(Backend backend, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file(name)); Arena arena = Arena.ofConfined()) {
            Map<String, String> md = st.metadata();
            Mode mode = Mode.valueOf(md.get("mode"));
            boolean batchFirst = Boolean.parseBoolean(md.get("batch_first"));
            String prefix = md.get("prefix");
            StateDict weights = weightsOnly(st, prefix);
            try (RecurrentLayer layer = RecurrentLayer.load(weights, prefix, mode == Mode.RNN_RELU || mode == Mode.RNN_TANH ? mode : null,
                    batchFirst, backend)) {
                LayerSpec spec = layer.spec();
                assertEquals(mode, spec.mode(), name);
                assertEquals(Integer.parseInt(md.get("num_layers")), spec.numLayers(), name);
                assertEquals(Boolean.parseBoolean(md.get("bidirectional")), spec.bidirectional(), name);
                assertEquals(Boolean.parseBoolean(md.get("bias")), spec.bias(), name);
                assertEquals(Integer.parseInt(md.get("proj_size")), spec.projSize(), name);
                assertEquals(Integer.parseInt(md.get("hidden_size")), spec.hiddenSize(), name);
                Tensor input = st.toTensor("input", arena);
                Tensor h0 = st.names().contains("h0") ? st.toTensor("h0", arena) : null;
                Tensor c0 = st.names().contains("c0") ? st.toTensor("c0", arena) : null;
                int[] lengths = null;
                if (st.names().contains("lengths")) {
                    long[] l = st.toLongArray("lengths");
                    lengths = new int[l.length];
                    for (int i = 0; i < l.length; i++) lengths[i] = Math.toIntExact(l[i]);
                }
                RecurrentLayer.Result r = layer.forward(arena, input, h0, c0, lengths);
                String ctx = name + " on " + backend.name();
                double scale = Double.parseDouble(md.getOrDefault("input_scale", "1"));
                compare("output", st.toFloatArray("expected_output"), r.output().toArray(), ctx, scale);
                compare("h_n", st.toFloatArray("expected_h_n"), r.hN().toArray(), ctx, scale);
                if (mode == Mode.LSTM) compare("c_n", st.toFloatArray("expected_c_n"), r.cN().toArray(), ctx, scale);
                else assertNull(r.cN());
            }
        }
    }

    private static void runCell(Backend backend, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file(name)); Arena arena = Arena.ofConfined()) {
            Mode mode = Mode.valueOf(st.metadata().get("mode"));
            try (RecurrentCell cell = RecurrentCell.load(st.asStateDict(), st.metadata().getOrDefault("prefix", ""),
                    mode == Mode.RNN_RELU || mode == Mode.RNN_TANH ? mode : null, backend)) {
                Tensor x = st.toTensor("input", arena), h = st.toTensor("hx", arena);
                Tensor c = mode == Mode.LSTM ? st.toTensor("cx", arena) : null;
                cell.step(x, h, c);
                String ctx = name + " on " + backend.name();
                compare("h", st.toFloatArray("expected_h"), h.toArray(), ctx);
                if (c != null) compare("c", st.toFloatArray("expected_c"), c.toArray(), ctx);
            }
        }
    }

    /** The file's weights: every tensor under the prefix but the inputs and expected outputs. */
    private static StateDict weightsOnly(SafeTensors st, String prefix) {
        StateDict all = st.asStateDict();
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        for (String n : all.names()) {
            if (n.startsWith(prefix) && !n.equals("input") && !n.equals("h0") && !n.equals("c0") && !n.equals("lengths") && !n.startsWith("expected_")) {
                names.add(n);
            }
        }
        return new StateDict() {
            @Override public java.util.Set<String> names() { return names; }
            @Override public int[] shape(String n) { return all.shape(n); }
            @Override public float[] floats(String n) { return all.floats(n); }
        };
    }

    static void compare(String what, float[] expected, float[] actual, String ctx) {
        compare(what, expected, actual, ctx, 1);
    }

    static void compare(String what, float[] expected, float[] actual, String ctx, double inputScale) {
        double absFloor = Math.max(1e-5, 1e-6 * inputScale);
        if (expected.length != actual.length) fail(what + ": " + actual.length + " values, expected " + expected.length + " (" + ctx + ")");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a) || Float.isInfinite(e) || Float.isInfinite(a)) {
                if (Float.compare(e, a) != 0 && !(Float.isNaN(e) && Float.isNaN(a))) {
                    fail(String.format("%s[%d]: expected %s got %s (%s)", what, i, e, a, ctx));
                }
                continue;
            }
            if (Math.abs(e - a) > Math.max(absFloor, 1e-5 * Math.abs(e))) {
                fail(String.format("%s[%d]: expected %.8g got %.8g, |diff| %.3g (%s)", what, i, e, a, Math.abs(e - a), ctx));
            }
        }
    }
}
