package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The named-options API ({@link LayerLoader}, {@link RecurrentLayer#load(Path)}, {@link Forward}) against the
 * positional one on PyTorch's fixtures: the same layer, the same bits; and its errors.
 */
class LayerLoaderTest {
    private static final Set<String> NOT_WEIGHTS = Set.of("input", "h0", "c0", "lengths", "expected_output", "expected_h_n", "expected_c_n");

    /** Every layer fixture, on the default backend: old and new loads, old and new forwards, bit for bit. */
    @TestFactory
    Stream<DynamicTest> namedOptionsGiveThePositionalResultsBitForBit() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : PyTorchFixtureTest.cases()) {
            if (name.startsWith("layer_")) tests.add(DynamicTest.dynamicTest(name, () -> sameAsPositional(name, WeightFormat.F32)));
        }
        tests.add(DynamicTest.dynamicTest("bf16 weights", () -> sameAsPositional("layer_lstm_l2_bi_h0_len_i7h13t5b3_prefixed.safetensors", WeightFormat.BF16)));
        return tests.stream();
    }

    private static void sameAsPositional(String name, WeightFormat format) throws IOException {
        Backend backend = Backend.defaultBackend();
        Path file = PyTorchFixtureTest.file(name);
        try (SafeTensors st = SafeTensors.open(file); Arena arena = Arena.ofConfined()) {
            Map<String, String> md = st.metadata();
            Mode mode = Mode.valueOf(md.get("mode"));
            Mode hint = mode == Mode.RNN_RELU || mode == Mode.RNN_TANH ? mode : null;
            boolean batchFirst = Boolean.parseBoolean(md.get("batch_first"));
            String prefix = md.get("prefix");
            StateDict weights = weightsOnly(st, prefix);
            Tensor input = st.toTensor("input", arena);
            Tensor h0 = st.contains("h0") ? st.toTensor("h0", arena) : null;
            Tensor c0 = st.contains("c0") ? st.toTensor("c0", arena) : null;
            int[] lengths = null;
            if (st.contains("lengths")) {
                long[] l = st.toLongArray("lengths");
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) lengths[i] = Math.toIntExact(l[i]);
            }
            List<String> ignored = new ArrayList<>();
            LayerLoader options = RecurrentLayer.loader().prefix(prefix).mode(hint).batchFirst(batchFirst).backend(backend).weightFormat(format)
                    .loadOptions(LoadOptions.lenient(ignored::addAll));
            try (RecurrentLayer old = RecurrentLayer.load(weights, prefix, hint, batchFirst, backend, format);
                 RecurrentLayer built = options.load(weights);
                 RecurrentLayer fromFile = RecurrentLayer.load(file, options);
                 RecurrentLayer exact = RecurrentLayer.loader().spec(old.spec()).prefix(prefix).backend(backend).weightFormat(format).load(weights)) {
                // The file's other tensors are outside the prefix (not in the load's scope) or, with prefix "", skipped and reported.
                if (prefix.isEmpty()) assertEquals(new LinkedHashSet<>(ignored), Set.copyOf(nonWeights(st)), name);
                else assertEquals(List.of(), ignored, name);
                RecurrentLayer.Result expected = old.forward(arena, input, h0, c0, lengths);
                for (RecurrentLayer layer : new RecurrentLayer[] {built, fromFile, exact}) {
                    assertEquals(old.spec(), layer.spec(), name);
                    assertEquals(format, layer.weightFormat(), name);
                    String ctx = name + ": " + layer;
                    sameBits(expected, layer.forward(arena, input, Forward.with().h0(h0).c0(c0).lengths(lengths)), ctx + ", forward(arena, input, request)");
                    RecurrentLayer.Result into = layer.allocateResult(arena, input);
                    try (Workspace ws = new Workspace()) {
                        layer.forward(input, Forward.with().h0(h0).c0(c0).lengths(lengths).into(into.output(), into.hN(), into.cN()).workspace(ws));
                    }
                    sameBits(expected, into, ctx + ", forward(input, request.into(...))");
                }
                if (format == WeightFormat.F32) {
                    double scale = Double.parseDouble(md.getOrDefault("input_scale", "1"));
                    PyTorchFixtureTest.compare("output", st.toFloatArray("expected_output"), expected.output().toArray(), name, scale);
                }
            }
        }
    }

    @Test
    void loadFromAPathClosesTheFileAndNamesItInErrors(@TempDir Path dir) throws IOException {
        Path file = PyTorchFixtureTest.file("layer_gru_l1_i7h13t1b1.safetensors");
        // Strict with prefix "": the file's input and expected tensors are the error, and the message names the file.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.load(file));
        assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains("does not use") && e.getMessage().contains("'expected_output'"),
                e.getMessage());
        // A file whose layer sits under a prefix loads strictly: the other tensors are outside the load's scope.
        Path prefixed = PyTorchFixtureTest.file("layer_lstm_l2_bi_h0_len_i7h13t5b3_prefixed.safetensors");
        try (RecurrentLayer layer = RecurrentLayer.loader().prefix("encoder.rnn.").load(prefixed); Arena arena = Arena.ofConfined()) {
            assertEquals(Mode.LSTM, layer.spec().mode());
            // The file was closed: the layer holds copies and still runs.
            RecurrentLayer.Result r = layer.forward(arena, Tensor.allocate(arena, 2, 1, layer.spec().inputSize()));
            assertEquals(2, r.output().dim(0));
        }
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.loader().prefix("decoder.").load(prefixed));
        assertTrue(none.getMessage().startsWith(prefixed + ": no recurrent layer found"), none.getMessage());

        Path missing = dir.resolve("absent.safetensors");
        NoSuchFileException nf = assertThrows(NoSuchFileException.class, () -> RecurrentLayer.load(missing));
        assertTrue(nf.getMessage().startsWith(missing.toString()), nf.getMessage());
        Path junk = Files.write(dir.resolve("junk.safetensors"), new byte[] {1, 2, 3});
        IOException bad = assertThrows(IOException.class, () -> RecurrentLayer.load(junk));
        assertTrue(bad.getMessage().startsWith(junk.toString()), bad.getMessage());
    }

    @Test
    void loaderIsImmutableWithThePositionalDefaults() {
        LayerLoader d = RecurrentLayer.loader();
        assertEquals("", d.prefix());
        assertNull(d.mode());
        assertEquals(false, d.batchFirst());
        assertNull(d.backend());
        assertNull(d.weightFormat());
        assertNull(d.spec());
        assertSame(LoadOptions.strict(), d.loadOptions());
        LayerLoader p = d.prefix("rnn.").batchFirst(true);
        assertEquals("", d.prefix(), "setters return a new loader");
        assertEquals("rnn.", p.prefix());
        assertTrue(p.batchFirst());
        assertTrue(d.spec(LayerSpec.of(Mode.GRU, 3, 4).withBatchFirst(true)).batchFirst(), "batch-first from the spec");
        assertThrows(NullPointerException.class, () -> d.prefix(null));
        assertThrows(NullPointerException.class, () -> d.loadOptions(null));
    }

    @Test
    void aSpecAndDisagreeingSettingsAreRefused() {
        LayerSpec spec = LayerSpec.of(Mode.GRU, 3, 4);
        Map<String, int[]> shapes = new java.util.HashMap<>();
        StateDict sd = StateDict.of(RecurrentLayerRandomTest.randomWeights(spec, new java.util.Random(5), shapes), shapes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.loader().spec(spec).mode(Mode.LSTM).load(sd));
        assertTrue(e.getMessage().contains("mode LSTM disagrees with the spec's GRU"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.loader().spec(spec).batchFirst(true).load(sd));
        assertTrue(e.getMessage().contains("batchFirst true disagrees"), e.getMessage());
        try (RecurrentLayer a = RecurrentLayer.load(sd); RecurrentLayer b = RecurrentLayer.loader().spec(spec).mode(Mode.GRU).load(sd)) {
            assertEquals(spec, a.spec());
            assertEquals(spec, b.spec());
        }
    }

    @Test
    void requestsWithoutOrWithUnwantedBuffersAreRefused() {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 3, 4);
        Map<String, int[]> shapes = new java.util.HashMap<>();
        StateDict sd = StateDict.of(RecurrentLayerRandomTest.randomWeights(spec, new java.util.Random(6), shapes), shapes);
        try (RecurrentLayer layer = RecurrentLayer.loader().weightFormat(WeightFormat.F32).load(sd); Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, 2, 1, 3);
            Tensor out = Tensor.allocate(arena, 2, 1, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> layer.forward(x, Forward.with().h0(null)));
            assertTrue(e.getMessage().contains("no output buffer"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> layer.forward(arena, x, Forward.with().into(out)));
            assertTrue(e.getMessage().contains("names output buffers"), e.getMessage());
            // The positional checks, with their messages, apply to the request's parts.
            e = assertThrows(IllegalArgumentException.class, () -> layer.forward(x, Forward.with().into(out).h0(Tensor.allocate(arena, 1, 1, 5))));
            assertTrue(e.getMessage().startsWith("forward: h0 must be"), e.getMessage());
            // A cleared request is an empty one.
            Forward reused = Forward.with().h0(Tensor.allocate(arena, 1, 1, 5)).into(out);
            layer.forward(x, reused.clear().into(out));
            assertNull(reused.h0());
            assertEquals(layer.forward(arena, x).output().toArray().length, out.toArray().length);
            try (BatchingExecutor ex = new BatchingExecutor(layer); Workspace ws = new Workspace()) {
                e = assertThrows(IllegalArgumentException.class, () -> ex.forward(x, Forward.with().into(out).workspace(ws)));
                assertTrue(e.getMessage().contains("leave the request's workspace unset"), e.getMessage());
                ex.forward(x, Forward.with().into(out));
                assertEquals(2, ex.forward(arena, x, Forward.with()).output().dim(0));
            }
        }
    }

    static void sameBits(RecurrentLayer.Result expected, RecurrentLayer.Result actual, String ctx) {
        sameBits("output", expected.output().toArray(), actual.output().toArray(), ctx);
        sameBits("h_n", expected.hN().toArray(), actual.hN().toArray(), ctx);
        if (expected.cN() == null) assertNull(actual.cN(), ctx);
        else sameBits("c_n", expected.cN().toArray(), actual.cN().toArray(), ctx);
    }

    static void sameBits(String what, float[] expected, float[] actual, String ctx) {
        if (expected.length != actual.length) fail(what + ": " + actual.length + " values, expected " + expected.length + " (" + ctx + ")");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + "[" + i + "]: expected " + expected[i] + " got " + actual[i] + ", not the same bits (" + ctx + ")");
            }
        }
    }

    private static List<String> nonWeights(SafeTensors st) {
        return st.names().stream().filter(NOT_WEIGHTS::contains).toList();
    }

    /** The file's weights: every tensor under the prefix but the inputs and expected outputs. */
    private static StateDict weightsOnly(SafeTensors st, String prefix) {
        StateDict all = st.asStateDict();
        Set<String> names = new LinkedHashSet<>();
        for (String n : all.names()) {
            if (n.startsWith(prefix) && !NOT_WEIGHTS.contains(n)) names.add(n);
        }
        return new StateDict() {
            @Override public Set<String> names() { return names; }
            @Override public int[] shape(String n) { return all.shape(n); }
            @Override public float[] floats(String n) { return all.floats(n); }
        };
    }

    /** A layer given its own settings ({@code config}) uses two threads per call, and no step panels, whatever the process's. */
    @Test
    void aLayersOwnSettingsWinOverTheProcesss() {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 8, 96);
        Map<String, int[]> shapes = new java.util.HashMap<>();
        StateDict sd = StateDict.of(RecurrentLayerRandomTest.randomWeights(spec, new java.util.Random(3), shapes), shapes);
        int before = dev.panamarnn.Parallelism.threads();
        dev.panamarnn.Parallelism.setThreads(1);
        dev.panamarnn.Config own = dev.panamarnn.Config.defaults().withThreadsPerCall(2).withStepPanels(false);
        try (Arena arena = Arena.ofShared();
             RecurrentLayer mine = RecurrentLayer.loader().spec(spec).backend(Backend.get("simd")).config(own).load(sd);
             RecurrentLayer plain = RecurrentLayer.loader().spec(spec).backend(Backend.get("simd")).load(sd)) {
            Tensor x = Tensor.allocate(arena, 40, 4, 8);
            long jobs = dev.panamarnn.engine.Helper.shared().jobs();
            float[] one = plain.forward(arena, x).output().toArray();
            assertEquals(jobs, dev.panamarnn.engine.Helper.shared().jobs(), "the process's setting: one thread");
            float[] two = mine.forward(arena, x).output().toArray();
            assertTrue(dev.panamarnn.engine.Helper.shared().jobs() > jobs, "the layer's own setting: two threads");
            assertEquals(one.length, two.length);
        } finally {
            dev.panamarnn.Parallelism.setThreads(before);
        }
    }
}
