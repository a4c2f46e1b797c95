package dev.panamarnn.kernel.scalar;

import dev.panamarnn.kernel.Bf16Products;
import dev.panamarnn.kernel.PreparedProducts;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The reference products: plain loops, obviously right, no cleverness. Sums accumulate in double, so the
 * other backends are measured against something more accurate than themselves. Products over prepared
 * weights are {@link PreparedProducts}' defaults: W as it is, one {@link #sgemv} per row.
 */
final class ScalarProducts implements Bf16Products, PreparedProducts {

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float av = get(a, aOff + (transA ? (long) p * lda + i : (long) i * lda + p));
                    float bv = get(b, bOff + (transB ? (long) j * ldb + p : (long) p * ldb + j));
                    sum += (double) av * bv;
                }
                long ci = cOff + (long) i * ldc + j;
                double prior = beta == 0f ? 0 : (double) beta * get(c, ci);
                set(c, ci, (float) (alpha * sum + prior));
            }
        }
    }

    @Override
    public void sgemmBf16(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    short w = b.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, bOff + (long) j * ldb + dev.panamarnn.kernel.Bf16Layout.position(p, k));
                    sum += (double) get(a, aOff + (long) i * lda + p) * Float.intBitsToFloat(w << 16);
                }
                long ci = cOff + (long) i * ldc + j;
                set(c, ci, (float) (alpha * sum + (beta == 0f ? 0 : beta * (double) get(c, ci))));
            }
        }
    }

    @Override
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        int outLen = transA ? n : m;
        int inLen = transA ? m : n;
        for (int j = 0; j < outLen; j++) {
            double sum = 0;
            for (int p = 0; p < inLen; p++) {
                float av = get(a, aOff + (transA ? (long) p * lda + j : (long) j * lda + p));
                sum += (double) av * get(x, xOff + p);
            }
            double prior = beta == 0f ? 0 : (double) beta * get(y, yOff + j);
            set(y, yOff + j, (float) (alpha * sum + prior));
        }
    }

    private static float get(MemorySegment s, long index) {
        return s.getAtIndex(JAVA_FLOAT, index);
    }

    private static void set(MemorySegment s, long index, float v) {
        s.setAtIndex(JAVA_FLOAT, index, v);
    }
}
