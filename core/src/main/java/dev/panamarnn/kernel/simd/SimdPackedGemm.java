package dev.panamarnn.kernel.simd;

import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C = A·Wᵀ + beta·C} for a few rows of A against a weight matrix packed once: the recurrent step
 * of a small batch. W {@code [n × k]} is stored as the GEMM's B̃ micro-panels ({@link SimdGemm}): panel j
 * holds W's rows {@code [j·NR, (j+1)·NR)} k-major, {@code [k × NR]}, so each k step is NR consecutive
 * floats; a row of A is broadcast one element at a time and multiplies two vectors of the panel.
 *
 * <p>Four kernel shapes, 2 accumulators per panel and row: six rows × one panel (12 accumulators, for
 * whole groups of six rows: FMA latency × two FMA pipes wants about 10 independent chains on Zen), then
 * for the remaining 0-5 rows four rows × one panel, two rows × two panels and one row × four panels (8
 * each). The panel count is padded with zero panels to a multiple of four so that every shape always has
 * whole groups. W is read once per call: in groups of four panels ({@code 4·NR·k} floats, 128 KiB at k =
 * 512, in L2 while every group of rows passes over it). Measured (one JVM, variants alternated, medians,
 * µs) against four-row groups: 64 × 2048 × 512 2462 against 2817, 32 × 512 × 512 204 against 234; going
 * over the panels in the outer loop and the row groups inside (each 32 KiB panel reused by all rows at
 * once) instead gave 2445 and 207: no difference, so the order stayed.
 *
 * <p><b>Every element of C has the same arithmetic whatever m, its row's position and the kernel shape:</b>
 * one accumulator, {@code acc = fma(a[p], w[p], acc)} for p = 0 … k−1 in order from zero, then
 * {@code acc + beta·c} (c not read when beta = 0). So a sample's bits do not depend on its batch.
 *
 * <p>Why a heap array: measured (one JVM, {@code 2048 × 512}, µs), the broadcast kernel reading its panels
 * from a heap array took 54 (1 row), 55 (2 rows), 89 (4 rows), and from a native segment 60, 97, 205: C2
 * hoists the range checks of {@code loop index·scale + invariant} array indices but not those of the
 * segment loads. The row-major GEMV that the batch-1 step uses took 83 at one row. A dot-product kernel
 * over row-major W (every (row, sample) pair its own vector accumulator, lanes summed at the end) took
 * about 65 µs per row at 2-8 rows: no gain from batching.
 */
final class SimdPackedGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    /** Panel width: two vectors, the GEMM microkernel's NR. */
    static final int NR = 2 * VL;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private SimdPackedGemm() {}

    /** W's panels, zero-padded to a multiple of four panels. */
    static final class Packed extends PreparedWeights {
        final float[] panels;
        final int groups; // of four panels

        private Packed(int n, int k, float[] panels, int groups) {
            super(n, k);
            this.panels = panels;
            this.groups = groups;
        }
    }

    static Packed pack(MemorySegment w, long wOff, int ldw, int n, int k) {
        int groups = (n + 4 * NR - 1) / (4 * NR);
        long size = (long) groups * 4 * NR * k;
        if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("weights [" + n + " × " + k + "] too large to pack");
        float[] panels = new float[(int) size];
        float[] row = new float[k];
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(w, F, (wOff + (long) i * ldw) * Float.BYTES, row, 0, k);
            int base = (i / NR) * NR * k + i % NR;
            for (int p = 0; p < k; p++) panels[base + p * NR] = row[p];
        }
        return new Packed(n, k, panels, groups);
    }

    /** C[m × n] (from cOff, ldc) = xs·Wᵀ + beta·C, the m rows of A on the heap at {@code xs[r·k]}. */
    static void gemm(int m, Packed w, float[] xs, float beta, MemorySegment c, long cOff, int ldc, float[] tile) {
        int n = w.n(), k = w.k(), pk = NR * k;
        int m6 = m - m % 6;
        for (int g = 0; g < w.groups; g++) {
            int col = g * 4 * NR, cols = Math.min(4 * NR, n - col), b = g * 4 * pk;
            for (int r = 0; r < m6; r += 6) {
                for (int q = 0; q < 4; q++) {
                    int pc = Math.min(NR, cols - q * NR);
                    if (pc <= 0) break;
                    rows6(k, w.panels, b + q * pk, xs, r * k, tile, 0, NR);
                    store(tile, 6, 2, pc, beta, c, cOff + (long) r * ldc + col + q * NR, ldc);
                }
            }
            int r = m6;
            if (r + 4 <= m) {
                for (int q = 0; q < 4; q++) {
                    int pc = Math.min(NR, cols - q * NR);
                    if (pc <= 0) break;
                    rows4(k, w.panels, b + q * pk, xs, r * k, tile, 0, NR);
                    store(tile, 4, 2, pc, beta, c, cOff + (long) r * ldc + col + q * NR, ldc);
                }
                r += 4;
            }
            if (r + 2 <= m) {
                for (int q = 0; q < 4; q += 2) {
                    int pc = Math.min(2 * NR, cols - q * NR);
                    if (pc <= 0) break;
                    rows2(k, w.panels, b + q * pk, pk, xs, r * k, tile, 0, 2 * NR);
                    store(tile, 2, 4, pc, beta, c, cOff + (long) r * ldc + col + q * NR, ldc);
                }
                r += 2;
            }
            if (r < m) {
                row1(k, w.panels, b, pk, xs, r * k, tile, 0);
                store(tile, 1, 8, cols, beta, c, cOff + (long) r * ldc + col, ldc);
            }
        }
    }

    /**
     * Six rows of A (xs from xo, stride k) × the panel at b: tile = 6 rows of 2 vectors. Twelve
     * accumulators, two panel vectors and one broadcast: 15 of AVX2's 16 registers.
     */
    static void rows6(int k, float[] w, int b, float[] xs, int xo, float[] tile, int to, int tld) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR;
            FloatVector w0 = FloatVector.fromArray(S, w, o), w1 = FloatVector.fromArray(S, w, o + VL);
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            a = FloatVector.broadcast(S, xs[x1 + p]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
            a = FloatVector.broadcast(S, xs[x2 + p]);
            c20 = a.fma(w0, c20);
            c21 = a.fma(w1, c21);
            a = FloatVector.broadcast(S, xs[x3 + p]);
            c30 = a.fma(w0, c30);
            c31 = a.fma(w1, c31);
            a = FloatVector.broadcast(S, xs[x4 + p]);
            c40 = a.fma(w0, c40);
            c41 = a.fma(w1, c41);
            a = FloatVector.broadcast(S, xs[x5 + p]);
            c50 = a.fma(w0, c50);
            c51 = a.fma(w1, c51);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c10.intoArray(tile, to + tld);
        c11.intoArray(tile, to + tld + VL);
        c20.intoArray(tile, to + 2 * tld);
        c21.intoArray(tile, to + 2 * tld + VL);
        c30.intoArray(tile, to + 3 * tld);
        c31.intoArray(tile, to + 3 * tld + VL);
        c40.intoArray(tile, to + 4 * tld);
        c41.intoArray(tile, to + 4 * tld + VL);
        c50.intoArray(tile, to + 5 * tld);
        c51.intoArray(tile, to + 5 * tld + VL);
    }

    /** Four rows of A (xs from xo, stride k) × the panel at b: tile = 4 rows of 2 vectors. */
    static void rows4(int k, float[] w, int b, float[] xs, int xo, float[] tile, int to, int tld) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR;
            FloatVector w0 = FloatVector.fromArray(S, w, o), w1 = FloatVector.fromArray(S, w, o + VL);
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            a = FloatVector.broadcast(S, xs[x1 + p]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
            a = FloatVector.broadcast(S, xs[x2 + p]);
            c20 = a.fma(w0, c20);
            c21 = a.fma(w1, c21);
            a = FloatVector.broadcast(S, xs[x3 + p]);
            c30 = a.fma(w0, c30);
            c31 = a.fma(w1, c31);
        }
        // Through the tile, not straight to C: a vector passed to a call C2 declines to inline is boxed
        // (see SimdMicroKernel).
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c10.intoArray(tile, to + tld);
        c11.intoArray(tile, to + tld + VL);
        c20.intoArray(tile, to + 2 * tld);
        c21.intoArray(tile, to + 2 * tld + VL);
        c30.intoArray(tile, to + 3 * tld);
        c31.intoArray(tile, to + 3 * tld + VL);
    }

    /** Two rows × the two panels at b and b + pk: tile = 2 rows of 4 vectors. */
    static void rows2(int k, float[] w, int b, int pk, float[] xs, int xo, float[] tile, int to, int tld) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int x1 = xo + k;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR, o2 = o + pk;
            FloatVector w0 = FloatVector.fromArray(S, w, o), w1 = FloatVector.fromArray(S, w, o + VL);
            FloatVector w2 = FloatVector.fromArray(S, w, o2), w3 = FloatVector.fromArray(S, w, o2 + VL);
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            c02 = a.fma(w2, c02);
            c03 = a.fma(w3, c03);
            a = FloatVector.broadcast(S, xs[x1 + p]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
            c12 = a.fma(w2, c12);
            c13 = a.fma(w3, c13);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c02.intoArray(tile, to + 2 * VL);
        c03.intoArray(tile, to + 3 * VL);
        c10.intoArray(tile, to + tld);
        c11.intoArray(tile, to + tld + VL);
        c12.intoArray(tile, to + tld + 2 * VL);
        c13.intoArray(tile, to + tld + 3 * VL);
    }

    /** One row × the four panels from b: tile = 1 row of 8 vectors. */
    static void row1(int k, float[] w, int b, int pk, float[] xs, int xo, float[] tile, int to) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int p = 0; p < k; p++) {
            int o = b + p * NR, o1 = o + pk, o2 = o1 + pk, o3 = o2 + pk;
            FloatVector a = FloatVector.broadcast(S, xs[xo + p]);
            c0 = a.fma(FloatVector.fromArray(S, w, o), c0);
            c1 = a.fma(FloatVector.fromArray(S, w, o + VL), c1);
            c2 = a.fma(FloatVector.fromArray(S, w, o1), c2);
            c3 = a.fma(FloatVector.fromArray(S, w, o1 + VL), c3);
            c4 = a.fma(FloatVector.fromArray(S, w, o2), c4);
            c5 = a.fma(FloatVector.fromArray(S, w, o2 + VL), c5);
            c6 = a.fma(FloatVector.fromArray(S, w, o3), c6);
            c7 = a.fma(FloatVector.fromArray(S, w, o3 + VL), c7);
        }
        c0.intoArray(tile, to);
        c1.intoArray(tile, to + VL);
        c2.intoArray(tile, to + 2 * VL);
        c3.intoArray(tile, to + 3 * VL);
        c4.intoArray(tile, to + 4 * VL);
        c5.intoArray(tile, to + 5 * VL);
        c6.intoArray(tile, to + 6 * VL);
        c7.intoArray(tile, to + 7 * VL);
    }

    /**
     * {@code C[r, j] = tile + beta·C[r, j]} for {@code rows} rows of {@code vecs} tile vectors each, the
     * first {@code cols} columns (the rest is padding); the same two roundings in the whole and the
     * masked chunks.
     */
    private static void store(float[] tile, int rows, int vecs, int cols, float beta, MemorySegment c, long cOff, int ldc) {
        for (int r = 0; r < rows; r++) {
            long row = (cOff + (long) r * ldc) * Float.BYTES;
            for (int v = 0, j = 0; v < vecs && j < cols; v++, j += VL) {
                FloatVector t = FloatVector.fromArray(S, tile, (r * vecs + v) * VL);
                long o = row + (long) j * Float.BYTES;
                if (j + VL <= cols) {
                    if (beta != 0f) t = t.add(FloatVector.fromMemorySegment(S, c, o, NO).mul(beta));
                    t.intoMemorySegment(c, o, NO);
                } else {
                    VectorMask<Float> mk = S.indexInRange(j, cols);
                    if (beta != 0f) t = t.add(FloatVector.fromMemorySegment(S, c, o, NO, mk).mul(beta));
                    t.intoMemorySegment(c, o, NO, mk);
                }
            }
        }
    }
}
