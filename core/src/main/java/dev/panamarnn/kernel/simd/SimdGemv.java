package dev.panamarnn.kernel.simd;

import static jdk.incubator.vector.VectorOperators.ADD;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products over a stored {@code A} of {@code [m × n]} (lda ≥ n). The input vector is a
 * heap copy ({@link SimdScratch#vec}), so it is contiguous whatever its stride was and never aliases y.
 */
final class SimdGemv {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private SimdGemv() {}

    /** Copies {@code len} floats at stride {@code inc} from {@code src} into the thread's scratch vector. */
    static float[] copyIn(MemorySegment src, long off, long inc, int len) {
        float[] x = SimdScratch.get().vec(len);
        if (inc == 1) {
            MemorySegment.copy(src, F, off * Float.BYTES, x, 0, len);
        } else {
            for (int p = 0; p < len; p++) x[p] = src.getAtIndex(F, off + p * inc);
        }
        return x;
    }

    /**
     * {@code y[i·incY] = alpha·dot(A[i,:], x) + beta·y[i·incY]} for i in [0, m): rows are contiguous dot
     * products. Four rows at a time share each load of x.
     */
    static void gemvN(int m, int n, float alpha, MemorySegment a, long aOff, int lda, float[] x,
                      float beta, MemorySegment y, long yOff, long incY) {
        long ld = (long) lda * Float.BYTES;
        int ub = S.loopBound(n);
        VectorMask<Float> tail = S.indexInRange(ub, n);
        // Rows i, i+q, i+2q, i+3q together: four long sequential streams, which the hardware prefetchers
        // follow better than four interleaved 1 KiB rows (A comes from L3 at the step shapes).
        int q = m / 4;
        int i = 0;
        for (; i < q; i++) {
            long r0 = (aOff + (long) i * lda) * Float.BYTES, r1 = r0 + q * ld, r2 = r1 + q * ld, r3 = r2 + q * ld;
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            int j = 0;
            // One accumulator per row: C2 unrolls this loop itself and issues all its loads first, so
            // more accumulators or a manual unroll only spill. Four chains give one FMA per cycle,
            // 32 B/cycle, above what the L3 delivers; x is the first factor so the A load folds into
            // the FMA as its memory operand.
            for (; j < ub; j += VL) {
                long o = (long) j * Float.BYTES;
                FloatVector xv = FloatVector.fromArray(S, x, j);
                s0 = xv.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO), s0);
                s1 = xv.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO), s1);
                s2 = xv.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO), s2);
                s3 = xv.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO), s3);
            }
            if (j < n) {
                long o = (long) j * Float.BYTES;
                FloatVector xv = FloatVector.fromArray(S, x, j, tail);
                s0 = xv.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO, tail), s0);
                s1 = xv.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO, tail), s1);
                s2 = xv.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO, tail), s2);
                s3 = xv.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO, tail), s3);
            }
            long yi = yOff + i * incY, yq = q * incY;
            put(y, yi, alpha * s0.reduceLanes(ADD), beta);
            put(y, yi + yq, alpha * s1.reduceLanes(ADD), beta);
            put(y, yi + 2 * yq, alpha * s2.reduceLanes(ADD), beta);
            put(y, yi + 3 * yq, alpha * s3.reduceLanes(ADD), beta);
        }
        i = 4 * q;
        for (; i < m; i++) {
            long r0 = (aOff + (long) i * lda) * Float.BYTES;
            FloatVector s0 = FloatVector.zero(S);
            int j = 0;
            for (; j < ub; j += VL) {
                s0 = FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO).fma(FloatVector.fromArray(S, x, j), s0);
            }
            if (j < n) {
                FloatVector xv = FloatVector.fromArray(S, x, j, tail);
                s0 = FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO, tail).fma(xv, s0);
            }
            put(y, yOff + i * incY, alpha * s0.reduceLanes(ADD), beta);
        }
    }

    private static void put(MemorySegment y, long idx, float v, float beta) {
        y.setAtIndex(F, idx, beta == 0f ? v : v + beta * y.getAtIndex(F, idx));
    }

    /**
     * {@code y = alpha·Aᵀ·x + beta·y} with x of m and y of n contiguous elements: an axpy over the rows of
     * A, a strip of four vectors of y at a time held in registers over all m rows; two rows per step with
     * separate accumulators (eight chains in flight), summed at the end.
     */
    static void gemvT(int m, int n, float alpha, MemorySegment a, long aOff, int lda, float[] x,
                      float beta, MemorySegment y, long yOff) {
        long ld = (long) lda * Float.BYTES;
        long base = aOff * Float.BYTES;
        int w = 4 * VL;
        int j = 0;
        for (; j + w <= n; j += w) {
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            long o = base + (long) j * Float.BYTES;
            int p = 0;
            for (; p + 2 <= m; p += 2, o += 2 * ld) {
                FloatVector xp = FloatVector.broadcast(S, x[p]), xq = FloatVector.broadcast(S, x[p + 1]);
                long q = o + ld;
                s0 = FloatVector.fromMemorySegment(S, a, o, NO).fma(xp, s0);
                s1 = FloatVector.fromMemorySegment(S, a, o + VL * 4L, NO).fma(xp, s1);
                s2 = FloatVector.fromMemorySegment(S, a, o + VL * 8L, NO).fma(xp, s2);
                s3 = FloatVector.fromMemorySegment(S, a, o + VL * 12L, NO).fma(xp, s3);
                t0 = FloatVector.fromMemorySegment(S, a, q, NO).fma(xq, t0);
                t1 = FloatVector.fromMemorySegment(S, a, q + VL * 4L, NO).fma(xq, t1);
                t2 = FloatVector.fromMemorySegment(S, a, q + VL * 8L, NO).fma(xq, t2);
                t3 = FloatVector.fromMemorySegment(S, a, q + VL * 12L, NO).fma(xq, t3);
            }
            if (p < m) {
                FloatVector xp = FloatVector.broadcast(S, x[p]);
                s0 = FloatVector.fromMemorySegment(S, a, o, NO).fma(xp, s0);
                s1 = FloatVector.fromMemorySegment(S, a, o + VL * 4L, NO).fma(xp, s1);
                s2 = FloatVector.fromMemorySegment(S, a, o + VL * 8L, NO).fma(xp, s2);
                s3 = FloatVector.fromMemorySegment(S, a, o + VL * 12L, NO).fma(xp, s3);
            }
            long yo = (yOff + j) * Float.BYTES;
            putV(y, yo, s0.add(t0), alpha, beta);
            putV(y, yo + VL * 4L, s1.add(t1), alpha, beta);
            putV(y, yo + VL * 8L, s2.add(t2), alpha, beta);
            putV(y, yo + VL * 12L, s3.add(t3), alpha, beta);
        }
        // The rest, one (possibly masked) vector at a time.
        for (; j < n; j += VL) {
            VectorMask<Float> mk = S.indexInRange(j, n);
            FloatVector s0 = FloatVector.zero(S), t0 = s0;
            long o = base + (long) j * Float.BYTES;
            int p = 0;
            for (; p + 2 <= m; p += 2, o += 2 * ld) {
                s0 = FloatVector.fromMemorySegment(S, a, o, NO, mk).fma(FloatVector.broadcast(S, x[p]), s0);
                t0 = FloatVector.fromMemorySegment(S, a, o + ld, NO, mk).fma(FloatVector.broadcast(S, x[p + 1]), t0);
            }
            if (p < m) s0 = FloatVector.fromMemorySegment(S, a, o, NO, mk).fma(FloatVector.broadcast(S, x[p]), s0);
            putV(y, (yOff + j) * Float.BYTES, s0.add(t0), alpha, beta, mk);
        }
    }

    private static void putV(MemorySegment y, long byteOff, FloatVector acc, float alpha, float beta) {
        FloatVector v = acc.mul(alpha);
        if (beta != 0f) v = FloatVector.fromMemorySegment(S, y, byteOff, NO).fma(FloatVector.broadcast(S, beta), v);
        v.intoMemorySegment(y, byteOff, NO);
    }

    private static void putV(MemorySegment y, long byteOff, FloatVector acc, float alpha, float beta, VectorMask<Float> mk) {
        FloatVector v = acc.mul(alpha);
        if (beta != 0f) v = FloatVector.fromMemorySegment(S, y, byteOff, NO, mk).fma(FloatVector.broadcast(S, beta), v);
        v.intoMemorySegment(y, byteOff, NO, mk);
    }
}
