package dev.panamarnn.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.kernel.simd.SimdKernelProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The Vector API's fused step ({@link FusedSteps}) against the same step unfused on the same backend (the
 * prepared product onto the pre-activations, then the gate kernel): the same bits, for every cell, row
 * counts covering each row group (6, 4, 2, 1) and their remainders, partitions with partial chunks,
 * a subrange of partitions, h read and written in place, and padded leading dimensions; and against the
 * scalar reference within the cells' tolerance (4e-6·(1+|ref|) plus the product's, as in
 * {@link KernelConformance}). Columns outside the partitions run and the rows' padding stay untouched.
 */
class FusedStepsTest {
    private static final float SENTINEL = 12345.5f;

    /** The step shapes the measured choice is kept for: the buckets of rows, and one row over a small W_hh. */
    @org.junit.jupiter.api.Test
    void stepShapes() {
        assertEquals(Kernels.BUCKETS, Kernels.stepShape(1, Kernels.SMALL_STEP_FLOATS));
        assertEquals(0, Kernels.stepShape(1, Kernels.SMALL_STEP_FLOATS + 1));
        assertEquals(1, Kernels.stepShape(2, 1));
        assertEquals(1, Kernels.stepShape(32, 1L << 30));
        assertEquals(2, Kernels.stepShape(33, 1));
        Kernels simd = Kernels.of(new SimdKernelProvider());
        boolean[] onlySmall = new boolean[Kernels.STEP_SHAPES];
        onlySmall[Kernels.BUCKETS] = true;
        Kernels k = simd.withFusedSteps(onlySmall);
        assumeTrue(k.hasFusedSteps(), "simd not available");
        assertTrue(k.prefersFusedSteps(1, 4 * 256 * 256));
        assertTrue(!k.prefersFusedSteps(1, 4 * 512 * 512) && !k.prefersFusedSteps(8, 4 * 256 * 256));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> simd.withFusedSteps(new boolean[Kernels.BUCKETS]));
    }

    @TestFactory
    Stream<DynamicTest> fusedEqualsUnfused() {
        KernelProvider simd = new SimdKernelProvider();
        assumeTrue(simd.availability().available(), "simd not available");
        Kernels k = Kernels.of(simd), ref = Kernels.of(new ScalarKernelProvider());
        List<DynamicTest> tests = new ArrayList<>();
        int idx = 0;
        for (int gates : new int[] {4, 3, 1}) {
            for (int hidden : new int[] {1, 7, 37, 64, 100, 300}) {
                for (int m : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 13}) {
                    long seed = 500 + idx++;
                    Activation act = idx % 2 == 0 ? Activation.TANH : Activation.RELU;
                    boolean inPlace = idx % 3 == 0, twoParts = hidden > 1 && idx % 2 == 1;
                    int[] from = twoParts ? new int[] {0, hidden / 2 + hidden % 3 / 2, hidden} : new int[] {0, hidden};
                    int q0 = twoParts && idx % 4 == 3 ? 1 : 0;
                    String name = String.format("gates=%d hidden=%d m=%d parts=%d q0=%d inPlace=%s seed=%d", gates, hidden, m, from.length - 1, q0, inPlace, seed);
                    tests.add(DynamicTest.dynamicTest(name, () -> check(k, ref, gates, act, from, q0, m, inPlace, seed)));
                }
            }
        }
        // A reduction long enough that a group holds fewer chunks than GROUP_UNITS asks (its panels capped in bytes).
        for (int gates : new int[] {4, 3, 1}) {
            for (int m : new int[] {1, 7}) {
                long seed = 900 + idx++;
                int[] from = {0, 700, 1100};
                tests.add(DynamicTest.dynamicTest(String.format("gates=%d hidden=1100 m=%d parts=2 seed=%d", gates, m, seed),
                        () -> check(k, ref, gates, Activation.TANH, from, 0, m, m == 7, seed)));
            }
        }
        return tests.stream();
    }

    private static void check(Kernels k, Kernels ref, int G, Activation act, int[] from, int q0, int m, boolean inPlace, long seed) {
        Random rnd = new Random(seed);
        int H = from[from.length - 1], q1 = from.length - 1, pad = (int) (seed % 3);
        int ldh = H + pad, ldp = G * H + pad;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = random(arena, (long) G * H * H, rnd, 0.5f);
            MemorySegment bias = random(arena, (long) G * H, rnd, 1f);
            if (G == 3) for (int q = 0; q < q1; q++) { // GRU: only the n gate of b_hh is added to the product
                int a = from[q], hq = from[q + 1] - a;
                for (int g = 0; g < 2; g++) for (int j = 0; j < hq; j++) bias.setAtIndex(JAVA_FLOAT, (long) G * a + (long) g * hq + j, 0f);
            }
            MemorySegment h = random(arena, (long) m * ldh, rnd, 1f), pre = random(arena, (long) m * ldp, rnd, 2f);
            MemorySegment c = random(arena, (long) m * ldh, rnd, 1f);

            // Fused, on copies.
            MemorySegment fh = copy(arena, h), fc = copy(arena, c), fOut = inPlace ? fh : sentinels(arena, (long) m * ldh);
            StepWeights sw = k.prepareStep(G, act, w, 0, H, from, H);
            k.fusedStep(m, sw, q0, q1, fh, 0, ldh, pre, 0, ldp, G == 3 ? bias : null, G == 4 ? fc : null, 0, ldh, fOut, 0, ldh);

            for (Kernels kk : new Kernels[] {k, ref}) {
                MemorySegment uh = copy(arena, h), uc = copy(arena, c), uOut = inPlace ? uh : sentinels(arena, (long) m * ldh);
                unfused(kk, G, act, w, from, q0, q1, m, uh, ldh, pre, ldp, bias, uc, uOut, arena);
                boolean same = kk == k;
                for (int r = 0; r < m; r++) {
                    for (int j = 0; j < ldh; j++) {
                        long i = (long) r * ldh + j;
                        boolean inside = j >= from[q0] && j < H;
                        float e = uOut.getAtIndex(JAVA_FLOAT, i), a = fOut.getAtIndex(JAVA_FLOAT, i);
                        float ec = uc.getAtIndex(JAVA_FLOAT, i), ac = fc.getAtIndex(JAVA_FLOAT, i);
                        String at = " at row " + r + " column " + j + " (seed " + seed + ")";
                        if (same || !inside) {
                            assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(a), "h" + at + ": " + e + " against " + a);
                            assertEquals(Float.floatToRawIntBits(ec), Float.floatToRawIntBits(ac), "c" + at);
                        } else {
                            double tol = 4e-6 * (1 + Math.abs(e)) + 1e-5 * (1 + Math.sqrt(H));
                            assertTrue(Math.abs(e - a) <= tol, "h" + at + ": scalar " + e + " fused " + a);
                            assertTrue(Math.abs(ec - ac) <= tol * (1 + Math.abs(ec)), "c" + at + ": scalar " + ec + " fused " + ac);
                        }
                    }
                }
            }
        }
    }

    /** The step the engine ran before the fused one: per partition, the prepared product onto the pre-activations (or b_hn), then the cell. */
    private static void unfused(Kernels k, int G, Activation act, MemorySegment w, int[] from, int q0, int q1, int m,
                                MemorySegment h, int ldh, MemorySegment pre, int ldp, MemorySegment bias, MemorySegment c,
                                MemorySegment hOut, Arena arena) {
        int H = from[from.length - 1];
        MemorySegment gates = copy(arena, pre), gh = arena.allocate((long) m * ldp * Float.BYTES, 64);
        for (int r = 0; r < m; r++) MemorySegment.copy(bias, 0, gh, (long) r * ldp * Float.BYTES, (long) G * H * Float.BYTES);
        MemorySegment acc = G == 3 ? gh : gates;
        for (int q = q0; q < q1; q++) {
            int a = from[q], hq = from[q + 1] - a;
            PreparedWeights pw = k.prepare(w, (long) G * a * H, H, G * hq, H);
            k.gemmPrepared(m, pw, h, 0, ldh, 1f, acc, (long) G * a, ldp);
        }
        for (int q = q0; q < q1; q++) {
            int a = from[q], hq = from[q + 1] - a;
            long g = (long) G * a;
            switch (G) {
                case 4 -> k.lstmCell(m, hq, gates, g, ldp, c, a, ldh, hOut, a, ldh);
                case 3 -> k.gruCell(m, hq, gates, g, ldp, gh, g, ldp, h, a, ldh, hOut, a, ldh);
                default -> k.rnnCell(m, hq, act, gates, a, ldp, hOut, a, ldh);
            }
        }
    }

    private static MemorySegment random(Arena arena, long n, Random rnd, float scale) {
        MemorySegment s = arena.allocate(Math.max(1, n) * Float.BYTES, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(JAVA_FLOAT, i, (float) ((rnd.nextDouble() * 2 - 1) * scale));
        return s;
    }

    private static MemorySegment sentinels(Arena arena, long n) {
        MemorySegment s = arena.allocate(Math.max(1, n) * Float.BYTES, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(JAVA_FLOAT, i, SENTINEL);
        return s;
    }

    private static MemorySegment copy(Arena arena, MemorySegment s) {
        MemorySegment c = arena.allocate(s.byteSize(), 64);
        c.copyFrom(s);
        return c;
    }
}
