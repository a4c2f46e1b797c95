package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * A capability of {@link MatrixProducts}: products over a weight matrix prepared once
 * ({@link PreparedWeights}) for many products of a few rows each. Products that lack it get the core's
 * ({@link Kernels}). The defaults keep W as it is and multiply row by row with {@link #sgemv}.
 */
public interface PreparedProducts extends MatrixProducts {

    /**
     * Prepares {@code W} {@code [n × k]} (row-major, ldw ≥ k) for {@link #gemmPrepared}: done once for a
     * weight matrix that then multiplies many small batches. The default keeps a view of W itself (no
     * copy: W must stay alive and unchanged while the result is used); a backend may keep a copy in the
     * layout its kernel reads best.
     *
     * @param w   W's memory
     * @param wOff W's first element, in floats
     * @param ldw W's leading dimension, in floats
     * @param n   rows of W (columns of the products)
     * @param k   columns of W
     * @return the prepared weights, for {@link #gemmPrepared} of this backend only
     */
    default PreparedWeights prepare(MemorySegment w, long wOff, int ldw, int n, int k) {
        return new PreparedWeights.RowMajor(w, wOff, ldw, n, k);
    }

    /**
     * {@code C = A·Wᵀ + beta·C} for a few rows of A: {@code A} {@code [m × k]} (lda ≥ k), W prepared by
     * this backend's {@link #prepare}, {@code C} {@code [m × n]} (ldc ≥ n): a recurrent step
     * {@code h·W_hhᵀ} for m samples, reading W once for all of them.
     *
     * <p>Row i of C is computed by the same arithmetic whatever m, i and the other rows are: a sample's
     * bits do not depend on the batch it is computed in. The default is one {@link MatrixProducts#sgemv} per row. When
     * {@code beta == 0}, C is not read. A must not overlap C.
     *
     * @param m    rows of A and C
     * @param w    W {@code [n × k]}, prepared by this backend
     * @param a    A's memory
     * @param aOff A's first element, in floats
     * @param lda  A's leading dimension, in floats
     * @param beta C's factor; 0 overwrites C
     * @param c    C's memory, written
     * @param cOff C's first element, in floats
     * @param ldc  C's leading dimension, in floats
     * @throws IllegalArgumentException if {@code w} was prepared by another backend
     */
    default void gemmPrepared(int m, PreparedWeights w, MemorySegment a, long aOff, int lda,
                              float beta, MemorySegment c, long cOff, int ldc) {
        if (!(w instanceof PreparedWeights.RowMajor r)) {
            throw new IllegalArgumentException("cannot read " + w + ": prepared by another backend");
        }
        for (int i = 0; i < m; i++) {
            sgemv(false, r.n(), r.k(), 1f, r.w, r.off, r.ld, a, aOff + (long) i * lda, beta, c, cOff + (long) i * ldc);
        }
    }
}
