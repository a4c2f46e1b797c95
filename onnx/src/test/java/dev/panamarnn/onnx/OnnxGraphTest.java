package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.onnx.proto.Onnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a graph is prepared at load: what is computed once, what per call. */
class OnnxGraphTest {
    @TempDir
    Path dir;

    private static Onnx.ValueInfoProto input(String name, Onnx.TensorShapeProto.Dimension... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (var d : dims) s.addDim(d);
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    private static Onnx.TensorShapeProto.Dimension n(long v) {
        return Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(v).build();
    }

    private static Onnx.TensorShapeProto.Dimension sym(String p) {
        return Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(p).build();
    }

    private Path model(Onnx.ValueInfoProto x) throws Exception {
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder().addInput(x)
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Shape").addInput("X").addOutput("s"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Cast").addInput("s").addOutput("f")
                        .addAttribute(Onnx.AttributeProto.newBuilder().setName("to").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Identity").addInput("X").addOutput("Y"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("f")).addOutput(Onnx.ValueInfoProto.newBuilder().setName("Y")).build();
        Onnx.ModelProto m = Onnx.ModelProto.newBuilder().setIrVersion(7).addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
        Path f = dir.resolve("m.onnx");
        Files.write(f, m.toByteArray());
        return f;
    }

    @Test
    void theShapeOfAnInputWithNumbersForDimensionsIsComputedAtLoad() throws Exception {
        try (OnnxModel m = OnnxModel.load(model(input("X", n(2), n(3))))) {
            assertTrue(m.explain().contains("(1 run per call, 2 computed at load)"), m.explain());
            Map<String, OnnxTensor> out = m.run(Map.of("X", OnnxTensor.ofFloats(new float[6], 2, 3)));
            assertArrayEquals(new float[] {2, 3}, out.get("f").floats());
            // and the input is still held to those numbers
            assertThrows(IllegalArgumentException.class, () -> m.run(Map.of("X", OnnxTensor.ofFloats(new float[8], 2, 4))));
        }
    }

    @Test
    void theShapeOfAnInputWithSymbolicDimensionsIsComputedPerCall() throws Exception {
        try (OnnxModel m = OnnxModel.load(model(input("X", sym("batch"), n(3))))) {
            assertTrue(m.explain().contains("(3 run per call, 0 computed at load)"), m.explain());
            assertArrayEquals(new float[] {4, 3}, m.run(Map.of("X", OnnxTensor.ofFloats(new float[12], 4, 3))).get("f").floats());
            assertArrayEquals(new float[] {1, 3}, m.run(Map.of("X", OnnxTensor.ofFloats(new float[3], 1, 3))).get("f").floats());
        }
    }

    /**
     * A recurrent node reuses its native memory from call to call: a call with shorter sequences after one with full
     * ones still gets zeros past each length in Y (nothing left from the call before), and equals a fresh model's.
     */
    @Test
    void aCallAfterAnotherLeavesNothingOfItInTheResults() throws Exception {
        Path m = Fixtures.root("attrs").resolve("lstm_sequence_lens_bidirectional").resolve("model.onnx");
        Map<String, OnnxTensor> in = Fixtures.read(m.resolveSibling("inputs.safetensors"));
        Map<String, OnnxTensor> full = new java.util.HashMap<>(in), short_ = new java.util.HashMap<>(in);
        full.put("sequence_lens", OnnxTensor.ofInts(new int[] {5, 5, 5}, 3));
        short_.put("sequence_lens", OnnxTensor.ofInts(new int[] {2, 1, 3}, 3));
        try (OnnxModel used = OnnxModel.load(m); OnnxModel fresh = OnnxModel.load(m)) {
            used.run(full);
            Map<String, OnnxTensor> a = used.run(short_), b = fresh.run(short_);
            for (String out : b.keySet()) assertArrayEquals(b.get(out).floats(), a.get(out).floats(), out);
            float[] y = a.get("Y").floats(); // (T=5, D=2, B=3, H=6): sample 1 (length 1) has zeros from t = 1 on
            for (int t = 1; t < 5; t++) for (int d = 0; d < 2; d++) for (int h = 0; h < 6; h++) assertTrue(y[((t * 2 + d) * 3 + 1) * 6 + h] == 0f, "Y[" + t + "][" + d + "][1]");
        }
    }
}
