package dev.panamarnn.bench;

import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LT;

import dev.panamarnn.Backend;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * tanh and sigmoid over n contiguous floats: the scalar {@code Math} loops (the baseline), the Vector
 * API's own {@code lanewise(TANH)} / {@code lanewise(EXP)}, the candidate fast forms written out here
 * (a [9/6] rational tanh, sigmoid as {@code 0.5 + 0.5·tanh(x/2)}), and the forms the simd backend
 * chose ({@code simdTanh}: [13/6] rational; {@code simdSigmoid}: 1/(1+e^-x) with a Cephes-style exp),
 * called through its kernels. Report ns/element = score / n. Inputs uniform in [-12, 12), seeded. The
 * candidate loops have no tail: n must be a multiple of the vector length (set-up checks every output).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ActivationBenchmark {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    @Param({"4096"})
    public int n;

    private Arena arena;
    private Kernels simd;
    private MemorySegment x, y;

    @Setup(Level.Trial)
    public void setUp() {
        simd = KernelAccess.of(Backend.get("simd"));
        arena = Arena.ofShared();
        x = BenchSupport.random(arena, n, 11, 12f);
        y = arena.allocate((long) n * Float.BYTES, 64);
        // Checked once: every variant within 1e-6 of the double-precision reference.
        check("tanhRational96", () -> tanhRational96(), true);
        check("sigmoidViaTanh", () -> sigmoidViaTanh(), false);
        check("vectorTanhLanewise", () -> vectorTanhLanewise(), true);
        check("vectorSigmoidLanewiseExp", () -> vectorSigmoidLanewiseExp(), false);
        check("simdTanh", () -> simdTanh(), true);
        check("simdSigmoid", () -> simdSigmoid(), false);
    }

    private void check(String name, Runnable variant, boolean tanh) {
        variant.run();
        for (int i = 0; i < n; i++) {
            double v = x.getAtIndex(F, i), ref = tanh ? Math.tanh(v) : 1 / (1 + Math.exp(-v));
            if (Math.abs(y.getAtIndex(F, i) - ref) > 1e-6) throw new IllegalStateException(name + " wrong at x = " + v);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    // ---- baselines ------------------------------------------------------------------------------

    @Benchmark
    public MemorySegment scalarTanh() {
        for (int i = 0; i < n; i++) y.setAtIndex(F, i, (float) Math.tanh(x.getAtIndex(F, i)));
        return y;
    }

    @Benchmark
    public MemorySegment scalarSigmoid() {
        for (int i = 0; i < n; i++) y.setAtIndex(F, i, (float) (1 / (1 + Math.exp(-x.getAtIndex(F, i)))));
        return y;
    }

    @Benchmark
    public MemorySegment vectorTanhLanewise() {
        int i = 0;
        for (; i < S.loopBound(n); i += S.length()) load(i).lanewise(VectorOperators.TANH).intoMemorySegment(y, i * 4L, NO);
        for (; i < n; i++) y.setAtIndex(F, i, (float) Math.tanh(x.getAtIndex(F, i)));
        return y;
    }

    @Benchmark
    public MemorySegment vectorSigmoidLanewiseExp() {
        int i = 0;
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (; i < S.loopBound(n); i += S.length()) {
            one.div(load(i).neg().lanewise(VectorOperators.EXP).add(one)).intoMemorySegment(y, i * 4L, NO);
        }
        for (; i < n; i++) y.setAtIndex(F, i, (float) (1 / (1 + Math.exp(-x.getAtIndex(F, i)))));
        return y;
    }

    // ---- candidates not chosen --------------------------------------------------------------------

    @Benchmark
    public MemorySegment tanhRational96() {
        for (int i = 0; i < S.loopBound(n); i += S.length()) rational96(load(i)).intoMemorySegment(y, i * 4L, NO);
        return y;
    }

    @Benchmark
    public MemorySegment sigmoidViaTanh() {
        for (int i = 0; i < S.loopBound(n); i += S.length()) {
            rational96(load(i).mul(0.5f)).fma(0.5f, 0.5f).intoMemorySegment(y, i * 4L, NO);
        }
        return y;
    }

    // ---- what the simd backend uses ---------------------------------------------------------------

    @Benchmark
    public MemorySegment simdTanh() {
        simd.tanh(n, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment simdSigmoid() {
        simd.sigmoid(n, x, 0, y, 0);
        return y;
    }

    private FloatVector load(int i) {
        return FloatVector.fromMemorySegment(S, x, i * 4L, NO);
    }

    /**
     * XNNPACK's [9/6] rational tanh (f32-vtanh rational-9-6), re-clamped at 7.646466, where with FMA the
     * quotient first rounds to 1. Cheaper than [13/6] by three FMAs; max abs error about 4.6e-7.
     */
    private static FloatVector rational96(FloatVector x) {
        FloatVector hi = FloatVector.broadcast(S, 7.646466f), lo = FloatVector.broadcast(S, -7.646466f);
        x = x.blend(hi, x.compare(GT, hi)).blend(lo, x.compare(LT, lo));
        FloatVector x2 = x.mul(x);
        FloatVector p = x2.fma(5.535878699892e-11f, -6.458659385089e-08f).fma(x2, bc(-2.432360815874e-05f))
                .fma(x2, bc(-1.146968104877e-03f)).fma(x2, bc(-9.022999554873e-03f)).mul(x);
        FloatVector q = x2.fma(-1.774490101525e-06f, -2.061512641376e-04f).fma(x2, bc(-4.154618829489e-03f))
                .fma(x2, bc(-9.023001417518e-03f));
        return p.div(q);
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(S, v);
    }
}
