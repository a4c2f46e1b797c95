package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.PreparedWeights;
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
 * GEMM per backend on the standard configurations' per-step shapes ({@code B × G·H × H}, C = h·W_hhᵀ with
 * W_hh stored {@code [G·H × H]}) and the 2048³ ceiling (C = A·B). {@code threads} sets OpenBLAS's thread
 * count; the simd backend is single-threaded. Shapes are {@code MxNxK:layout}; the comment names the config.
 * Layout {@code PREP} is {@code C = A·Bᵀ} through {@code gemmPrepared} over B prepared once (the batching executor's
 * step) instead of sgemm.
 * GFLOP/s = 2·M·N·K / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBenchmark {
    @Param({"openblas", "simd"})
    public String backend;

    @Param({
        "1x1024x256:NT",    // L1 step: B=1, 4·256 gates, H=256
        "64x2048x512:NT",   // L2 step
        "256x4096x1024:NT", // L3 step
        "32x768x256:NT",    // G1 step: 3·256 gates
        "32x512x512:NT",    // R1 step
        "2048x2048x2048:NN" // the ceiling
    })
    public String shape;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private Backend be;
    private int m, n, k;
    private boolean transB, batch;
    private PreparedWeights prepared;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        be = BenchSupport.backend(backend, threads);
        String[] dims = shape.split(":")[0].split("x");
        m = Integer.parseInt(dims[0]);
        n = Integer.parseInt(dims[1]);
        k = Integer.parseInt(dims[2]);
        batch = shape.endsWith(":PREP");
        transB = shape.endsWith(":NT") || batch;
        arena = Arena.ofShared();
        a = BenchSupport.random(arena, (long) m * k, 1, 1f);
        b = BenchSupport.random(arena, (long) k * n, 2, 1f);
        c = arena.allocate((long) m * n * Float.BYTES, 64);
        if (batch) prepared = KernelAccess.of(be).prepare(b, 0, k, n, k);
        // Checked once against another backend (the scalar one only where it finishes in seconds).
        MemorySegment ref = arena.allocate((long) m * n * Float.BYTES, 64);
        boolean haveBlas = Backend.list().stream().anyMatch(s -> s.name().equals("openblas") && s.available());
        Backend other = Backend.get(!backend.equals("simd") ? "simd" : haveBlas ? "openblas" : "scalar");
        if (m * (long) n * k <= 300_000_000L || !other.name().equals("scalar")) {
            other.sgemm(false, transB, m, n, k, 1f, a, 0, k, b, 0, transB ? k : n, 0f, ref, 0, n);
            gemm();
            double diff = BenchSupport.maxAbsDiff(ref, c, (long) m * n);
            if (diff > 1e-3 * Math.sqrt(k)) throw new IllegalStateException(backend + " " + shape + " differs from " + other.name() + " by " + diff);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment gemm() {
        if (batch) {
            KernelAccess.of(be).gemmPrepared(m, prepared, a, 0, k, 0f, c, 0, n);
            return c;
        }
        KernelAccess.of(be).sgemm(false, transB, m, n, k, 1f, a, 0, k, b, 0, transB ? k : n, 0f, c, 0, n);
        return c;
    }
}
