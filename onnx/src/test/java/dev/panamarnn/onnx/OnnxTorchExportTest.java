package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Graphs exported by {@code torch.onnx.export} (PyTorch 1.13, opset 14; scripts/make-onnx-fixtures): LSTM, GRU and
 * RNN, multi-layer, bidirectional, batch-first with initial states, and a token classifier (Gather as embedding,
 * LSTM, Gemm, LogSoftmax); the exporter's own plumbing builds the zero states (Shape, Gather, Unsqueeze, Concat,
 * ConstantOfShape, Slice, Reshape, Transpose, Squeeze). Our outputs equal PyTorch's within {@link Fixtures#ATOL} +
 * {@link Fixtures#RTOL}·|PyTorch's|, on every backend, and every recurrent node runs on the layers.
 */
class OnnxTorchExportTest {
    @Test
    void everyExportIsHere() throws IOException {
        assertEquals(8, Fixtures.cases("torch").size());
    }

    @TestFactory
    Stream<DynamicTest> pyTorchsOutputsOnEveryBackend() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Fixtures.backends()) {
            for (Path dir : Fixtures.cases("torch")) tests.add(DynamicTest.dynamicTest(b.name() + " " + dir.getFileName(), () -> runCase(dir, b)));
        }
        return tests.stream();
    }

    private static void runCase(Path dir, Backend backend) throws IOException {
        try (OnnxModel m = OnnxModel.load(dir.resolve("model.onnx"), backend)) {
            assertTrue(!m.explain().contains("general path"), () -> "a PyTorch export runs on the layers: " + m.explain());
            Map<String, OnnxTensor> expected = Fixtures.read(dir.resolve("outputs.safetensors"));
            Map<String, OnnxTensor> out = m.run(Fixtures.read(dir.resolve("inputs.safetensors")));
            assertEquals(expected.keySet(), out.keySet());
            for (var e : expected.entrySet()) Fixtures.assertClose(dir.getFileName() + " " + e.getKey(), e.getValue(), out.get(e.getKey()));
        }
    }
}
