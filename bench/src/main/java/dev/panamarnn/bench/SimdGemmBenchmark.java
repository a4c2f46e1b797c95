package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Vector API GEMM and GEMV beside OpenBLAS (single thread) in the same run, so each figure has its
 * ratio. Shapes are {@code MxNxK:op}: {@code NN} is C = A·B, {@code NT} is C = A·Bᵀ with B stored
 * {@code [N × K]} (the per-step shape B × G·H × H with op(B) = W_hhᵀ); {@code 1xNxK:NT} is the batch-1
 * step, which the simd backend runs as a GEMV over W's rows; {@code gemvN}/{@code gemvT} call sgemv with
 * A {@code [M × K]}. GFLOP/s = 2·M·N·K / time. The scalar backend is left out (2048³ takes minutes; it is
 * the correctness reference, checked once in set-up against the other backend).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SimdGemmBenchmark {
    @Param({"simd", "openblas"})
    public String backend;

    @Param({
        "2048x2048x2048:NN",
        "1x1024x256:NT",     // batch-1 LSTM step (GEMV path)
        "64x2048x512:NT",
        "256x4096x1024:NT",
        "32x768x256:NT",
        "32x512x512:NT",
        "1024x1x256:gemvN",  // y = W·x, W [1024 × 256]
        "256x1x1024:gemvT"   // y = Wᵀ·x, W [256 × 1024]
    })
    public String shape;

    private Arena arena;
    private Kernels k;
    private int m, n, kk;
    private String op;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        k = KernelAccess.of(BenchSupport.backend(backend, 1));
        String[] parts = shape.split(":");
        String[] d = parts[0].split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        kk = Integer.parseInt(d[2]);
        op = parts[1];
        arena = Arena.ofShared();
        a = BenchSupport.random(arena, (long) m * kk, 1, 1f);
        b = BenchSupport.random(arena, (long) kk * n, 2, 1f);
        c = arena.allocate((long) Math.max(m, kk) * n * Float.BYTES, 64);
        String otherName = backend.equals("simd") ? "openblas" : "simd";
        Kernels other = KernelAccess.of(Backend.get(otherName));
        MemorySegment keep = c;
        c = arena.allocate(keep.byteSize(), 64);
        run(other);
        MemorySegment ref = c;
        c = keep;
        run(k);
        long outLen = op.equals("gemvT") ? kk : (long) m * n;
        double diff = BenchSupport.maxAbsDiff(ref, c, outLen);
        if (diff > 1e-3 * Math.sqrt(kk)) throw new IllegalStateException(backend + " " + shape + " differs from " + otherName + " by " + diff);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    private void run(Kernels kernels) {
        switch (op) {
            case "NN" -> kernels.sgemm(false, false, m, n, kk, 1f, a, 0, kk, b, 0, n, 0f, c, 0, n);
            case "NT" -> kernels.sgemm(false, true, m, n, kk, 1f, a, 0, kk, b, 0, kk, 0f, c, 0, n);
            case "gemvN" -> kernels.sgemv(false, m, kk, 1f, a, 0, kk, b, 0, 0f, c, 0);
            case "gemvT" -> kernels.sgemv(true, m, kk, 1f, a, 0, kk, b, 0, 0f, c, 0);
            default -> throw new IllegalArgumentException(op);
        }
    }

    @Benchmark
    public MemorySegment gemm() {
        run(k);
        return c;
    }
}
