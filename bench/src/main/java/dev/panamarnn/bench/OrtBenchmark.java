package dev.panamarnn.bench;

import dev.panamarnn.io.SafeTensors;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
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
 * The peer ONNX Runtime (Java API) on the same networks, exported from PyTorch to ONNX with the native
 * {@code LSTM}/{@code GRU}/{@code RNN} operators ({@code bench/models/<config>.onnx}). Session options:
 * {@code intra_op_num_threads = threads}, {@code inter_op_num_threads = 1}, sequential execution, graph
 * optimisation level ALL. The input tensor wraps a direct buffer made once in set-up; each call runs the
 * session (outputs {@code output}, {@code h_n}, {@code c_n} allocated by ORT, as in ordinary use) and
 * closes the result. Set-up checks {@code output} once against PyTorch's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OrtBenchmark {
    @Param({"L1", "L2", "L3", "G1", "R1"})
    public String config;

    @Param({"1", "2"})
    public int threads;

    private OrtEnvironment env;
    private OrtSession.SessionOptions options;
    private OrtSession session;
    private OnnxTensor input;
    private Map<String, OnnxTensor> inputs;

    @Setup(Level.Trial)
    public void setUp() throws OrtException {
        StudyConfig c = StudyConfig.valueOf(config);
        BenchSupport.printPlatformOnce();
        env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
        options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        session = env.createSession(StudyFiles.onnx(c).toString(), options);
        try (SafeTensors io = StudyFiles.io(c)) {
            float[] x = io.toFloatArray("input");
            FloatBuffer buf = ByteBuffer.allocateDirect(x.length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
            buf.put(x).flip();
            input = OnnxTensor.createTensor(env, buf, new long[] {c.steps, c.batch, c.inputSize});
            inputs = Map.of("input", input);
            try (OrtSession.Result r = session.run(inputs)) {
                OnnxTensor out = (OnnxTensor) r.get("output").orElseThrow(() -> new IllegalStateException(c + ".onnx has no output 'output'"));
                FloatBuffer fb = out.getFloatBuffer();
                float[] got = new float[fb.remaining()];
                fb.get(got);
                StudyFiles.recordDiff(c, "ort", threads, StudyFiles.maxAbsDiff(got, io.toFloatArray("output")), 1e-3);
            }
        }
        System.out.println("# " + c + " (" + c.describe() + ") on ONNX Runtime " + env.getVersion() + ", intra-op threads " + threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (input != null) input.close();
        if (session != null) session.close();
        if (options != null) options.close();
    }

    @Benchmark
    public int run() throws OrtException {
        try (OrtSession.Result r = session.run(inputs)) {
            return r.size();
        }
    }
}
