package dev.panamarnn.kernel.simd;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.kernel.TrainMath;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link SimdTrainMath} against the scalar {@link TrainMath}, method by method: random realistic inputs
 * (sigmoid gates in [0, 1), tanh gates and tanh outputs in (-1, 1), states and pre-activations in (-2, 2),
 * upstream gradients in (-1, 1)), every row length from 0 to {@code max(3·lanes + 3, 51)} (so every tail
 * length at this width and at 512 bits) and odd offsets (1, 3, 5 or 7 floats, unaligned).
 *
 * <p>Tolerance: {@value #ULPS} ulps of the reference's value, or {@link #ABS} = 2^-21 (4 ulps of 1.0)
 * absolute. The implementation fuses multiply-adds ({@code fma}) where the reference rounds twice; where a
 * sum cancels, the results differ by about an ulp of the largest term (inputs here are at most 2 in
 * magnitude), which is what the absolute bound allows for. Every float outside the rows a method writes
 * (NaN sentinels around each row, and the inputs) must come out bit for bit the same in both, so an
 * overrun, a missed element or a write to an input fails too.
 *
 * <p>Each method prints its largest differences and a hash of the vector implementation's outputs: the
 * inputs do not depend on the vector width, and the scalar tail computes the vector body's formulas, so the
 * hash is the same in every simd-widths execution (MaxVectorSize 16, 32 and the default).
 */
class TrainMathTest {
    private static final int VL = SimdMath.S.length();
    private static final int H_MAX = Math.max(3 * VL + 3, 51);
    private static final int ULPS = 4;
    private static final float ABS = 0x1p-21f;
    private static final int PAD = 5;
    private static final int WARM = 20_000;
    /** Time for the JIT: C2 compiles in the background, slowly on a loaded machine. */
    private static final long WARM_UP_NANOS = 60_000_000_000L;

    private static final TrainMath REF = TrainMath.forBackend("scalar");
    private static final TrainMath SIMD = new SimdTrainMath();

    /** One value of an input block. */
    private interface Gen {
        float next(Random r);
    }

    private static final Gen OUT = null;                                          // written by the method
    private static final Gen SIG = r -> r.nextFloat();                            // σ(x) ∈ [0, 1)
    private static final Gen TANH = r -> 2 * r.nextFloat() - 1;                   // tanh(x) ∈ (-1, 1)
    private static final Gen WIDE = r -> 4 * r.nextFloat() - 2;                   // states, pre-activations
    private static final Gen GRAD = r -> 2 * r.nextFloat() - 1;                   // upstream gradients
    private static final Gen RELU = r -> Math.max(0f, 3 * r.nextFloat() - 1);     // relu(x): a third exactly 0

    /** An argument: one segment of {@code blocks.length} blocks of {@code h} floats. */
    private static Gen[] arg(Gen... blocks) {
        return blocks;
    }

    /** The call under test: segments, their offsets (floats), the row length. */
    private interface Call {
        void run(TrainMath m, MemorySegment[] s, long[] o, int h);
    }

    /** A method under test: its arguments' blocks and the call. */
    private record Case(String name, Gen[][] args, Call call) {}

    /** Compares the two implementations over every row length; returns a hash of the vector one's outputs. */
    private static long check(Case c) {
        String name = c.name();
        Gen[][] args = c.args();
        Call call = c.call();
        Random rnd = new Random(name.hashCode());
        double maxAbs = 0, maxUlps = 0;
        long hash = 17;
        for (int h = 0; h <= H_MAX; h++) {
            for (int rep = 0; rep < 3; rep++) {
                try (Arena arena = Arena.ofConfined()) {
                    int k = args.length;
                    MemorySegment[] ref = new MemorySegment[k], simd = new MemorySegment[k];
                    long[] off = new long[k];
                    for (int a = 0; a < k; a++) {
                        off[a] = 1 + 2 * rnd.nextInt(4);
                        long len = off[a] + (long) args[a].length * h + PAD;
                        ref[a] = arena.allocate(len * Float.BYTES, 64);
                        ref[a].fill((byte) 0xFF); // NaN everywhere, the sentinel
                        for (int blk = 0; blk < args[a].length; blk++) {
                            Gen g = args[a][blk];
                            if (g == null) continue;
                            for (int j = 0; j < h; j++) ref[a].setAtIndex(JAVA_FLOAT, off[a] + (long) blk * h + j, g.next(rnd));
                        }
                        simd[a] = arena.allocate(len * Float.BYTES, 64).copyFrom(ref[a]);
                    }
                    call.run(REF, ref, off, h);
                    call.run(SIMD, simd, off, h);
                    for (int a = 0; a < k; a++) {
                        for (long e = 0; e < ref[a].byteSize() / Float.BYTES; e++) {
                            float want = ref[a].getAtIndex(JAVA_FLOAT, e), got = simd[a].getAtIndex(JAVA_FLOAT, e);
                            hash = 31 * hash + Float.floatToRawIntBits(got);
                            if (Float.floatToRawIntBits(want) == Float.floatToRawIntBits(got)) continue;
                            double diff = Math.abs((double) got - want), ulps = diff / Math.ulp(want);
                            if (!(diff <= ABS || ulps <= ULPS)) {
                                fail(String.format("%s: h=%d, lanes=%d, argument %d, float %d (offset %d): simd %s, scalar %s (%.1f ulps)",
                                        name, h, VL, a, e, off[a], got, want, ulps));
                            }
                            maxAbs = Math.max(maxAbs, diff);
                            maxUlps = Math.max(maxUlps, ulps);
                        }
                    }
                }
            }
        }
        System.out.printf("TrainMathTest %-16s lanes %2d: max diff %.3e abs, %.1f ulps; simd output hash %016x%n",
                name, VL, maxAbs, maxUlps, hash);
        return hash;
    }

    @Test
    void backendSelection() {
        assertEquals("scalar", TrainMath.forBackend("scalar").name());
        assertEquals("simd", TrainMath.forBackend("simd").name());
        assertInstanceOf(SimdTrainMath.class, TrainMath.forBackend("simd"));
        assertEquals("simd", SIMD.name());
    }

    private static final List<Case> CASES = List.of(
            new Case("add", new Gen[][] {arg(WIDE), arg(WIDE), arg(OUT)},
                    (m, s, o, h) -> m.add(h, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("addInPlace", new Gen[][] {arg(WIDE), arg(WIDE)},
                    (m, s, o, h) -> m.add(h, s[0], o[0], s[1], o[1], s[0], o[0])),
            new Case("accumulate", new Gen[][] {arg(GRAD), arg(GRAD)},
                    (m, s, o, h) -> m.accumulate(h, s[0], o[0], s[1], o[1])),
            new Case("lstmState", new Gen[][] {arg(SIG, SIG, TANH, SIG), arg(WIDE), arg(OUT)},
                    (m, s, o, h) -> m.lstmState(h, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("lstmOutput", new Gen[][] {arg(SIG, SIG, TANH, SIG), arg(TANH), arg(OUT)},
                    (m, s, o, h) -> m.lstmOutput(h, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("gruCandidate", new Gen[][] {arg(SIG, SIG, OUT), arg(WIDE, WIDE, WIDE), arg(WIDE)},
                    (m, s, o, h) -> m.gruCandidate(h, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("gruState", new Gen[][] {arg(SIG, SIG, TANH), arg(TANH), arg(OUT)},
                    (m, s, o, h) -> m.gruState(h, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("lstmBackward",
                    new Gen[][] {arg(SIG, SIG, TANH, SIG), arg(TANH), arg(WIDE), arg(GRAD), arg(GRAD), arg(OUT, OUT, OUT, OUT)},
                    (m, s, o, h) -> m.lstmBackward(h, s[0], o[0], s[1], o[1], s[2], o[2], s[3], o[3], s[4], o[4], s[5], o[5])),
            new Case("gruBackward",
                    new Gen[][] {arg(SIG, SIG, TANH), arg(WIDE), arg(TANH), arg(GRAD), arg(OUT, OUT, OUT), arg(OUT, OUT, OUT), arg(OUT)},
                    (m, s, o, h) -> m.gruBackward(h, s[0], o[0], s[1], o[1], s[2], o[2], s[3], o[3], s[4], o[4], s[5], o[5], s[6], o[6])),
            new Case("rnnBackwardTanh", new Gen[][] {arg(TANH), arg(GRAD), arg(OUT)},
                    (m, s, o, h) -> m.rnnBackward(h, false, s[0], o[0], s[1], o[1], s[2], o[2])),
            new Case("rnnBackwardRelu", new Gen[][] {arg(RELU), arg(GRAD), arg(OUT)},
                    (m, s, o, h) -> m.rnnBackward(h, true, s[0], o[0], s[1], o[1], s[2], o[2])));

    private static Case named(String name) {
        return CASES.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void add() {
        check(named("add"));
    }

    @Test
    void addInPlace() {
        check(named("addInPlace"));
    }

    @Test
    void accumulate() {
        check(named("accumulate"));
    }

    @Test
    void lstmState() {
        check(named("lstmState"));
    }

    @Test
    void lstmOutput() {
        check(named("lstmOutput"));
    }

    @Test
    void gruCandidate() {
        check(named("gruCandidate"));
    }

    @Test
    void gruState() {
        check(named("gruState"));
    }

    @Test
    void lstmBackward() {
        check(named("lstmBackward"));
    }

    @Test
    void gruBackward() {
        check(named("gruBackward"));
    }

    @Test
    void rnnBackwardTanh() {
        check(named("rnnBackwardTanh"));
    }

    @Test
    void rnnBackwardRelu() {
        check(named("rnnBackwardRelu"));
    }

    /**
     * The same comparison after {@value #WARM} calls of each method over every row length (C2-compiled,
     * the Vector API intrinsified): within the tolerance, and the same bits as before the warm-up (which,
     * unless an earlier test class warmed these methods, ran interpreted or in C1 code).
     */
    @Test
    void warmCodeGivesTheSameBitsAsCold() {
        for (Case c : CASES) {
            long cold = check(c);
            warm(c);
            assertEquals(cold, check(c), c.name() + ": the C2-compiled code gave other bits");
        }
    }

    /**
     * Warm calls allocate no heap (as {@code HeapPerCallTest}, on this thread's allocated-byte counter): a
     * vector that C2 fails to keep in registers is boxed, 64+ bytes each. Each round is mostly whole-vector
     * rows with one row that has a tail, the pattern that once left a masked tail's vector site cold and
     * boxing; rounds run until one allocates nothing, failing only if none does in {@link #WARM_UP_NANOS}.
     */
    @Test
    void warmCallsAllocateNothing() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Case c : CASES) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment[] s = segments(arena, c);
                long[] off = offsets(s.length);
                long last = -1, start = System.nanoTime();
                while (System.nanoTime() - start < WARM_UP_NANOS) {
                    long b0 = mx.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < 20; i++) c.call().run(SIMD, s, off, 2 * VL);
                    c.call().run(SIMD, s, off, 2 * VL + 3);
                    last = mx.getCurrentThreadAllocatedBytes() - b0;
                    if (last == 0) break;
                }
                assertEquals(0, last, c.name() + ": every round of 21 warm calls for " + WARM_UP_NANOS / 1_000_000_000
                        + " s allocated heap; the last " + last + " bytes");
            }
        }
    }

    /** Each argument's segment with room for {@link #H_MAX}, filled with values in (-1, 1). */
    private static MemorySegment[] segments(Arena arena, Case c) {
        Random rnd = new Random(1);
        long[] off = offsets(c.args().length);
        MemorySegment[] s = new MemorySegment[off.length];
        for (int a = 0; a < s.length; a++) {
            s[a] = arena.allocate((off[a] + (long) c.args()[a].length * H_MAX) * Float.BYTES, 64);
            for (long e = 0; e < s[a].byteSize() / Float.BYTES; e++) s[a].setAtIndex(JAVA_FLOAT, e, TANH.next(rnd));
        }
        return s;
    }

    /** Odd offsets, 1 to 7 floats. */
    private static long[] offsets(int n) {
        long[] off = new long[n];
        for (int a = 0; a < n; a++) off[a] = 1 + 2 * a % 8;
        return off;
    }

    private static void warm(Case c) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] s = segments(arena, c);
            long[] off = offsets(s.length);
            for (int i = 0; i < WARM; i++) c.call().run(SIMD, s, off, 1 + i % H_MAX);
        }
    }
}
