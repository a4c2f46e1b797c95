package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.panamarnn.Backend;
import dev.panamarnn.onnx.proto.Onnx;
import dev.panamarnn.onnx.proto.Onnx.AttributeProto.AttributeType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The general path (nodes no PyTorch layer computes) batched on the backend's GEMM and activation kernels, against
 * the same equations one sample and one step at a time with scalar dot products, at sizes where the vectorised
 * activations run (blocks of 64 elements and more) and their tails do (H = 37): peepholes with clip, coupled gates,
 * GRU with linear_before_reset 0 and 1 with clip, RNN with sigmoid and with LeakyRelu, every direction, mixed
 * lengths and initial states, on every backend. Within 1e-5 + 1e-5·|reference| (sums in another order).
 */
class GeneralPathTest {
    @TempDir
    Path dir;

    private record Case(String name, String op, String direction, Map<String, Object> attrs, boolean peepholes) {}

    private static final List<Case> CASES = List.of(
            new Case("lstm_peepholes_clip_bi", "LSTM", "bidirectional", Map.of("clip", 0.8f), true),
            new Case("lstm_input_forget_reverse", "LSTM", "reverse", Map.of("input_forget", 1L), false),
            new Case("gru_lbr0_bi", "GRU", "bidirectional", Map.of(), false),
            new Case("gru_lbr1_clip", "GRU", "forward", Map.of("linear_before_reset", 1L, "clip", 0.6f), false),
            new Case("rnn_sigmoid_bi", "RNN", "bidirectional", Map.of("activations", List.of("Sigmoid", "Sigmoid")), false),
            new Case("rnn_leakyrelu", "RNN", "forward", Map.of("activations", List.of("LeakyRelu"), "activation_alpha", new float[] {0.1f}), false));

    @TestFactory
    Stream<DynamicTest> batchedEqualsOneByOne() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Fixtures.backends()) for (Case c : CASES) tests.add(DynamicTest.dynamicTest(b.name() + " " + c.name(), () -> check(c, b)));
        return tests.stream();
    }

    private void check(Case c, Backend backend) throws Exception {
        int T = 6, B = 5, I = 19, H = 37, D = c.direction().equals("bidirectional") ? 2 : 1;
        int G = (c.op().equals("LSTM") ? 4 : c.op().equals("GRU") ? 3 : 1) * H;
        SplittableRandom rnd = new SplittableRandom(c.name().hashCode());
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .addInitializer(tensor("W", rnd, D, G, I)).addInitializer(tensor("R", rnd, D, G, H)).addInitializer(tensor("B", rnd, D, 2 * G));
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(c.op()).addInput("X").addInput("W").addInput("R").addInput("B")
                .addInput("sequence_lens").addInput("initial_h").addOutput("Y").addOutput("Y_h")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("hidden_size").setType(AttributeType.INT).setI(H))
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("direction").setType(AttributeType.STRING).setS(ByteString.copyFromUtf8(c.direction())));
        for (var e : c.attrs().entrySet()) {
            Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(e.getKey());
            if (e.getValue() instanceof Long l) a.setType(AttributeType.INT).setI(l);
            else if (e.getValue() instanceof Float f) a.setType(AttributeType.FLOAT).setF(f);
            else if (e.getValue() instanceof float[] fs) {
                a.setType(AttributeType.FLOATS);
                for (float x : fs) a.addFloats(x);
            }
            else {
                a.setType(AttributeType.STRINGS);
                for (Object s : (List<?>) e.getValue()) a.addStrings(ByteString.copyFromUtf8((String) s));
            }
            n.addAttribute(a);
        }
        if (c.op().equals("LSTM")) {
            n.addInput("").addInput(c.peepholes() ? "P" : "").addOutput("Y_c");
            if (c.peepholes()) g.addInitializer(tensor("P", rnd, D, 3 * H));
            g.addOutput(Onnx.ValueInfoProto.newBuilder().setName("Y_c"));
        }
        g.addNode(n).addInput(input("X", 1, T, B, I)).addInput(input("sequence_lens", 6, B)).addInput(input("initial_h", 1, D, B, H))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("Y")).addOutput(Onnx.ValueInfoProto.newBuilder().setName("Y_h"));
        Path f = dir.resolve(c.name() + ".onnx");
        Files.write(f, Onnx.ModelProto.newBuilder().setIrVersion(7).addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build().toByteArray());

        Map<String, OnnxTensor> in = new HashMap<>();
        in.put("X", OnnxTensor.ofFloats(uniform(rnd, T * B * I), T, B, I));
        in.put("sequence_lens", OnnxTensor.ofInts(new int[] {6, 2, 5, 1, 4}, B));
        in.put("initial_h", OnnxTensor.ofFloats(uniform(rnd, D * B * H), D, B, H));
        try (OnnxModel batched = OnnxModel.load(f, backend); OnnxModel reference = OnnxModel.load(f, backend)) {
            assertTrue(batched.explain().contains("general path"), batched.explain());
            for (RecurrentOp r : reference.recurrentOps()) r.oneByOne = true;
            Map<String, OnnxTensor> want = reference.run(in), got = batched.run(in);
            assertEquals(want.keySet(), got.keySet());
            for (String k : want.keySet()) Fixtures.assertClose(c.name() + " " + k, want.get(k), got.get(k));
            got = batched.run(in); // and again, on the node's reused buffers
            for (String k : want.keySet()) Fixtures.assertClose(c.name() + " " + k + " (second call)", want.get(k), got.get(k));
        }
    }

    private static float[] uniform(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }

    private static Onnx.TensorProto tensor(String name, SplittableRandom rnd, int... dims) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(1);
        int n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        for (float v : uniform(rnd, n)) t.addFloatData(v * 0.4f);
        return t.build();
    }

    private static Onnx.ValueInfoProto input(String name, int type, int... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (int d : dims) s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }
}
