package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamarnn.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * ONNX's own backend node tests for LSTM, GRU and RNN (Debian's libonnx-testdata 1.12, converted by
 * scripts/make-onnx-fixtures): every test's outputs within {@link Fixtures#ATOL}/{@link Fixtures#RTOL}, on every
 * available backend.
 */
class OnnxNodeTest {
    @Test
    void everyRecurrentNodeTestIsHere() throws IOException {
        // libonnx-testdata 1.12 has 12 node tests with an LSTM, GRU or RNN node; a regenerated folder with fewer lost some.
        assertEquals(12, Fixtures.cases("node").size());
    }

    @TestFactory
    Stream<DynamicTest> nodeTestsOnEveryBackend() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Fixtures.backends()) {
            for (Path dir : Fixtures.cases("node")) {
                tests.add(DynamicTest.dynamicTest(b.name() + " " + dir.getFileName(), () -> runCase(dir, b)));
            }
        }
        return tests.stream();
    }

    private static void runCase(Path dir, Backend backend) throws IOException {
        try (OnnxModel m = OnnxModel.load(dir.resolve("model.onnx"), backend)) {
            for (int set = 0; Files.exists(dir.resolve("inputs-" + set + ".safetensors")); set++) {
                Map<String, OnnxTensor> in = Fixtures.read(dir.resolve("inputs-" + set + ".safetensors"));
                Map<String, OnnxTensor> expected = Fixtures.read(dir.resolve("outputs-" + set + ".safetensors"));
                Map<String, OnnxTensor> out = m.run(in);
                assertEquals(expected.keySet(), out.keySet(), dir.getFileName() + ": outputs");
                for (var e : expected.entrySet()) Fixtures.assertClose(dir.getFileName() + " set " + set + " " + e.getKey(), e.getValue(), out.get(e.getKey()));
            }
        }
    }
}
