package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import dev.panamarnn.nn.Workspace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
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
 * Where a forward pass's time goes, one part at a time, at 1 thread: {@code layer} the whole call;
 * {@code projection} the input-projection GEMMs (one per layer, all T·B rows, both directions);
 * {@code stepGemm} the T·layers·directions recurrent GEMMs {@code B × G·H × H}; {@code gates} the as
 * many fused gate kernels. Same shapes, same backend, same buffers as the layer uses; what the layer
 * takes beyond the sum of the parts is overhead (copies of h into the output, bias copies, dispatch).
 * {@code scripts/bench breakdown} runs it and docs/performance.md's "where the time goes" table is its result.
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BreakdownBenchmark {
    @Param({"L1", "L2", "L3", "G1", "R1"})
    public String config;

    @Param({"openblas", "simd"})
    public String backend;

    @Param({"layer", "projection", "stepGemm", "gates"})
    public String part;

    private StudyConfig c;
    private Arena arena;
    private Kernels k;
    private RecurrentLayer layer;
    private Workspace workspace;
    private Tensor input, output, hN, cN;
    private MemorySegment x, wih, xp, h, whh, g, gh, cell;

    @Setup(Level.Trial)
    public void setUp() {
        c = StudyConfig.valueOf(config);
        Backend be = BenchSupport.backend(backend, 1);
        Parallelism.setThreads(1);
        k = KernelAccess.of(be);
        arena = Arena.ofShared();
        int G = c.mode.gates(), H = c.hiddenSize, I = c.inputSize, D = c.directions(), rows = c.steps * c.batch;
        int inMax = Math.max(I, D * H);
        x = BenchSupport.random(arena, (long) rows * inMax, 1, 1f);
        wih = BenchSupport.random(arena, (long) D * G * H * inMax, 2, 0.05f);
        xp = BenchSupport.random(arena, (long) rows * D * G * H, 3, 1f);
        h = BenchSupport.random(arena, (long) c.batch * H, 4, 0.5f);
        whh = BenchSupport.random(arena, (long) G * H * H, 5, 0.05f);
        g = BenchSupport.random(arena, (long) c.batch * G * H, 6, 1f);
        gh = BenchSupport.random(arena, (long) c.batch * G * H, 7, 1f);
        cell = BenchSupport.random(arena, (long) c.batch * H, 8, 0.5f);
        if (part.equals("layer")) {
            Map<String, float[]> w = new HashMap<>();
            Map<String, int[]> shapes = new HashMap<>();
            for (int l = 0; l < c.layers; l++) {
                for (int d = 0; d < D; d++) {
                    String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                    int in = l == 0 ? I : D * H;
                    put(w, shapes, "weight_ih" + sfx, G * H, in);
                    put(w, shapes, "weight_hh" + sfx, G * H, H);
                    put(w, shapes, "bias_ih" + sfx, G * H);
                    put(w, shapes, "bias_hh" + sfx, G * H);
                }
            }
            layer = RecurrentLayer.create(c.spec(), StateDict.of(w, shapes), "", be);
            input = Tensor.allocate(arena, c.steps, c.batch, I);
            input.fill(0.1f);
            output = Tensor.allocate(arena, c.outputShape());
            hN = Tensor.allocate(arena, c.stateShape());
            cN = c.mode == Mode.LSTM ? Tensor.allocate(arena, c.stateShape()) : null;
            workspace = new Workspace();
        }
        BenchSupport.printPlatformOnce();
    }

    private static void put(Map<String, float[]> w, Map<String, int[]> shapes, String name, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] a = new float[n];
        java.util.Random r = new java.util.Random(name.hashCode());
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 0.05);
        w.put(name, a);
        shapes.put(name, shape);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (layer != null) layer.close();
        if (workspace != null) workspace.close();
        arena.close();
    }

    @Benchmark
    public Object run() {
        int G = c.mode.gates(), H = c.hiddenSize, I = c.inputSize, D = c.directions(), B = c.batch, rows = c.steps * B, GH = G * H;
        switch (part) {
            case "layer" -> layer.forward(input, null, null, null, output, hN, cN, workspace);
            case "projection" -> {
                for (int l = 0; l < c.layers; l++) {
                    int in = l == 0 ? I : D * H;
                    k.sgemm(false, true, rows, D * GH, in, 1f, x, 0, in, wih, 0, in, 1f, xp, 0, D * GH);
                }
            }
            case "stepGemm" -> {
                for (int n = 0; n < c.steps * c.layers * D; n++) k.sgemm(false, true, B, GH, H, 1f, h, 0, H, whh, 0, H, 1f, g, 0, GH);
            }
            case "gates" -> {
                for (int n = 0; n < c.steps * c.layers * D; n++) {
                    switch (c.mode) {
                        case LSTM -> k.lstmCell(B, H, g, 0, GH, cell, 0, H, h, 0, H);
                        case GRU -> k.gruCell(B, H, g, 0, GH, gh, 0, GH, h, 0, H, h, 0, H);
                        default -> k.rnnCell(B, H, c.mode.activation(), g, 0, GH, h, 0, H);
                    }
                }
            }
            default -> throw new IllegalArgumentException("part must be layer, projection, stepGemm or gates, got " + part);
        }
        return h;
    }
}
