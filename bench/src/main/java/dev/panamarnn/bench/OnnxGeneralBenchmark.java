package dev.panamarnn.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.panamarnn.Backend;
import dev.panamarnn.onnx.OnnxModel;
import dev.panamarnn.onnx.OnnxTensor;
import dev.panamarnn.onnx.proto.Onnx;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * ONNX nodes that are not what a PyTorch layer computes, so ours runs them on the general path (batched GEMMs on the
 * backend, gates element by element), beside ONNX Runtime on the same file: {@code gru_lbr0}, a bidirectional GRU
 * with {@code linear_before_reset = 0} (ONNX's default, what tf2onnx writes for Keras) at G1's first layer's shape
 * (I 128, H 256, T 128, B 32); {@code lstm_peepholes}, a forward LSTM with peepholes at I = H = 256, T 64, B 16.
 * The single-node model is built in set-up with random weights (seeded) as initializers; set-up prints the largest
 * difference between the two runtimes' Y.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OnnxGeneralBenchmark {
    @Param({"gru_lbr0", "lstm_peepholes"})
    public String node;

    @Param({"ours", "ort"})
    public String runtime;

    @Param({"1"})
    public int threads;

    private Path file;
    private OnnxModel ours;
    private Map<String, OnnxTensor> feeds;
    private OrtEnvironment env;
    private OrtSession session;
    private Map<String, ai.onnxruntime.OnnxTensor> ortFeeds;

    @Setup(Level.Trial)
    public void setUp() throws IOException, OrtException {
        boolean gru = node.equals("gru_lbr0");
        int I = gru ? 128 : 256, H = 256, T = gru ? 128 : 64, B = gru ? 32 : 16, D = gru ? 2 : 1, G = (gru ? 3 : 4) * H;
        SplittableRandom rnd = new SplittableRandom(11);
        float scale = (float) (1 / Math.sqrt(H));
        Onnx.GraphProto.Builder g = Onnx.GraphProto.newBuilder()
                .addInitializer(tensor("W", rnd, scale, D, G, I)).addInitializer(tensor("R", rnd, scale, D, G, H))
                .addInitializer(tensor("B", rnd, scale, D, 2 * G));
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(gru ? "GRU" : "LSTM").addInput("X").addInput("W").addInput("R").addInput("B")
                .addOutput("Y").addOutput("Y_h").addAttribute(Onnx.AttributeProto.newBuilder().setName("hidden_size").setType(Onnx.AttributeProto.AttributeType.INT).setI(H));
        if (gru) {
            n.addAttribute(Onnx.AttributeProto.newBuilder().setName("direction").setType(Onnx.AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8("bidirectional")));
        } else {
            n.addInput("").addInput("").addInput("").addInput("P");
            g.addInitializer(tensor("P", rnd, scale, D, 3 * H));
        }
        g.addNode(n).addInput(value("X", T, B, I)).addOutput(value("Y", T, D, B, H)).addOutput(value("Y_h", D, B, H));
        Onnx.ModelProto m = Onnx.ModelProto.newBuilder().setIrVersion(7).addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
        file = Files.createTempFile("panama-rnn-general-", ".onnx");
        Files.write(file, m.toByteArray());

        float[] x = new float[T * B * I];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        Backend be = BenchSupport.backend("auto", threads);
        ours = OnnxModel.load(file, be);
        feeds = Map.of("X", OnnxTensor.ofFloats(x, T, B, I));
        env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(file.toString(), o);
        }
        ortFeeds = Map.of("X", ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {T, B, I}));
        float[] a = ours.run(feeds).get("Y").floats();
        float[] b;
        try (OrtSession.Result r = session.run(ortFeeds)) {
            FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) r.get("Y").get()).getFloatBuffer();
            b = new float[fb.remaining()];
            fb.get(b);
        }
        double diff = 0;
        for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
        System.out.println("# " + node + ": " + ours.explain().replace("\n", "\n# "));
        System.out.println("# " + node + ": max |Y ours − Y ORT| = " + diff);
        if (!(diff < 1e-3)) throw new IllegalStateException(node + ": ours and ONNX Runtime differ by " + diff);
    }

    private static Onnx.TensorProto tensor(String name, SplittableRandom rnd, float scale, int... dims) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(1);
        int n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        for (int i = 0; i < n; i++) t.addFloatData((float) rnd.nextDouble(-scale, scale));
        return t.build();
    }

    private static Onnx.ValueInfoProto value(String name, int... dims) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (int d : dims) s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (ours != null) ours.close();
        for (var t : ortFeeds.values()) t.close();
        if (session != null) session.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    public Object run() throws OrtException {
        if (runtime.equals("ours")) return ours.run(feeds);
        try (OrtSession.Result r = session.run(ortFeeds)) {
            return r.size();
        }
    }
}
