package dev.panamarnn.bench;

import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.WeightFormat;
import dev.panamarnn.nn.Workspace;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Our {@link RecurrentLayer} on the standard configurations ({@link StudyConfig}), with PyTorch's weights
 * and input from {@code bench/models/} (written by {@code scripts/python/bench_models.py}); run by
 * {@code scripts/bench layers} beside {@link OrtBenchmark} and {@link CeilingBenchmark}.
 *
 * <p>{@code threads}: all compute threads; {@code split} says whose (OpenBLAS's or ours). The scalar backend is left out: at these sizes it takes seconds to minutes per call.
 * Set-up checks the output once against PyTorch's (max abs difference recorded for the report, trial
 * failed above 1e-3); the benchmark writes into buffers allocated once, so {@code -prof gc} should show
 * about zero bytes per call.
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LayerBenchmark {
    @Param({"L1", "L2", "L3", "G1", "R1"})
    public String config;

    /** A backend by name, or {@code auto}: the default backend, as this machine's tuning measured it. */
    @Param({"openblas", "simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /**
     * How 2 threads are used: {@code blas} = OpenBLAS's own threads (ours single-threaded), {@code team} = our
     * two threads ({@link Parallelism}) with OpenBLAS at 1 thread. At 1 thread both are the same.
     */
    @Param({"blas"})
    public String split;

    /**
     * Weight storage: {@code f32}; {@code bf16} (opt-in reduced precision, {@link WeightFormat#BF16}); or
     * {@code bf16-if-faster} (bfloat16 where this machine's tuning measured the one-row step faster with it).
     */
    @Param({"f32"})
    public String weights;

    /** Step products over W_hh prepared at load where the backend prefers them (on), or its GEMM always (off). */
    @Param({"on"})
    public String panels;

    /** The fused step: {@code auto} (as measured on this machine, {@code panama-rnn tune}), {@code on} or {@code off}. */
    @Param({"auto"})
    public String fused;

    private Arena arena;
    private RecurrentLayer layer;
    private Workspace workspace;
    private Tensor input, output, hN, cN;

    @Setup(Level.Trial)
    public void setUp() {
        StudyConfig c = StudyConfig.valueOf(config);
        if (!split.equals("blas") && !split.equals("team")) throw new IllegalArgumentException("split must be blas or team, got " + split);
        boolean team = split.equals("team");
        Backend be = BenchSupport.backend(backend, team ? 1 : threads);
        Parallelism.setThreads(team ? threads : 1);
        arena = Arena.ofShared();
        try (SafeTensors weights = StudyFiles.open(StudyFiles.weights(c)); SafeTensors io = StudyFiles.io(c)) {
            WeightFormat format = WeightFormat.of(this.weights);
            dev.panamarnn.Config settings = dev.panamarnn.Config.defaults().withThreadsPerCall(team ? threads : 1).withStepPanels(!panels.equals("off"))
                    .withFusedSteps(fused);
            layer = RecurrentLayer.loader().spec(c.spec()).backend(be).weightFormat(format).config(settings).load(weights.asStateDict());
            input = Tensor.of(arena, io.toFloatArray("input"), c.steps, c.batch, c.inputSize);
            output = Tensor.allocate(arena, c.outputShape());
            hN = Tensor.allocate(arena, c.stateShape());
            cN = c.mode == Mode.LSTM ? Tensor.allocate(arena, c.stateShape()) : null;
            workspace = new Workspace();
            forward();
            double diff = StudyFiles.maxAbsDiff(output.toArray(), io.toFloatArray("output"));
            double stateDiff = Math.max(StudyFiles.maxAbsDiff(hN.toArray(), io.toFloatArray("h_n")),
                    cN == null ? 0 : StudyFiles.maxAbsDiff(cN.toArray(), io.toFloatArray("c_n")));
            if (layer.weightFormat() == WeightFormat.BF16) {
                // Reduced precision: report how far from PyTorch's float32 outputs, in the log the study keeps.
                double ref = StudyFiles.maxAbs(io.toFloatArray("output"));
                System.out.printf("# bf16 accuracy %s: max |output - PyTorch f32| = %.3g (outputs up to %.3g), max |h_n/c_n diff| = %.3g%n",
                        c, diff, ref, stateDiff);
                if (!(stateDiff <= 0.1)) throw new IllegalStateException(c + " bf16: h_n/c_n differ from PyTorch by " + stateDiff);
            } else {
                if (!(stateDiff <= 1e-3)) throw new IllegalStateException(c + " on " + backend + ": h_n/c_n differ from PyTorch by " + stateDiff);
                StudyFiles.recordDiff(c, backend, threads, diff, 1e-3);
            }
        }
        System.out.println("# " + c + " (" + c.describe() + ") on backend " + layer.backend().name() + ", " + threads + " thread(s), "
                + (team ? "ours (OpenBLAS at 1)" : "OpenBLAS's"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (layer != null) layer.close();
        if (workspace != null) workspace.close();
        arena.close();
    }

    @Benchmark
    public Tensor forward() {
        layer.forward(input, null, null, null, output, hN, cN, workspace);
        return output;
    }
}
