package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.Activation;
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
 * The fused gate kernels per backend, scalar baseline beside the Vector API, on a batch × hidden block:
 * one LSTM, GRU and Elman step's gate math (the GEMMs are in {@link GemmBenchmark}). The state is reset
 * from a copy before every call is not needed: the kernels are stable under repetition (c stays bounded).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class CellBenchmark {
    @Param({"scalar", "simd"})
    public String backend;

    @Param({"1x256", "64x512"})
    public String cell;

    private Arena arena;
    private Kernels k;
    private int batch, hidden;
    private MemorySegment gates, gh, c, h;

    @Setup(Level.Trial)
    public void setUp() {
        k = KernelAccess.of(BenchSupport.backend(backend, 1));
        String[] d = cell.split("x");
        batch = Integer.parseInt(d[0]);
        hidden = Integer.parseInt(d[1]);
        arena = Arena.ofShared();
        gates = BenchSupport.random(arena, (long) batch * 4 * hidden, 3, 4f);
        gh = BenchSupport.random(arena, (long) batch * 3 * hidden, 4, 4f);
        c = BenchSupport.random(arena, (long) batch * hidden, 5, 1f);
        h = BenchSupport.random(arena, (long) batch * hidden, 6, 1f);
        // Checked once against the reference.
        MemorySegment c2 = arena.allocate(c.byteSize(), 64), h2 = arena.allocate(h.byteSize(), 64);
        c2.copyFrom(c);
        MemorySegment cRef = arena.allocate(c.byteSize(), 64), hRef = arena.allocate(h.byteSize(), 64);
        cRef.copyFrom(c);
        KernelAccess.of(Backend.get("scalar")).lstmCell(batch, hidden, gates, 0, 4 * hidden, cRef, 0, hidden, hRef, 0, hidden);
        k.lstmCell(batch, hidden, gates, 0, 4 * hidden, c2, 0, hidden, h2, 0, hidden);
        double diff = Math.max(BenchSupport.maxAbsDiff(cRef, c2, (long) batch * hidden), BenchSupport.maxAbsDiff(hRef, h2, (long) batch * hidden));
        if (diff > 1e-5) throw new IllegalStateException(backend + " lstmCell differs from scalar by " + diff);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment lstm() {
        k.lstmCell(batch, hidden, gates, 0, 4 * hidden, c, 0, hidden, h, 0, hidden);
        return h;
    }

    @Benchmark
    public MemorySegment gru() {
        k.gruCell(batch, hidden, gates, 0, 4 * hidden, gh, 0, 3 * hidden, h, 0, hidden, h, 0, hidden);
        return h;
    }

    @Benchmark
    public MemorySegment rnnTanh() {
        k.rnnCell(batch, hidden, Activation.TANH, gates, 0, 4 * hidden, h, 0, hidden);
        return h;
    }
}
