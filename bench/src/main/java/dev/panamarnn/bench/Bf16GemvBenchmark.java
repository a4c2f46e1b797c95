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
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The batch-1 step product {@code y = W·h} ({@code 1 × N × K}, W {@code [N × K]}) with W in float32
 * ({@code sgemm}) or bfloat16 ({@code sgemmBf16}), on the simd backend, side by side: what bfloat16
 * weights buy where a step is bound by reading W.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class Bf16GemvBenchmark {
    @Param({"1x1024x256", "1x2048x512", "8x2048x512"})
    public String shape;

    @Param({"f32", "bf16"})
    public String weights;

    private Arena arena;
    private Kernels k;
    private int m, n, kk;
    private MemorySegment x, w, w16, y;

    @Setup(Level.Trial)
    public void setUp() {
        String[] d = shape.split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        kk = Integer.parseInt(d[2]);
        k = KernelAccess.of(Backend.get("simd"));
        arena = Arena.ofShared();
        x = BenchSupport.random(arena, (long) m * kk, 1, 1f);
        w = BenchSupport.random(arena, (long) n * kk, 2, 0.05f);
        y = BenchSupport.random(arena, (long) m * n, 3, 1f);
        w16 = dev.panamarnn.kernel.Bf16Layout.pack(arena, w, kk);
        BenchSupport.printPlatformOnce();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment product() {
        if (weights.equals("bf16")) k.sgemmBf16(m, n, kk, 1f, x, 0, kk, w16, 0, kk, 0f, y, 0, n);
        else k.sgemm(false, true, m, n, kk, 1f, x, 0, kk, w, 0, kk, 0f, y, 0, n);
        return y;
    }
}
