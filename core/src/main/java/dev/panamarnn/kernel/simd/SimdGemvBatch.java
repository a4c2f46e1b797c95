package dev.panamarnn.kernel.simd;

import static dev.panamarnn.kernel.simd.SimdGemv.put;
import static dev.panamarnn.kernel.simd.SimdGemv.sum;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link SimdGemv#gemvN} for several vectors at once: {@code C[r, :] = W·x_r + beta·C[r, :]} for r < m,
 * W {@code [n × k]}, the x_r on the heap ({@code xs}, row r at {@code r·k}). At the recurrent step W is
 * what costs (4 MiB at S1's {@code 2048 × 512}, read from L3), so it is read once per call: in blocks of
 * {@link #ROW_BLOCK} rows, each swept by every group of vectors while it sits in L1/L2. Groups of four
 * vectors take {@link #four} (two rows × four vectors: 8 accumulators, 2 W and 1 x register, 6 loads
 * per 8 FMAs), a pair {@link #two} (four rows × two vectors), a last single vector gemvN itself.
 *
 * <p><b>Bit-identical to gemvN, whatever m.</b> Every (row, vector) dot product is one accumulator over
 * the k chunks in order, then the masked tail, then {@link SimdGemv#sum}'s fixed tree and
 * {@link SimdGemv#put}: gemvN's arithmetic exactly, so a vector's result does not depend on how many
 * others share the call, on its position among them, or on which kernel shape served it, and equals what
 * {@code sgemm} with one row (the batch-1 step) gives.
 *
 * <p>The eight accumulators leave a kernel through a per-thread heap tile rather than being passed to
 * {@code sum}: C2 stops inlining in a method this size, and a vector handed to a call it did not inline is
 * boxed (measured: 128 KiB of garbage per call at two rows and no speed-up over one GEMV per row).
 */
final class SimdGemvBatch {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Rows of W per block: 32 rows of 512 floats (64 KiB) stay in L2 while every group of vectors passes. */
    static final int ROW_BLOCK = 32;

    private SimdGemvBatch() {}

    static void gemvN(int m, int n, int k, MemorySegment w, long wOff, int ldw, float[] xs,
                      float beta, MemorySegment c, long cOff, int ldc) {
        if (m == 1) {
            SimdGemv.gemvN(n, k, 1f, w, wOff, ldw, xs, 0, beta, c, cOff, 1);
            return;
        }
        int ub = S.loopBound(k);
        VectorMask<Float> tail = S.indexInRange(ub, k);
        float[] tile = SimdScratch.get().sums();
        int rb = m <= 4 ? n : ROW_BLOCK; // one group of vectors: a single pass over W needs no blocks
        for (int r0 = 0; r0 < n; r0 += rb) {
            int r1 = Math.min(n, r0 + rb);
            int v = 0;
            for (; v + 4 <= m; v += 4) four(r0, r1, k, w, wOff, ldw, xs, v * k, beta, c, cOff + (long) v * ldc, ldc, ub, tail, tile);
            if (v + 2 <= m) {
                two(r0, r1, k, w, wOff, ldw, xs, v * k, beta, c, cOff + (long) v * ldc, ldc, ub, tail, tile);
                v += 2;
            }
            if (v < m) SimdGemv.gemvN(r1 - r0, k, 1f, w, wOff + (long) r0 * ldw, ldw, xs, v * k, beta, c, cOff + (long) v * ldc + r0, 1);
        }
    }

    /** Rows [r0, r1) of W against the four vectors at xs[xo], xs[xo + k], …; C's rows from cOff. */
    private static void four(int r0, int r1, int k, MemorySegment w, long wOff, int ldw, float[] xs, int xo,
                             float beta, MemorySegment c, long cOff, int ldc, int ub, VectorMask<Float> tail, float[] tile) {
        long ld = (long) ldw * Float.BYTES;
        int x1 = xo + k, x2 = x1 + k, x3 = x2 + k;
        int i = r0;
        for (; i + 2 <= r1; i += 2) {
            long a0 = (wOff + (long) i * ldw) * Float.BYTES, a1 = a0 + ld;
            FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            int j = 0;
            for (; j < ub; j += VL) {
                long o = (long) j * Float.BYTES;
                FloatVector w0 = FloatVector.fromMemorySegment(S, w, a0 + o, NO), w1 = FloatVector.fromMemorySegment(S, w, a1 + o, NO);
                FloatVector x = FloatVector.fromArray(S, xs, xo + j);
                s00 = x.fma(w0, s00);
                s10 = x.fma(w1, s10);
                x = FloatVector.fromArray(S, xs, x1 + j);
                s01 = x.fma(w0, s01);
                s11 = x.fma(w1, s11);
                x = FloatVector.fromArray(S, xs, x2 + j);
                s02 = x.fma(w0, s02);
                s12 = x.fma(w1, s12);
                x = FloatVector.fromArray(S, xs, x3 + j);
                s03 = x.fma(w0, s03);
                s13 = x.fma(w1, s13);
            }
            if (j < k) {
                long o = (long) j * Float.BYTES;
                FloatVector w0 = FloatVector.fromMemorySegment(S, w, a0 + o, NO, tail), w1 = FloatVector.fromMemorySegment(S, w, a1 + o, NO, tail);
                FloatVector x = FloatVector.fromArray(S, xs, xo + j, tail);
                s00 = x.fma(w0, s00);
                s10 = x.fma(w1, s10);
                x = FloatVector.fromArray(S, xs, x1 + j, tail);
                s01 = x.fma(w0, s01);
                s11 = x.fma(w1, s11);
                x = FloatVector.fromArray(S, xs, x2 + j, tail);
                s02 = x.fma(w0, s02);
                s12 = x.fma(w1, s12);
                x = FloatVector.fromArray(S, xs, x3 + j, tail);
                s03 = x.fma(w0, s03);
                s13 = x.fma(w1, s13);
            }
            // Through the heap tile, vector v of row r at (4·r + v)·VL: see the class comment.
            s00.intoArray(tile, 0);
            s01.intoArray(tile, VL);
            s02.intoArray(tile, 2 * VL);
            s03.intoArray(tile, 3 * VL);
            s10.intoArray(tile, 4 * VL);
            s11.intoArray(tile, 5 * VL);
            s12.intoArray(tile, 6 * VL);
            s13.intoArray(tile, 7 * VL);
            store(tile, 2, 4, beta, c, cOff + i, ldc);
        }
        for (int v = 0; i < r1 && v < 4; v++) { // a last odd row, one vector at a time
            SimdGemv.gemvN(r1 - i, k, 1f, w, wOff + (long) i * ldw, ldw, xs, xo + v * k, beta, c, cOff + v * (long) ldc + i, 1);
        }
    }

    /** Rows [r0, r1) of W against the two vectors at xs[xo] and xs[xo + k]; four rows per pass. */
    private static void two(int r0, int r1, int k, MemorySegment w, long wOff, int ldw, float[] xs, int xo,
                            float beta, MemorySegment c, long cOff, int ldc, int ub, VectorMask<Float> tail, float[] tile) {
        long ld = (long) ldw * Float.BYTES;
        int x1 = xo + k;
        int i = r0;
        for (; i + 4 <= r1; i += 4) {
            long a0 = (wOff + (long) i * ldw) * Float.BYTES, a1 = a0 + ld, a2 = a1 + ld, a3 = a2 + ld;
            FloatVector s00 = FloatVector.zero(S), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
            int j = 0;
            for (; j < ub; j += VL) {
                long o = (long) j * Float.BYTES;
                FloatVector w0 = FloatVector.fromMemorySegment(S, w, a0 + o, NO), w1 = FloatVector.fromMemorySegment(S, w, a1 + o, NO);
                FloatVector w2 = FloatVector.fromMemorySegment(S, w, a2 + o, NO), w3 = FloatVector.fromMemorySegment(S, w, a3 + o, NO);
                FloatVector x = FloatVector.fromArray(S, xs, xo + j);
                s00 = x.fma(w0, s00);
                s10 = x.fma(w1, s10);
                s20 = x.fma(w2, s20);
                s30 = x.fma(w3, s30);
                x = FloatVector.fromArray(S, xs, x1 + j);
                s01 = x.fma(w0, s01);
                s11 = x.fma(w1, s11);
                s21 = x.fma(w2, s21);
                s31 = x.fma(w3, s31);
            }
            if (j < k) {
                long o = (long) j * Float.BYTES;
                FloatVector w0 = FloatVector.fromMemorySegment(S, w, a0 + o, NO, tail), w1 = FloatVector.fromMemorySegment(S, w, a1 + o, NO, tail);
                FloatVector w2 = FloatVector.fromMemorySegment(S, w, a2 + o, NO, tail), w3 = FloatVector.fromMemorySegment(S, w, a3 + o, NO, tail);
                FloatVector x = FloatVector.fromArray(S, xs, xo + j, tail);
                s00 = x.fma(w0, s00);
                s10 = x.fma(w1, s10);
                s20 = x.fma(w2, s20);
                s30 = x.fma(w3, s30);
                x = FloatVector.fromArray(S, xs, x1 + j, tail);
                s01 = x.fma(w0, s01);
                s11 = x.fma(w1, s11);
                s21 = x.fma(w2, s21);
                s31 = x.fma(w3, s31);
            }
            s00.intoArray(tile, 0);
            s01.intoArray(tile, VL);
            s10.intoArray(tile, 2 * VL);
            s11.intoArray(tile, 3 * VL);
            s20.intoArray(tile, 4 * VL);
            s21.intoArray(tile, 5 * VL);
            s30.intoArray(tile, 6 * VL);
            s31.intoArray(tile, 7 * VL);
            store(tile, 4, 2, beta, c, cOff + i, ldc);
        }
        for (int v = 0; i < r1 && v < 2; v++) { // the last (up to three) rows, one vector at a time
            SimdGemv.gemvN(r1 - i, k, 1f, w, wOff + (long) i * ldw, ldw, xs, xo + v * k, beta, c, cOff + v * (long) ldc + i, 1);
        }
    }

    /**
     * {@code C[v, r] = sum(tile vector r·vectors + v) (+ beta·C)} for {@code rows} rows of W and
     * {@code vectors} vectors; takes and returns no vector, so nothing is boxed whether it is inlined or not.
     */
    private static void store(float[] tile, int rows, int vectors, float beta, MemorySegment c, long cOff, int ldc) {
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < vectors; v++) {
                put(c, cOff + (long) v * ldc + r, sum(FloatVector.fromArray(S, tile, (r * vectors + v) * VL)), beta);
            }
        }
    }
}
