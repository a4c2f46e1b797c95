package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.onnx.OnnxModel;
import dev.panamarnn.onnx.OnnxTensor;
import java.io.IOException;
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
 * Ours on the very {@code .onnx} file {@link OrtBenchmark} runs ({@code bench/models/<config>.onnx}, PyTorch's
 * export with the native recurrent operators): {@link OnnxModel} on the default backend as this machine was
 * tuned. Each call runs the graph on an input tensor made once in set-up and returns ONNX-shaped results it
 * allocates (as ORT's session does). {@code split}: at 2 threads, OpenBLAS's own ({@code blas}) or ours with
 * OpenBLAS at 1 ({@code team}). Set-up checks {@code output} once against PyTorch's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OnnxModelBenchmark {
    @Param({"L1", "L2", "L3", "G1", "R1"})
    public String config;

    @Param({"1", "2"})
    public int threads;

    @Param({"blas"})
    public String split;

    private OnnxModel model;
    private Map<String, OnnxTensor> feeds;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        StudyConfig c = StudyConfig.valueOf(config);
        if (!split.equals("blas") && !split.equals("team")) throw new IllegalArgumentException("split must be blas or team, got " + split);
        boolean team = split.equals("team");
        Backend be = BenchSupport.backend("auto", team ? 1 : threads);
        Parallelism.setThreads(team ? threads : 1);
        model = OnnxModel.load(StudyFiles.onnx(c), be);
        try (SafeTensors io = StudyFiles.io(c)) {
            feeds = Map.of("input", OnnxTensor.ofFloats(io.toFloatArray("input"), c.steps, c.batch, c.inputSize));
            float[] got = model.run(feeds).get("output").floats();
            StudyFiles.recordDiff(c, "onnx", threads, StudyFiles.maxAbsDiff(got, io.toFloatArray("output")), 1e-3);
        }
        System.out.println("# " + c + " (" + c.describe() + ") from " + StudyFiles.onnx(c).getFileName() + " on backend " + be.name() + ", " + threads
                + " thread(s), " + (team ? "ours (OpenBLAS at 1)" : "OpenBLAS's"));
        System.out.println("# " + model.explain().replace("\n", "\n# "));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (model != null) model.close();
    }

    @Benchmark
    public Map<String, OnnxTensor> run() {
        return model.run(feeds);
    }
}
