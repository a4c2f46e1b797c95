package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * The demo models of {@code models/} exported by {@code torch.onnx.export} (scripts/make-onnx-fixtures, folder
 * {@code demo/}): the classifier and the seq2seq encoder over packed sequences of mixed lengths (the exporter sorts
 * the batch by length with TopK and unsorts it with Range and ScatterElements), the character LM's two-layer LSTM
 * with its MatMul head, the seq2seq decoder fed the encoder's state. Our outputs equal PyTorch's within
 * {@link Fixtures#ATOL} + {@link Fixtures#RTOL}·|PyTorch's| on every backend, every recurrent node on the layers.
 */
class OnnxDemoExportTest {
    private static final List<String> GRAPHS = List.of("classifier/model", "charlm/model", "seq2seq/encoder", "seq2seq/decoder");

    @Test
    void everyGraphIsHere() {
        for (String g : GRAPHS) assertTrue(Files.isRegularFile(Fixtures.root("demo").resolve(g + ".onnx")), g);
    }

    @TestFactory
    Stream<DynamicTest> pyTorchsOutputsOnEveryBackend() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Fixtures.backends()) {
            for (String g : GRAPHS) tests.add(DynamicTest.dynamicTest(b.name() + " " + g, () -> runGraph(Fixtures.root("demo").resolve(g), b)));
        }
        return tests.stream();
    }

    private static void runGraph(Path stem, Backend backend) throws IOException {
        try (OnnxModel m = OnnxModel.load(Path.of(stem + ".onnx"), backend)) {
            assertTrue(!m.explain().contains("general path"), () -> "a PyTorch export runs on the layers: " + m.explain());
            Map<String, OnnxTensor> expected = Fixtures.read(Path.of(stem + ".outputs.safetensors"));
            Map<String, OnnxTensor> out = m.run(Fixtures.read(Path.of(stem + ".inputs.safetensors")));
            assertEquals(expected.keySet(), out.keySet());
            for (var e : expected.entrySet()) Fixtures.assertClose(stem.getFileName() + " " + e.getKey(), e.getValue(), out.get(e.getKey()));
        }
    }
}
