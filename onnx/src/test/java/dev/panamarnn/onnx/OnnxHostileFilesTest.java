package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.panamarnn.Arenas;
import dev.panamarnn.Faults;
import dev.panamarnn.Text;
import dev.panamarnn.onnx.proto.Onnx;
import dev.panamarnn.onnx.proto.Onnx.AttributeProto;
import dev.panamarnn.onnx.proto.Onnx.GraphProto;
import dev.panamarnn.onnx.proto.Onnx.ModelProto;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import dev.panamarnn.onnx.proto.Onnx.TensorProto;
import dev.panamarnn.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and hostile {@code .onnx} files (issue 17, item 4): each is built from a valid one-LSTM-node model
 * ({@code attrs/lstm_default}: X (5, 3, 4) → LSTM hidden 6 with initializers W, R → Y, Y_h) or from scratch
 * with the generated protobuf builders, written to a temporary file and loaded. Every one must be refused
 * with an {@link OnnxException} (exactly that class) whose message is one line, starts with the file's name
 * and names the node, tensor or operator at fault and what was expected; never another exception, an
 * {@link Error} or a hang. After every refusal the native memory held by the library is what it was before
 * (the tests run with {@code -Dpanama.rnn.faults=true}, which counts it) and no file descriptor is left open.
 *
 * <p>Then the errors of {@link OnnxModel#run}: a missing, unknown, mistyped or misshapen input, symbolic
 * dimensions that disagree across inputs, {@code sequence_lens} out of range give an
 * {@link IllegalArgumentException} naming the input with the expected and actual shape; a closed model an
 * {@link IllegalStateException}.
 */
class OnnxHostileFilesTest {
    private static final int FLOAT = 1, INT32 = 6, INT64 = 7, STRING = 8, FLOAT16 = 10, DOUBLE = 11;

    @TempDir
    Path dir;
    private int serial;
    private long fdsBefore;

    @BeforeEach
    void countFds() throws IOException {
        fdsBefore = openFds();
    }

    @AfterEach
    void noFdLeft() throws IOException {
        // Other threads (the JIT, GC, Maven's fork) may open a file now and then: a leak per load would show as dozens.
        long after = openFds();
        if (fdsBefore >= 0) assertTrue(after <= fdsBefore + 3, () -> "file descriptors open before: " + fdsBefore + ", after: " + after);
    }

    private static long openFds() throws IOException {
        Path fd = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fd)) return -1;
        try (Stream<Path> s = Files.list(fd)) {
            return s.count();
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** The valid model every mutation starts from. */
    private static ModelProto lstm() throws IOException {
        return ModelProto.parseFrom(Files.readAllBytes(lstmFile()));
    }

    private static Path lstmFile() {
        return Fixtures.root("attrs/lstm_default").resolve("model.onnx");
    }

    private Path write(byte[] bytes) throws IOException {
        return write(dir, bytes);
    }

    private Path write(Path in, byte[] bytes) throws IOException {
        Path f = in.resolve("m" + serial++ + ".onnx");
        Files.write(f, bytes);
        return f;
    }

    private Path write(ModelProto m) throws IOException {
        return write(m.toByteArray());
    }

    /** Loads {@code file} expecting a refusal: one line, starting with the file, holding each fragment. */
    private static OnnxException refused(Path file, String... fragments) {
        long live = liveBytes();
        OnnxException e = assertThrows(OnnxException.class, () -> {
            try (OnnxModel m = OnnxModel.load(file)) {
                System.err.println("loaded, should not have: " + m);
            }
        }, () -> "expected a refusal of " + file + " with " + Arrays.toString(fragments));
        assertEquals(OnnxException.class, e.getClass());
        String msg = e.getMessage();
        assertOneLine(msg);
        assertTrue(msg.startsWith(Text.quote(file.toString())), () -> "the message should start with the file: " + msg);
        for (String f : fragments) assertTrue(msg.contains(f), () -> "the message should contain \"" + f + "\": " + msg);
        assertEquals(live, liveBytes(), () -> "native memory held after refusing " + file + ": " + msg);
        return e;
    }

    /** The library's native memory now (counted under -Dpanama.rnn.faults=true, as surefire runs these tests), or 0. */
    private static long liveBytes() {
        return Faults.ENABLED ? Arenas.liveBytes() : 0;
    }

    private OnnxException refused(ModelProto m, String... fragments) throws IOException {
        return refused(write(m), fragments);
    }

    static void assertOneLine(String msg) {
        assertTrue(msg != null && !msg.isBlank(), "a message");
        assertFalse(msg.contains("\n") || msg.contains("\r") || msg.contains("\u2028") || msg.contains("\u2029"), () -> "more than one line: " + msg);
    }

    /** A run that must fail with an IllegalArgumentException (exactly) of one line holding each fragment. */
    private static IllegalArgumentException badRun(OnnxModel m, Map<String, OnnxTensor> feeds, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.run(feeds));
        assertEquals(IllegalArgumentException.class, e.getClass());
        assertOneLine(e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), () -> "the message should contain \"" + f + "\": " + e.getMessage());
        return e;
    }

    private static ModelProto graph(ModelProto m, Consumer<GraphProto.Builder> change) {
        GraphProto.Builder g = m.getGraph().toBuilder();
        change.accept(g);
        return m.toBuilder().setGraph(g).build();
    }

    /** The LSTM model with its node changed. */
    private static ModelProto lstmNode(Consumer<NodeProto.Builder> change) throws IOException {
        return graph(lstm(), g -> change.accept(g.getNodeBuilder(0)));
    }

    /** The LSTM model with initializer {@code name} changed. */
    private static ModelProto lstmInit(String name, Consumer<TensorProto.Builder> change) throws IOException {
        return graph(lstm(), g -> {
            for (TensorProto.Builder t : g.getInitializerBuilderList()) if (t.getName().equals(name)) change.accept(t);
        });
    }

    /** The LSTM node's attributes replaced by {@code attrs} (hidden_size 6 kept unless one of them names it). */
    private static ModelProto lstmAttrs(AttributeProto... attrs) throws IOException {
        return lstmNode(n -> {
            boolean hidden = Arrays.stream(attrs).anyMatch(a -> a.getName().equals("hidden_size"));
            if (hidden) n.clearAttribute();
            n.addAllAttribute(Arrays.asList(attrs));
        });
    }

    private static AttributeProto attr(String name, long i) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(i).build();
    }

    private static AttributeProto attr(String name, float f) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(f).build();
    }

    private static AttributeProto attr(String name, String s) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s)).build();
    }

    private static AttributeProto attrStrings(String name, String... s) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRINGS);
        for (String v : s) a.addStrings(ByteString.copyFromUtf8(v));
        return a.build();
    }

    private static AttributeProto attrInts(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    private static NodeProto node(String name, String op, List<String> in, List<String> out, AttributeProto... attrs) {
        return NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(in).addAllOutput(out).addAllAttribute(Arrays.asList(attrs)).build();
    }

    /** A value with a tensor type; each dim a Long (dim_value) or a String (dim_param). */
    private static ValueInfoProto value(String name, int elemType, Object... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            Onnx.TensorShapeProto.Dimension.Builder b = Onnx.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String p) b.setDimParam(p); else b.setDimValue(((Number) d).longValue());
            s.addDim(b);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }

    private static ValueInfoProto untyped(String name) {
        return ValueInfoProto.newBuilder().setName(name).build();
    }

    private static TensorProto floats(String name, float[] data, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT);
        for (long d : dims) t.addDims(d);
        for (float f : data) t.addFloatData(f);
        return t.build();
    }

    private static TensorProto longs(String name, long[] data, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(INT64);
        for (long d : dims) t.addDims(d);
        for (long l : data) t.addInt64Data(l);
        return t.build();
    }

    /** A model of opset 14 from parts. */
    private static ModelProto model(List<NodeProto> nodes, List<TensorProto> inits, List<ValueInfoProto> inputs, List<ValueInfoProto> outputs) {
        GraphProto g = GraphProto.newBuilder().setName("hostile").addAllNode(nodes).addAllInitializer(inits).addAllInput(inputs).addAllOutput(outputs).build();
        return ModelProto.newBuilder().setIrVersion(7).addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
    }

    private static Map<String, OnnxTensor> lstmInputs() throws IOException {
        return Fixtures.read(Fixtures.root("attrs/lstm_default").resolve("inputs.safetensors"));
    }

    // ------------------------------------------------------------------------------------------ not a model

    @Test
    void aMissingFileIsNoSuchFile() {
        Path f = dir.resolve("absent.onnx");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> OnnxModel.load(f));
        assertEquals(f.toString(), e.getFile());
    }

    @Test
    void aDirectoryIsNotAModel() throws IOException {
        refused(Files.createDirectory(dir.resolve("d.onnx")), "is not a regular file");
    }

    @Test
    void anEmptyFile() throws IOException {
        refused(write(new byte[0]), "empty");
    }

    @Test
    void randomBytes() throws IOException {
        Random r = new Random(17);
        for (int i = 0; i < 200; i++) {
            byte[] b = new byte[1 + r.nextInt(i < 100 ? 64 : 4096)];
            r.nextBytes(b);
            refused(write(b));
        }
        refused(write("ir_version: 7\ngraph { node { op_type: \"LSTM\" } }\n".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void everyTruncationOfAValidFile() throws IOException {
        byte[] full = Files.readAllBytes(lstmFile());
        for (int n = 0; n < full.length; n++) refused(write(Arrays.copyOf(full, n)));
        refused(write(Arrays.copyOf(full, full.length / 2)), "is not a valid ONNX model (protobuf: ");
        try (OnnxModel m = OnnxModel.load(write(full))) {
            assertEquals(List.of("Y", "Y_h"), m.outputs().stream().map(OnnxModel.Port::name).toList());
        }
    }

    @Test
    void truncatedTorchExport() throws IOException {
        byte[] full = Files.readAllBytes(Fixtures.root("torch/classifier").resolve("model.onnx"));
        for (int n = 0; n < full.length; n += 7) refused(write(Arrays.copyOf(full, n)));
    }

    // ------------------------------------------------------------------------------------------ tensors

    @Test
    void hugeDimensions() throws IOException {
        long big = 1L << 31;
        refused(lstmInit("W", t -> t.clearDims().addDims(big).addDims(big).clearRawData()), "initializer 'W'", "dimension 0 of size 2147483648");
        refused(lstmInit("W", t -> t.clearDims().addDims(Long.MAX_VALUE).clearRawData()), "initializer 'W'", "size 9223372036854775807");
        // each dimension fits an int, their product overflows a long: refused as soon as it passes 2^31-1
        refused(lstmInit("W", t -> t.clearDims().addAllDims(List.of(big - 1, big - 1, big - 1, big - 1)).clearRawData()), "initializer 'W'",
                "more than 2^31-1 elements");
        refused(lstmInit("R", t -> t.clearDims().addAllDims(List.of(65536L, 65536L)).clearRawData()), "initializer 'R'", "more than 2^31-1 elements");
        // a FLOAT tensor of 2^31-1 elements is over 2 GiB
        refused(lstmInit("R", t -> t.clearDims().addDims(big - 1).clearRawData()), "initializer 'R'", "over 2 GiB");
        // zero elements whatever the other dimensions: a valid tensor, which then does not fit the LSTM
        refused(lstmInit("W", t -> t.clearDims().addAllDims(List.of(0L, big - 1, big - 1)).clearRawData()), "node 'lstm' (LSTM)", "W must be [1, 24, ",
                "got [0, 2147483647, 2147483647]");
    }

    @Test
    void negativeDimension() throws IOException {
        refused(lstmInit("W", t -> t.setDims(1, -24)), "initializer 'W'", "dimension 1 of size -24");
        refused(lstmInit("R", t -> t.setDims(0, Long.MIN_VALUE)), "initializer 'R'", "dimension 0 of size -9223372036854775808");
    }

    @Test
    void rawDataOfTheWrongLength() throws IOException {
        refused(lstmInit("W", t -> t.setRawData(t.getRawData().substring(0, 383))), "initializer 'W'", "[1, 24, 4]", "needs 384 bytes of raw_data, has 383");
        refused(lstmInit("W", t -> t.setRawData(t.getRawData().concat(ByteString.copyFrom(new byte[4])))), "initializer 'W'", "needs 384 bytes of raw_data, has 388");
        refused(lstmInit("W", t -> t.setRawData(t.getRawData().substring(0, 1))), "needs 384 bytes of raw_data, has 1");
    }

    @Test
    void typedDataOfTheWrongCount() throws IOException {
        refused(lstmInit("W", t -> t.clearRawData().addAllFloatData(java.util.Collections.nCopies(95, 0.5f))), "initializer 'W'",
                "needs 96 elements in float_data, has 95");
        refused(lstmInit("W", t -> t.clearRawData().addAllFloatData(java.util.Collections.nCopies(97, 0.5f))), "needs 96 elements in float_data, has 97");
        refused(lstmInit("W", TensorProto.Builder::clearRawData), "initializer 'W'", "needs 96 elements in float_data, has 0");
        // INT64 data in the wrong field
        refused(model(List.of(node("id", "Identity", List.of("k"), List.of("y"))), List.of(TensorProto.newBuilder().setName("k").setDataType(INT64).addDims(2)
                .addInt32Data(1).addInt32Data(2).build()), List.of(), List.of(untyped("y"))), "initializer 'k'", "needs 2 elements in int64_data, has 0");
    }

    @Test
    void unsupportedElementTypes() throws IOException {
        for (int[] t : new int[][] {{DOUBLE}, {STRING}, {FLOAT16}, {99}}) {
            String name = OnnxTensor.Type.nameOf(t[0]);
            refused(lstmInit("W", b -> b.setDataType(t[0])), "initializer 'W' has element type " + name, "supported: FLOAT, INT32, INT64, BOOL");
            refused(graph(lstm(), g -> g.getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().setElemType(t[0])), "graph input 'X' has element type " + name);
            refused(graph(lstm(), g -> g.getOutputBuilder(1).getTypeBuilder().getTensorTypeBuilder().setElemType(t[0])), "graph output 'Y_h' has element type " + name);
        }
        refused(graph(lstm(), g -> g.getInputBuilder(0).clearType()), "graph input 'X' declares no tensor type");
        // a supported type the operator does not take: INT32 weights of the right size (384 bytes), and BOOL
        refused(lstmInit("W", b -> b.setDataType(INT32)), "node 'lstm' (LSTM)", "LSTM takes FLOAT, got INT32[1, 24, 4]");
        refused(lstmInit("R", b -> b.setDataType(INT32)), "node 'lstm' (LSTM)", "LSTM takes FLOAT, got INT32[1, 24, 6]");
        refused(lstmInit("W", b -> b.setDataType(9).setRawData(b.getRawData().substring(0, 96))), "node 'lstm' (LSTM)", "LSTM takes FLOAT, got BOOL[1, 24, 4]");
    }

    @Test
    void twoInitializersOfOneName() throws IOException {
        refused(graph(lstm(), g -> g.addInitializer(g.getInitializer(0))), "two initializers named 'W'");
        refused(graph(lstm(), g -> g.addInitializer(g.getInitializer(0).toBuilder().setName(""))), "an initializer without a name");
        refused(graph(lstm(), g -> g.addInput(g.getInput(0))), "two graph inputs named 'X'");
    }

    // ------------------------------------------------------------------------------------------ graph

    @Test
    void cycles() throws IOException {
        ModelProto two = model(List.of(node("a", "Identity", List.of("b"), List.of("a_out")), node("b", "Identity", List.of("a_out"), List.of("b"))), List.of(),
                List.of(value("X", FLOAT, 1L)), List.of(untyped("a_out")));
        refused(two, "its nodes form a cycle through node ", "(Identity)");
        refused(lstmNode(n -> n.setInput(0, "Y")), "cycle through node 'lstm' (LSTM)");
        // a longer one, behind a valid node
        ModelProto three = graph(lstm(), g -> g.addNode(node("p", "Identity", List.of("r"), List.of("p")))
                .addNode(node("q", "Identity", List.of("p"), List.of("q"))).addNode(node("r", "Identity", List.of("q"), List.of("r"))));
        refused(three, "cycle through node ", "(Identity)");
    }

    @Test
    void undefinedValues() throws IOException {
        refused(graph(lstm(), g -> g.removeInitializer(0)), "node 'lstm' (LSTM) reads 'W', which is not a graph input, initializer or node output");
        refused(lstmNode(n -> n.addInput("B")), "node 'lstm' (LSTM) reads 'B'");
        refused(graph(lstm(), g -> g.removeInitializer(1).getNodeBuilder(0).setName("")), "node #0 (LSTM) reads 'R'");
    }

    @Test
    void twoWritersOfOneValue() throws IOException {
        refused(graph(lstm(), g -> g.addNode(node("dup", "Identity", List.of("X"), List.of("Y")))), "node 'dup' (Identity) writes 'Y', which is already defined");
        refused(graph(lstm(), g -> g.addNode(node("over", "Identity", List.of("Y_h"), List.of("X")))), "node 'over' (Identity) writes 'X', which is already defined");
        refused(graph(lstm(), g -> g.addNode(node("init", "Identity", List.of("Y_h"), List.of("W")))), "node 'init' (Identity) writes 'W'");
        refused(lstmNode(n -> n.setOutput(1, "Y")), "node 'lstm' (LSTM) writes 'Y', which is already defined");
    }

    @Test
    void unknownOperators() throws IOException {
        refused(lstmNode(n -> n.setOpType("Conv")), "node 'lstm' (Conv): operator 'Conv' is not supported");
        refused(lstmNode(n -> n.setDomain("com.microsoft")), "node 'lstm' (LSTM) is of domain 'com.microsoft'; only ONNX's default domain is supported");
        refused(lstmNode(n -> n.setOpType("")), "node 'lstm' ()", "operator '' is not supported");
        refused(lstmNode(n -> n.setOpType("LSTM\n[INFO] BUILD SUCCESS")), "operator 'LSTM\\n[INFO] BUILD SUCCESS' is not supported");
    }

    @Test
    void badAttributes() throws IOException {
        refused(lstmAttrs(attr("foo", 1L)), "node 'lstm' (LSTM) has attribute 'foo', which panama-rnn does not support", "it knows ", "hidden_size");
        refused(lstmAttrs(attr("hidden_size", 6L), attr("hidden_size", 6L)), "node 'lstm' (LSTM) has attribute 'hidden_size' twice");
        refused(lstmAttrs(attr("direction", "sideways")), "node 'lstm' (LSTM): direction must be forward, reverse or bidirectional, got 'sideways'");
        refused(lstmAttrs(attr("hidden_size", -1L)), "node 'lstm' (LSTM): hidden_size -1 is out of range");
        refused(lstmAttrs(attr("hidden_size", Long.MAX_VALUE)), "node 'lstm' (LSTM): hidden_size 9223372036854775807 is out of range");
        refused(lstmAttrs(attr("hidden_size", 7L)), "node 'lstm' (LSTM)", "W must be [1, 28, 4], got [1, 24, 4]");
        refused(lstmAttrs(attrStrings("activations", "Sigmoid", "Swish", "Tanh")), "node 'lstm' (LSTM): activation 'Swish' is not supported");
        refused(lstmAttrs(attrStrings("activations", "Sigmoid", "Tanh")), "node 'lstm' (LSTM): activations lists 2 functions; LSTM needs 3 per direction, 3 here");
        refused(lstmAttrs(attrStrings("activations")), "activations lists 0 functions");
        refused(lstmAttrs(attr("layout", 2L)), "node 'lstm' (LSTM): attribute 'layout' must be in 0..1, got 2");
        refused(lstmAttrs(attr("input_forget", -1L)), "attribute 'input_forget' must be in 0..1, got -1");
        refused(lstmAttrs(attr("clip", -1f)), "node 'lstm' (LSTM): clip must be a positive number, got -1.0");
        refused(lstmAttrs(attr("clip", Float.NaN)), "clip must be a positive number, got NaN");
        refused(lstmAttrs(AttributeProto.newBuilder().setName("activation_alpha").setType(AttributeProto.AttributeType.FLOATS).addFloats(1f).build()),
                "activation_alpha or activation_beta without activations");
        refused(lstmAttrs(attr("linear_before_reset", 1L)), "has attribute 'linear_before_reset', which panama-rnn does not support");
        refused(lstmAttrs(AttributeProto.newBuilder().setName("clip").setRefAttrName("outer").build()), "attribute 'clip' refers to a function's attribute");
        // layout arrived with opset 14
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(lstmAttrs(attr("layout", 0L)).getGraph()).build(),
                "has attribute 'layout', which panama-rnn does not support");
    }

    @Test
    void attributesOfTheWrongType() throws IOException {
        refused(lstmAttrs(attr("hidden_size", 6f)), "node 'lstm' (LSTM): attribute 'hidden_size' is FLOAT, expected INT");
        refused(lstmAttrs(attr("direction", 1L)), "node 'lstm' (LSTM): attribute 'direction' is INT, expected STRING");
        refused(lstmAttrs(attr("activations", "Tanh")), "attribute 'activations' is STRING, expected STRINGS");
        refused(lstmAttrs(attrInts("clip", 1)), "attribute 'clip' is INTS, expected FLOAT");
    }

    @Test
    void wrongNodeArity() throws IOException {
        refused(lstmNode(n -> n.clearInput().addInput("X").addInput("W")), "node 'lstm' (LSTM) needs inputs X, W and R; it has 2");
        refused(lstmNode(n -> { for (int i = 0; i < 6; i++) n.addInput(""); }), "node 'lstm' (LSTM) has 9 inputs; LSTM takes at most 8");
        refused(lstmNode(n -> n.addOutput("c").addOutput("d")), "node 'lstm' (LSTM) has 4 outputs; LSTM gives at most 3");
        refused(model(List.of(node("r", "Reshape", List.of("k"), List.of("y"))), List.of(floats("k", new float[] {1, 2}, 2)), List.of(),
                List.of(untyped("y"))), "node 'r' (Reshape)", "input 1 ('shape') is required");
        refused(model(List.of(node("i", "Identity", List.of("k"), List.of("y", "z"))), List.of(floats("k", new float[] {1, 2}, 2)), List.of(),
                List.of(untyped("y"))), "node 'i' (Identity) lists 2 outputs; the operator gives 1");
    }

    @Test
    void operatorSets() throws IOException {
        refused(lstm().toBuilder().clearOpsetImport().build(), "imports no operator set of the default domain");
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1)).build(),
                "imports no operator set of the default domain");
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(6)).build(), "uses operator set 6; supported: 7..22");
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(99)).build(), "uses operator set 99; supported: 7..22");
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(Long.MIN_VALUE)).build(), "imports no operator set");
        refused(lstm().toBuilder().setOpsetImport(0, Onnx.OperatorSetIdProto.newBuilder().setVersion(1L << 32)).build(), "uses operator set 2147483647");
        // before IR version 3 there was no opset_import: operator set 1
        refused(lstm().toBuilder().clearOpsetImport().setIrVersion(2).build(), "uses operator set 1; supported: 7..22");
    }

    @Test
    void graphWithoutWhatItNeeds() throws IOException {
        refused(lstm().toBuilder().clearGraph().build(), "has no graph");
        refused(graph(lstm(), GraphProto.Builder::clearOutput), "has no graph outputs");
        refused(graph(lstm(), g -> g.addOutput(value("Z", FLOAT, 1L))), "graph output 'Z' is not computed by any node");
        refused(graph(lstm(), g -> g.addOutput(untyped(""))), "graph output '' is not computed by any node");
        refused(graph(lstm(), g -> g.getInputBuilder(0).setName("")), "a graph input without a name");
    }

    // ------------------------------------------------------------------------------------------ external data

    /** The model's directory (a subfolder of the test's, so that "outside" exists) with W and R in weights.bin. */
    private Path modelDir() throws IOException {
        Path m = Files.createDirectories(dir.resolve("model"));
        ModelProto base = lstm();
        byte[] w = base.getGraph().getInitializer(0).getRawData().toByteArray(), r = base.getGraph().getInitializer(1).getRawData().toByteArray();
        assertEquals(384, w.length);
        assertEquals(576, r.length);
        byte[] both = Arrays.copyOf(w, w.length + r.length);
        System.arraycopy(r, 0, both, w.length, r.length);
        Files.write(m.resolve("weights.bin"), both);
        Files.write(dir.resolve("outside.bin"), both);
        return m;
    }

    /** The LSTM model with initializer {@code name} as external data; null values leave a key out. */
    private static ModelProto external(ModelProto m, String name, String location, String offset, String length) {
        return graph(m, g -> {
            for (TensorProto.Builder t : g.getInitializerBuilderList()) {
                if (!t.getName().equals(name)) continue;
                t.clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL);
                if (location != null) t.addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue(location));
                if (offset != null) t.addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("offset").setValue(offset));
                if (length != null) t.addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length").setValue(length));
                t.addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("checksum").setValue("ignored"));
            }
        });
    }

    private OnnxException refusedExternal(Path in, String location, String offset, String length, String... fragments) throws IOException {
        return refused(write(in, external(lstm(), "W", location, offset, length).toByteArray()), fragments);
    }

    @Test
    void externalDataOutsideTheModelsDirectory() throws IOException {
        Path m = modelDir();
        refusedExternal(m, "/etc/passwd", "0", "384", "initializer 'W': external data location '/etc/passwd' is outside the model's directory");
        refusedExternal(m, m.resolve("weights.bin").toString(), "0", "384", "is outside the model's directory");
        refusedExternal(m, "../outside.bin", "0", "384", "initializer 'W': external data location '../outside.bin' is outside the model's directory");
        refusedExternal(m, "sub/../../outside.bin", "0", "384", "is outside the model's directory");
        refusedExternal(m, "weights.bin\0", "0", "384", "initializer 'W': external data location 'weights.bin\\u0000' is not a path");
        // links inside the directory that lead out of it
        Files.createSymbolicLink(m.resolve("link.bin"), Path.of("../outside.bin"));
        refusedExternal(m, "link.bin", "0", "384", "initializer 'W': external data location 'link.bin' leads outside the model's directory");
        Files.createSymbolicLink(m.resolve("etc"), Path.of("/etc"));
        refusedExternal(m, "etc/passwd", "0", "384", "external data location 'etc/passwd' leads outside the model's directory");
        Files.createSymbolicLink(m.resolve("up"), Path.of(".."));
        refusedExternal(m, "up/outside.bin", "0", "384", "leads outside the model's directory");
        // a link that stays inside is fine
        Files.createSymbolicLink(m.resolve("same.bin"), Path.of("weights.bin"));
        try (OnnxModel ok = OnnxModel.load(write(m, external(lstm(), "W", "same.bin", "0", "384").toByteArray()))) {
            assertEquals(1, ok.inputs().size());
        }
    }

    @Test
    void externalDataThatIsNotThere() throws IOException {
        Path m = modelDir();
        refusedExternal(m, "nope.bin", "0", "384", "initializer 'W': external data file 'nope.bin' does not exist");
        refusedExternal(m, null, "0", "384", "initializer 'W' has external data without a location");
        refusedExternal(m, "", "0", "384", "has external data without a location");
        refusedExternal(m, ".", "0", "384", "initializer 'W': external data '.' is not a regular file");
        Files.createDirectory(m.resolve("sub"));
        refusedExternal(m, "sub", "0", "384", "external data 'sub' is not a regular file");
        Files.createSymbolicLink(m.resolve("loop"), Path.of("loop"));
        refusedExternal(m, "loop", "0", "384", "initializer 'W'", "external data 'loop'");
        Files.createSymbolicLink(m.resolve("dangling"), Path.of("nothing-here"));
        refusedExternal(m, "dangling", "0", "384", "external data file 'dangling' does not exist");
        // a name that goes through a regular file, with a line break (the file system's message must stay on one line)
        refusedExternal(m, "weights.bin/\nx", "0", "384", "initializer 'W'", "external data 'weights.bin/\\nx'");
    }

    @Test
    void externalDataOfTheWrongExtent() throws IOException {
        Path m = modelDir();
        refusedExternal(m, "weights.bin", "2000", "384", "initializer 'W': external data offset 2000 lies past the end of 'weights.bin' (960 bytes)");
        refusedExternal(m, "weights.bin", "700", "384", "initializer 'W': external data at offset 700, length 384 lies past the end of 'weights.bin' (960 bytes)");
        refusedExternal(m, "weights.bin", String.valueOf(Long.MAX_VALUE), "384", "lies past the end");
        refusedExternal(m, "weights.bin", "2000", null, "initializer 'W'", "offset 2000", "past the end of 'weights.bin' (960 bytes)");
        refusedExternal(m, "weights.bin", "0", "380", "initializer 'W' needs 384 bytes of external data, 'weights.bin' gives 380");
        refusedExternal(m, "weights.bin", "0", "9223372036854775807", "needs 384 bytes of external data, 'weights.bin' gives 9223372036854775807");
        refusedExternal(m, "weights.bin", "0", null, "needs 384 bytes of external data, 'weights.bin' gives 960");
        refusedExternal(m, "weights.bin", "12abc", "384", "initializer 'W': external data offset '12abc' is not a whole number ≥ 0");
        refusedExternal(m, "weights.bin", "-1", "384", "external data offset '-1' is not a whole number ≥ 0");
        refusedExternal(m, "weights.bin", "0", "0x180", "external data length '0x180' is not a whole number ≥ 0");
        refusedExternal(m, "weights.bin", "99999999999999999999", "384", "external data offset '99999999999999999999' is not a whole number ≥ 0");
    }

    @Test
    void validExternalDataGivesTheSameOutputs() throws IOException {
        Path m = modelDir();
        Files.createDirectory(m.resolve("data"));
        Files.copy(m.resolve("weights.bin"), m.resolve("data/weights.bin"));
        ModelProto ext = external(external(lstm(), "W", "weights.bin", "0", "384"), "R", "data/weights.bin", "384", null);
        for (TensorProto t : ext.getGraph().getInitializerList()) {
            assertEquals(TensorProto.DataLocation.EXTERNAL, t.getDataLocation());
            assertTrue(t.getRawData().isEmpty());
        }
        Map<String, OnnxTensor> in = lstmInputs();
        try (OnnxModel inline = OnnxModel.load(lstmFile()); OnnxModel external = OnnxModel.load(write(m, ext.toByteArray()))) {
            Map<String, OnnxTensor> a = inline.run(in), b = external.run(in);
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                assertArrayEquals(a.get(k).shape(), b.get(k).shape(), k);
                assertArrayEquals(a.get(k).floats(), b.get(k).floats(), k);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ computed at load

    @Test
    void aConstantNodeThatCannotComputeIsAnOnnxException() throws IOException {
        ModelProto reshape = model(List.of(node("r", "Reshape", List.of("k", "shape"), List.of("y"))),
                List.of(floats("k", new float[6], 2, 3), longs("shape", new long[] {7}, 1)), List.of(), List.of(untyped("y")));
        refused(reshape, "node 'r' (Reshape): Reshape cannot fit [2, 3]");
        ModelProto gather = model(List.of(node("g", "Gather", List.of("k", "i"), List.of("y"))),
                List.of(floats("k", new float[6], 2, 3), longs("i", new long[] {5}, 1)), List.of(), List.of(untyped("y")));
        refused(gather, "node 'g' (Gather): Gather index 5 is out of range for dimension 0 of size 2");
        ModelProto lstmOnConstants = graph(lstm(), g -> g.clearInput().addInitializer(floats("X", new float[5 * 3 * 3], 5, 3, 3)));
        refused(lstmOnConstants, "node 'lstm' (LSTM)", "W must be [1, 24, 3], got [1, 24, 4]");
    }

    @Test
    void hugeResultsAreRefusedNotAllocated() throws IOException {
        // a few bytes that ask for 2^31-1 floats: ConstantOfShape, Expand, and MatMul's broadcast over empty operands
        AttributeProto shape = attrInts("value_ints", Integer.MAX_VALUE);
        refused(model(List.of(node("c", "Constant", List.of(), List.of("s"), shape), node("cos", "ConstantOfShape", List.of("s"), List.of("y"))), List.of(),
                List.of(), List.of(untyped("y"))), "node 'cos' (ConstantOfShape)", "would have shape [2147483647]");
        refused(model(List.of(node("e", "Expand", List.of("k", "s"), List.of("y"))), List.of(floats("k", new float[] {1}, 1),
                longs("s", new long[] {Integer.MAX_VALUE}, 1)), List.of(), List.of(untyped("y"))), "node 'e' (Expand)", "would have shape [2147483647]");
        refused(model(List.of(node("e", "Expand", List.of("k", "s"), List.of("y"))), List.of(floats("k", new float[] {1}, 1),
                longs("s", new long[] {46341, 46341}, 2)), List.of(), List.of(untyped("y"))), "node 'e' (Expand)", "[46341, 46341]", "more than 2^31-1");
        refused(model(List.of(node("mm", "MatMul", List.of("a", "b"), List.of("y"))), List.of(floats("a", new float[0], 46341, 1, 0, 0),
                floats("b", new float[0], 1, 46341, 0, 0)), List.of(), List.of(untyped("y"))), "node 'mm' (MatMul)", "[46341, 46341]");
        // n² elements: just over what one result may have with this heap (Shapes.MAX_ELEMENTS, a 32nd of it), from n-element operands
        int n = (int) Math.sqrt(Shapes.MAX_ELEMENTS) + 1;
        String nn = "[" + n + ", " + n + "]";
        refused(model(List.of(node("mm", "MatMul", List.of("a", "b"), List.of("y"))), List.of(floats("a", new float[0], n, 1, 0, 0),
                floats("b", new float[0], 1, n, 0, 0)), List.of(), List.of(untyped("y"))), "node 'mm' (MatMul)", nn);
        refused(model(List.of(node("add", "Add", List.of("a", "b"), List.of("y"))), List.of(floats("a", new float[n], n, 1),
                floats("b", new float[n], 1, n)), List.of(), List.of(untyped("y"))), "node 'add' (Add)", "would have shape " + nn);
        // an LSTM over an empty X (no data) of 2^16 steps and 2^15-1 samples, hidden size 2, would write 2^32 outputs
        ModelProto empty = model(List.of(node("lstm", "LSTM", List.of("X", "W", "R"), List.of("Y"), attr("clip", 5f))),
                List.of(floats("X", new float[0], 65536, 32767, 0), floats("W", new float[0], 1, 8, 0), floats("R", new float[16], 1, 8, 2)), List.of(),
                List.of(untyped("Y")));
        refused(empty, "node 'lstm' (LSTM)", "[65536, 1, 32767, 2]");
        // the same through the graph at run time: the caller's small input, the file's huge shape
        ModelProto atRun = model(List.of(node("e", "Expand", List.of("x", "s"), List.of("y"))), List.of(longs("s", new long[] {Integer.MAX_VALUE}, 1)),
                List.of(value("x", FLOAT, 1L)), List.of(untyped("y")));
        try (OnnxModel m = OnnxModel.load(write(atRun))) {
            badRun(m, Map.of("x", OnnxTensor.ofFloats(new float[] {1}, 1)), "node 'e' (Expand)", "would have shape [2147483647]");
        }
    }

    @Test
    void emptyTensorsWithHugeDimensionsFinishAtOnce() throws IOException {
        // no data, no output, but loops over the leading dimensions: 2^36 steps for Concat, 2^35 for Softmax (minutes, before the
        // fix); MatMul's batch × m, 3.5e8 here (the fuzzer's slow unit: 15 s instrumented, under a second here), Gather's
        // outer × indices and Gemm's m, 2^31 (seconds, minutes instrumented)
        ModelProto concat = model(List.of(node("c", "Concat", java.util.Collections.nCopies(64, "k"), List.of("y"), attr("axis", 1L))),
                List.of(floats("k", new float[0], 1 << 30, 0)), List.of(), List.of(untyped("y")));
        ModelProto softmax = model(List.of(node("s", "Softmax", List.of("k"), List.of("y"), attr("axis", 1L))),
                List.of(floats("k", new float[0], 1 << 20, 0, 1 << 15)), List.of(), List.of(untyped("y")));
        ModelProto matmul = model(List.of(node("mm", "MatMul", List.of("a", "b"), List.of("y"))),
                List.of(floats("a", new float[0], 46341, 214, 0), floats("b", new float[0], 35, 46341, 0, 0)), List.of(), List.of(untyped("y")));
        ModelProto gather = model(List.of(node("g", "Gather", List.of("k", "i"), List.of("y"), attr("axis", 1L))),
                List.of(floats("k", new float[0], (1 << 22) - 1, 1, 0), longs("i", new long[512], 512)), List.of(), List.of(untyped("y")));
        ModelProto gemm = model(List.of(node("gemm", "Gemm", List.of("a", "b"), List.of("y"))),
                List.of(floats("a", new float[0], Integer.MAX_VALUE, 0), floats("b", new float[0], 0, 0)), List.of(), List.of(untyped("y")));
        for (ModelProto p : List.of(concat, softmax, matmul, gather, gemm)) {
            Path f = write(p);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                try (OnnxModel ok = OnnxModel.load(f)) {
                    assertEquals(1, ok.outputs().size());
                }
            }, () -> p.getGraph().getNode(0).getOpType());
        }
    }

    @Test
    void sliceWithExtremeSteps() throws IOException {
        ModelProto slice = model(List.of(node("s", "Slice", List.of("x", "starts", "ends", "axes", "steps"), List.of("y"))),
                List.of(longs("starts", new long[] {0}, 1), longs("ends", new long[] {3}, 1), longs("axes", new long[] {0}, 1),
                        longs("steps", new long[] {Long.MAX_VALUE}, 1)), List.of(value("x", FLOAT, 3L)), List.of(untyped("y")));
        try (OnnxModel m = OnnxModel.load(write(slice))) {
            assertArrayEquals(new float[] {1f}, m.run(Map.of("x", OnnxTensor.ofFloats(new float[] {1, 2, 3}, 3))).get("y").floats());
        }
        ModelProto back = graph(slice, g -> g.setInitializer(0, longs("starts", new long[] {Long.MAX_VALUE}, 1))
                .setInitializer(1, longs("ends", new long[] {Long.MIN_VALUE}, 1)).setInitializer(3, longs("steps", new long[] {Long.MIN_VALUE}, 1)));
        try (OnnxModel m = OnnxModel.load(write(back))) {
            assertArrayEquals(new float[] {3f}, m.run(Map.of("x", OnnxTensor.ofFloats(new float[] {1, 2, 3}, 3))).get("y").floats());
        }
        // the same on constants, computed at load
        ModelProto folded = graph(slice, g -> g.clearInput().addInitializer(floats("x", new float[] {1, 2, 3}, 3)));
        try (OnnxModel m = OnnxModel.load(write(folded))) {
            assertArrayEquals(new float[] {1f}, m.run(Map.of()).get("y").floats());
        }
    }

    // ------------------------------------------------------------------------------------------ leaks

    @Test
    void refusalsAfterALayerWasBuiltGiveItsMemoryBack() throws IOException {
        assumeTrue(Faults.ENABLED, "native memory is counted under -Dpanama.rnn.faults=true only");
        // the LSTM's layer is built at load (W and R are initializers); the refusal comes after it
        ModelProto late = graph(lstm(), g -> g.addOutput(untyped("nothing")));
        long live = Arenas.liveBytes();
        for (int i = 0; i < 50; i++) refused(late, "graph output 'nothing' is not computed by any node");
        ModelProto lateNode = graph(lstm(), g -> g.addNode(node("after", "Conv", List.of("Y"), List.of("Z"))));
        for (int i = 0; i < 50; i++) refused(lateNode, "node 'after' (Conv): operator 'Conv' is not supported");
        assertEquals(live, Arenas.liveBytes());
        try (OnnxModel m = OnnxModel.load(lstmFile())) {
            assertTrue(Arenas.liveBytes() > live, "the layer built at load holds native memory");
        }
        assertEquals(live, Arenas.liveBytes(), "close() gives it back");
    }

    // ------------------------------------------------------------------------------------------ names

    @Test
    void namesWithLineBreaksStayOnOneLine() throws IOException {
        ModelProto m = graph(lstm(), g -> {
            g.getInputBuilder(0).setName("X\nforged");
            g.getNodeBuilder(0).setInput(0, "X\nforged").setName("lstm\r\n[ERROR]");
        });
        try (OnnxModel model = OnnxModel.load(write(m))) {
            badRun(model, Map.of(), "graph input 'X\\nforged'", "is not given");
            badRun(model, Map.of("Z", OnnxTensor.ofFloats(new float[1], 1)), "no graph input named 'Z'", "X\\nforged");
            badRun(model, Map.of("X\nforged", OnnxTensor.ofFloats(new float[1], 1)), "graph input 'X\\nforged' must be [5, 3, 4], got [1]");
            assertEquals(5, model.explain().lines().count(), model.explain());
        }
        refused(graph(m, g -> g.removeInitializer(0)), "node 'lstm\\r\\n[ERROR]' (LSTM) reads 'W'");
        refused(graph(m, g -> g.getInitializerBuilder(0).setName("W\nx")), "reads 'W'");
        refused(graph(m, g -> g.getInitializerBuilder(0).setDataType(DOUBLE).setName("W\u202ex")), "initializer 'W\\u202ex' has element type DOUBLE");
    }

    // ------------------------------------------------------------------------------------------ running

    @Test
    void runWithWrongInputs() throws IOException {
        Map<String, OnnxTensor> good = lstmInputs();
        try (OnnxModel m = OnnxModel.load(lstmFile())) {
            m.run(good);
            badRun(m, Map.of(), "graph input 'X'", "FLOAT[5, 3, 4]", "is not given");
            Map<String, OnnxTensor> extra = new HashMap<>(good);
            extra.put("Z", OnnxTensor.ofFloats(new float[1], 1));
            badRun(m, extra, "no graph input named 'Z'; the inputs are ['X']");
            badRun(m, Map.of("X", OnnxTensor.ofLongs(new long[60], 5, 3, 4)), "graph input 'X' must be FLOAT", "got INT64[5, 3, 4]");
            badRun(m, Map.of("X", OnnxTensor.ofFloats(new float[60], 5, 12)), "graph input 'X' must be [5, 3, 4], got [5, 12]");
            badRun(m, Map.of("X", OnnxTensor.ofFloats(new float[60], 5, 3, 4, 1)), "graph input 'X' must be [5, 3, 4], got [5, 3, 4, 1]");
            badRun(m, Map.of("X", OnnxTensor.ofFloats(new float[75], 5, 3, 5)), "graph input 'X' must be [5, 3, 4], got [5, 3, 5]");
            badRun(m, Map.of("X", OnnxTensor.ofFloats(new float[0], 0, 3, 4)), "graph input 'X' must be [5, 3, 4], got [0, 3, 4]");
        }
    }

    @Test
    void symbolicDimensionsMustAgreeAcrossInputs() throws IOException {
        // X (seq, batch, 4) and initial_h (1, batch, 6)
        ModelProto m = graph(lstm(), g -> {
            g.setInput(0, value("X", FLOAT, "seq", "batch", 4L)).addInput(value("initial_h", FLOAT, 1L, "batch", 6L));
            g.getNodeBuilder(0).addInput("").addInput("").addInput("initial_h");
            g.setOutput(0, value("Y", FLOAT, "seq", 1L, "batch", 6L));
        });
        try (OnnxModel model = OnnxModel.load(write(m))) {
            assertEquals("[X: FLOAT[seq, batch, 4], initial_h: FLOAT[1, batch, 6]]", model.inputs().toString());
            float[] x = lstmInputs().get("X").floats();
            Map<String, OnnxTensor> ok = new LinkedHashMap<>();
            ok.put("X", OnnxTensor.ofFloats(x, 5, 3, 4));
            ok.put("initial_h", OnnxTensor.ofFloats(new float[18], 1, 3, 6));
            assertArrayEquals(new int[] {5, 1, 3, 6}, model.run(ok).get("Y").shape());
            ok.put("X", OnnxTensor.ofFloats(Arrays.copyOf(x, 24), 2, 3, 4)); // another seq: fine
            assertArrayEquals(new int[] {2, 1, 3, 6}, model.run(ok).get("Y").shape());
            ok.put("initial_h", OnnxTensor.ofFloats(new float[12], 1, 2, 6));
            badRun(model, ok, "graph input 'initial_h' has batch = 2 (dimension 1 of [1, 2, 6]); another input has batch = 3");
            ok.put("initial_h", OnnxTensor.ofFloats(new float[21], 1, 3, 7));
            badRun(model, ok, "graph input 'initial_h' must be [1, batch, 6], got [1, 3, 7]");
        }
    }

    @Test
    void negativeDimensionsOfGraphInputsAreUnknown() throws IOException {
        // some exporters write -1 for a dimension they do not know: not a size, and not a name two inputs share
        ModelProto m = graph(lstm(), g -> g.setInput(0, value("X", FLOAT, -1L, -1L, 4L)));
        try (OnnxModel model = OnnxModel.load(write(m))) {
            assertEquals("[X: FLOAT[?, ?, 4]]", model.inputs().toString());
            assertArrayEquals(new int[] {5, 1, 3, 6}, model.run(lstmInputs()).get("Y").shape());
        }
    }

    @Test
    void sequenceLengthsOutOfRange() throws IOException {
        Path dir = Fixtures.root("attrs/lstm_sequence_lens");
        Map<String, OnnxTensor> in = Fixtures.read(dir.resolve("inputs.safetensors"));
        try (OnnxModel m = OnnxModel.load(dir.resolve("model.onnx"))) {
            m.run(in);
            for (int[] lens : new int[][] {{6, 1, 1}, {0, 5, 5}, {5, -1, 5}}) {
                Map<String, OnnxTensor> bad = new HashMap<>(in);
                bad.put("sequence_lens", OnnxTensor.ofInts(lens, 3));
                int at = lens[0] != 6 && lens[0] != 0 ? 1 : 0;
                badRun(m, bad, "node 'lstm' (LSTM): sequence_lens[" + at + "] = " + lens[at] + " is outside 1..5");
            }
            Map<String, OnnxTensor> wrongType = new HashMap<>(in);
            wrongType.put("sequence_lens", OnnxTensor.ofLongs(new long[] {1, 2, 3}, 3));
            badRun(m, wrongType, "graph input 'sequence_lens' must be INT32, got INT64[3]");
            Map<String, OnnxTensor> wrongShape = new HashMap<>(in);
            wrongShape.put("sequence_lens", OnnxTensor.ofInts(new int[] {1, 2}, 2));
            badRun(m, wrongShape, "graph input 'sequence_lens' must be [3], got [2]");
        }
    }

    @Test
    void runAfterCloseIsIllegalState() throws IOException {
        Map<String, OnnxTensor> in = lstmInputs();
        OnnxModel m = OnnxModel.load(lstmFile());
        m.run(in);
        m.close();
        m.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.run(in));
        assertOneLine(e.getMessage());
        assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    }
}
