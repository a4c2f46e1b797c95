package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.openblas.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What one FFM down-call costs: an empty-ish OpenBLAS query, and a 4×4×4 GEMM through OpenBLAS beside
 * the same GEMM on the Vector API (no native call). Single-threaded OpenBLAS.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FfmOverheadBenchmark {
    private Arena arena;
    private Backend openblas, simd;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        openblas = BenchSupport.backend("openblas", 1);
        simd = Backend.get("simd");
        arena = Arena.ofShared();
        a = BenchSupport.random(arena, 16, 1, 1f);
        b = BenchSupport.random(arena, 16, 2, 1f);
        c = arena.allocate(16 * Float.BYTES, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int downcallGetNumThreads() {
        return OpenBlas.threads();
    }

    @Benchmark
    public MemorySegment sgemm4x4x4OpenBlas() {
        KernelAccess.of(openblas).sgemm(false, true, 4, 4, 4, 1f, a, 0, 4, b, 0, 4, 0f, c, 0, 4);
        return c;
    }

    @Benchmark
    public MemorySegment sgemm4x4x4Simd() {
        KernelAccess.of(simd).sgemm(false, true, 4, 4, 4, 1f, a, 0, 4, b, 0, 4, 0f, c, 0, 4);
        return c;
    }
}
