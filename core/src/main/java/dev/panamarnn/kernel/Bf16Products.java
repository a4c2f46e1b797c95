package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * A capability of {@link MatrixProducts}: the product of float32 rows by bfloat16 weights. Products that
 * lack it get the core's ({@link Kernels}).
 */
public interface Bf16Products extends MatrixProducts {

    /**
     * {@code C = alpha·A·Bᵀ + beta·C} with {@code B} stored as bfloat16: {@code A [m × k]} (lda ≥ k) and
     * {@code C [m × n]} float32, {@code B [n × k]} (ldb ≥ k) of 2-byte bfloat16 elements, offsets and
     * leading dimensions of B counted in those elements, each row in the order of {@link Bf16Layout}. The form of every weight product of the layers
     * ({@code x·Wᵀ}); a bfloat16 widens to float32 exactly, so the result equals {@link MatrixProducts#sgemm} on the
     * widened B up to the order of the additions. When {@code beta == 0}, {@code C} is not read.
     *
     * @param m     rows of A and C
     * @param n     rows of B, columns of C
     * @param k     columns of A and B
     * @param alpha the product's factor
     * @param a     A's memory (float32)
     * @param aOff  A's first element, in floats
     * @param lda   A's leading dimension, in floats
     * @param b     B's memory (bfloat16)
     * @param bOff  B's first element, in bfloat16 elements
     * @param ldb   B's leading dimension, in bfloat16 elements
     * @param beta  C's factor; 0 overwrites C
     * @param c     C's memory, written
     * @param cOff  C's first element, in floats
     * @param ldc   C's leading dimension (≥ n), in floats
     */
    void sgemmBf16(int m, int n, int k, float alpha,
                   MemorySegment a, long aOff, int lda,
                   MemorySegment b, long bOff, int ldb,
                   float beta, MemorySegment c, long cOff, int ldc);
}
