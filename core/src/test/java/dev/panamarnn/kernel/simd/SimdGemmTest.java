package dev.panamarnn.kernel.simd;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.kernel.MatrixProducts;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The GEMM paths the generic conformance test reaches only in part: the blocked path with several m, k
 * and n blocks and edge blocks in each dimension ({@code roundUp(m, MR)·k > SMALL_A}), the short-A path
 * with k blocks, and the GEMV dispatch of m == 1 / n == 1 with strided vectors, all four transposes,
 * {@code ld > cols}, beta ≠ 0 and beta == 0 with NaN in C. Tolerance: γ_k-style, {@code 2(k+2)·u·Σ|a·b|}.
 * Seeds are printed on failure.
 */
class SimdGemmTest {
    private static final double U = 0x1p-24;
    private static final float SENTINEL = -777.25f;

    private final MatrixProducts simd = new SimdProducts();
    private final MatrixProducts reference = new ScalarKernelProvider().products();

    @TestFactory
    Stream<DynamicTest> shapes() {
        int mr = SimdMicroKernel.MR, nr = SimdMicroKernel.NR, kc = SimdGemm.KC, mc = SimdGemm.MC;
        int[][] shapes = {
                {mc + 2 * mr + 1, 2 * nr + 3, 2 * kc + 5},         // blocked: 2 m blocks, 3 k blocks, edges
                {300, SimdGemm.NC + nr + 1, 260},                  // blocked: 2 n blocks
                {33, 3 * nr - 1, 2 * kc + 1},                      // short A: k blocks, edge rows and columns
                {1, 1000, 300}, {1, 257, 7},                       // GEMV dispatch, m == 1
                {1000, 1, 300}, {9, 1, 33},                        // n == 1
                {2, 2, 1}, {5, 3, 1}                               // k == 1
        };
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 42;
        for (int[] s : shapes) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    for (float beta : new float[] {0f, 0.5f}) {
                        long sd = seed++;
                        if (s[1] > SimdGemm.NC && (ta != tb || (beta == 0f) != ta)) continue; // the slow one: 2 combos

                        String name = String.format("m=%d n=%d k=%d ta=%b tb=%b beta=%s seed=%d", s[0], s[1], s[2], ta, tb, beta, sd);
                        tests.add(DynamicTest.dynamicTest(name, () -> check(ta, tb, s[0], s[1], s[2], -1.25f, beta, sd)));
                    }
                }
            }
        }
        return tests.stream();
    }

    private void check(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, long seed) {
        Random rnd = new Random(seed);
        int pad = 1 + rnd.nextInt(5);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad + 1, ldc = n + pad;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = fill(arena, aRows, aCols, lda, rnd), b = fill(arena, bRows, bCols, ldb, rnd);
            MemorySegment c = fill(arena, m, n, ldc, rnd);
            if (beta == 0f) {
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c.setAtIndex(JAVA_FLOAT, (long) i * ldc + j, Float.NaN);
            }
            MemorySegment c0 = arena.allocate(c.byteSize()).copyFrom(c), expected = arena.allocate(c.byteSize()).copyFrom(c);
            reference.sgemm(ta, tb, m, n, k, alpha, a, 0, lda, b, 0, ldb, beta, expected, 0, ldc);
            simd.sgemm(ta, tb, m, n, k, alpha, a, 0, lda, b, 0, ldb, beta, c, 0, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldc; j++) {
                    float got = c.getAtIndex(JAVA_FLOAT, (long) i * ldc + j);
                    if (j >= n) {
                        if (got != SENTINEL) fail("padding of C overwritten at " + i + "," + j + " (seed " + seed + ")");
                        continue;
                    }
                    double mag = 0;
                    for (int p = 0; p < k; p++) {
                        float av = a.getAtIndex(JAVA_FLOAT, ta ? (long) p * lda + i : (long) i * lda + p);
                        float bv = b.getAtIndex(JAVA_FLOAT, tb ? (long) j * ldb + p : (long) p * ldb + j);
                        mag += Math.abs((double) av * bv);
                    }
                    double prior = beta == 0f ? 0 : Math.abs(beta * c0.getAtIndex(JAVA_FLOAT, (long) i * ldc + j));
                    double tol = 2 * (k + 2) * U * (Math.abs(alpha) * mag + prior) + 1e-30;
                    double want = expected.getAtIndex(JAVA_FLOAT, (long) i * ldc + j);
                    if (!(Math.abs(got - want) <= tol)) {
                        fail(String.format("C[%d,%d] = %.9g, expected %.9g (tolerance %.3g, seed %d)", i, j, got, want, tol, seed));
                    }
                }
            }
        }
    }

    private static MemorySegment fill(Arena arena, int rows, int cols, int ld, Random rnd) {
        MemorySegment s = arena.allocate((long) Math.max(1, rows) * ld * Float.BYTES, 64);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < ld; j++) {
                s.setAtIndex(JAVA_FLOAT, (long) i * ld + j, j < cols ? (float) (rnd.nextDouble() * 2 - 1) : SENTINEL);
            }
        }
        return s;
    }
}
