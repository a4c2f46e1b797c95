package dev.panamarnn.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.panamarnn.Backend;
import dev.panamarnn.onnx.Fixtures;
import dev.panamarnn.onnx.OnnxModel;
import dev.panamarnn.onnx.OnnxTensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ONNX Runtime as the oracle for our ONNX operators: every single-node graph of onnx/src/test/resources/onnx/attrs
 * (each attribute combination of LSTM, GRU and RNN; made by scripts/make-onnx-fixtures with onnx.helper) run by
 * ONNX Runtime Java and by us, on every available backend; every output within Fixtures' 1e-5 + 1e-5·|ORT's| (float32
 * rounding over these short sums stays near 1e-6; ORT's own sigmoid and tanh are approximations good to about
 * that). ORT cannot run layout = 1, so those cases come with {@code ort.onnx}: the same computation between two
 * Transposes, run by ORT.
 */
class OnnxOracleTest {
    static final Path ATTRS = Path.of("..", "onnx", "src", "test", "resources", "onnx", "attrs");

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(ATTRS)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    @Test
    void everyCaseIsHere() throws IOException {
        List<Path> c = cases();
        assertTrue(c.size() >= 50, "the attribute cases: " + c.size());
        for (String op : List.of("lstm_", "gru_", "rnn_")) assertTrue(c.stream().anyMatch(p -> p.getFileName().toString().startsWith(op)), op);
    }

    @TestFactory
    Stream<DynamicTest> ourOutputsAreOnnxRuntimes() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : cases()) {
            Map<String, OnnxTensor> in = Fixtures.read(dir.resolve("inputs.safetensors"));
            Path ortModel = Files.exists(dir.resolve("ort.onnx")) ? dir.resolve("ort.onnx") : dir.resolve("model.onnx");
            Map<String, OnnxTensor> expected = runOrt(ortModel, in);
            for (Backend.Status s : Backend.list()) {
                if (!s.available()) continue;
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + " on " + s.name(), () -> {
                    try (OnnxModel m = OnnxModel.load(dir.resolve("model.onnx"), Backend.get(s.name()))) {
                        Map<String, OnnxTensor> out = m.run(in);
                        assertEquals(expected.keySet(), out.keySet());
                        for (var e : expected.entrySet()) Fixtures.assertClose(dir.getFileName() + " " + e.getKey(), e.getValue(), out.get(e.getKey()));
                    }
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The demo models' exports (onnx fixtures {@code demo/}, traced at batch 1, run here at batch 2 to 4 with mixed
     * lengths): ONNX Runtime agrees with PyTorch's stored outputs, and so do we; so the graphs are valid ONNX that
     * another runtime reads the same way.
     */
    @TestFactory
    Stream<DynamicTest> theDemoExportsRunTheSameInOnnxRuntime() {
        Path demo = ATTRS.resolveSibling("demo");
        List<DynamicTest> tests = new ArrayList<>();
        for (String g : List.of("classifier/model", "charlm/model", "seq2seq/encoder", "seq2seq/decoder")) {
            tests.add(DynamicTest.dynamicTest(g, () -> {
                Map<String, OnnxTensor> in = Fixtures.read(demo.resolve(g + ".inputs.safetensors"));
                Map<String, OnnxTensor> torch = Fixtures.read(demo.resolve(g + ".outputs.safetensors"));
                Map<String, OnnxTensor> ort = runOrt(demo.resolve(g + ".onnx"), in);
                try (OnnxModel m = OnnxModel.load(demo.resolve(g + ".onnx"))) {
                    Map<String, OnnxTensor> ours = m.run(in);
                    for (var e : torch.entrySet()) {
                        Fixtures.assertClose(g + " " + e.getKey() + " (ONNX Runtime)", e.getValue(), ort.get(e.getKey()));
                        Fixtures.assertClose(g + " " + e.getKey() + " (ours)", e.getValue(), ours.get(e.getKey()));
                    }
                }
            }));
        }
        return tests.stream();
    }

    /** ONNX Runtime's outputs for {@code in}, as our tensors. */
    static Map<String, OnnxTensor> runOrt(Path model, Map<String, OnnxTensor> in) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(model.toString(), o)) {
                Map<String, ai.onnxruntime.OnnxTensor> feeds = new HashMap<>();
                try {
                    for (var e : in.entrySet()) {
                        OnnxTensor t = e.getValue();
                        long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
                        feeds.put(e.getKey(), switch (t.type()) {
                            case FLOAT -> ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(t.floats()), shape);
                            case INT32 -> ai.onnxruntime.OnnxTensor.createTensor(env, IntBuffer.wrap(Arrays.stream(t.longs()).mapToInt(Math::toIntExact).toArray()), shape);
                            default -> ai.onnxruntime.OnnxTensor.createTensor(env, LongBuffer.wrap(t.longs()), shape);
                        });
                    }
                    Map<String, OnnxTensor> out = new LinkedHashMap<>();
                    try (OrtSession.Result r = session.run(feeds)) {
                        for (var e : r) {
                            ai.onnxruntime.OnnxTensor t = (ai.onnxruntime.OnnxTensor) e.getValue();
                            int[] shape = Arrays.stream(t.getInfo().getShape()).mapToInt(Math::toIntExact).toArray();
                            FloatBuffer fb = t.getFloatBuffer();
                            float[] f = new float[fb.remaining()];
                            fb.get(f);
                            out.put(e.getKey(), OnnxTensor.ofFloats(f, shape));
                        }
                    }
                    return out;
                } finally {
                    for (var t : feeds.values()) t.close();
                }
            }
        }
    }
}
