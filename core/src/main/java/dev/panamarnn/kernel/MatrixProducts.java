package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The matrix products of a backend: GEMM and GEMV, and its policy for a recurrent step's product.
 *
 * <p><b>No argument checking happens here.</b> Implementations trust their caller; the public facade
 * {@code dev.panamarnn.Backend} and the model layer validate shapes, leading dimensions, segment sizes
 * and liveness before calling in. A native implementation handed a bad leading dimension may crash the
 * JVM.
 *
 * <p>Conventions: float32, row-major. Every matrix is a native segment, an offset counted in floats
 * from the segment's start, and a leading dimension (floats between consecutive rows). Implementations
 * are stateless and thread-safe: any number of threads may call one instance at once.
 *
 * <p>Capabilities: an implementation may also be {@link Bf16Products} (a GEMM over bfloat16 weights) and
 * {@link PreparedProducts} (products over weights prepared once). Where it is not, {@link Kernels} uses the
 * core's own (the Vector API's when the JVM has it, else the scalar reference), so a backend implements
 * only what it does better.
 */
public interface MatrixProducts {

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C}, where {@code op(A)} is {@code [m × k]}, {@code op(B)} is
     * {@code [k × n]} and {@code C} is {@code [m × n]}. Stored {@code A} is {@code [m × k]} (lda ≥ k) or,
     * transposed, {@code [k × m]} (lda ≥ m); likewise {@code B}. When {@code beta == 0}, {@code C} is
     * not read (NaNs in it do not propagate).
     *
     * @param transA whether A is stored transposed ({@code [k × m]})
     * @param transB whether B is stored transposed ({@code [n × k]})
     * @param m      rows of op(A) and C
     * @param n      columns of op(B) and C
     * @param k      columns of op(A), rows of op(B)
     * @param alpha  the product's factor
     * @param a      A's memory
     * @param aOff   A's first element, in floats from the start of {@code a}
     * @param lda    A's leading dimension, in floats
     * @param b      B's memory
     * @param bOff   B's first element, in floats
     * @param ldb    B's leading dimension, in floats
     * @param beta   C's factor; 0 overwrites C
     * @param c      C's memory, written
     * @param cOff   C's first element, in floats
     * @param ldc    C's leading dimension (≥ n), in floats
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               MemorySegment a, long aOff, int lda,
               MemorySegment b, long bOff, int ldb,
               float beta, MemorySegment c, long cOff, int ldc);

    /**
     * {@code y = alpha·op(A)·x + beta·y} with stored {@code A} of {@code [m × n]} (lda ≥ n). Not
     * transposed: {@code x} has n elements and {@code y} has m; transposed: {@code x} has m and {@code y}
     * has n. Vectors are contiguous. When {@code beta == 0}, {@code y} is not read.
     *
     * @param transA whether to multiply by Aᵀ
     * @param m      rows of stored A
     * @param n      columns of stored A
     * @param alpha  the product's factor
     * @param a      A's memory
     * @param aOff   A's first element, in floats
     * @param lda    A's leading dimension, in floats
     * @param x      x's memory
     * @param xOff   x's first element, in floats
     * @param beta   y's factor; 0 overwrites y
     * @param y      y's memory, written
     * @param yOff   y's first element, in floats
     */
    void sgemv(boolean transA, int m, int n, float alpha,
               MemorySegment a, long aOff, int lda,
               MemorySegment x, long xOff,
               float beta, MemorySegment y, long yOff);

    /**
     * Whether a recurrent step of {@code m} rows is faster through {@link PreparedProducts#prepare prepared} weights than through
     * {@link #sgemm} on this backend (measured; see the implementations): the backend's own policy. A layer then prepares its W_hh
     * once at load. The default is no.
     *
     * @param m the rows (samples) of a step
     * @return whether {@link PreparedProducts#gemmPrepared} is the faster way for {@code m} rows
     */
    default boolean prefersPreparedSteps(int m) {
        return false;
    }
}
