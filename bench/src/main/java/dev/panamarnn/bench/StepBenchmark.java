package dev.panamarnn.bench;

import dev.panamarnn.Activation;
import dev.panamarnn.Backend;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import dev.panamarnn.kernel.StepWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * One recurrent step (the product {@code h·W_hhᵀ} onto the pre-activations, then the cell update) at the
 * step shapes of the standard configurations, three ways side by side: {@code openblas} (its GEMM, or
 * GEMV at one row, then the Vector API's gate kernel: the OpenBLAS backend's unfused step), {@code prepared}
 * (the Vector API's product over W_hh packed once, then the gate kernel), {@code fused} (the fused
 * step, {@code FusedSteps}) and {@code bf16} (the Vector API's product over W_hh rounded to bfloat16, then
 * the gate kernel: what a layer loaded with {@code bf16} or {@code bf16-if-faster} runs). One thread. Shapes: {@code CELL:rows×hidden}, the hidden size also the
 * width of h.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class StepBenchmark {
    @Param({
        "LSTM:1x256",   // L1
        "LSTM:64x512",  // L2
        "LSTM:256x1024", // L3
        "GRU:32x256",   // G1
        "RNN:32x512",   // R1
        "LSTM:1x512", "LSTM:4x512", "LSTM:8x512" // S1, batched
    })
    public String shape;

    @Param({"openblas", "prepared", "fused", "bf16"})
    public String variant;

    private Arena arena;
    private Kernels k;
    private int m, H, G;
    private PreparedWeights prepared;
    private StepWeights fused;
    private MemorySegment w, w16, h, pre, gates, gh, bias, c, hOut;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split(":"), d = p[1].split("x");
        G = switch (p[0]) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
        m = Integer.parseInt(d[0]);
        H = Integer.parseInt(d[1]);
        k = KernelAccess.of(BenchSupport.backend(variant.equals("openblas") ? "openblas" : "simd", 1));
        arena = Arena.ofShared();
        float scale = (float) (1 / Math.sqrt(H));
        w = BenchSupport.random(arena, (long) G * H * H, 1, scale);
        h = BenchSupport.random(arena, (long) m * H, 2, 1f);
        pre = arena.allocate((long) m * G * H * Float.BYTES, 64); // zero: the step adds the product
        gates = arena.allocate(pre.byteSize(), 64);
        gh = arena.allocate(pre.byteSize(), 64);
        bias = arena.allocate((long) G * H * Float.BYTES, 64);
        c = arena.allocate((long) m * H * Float.BYTES, 64);
        hOut = arena.allocate((long) m * H * Float.BYTES, 64);
        if (variant.equals("prepared")) prepared = k.prepare(w, 0, H, G * H, H);
        if (variant.equals("bf16")) w16 = dev.panamarnn.kernel.Bf16Layout.pack(arena, w, H);
        if (variant.equals("fused")) {
            Kernels on = k.withFusedSteps(true);
            if (!on.hasFusedSteps()) throw new IllegalStateException("no fused step here (the Vector API is needed)");
            k = on;
            fused = k.prepareStep(G, Activation.TANH, w, 0, H, new int[] {0, H}, H);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment step() {
        if (fused != null) {
            k.fusedStep(m, fused, 0, 1, h, 0, H, pre, 0, G * H, G == 3 ? bias : null, G == 4 ? c : null, 0, H, hOut, 0, H);
            return hOut;
        }
        MemorySegment acc = G == 3 ? gh : gates;
        if (prepared != null) k.gemmPrepared(m, prepared, h, 0, H, 0f, acc, 0, G * H);
        else if (w16 != null) k.sgemmBf16(m, G * H, H, 1f, h, 0, H, w16, 0, H, 0f, acc, 0, G * H);
        else k.sgemm(false, true, m, G * H, H, 1f, h, 0, H, w, 0, H, 0f, acc, 0, G * H);
        switch (G) {
            case 4 -> k.lstmCell(m, H, gates, 0, G * H, c, 0, H, hOut, 0, H);
            case 3 -> k.gruCell(m, H, pre, 0, G * H, gh, 0, G * H, h, 0, H, hOut, 0, H);
            default -> k.rnnCell(m, H, Activation.TANH, gates, 0, H, hOut, 0, H);
        }
        return hOut;
    }
}
