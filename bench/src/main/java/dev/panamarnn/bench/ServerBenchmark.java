package dev.panamarnn.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.Workspace;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * The server scenario S1 of {@code docs/performance.md}: one loaded LSTM (I = H = 512, 1 layer) shared by N
 * caller threads (JMH {@code -t N}), each request one sequence (B = 1) of a length drawn uniformly from
 * 10..100 (seeded per thread), one compute thread per caller (OpenBLAS at 1 thread, ORT
 * {@code intra_op_num_threads = 1}). JMH's sample mode gives the latency distribution per request (p50,
 * p99); sequences per second = N / mean latency (closed loop). {@code system}: {@code ours} (our layer,
 * a workspace and output buffers per caller thread, each request its own batch-1 forward pass),
 * {@code batched} (the same layer behind one {@link BatchingExecutor}: concurrent requests share each
 * step's W_hh product; the callers are the compute threads, one of them leading each step and, while
 * there are no more callers than cores, another running half of it) or {@code ort} (one
 * {@code OrtSession} shared by the threads, an input tensor per request).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ServerBenchmark {
    static final int MIN_LEN = 10, MAX_LEN = 100;

    @Param({"ours", "batched", "ort"})
    public String system;

    @Param({"openblas"})
    public String backend;

    private final StudyConfig c = StudyConfig.S1;
    private final AtomicInteger threadSeeds = new AtomicInteger();
    Arena arena;
    float[] x;
    RecurrentLayer layer;
    BatchingExecutor executor;
    OrtEnvironment env;
    OrtSession.SessionOptions options;
    OrtSession session;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Parallelism.setThreads(1);
        arena = Arena.ofShared();
        try (SafeTensors io = StudyFiles.io(c)) {
            x = io.toFloatArray("input"); // (100, 1, 512)
        }
        if (system.equals("ours") || system.equals("batched")) {
            Backend be = BenchSupport.backend(backend, 1);
            try (SafeTensors w = StudyFiles.open(StudyFiles.weights(c))) {
                layer = RecurrentLayer.create(c.spec(), w.asStateDict(), "", be);
            }
            if (system.equals("batched")) executor = new BatchingExecutor(layer);
        } else if (system.equals("ort")) {
            BenchSupport.printPlatformOnce();
            env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
            options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(StudyFiles.onnx(c).toString(), options);
        } else {
            throw new IllegalArgumentException("system must be ours, batched or ort, got " + system);
        }
        System.out.println("# S1 (" + c.describe() + "), " + system + (layer != null ? " on " + layer.backend().name() : " (ONNX Runtime " + env.getVersion() + ")")
                + ", lengths uniform in " + MIN_LEN + ".." + MAX_LEN);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (executor != null) {
            System.out.println("# batched: " + executor.stats());
            executor.close();
        }
        if (layer != null) layer.close();
        if (session != null) session.close();
        if (options != null) options.close();
        arena.close();
    }

    /** One caller thread: its random lengths, its buffers. */
    @State(Scope.Thread)
    public static class Caller {
        SplittableRandom lengths;
        Arena arena;
        Tensor input, output, hN, cN;
        Workspace workspace;
        FloatBuffer ortInput;

        @Setup(Level.Trial)
        public void setUp(ServerBenchmark b) {
            lengths = new SplittableRandom(2026 + b.threadSeeds.getAndIncrement());
            StudyConfig c = b.c;
            arena = Arena.ofShared();
            input = Tensor.of(arena, b.x, c.steps, 1, c.inputSize);
            output = Tensor.allocate(arena, c.steps, 1, c.hiddenSize);
            hN = Tensor.allocate(arena, 1, 1, c.hiddenSize);
            cN = Tensor.allocate(arena, 1, 1, c.hiddenSize);
            workspace = new Workspace();
            ortInput = ByteBuffer.allocateDirect(b.x.length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
            ortInput.put(b.x).flip();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            workspace.close();
            arena.close();
        }
    }

    @Benchmark
    public int request(Caller t) throws OrtException {
        int len = MIN_LEN + t.lengths.nextInt(MAX_LEN - MIN_LEN + 1);
        if (layer != null) {
            Tensor in = t.input.reshape(c.steps, c.inputSize).rows(0, len).reshape(len, 1, c.inputSize);
            Tensor out = t.output.reshape(c.steps, c.hiddenSize).rows(0, len).reshape(len, 1, c.hiddenSize);
            if (executor != null) executor.forward(in, null, null, null, out, t.hN, t.cN);
            else layer.forward(in, null, null, null, out, t.hN, t.cN, t.workspace);
            return len;
        }
        FloatBuffer buf = t.ortInput.duplicate().limit(len * c.inputSize);
        try (OnnxTensor in = OnnxTensor.createTensor(env, buf, new long[] {len, 1, c.inputSize});
             OrtSession.Result r = session.run(Map.of("input", in))) {
            return r.size();
        }
    }
}
