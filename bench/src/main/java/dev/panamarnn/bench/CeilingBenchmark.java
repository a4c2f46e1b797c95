package dev.panamarnn.bench;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.openblas.OpenBlas;
import dev.panamarnn.openblas.generated.CBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * The hardware ceiling of the layer study: plain {@code cblas_sgemm} through our bindings (no shape
 * routing, unlike the openblas backend, which sends one-row products to {@code sgemv}), at 2048³ and at
 * each configuration's per-step shape {@code B × G·H × H} (C = h·W_hhᵀ). {@code threads} sets OpenBLAS's
 * thread count. GFLOP/s = 2·M·N·K / time. Shapes are {@code MxNxK:layout}; layout {@code GEMV} is
 * {@code cblas_sgemv} on the same data (y = W·h, W {@code [N × K]}), the batch-1 step's other BLAS route,
 * which the study's report uses for the weight-bandwidth estimate of L1.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CeilingBenchmark {
    @Param({
        "2048x2048x2048:NN", // the ceiling
        "1x1024x256:NT",     // L1 step
        "1x1024x256:GEMV",   // L1 step as cblas_sgemv
        "64x2048x512:NT",    // L2 step
        "256x4096x1024:NT",  // L3 step
        "32x768x256:NT",     // G1 step
        "32x512x512:NT"      // R1 step
    })
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private int m, n, k, ldb, transB;
    private boolean gemv;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        BenchSupport.printPlatformOnce();
        if (!OpenBlas.isAvailable()) throw new IllegalStateException("the ceiling needs OpenBLAS: " + OpenBlas.describe());
        OpenBlas.setThreads(threads);
        String[] d = shape.split(":")[0].split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        k = Integer.parseInt(d[2]);
        gemv = shape.endsWith(":GEMV");
        if (gemv && m != 1) throw new IllegalArgumentException("a GEMV shape has M = 1, got " + shape);
        boolean nt = shape.endsWith(":NT") || gemv;
        transB = nt ? CBlas.CblasTrans() : CBlas.CblasNoTrans();
        ldb = nt ? k : n;
        arena = Arena.ofShared();
        a = BenchSupport.random(arena, (long) m * k, 1, 1f);
        b = BenchSupport.random(arena, (long) k * n, 2, 1f);
        c = arena.allocate((long) m * n * Float.BYTES, 64);
        gemm();
        // Checked once: 64 seeded entries against a double-precision dot product.
        SplittableRandom r = new SplittableRandom(3);
        for (int s = 0; s < 64; s++) {
            int i = r.nextInt(m), j = r.nextInt(n);
            double want = 0;
            for (int p = 0; p < k; p++) {
                float bv = nt ? b.getAtIndex(JAVA_FLOAT, (long) j * k + p) : b.getAtIndex(JAVA_FLOAT, (long) p * n + j);
                want += (double) a.getAtIndex(JAVA_FLOAT, (long) i * k + p) * bv;
            }
            double got = c.getAtIndex(JAVA_FLOAT, (long) i * n + j);
            if (Math.abs(got - want) > 1e-3 * Math.sqrt(k)) throw new IllegalStateException("sgemm " + shape + " C[" + i + "," + j + "] = " + got + ", expected " + want);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment gemm() {
        if (gemv) {
            CBlas.cblas_sgemv(CBlas.CblasRowMajor(), CBlas.CblasNoTrans(), n, k, 1f, b, k, a, 1, 0f, c, 1);
            return c;
        }
        CBlas.cblas_sgemm(CBlas.CblasRowMajor(), CBlas.CblasNoTrans(), transB, m, n, k, 1f, a, k, b, ldb, 0f, c, n);
        return c;
    }
}
