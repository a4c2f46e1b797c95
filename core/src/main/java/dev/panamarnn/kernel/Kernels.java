package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The kernel SPI: one GEMM, one GEMV and the fused gate kernels of the recurrent cells.
 *
 * <p><b>No argument checking happens here.</b> Implementations trust their caller; the public facade
 * {@link dev.panamarnn.Backend} and the model layer validate shapes, leading dimensions, segment sizes
 * and liveness before calling in. A native implementation handed a bad leading dimension may crash the
 * JVM.
 *
 * <p>Conventions: float32, row-major. Every matrix is a native segment, an offset counted in floats
 * from the segment's start, and a leading dimension (floats between consecutive rows). Implementations
 * are stateless and thread-safe: any number of threads may call one instance at once.
 *
 * <p>Gate order in the pre-activation rows is that of {@link GateLayout}.
 */
public interface Kernels {

    /**
     * Short lowercase name: {@code scalar}, {@code simd}, {@code openblas}.
     *
     * @return the backend's name
     */
    String name();

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
     * {@code C = alpha·A·Bᵀ + beta·C} with {@code B} stored as bfloat16: {@code A [m × k]} (lda ≥ k) and
     * {@code C [m × n]} float32, {@code B [n × k]} (ldb ≥ k) of 2-byte bfloat16 elements, offsets and
     * leading dimensions of B counted in those elements, each row in the order of {@link Bf16Layout}. The form of every weight product of the layers
     * ({@code x·Wᵀ}); a bfloat16 widens to float32 exactly, so the result equals {@link #sgemm} on the
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
     * Whether a recurrent step of {@code m} rows is faster through {@link #prepare}d weights than through
     * {@link #sgemm} on this backend (measured; see the implementations). A layer then prepares its W_hh
     * once at load. The default is no.
     *
     * @param m the rows (samples) of a step
     * @return whether {@link #gemmPrepared} is the faster way for {@code m} rows
     */
    default boolean prefersPreparedSteps(int m) {
        return false;
    }

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
     * bits do not depend on the batch it is computed in. The default is one {@link #sgemv} per row. When
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
            throw new IllegalArgumentException(name() + " cannot read " + w + ": prepared by another backend");
        }
        for (int i = 0; i < m; i++) {
            sgemv(false, r.n(), r.k(), 1f, r.w, r.off, r.ld, a, aOff + (long) i * lda, beta, c, cOff + (long) i * ldc);
        }
    }

    /**
     * {@code y[i] = 1 / (1 + exp(-x[i]))} for {@code n} contiguous elements; {@code y} may be {@code x}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * {@code y[i] = tanh(x[i])}; {@code y} may be {@code x}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * {@code y[i] = max(x[i], 0)}; {@code y} may be {@code x}. NaN stays NaN.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);

    /**
     * One LSTM step for {@code batch} rows. Row {@code b} of {@code gates} ({@code [batch × 4·hidden]})
     * holds the complete pre-activations {@code W_ih·x + b_ih + W_hh·h + b_hh} in the order
     * {@code i, f, g, o}. Then, with {@code c} read and written in place ({@code [batch × hidden]}):
     * <pre>
     *   c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
     *   h' = σ(o) ⊙ tanh(c')
     * </pre>
     * {@code h'} is written to {@code hOut} ({@code [batch × hidden]}); {@code gates} is not modified.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gates  the pre-activations' memory {@code [batch × 4·hidden]}, read only
     * @param gOff   their first element, in floats
     * @param ldg    their leading dimension, in floats
     * @param c      the cell state's memory {@code [batch × hidden]}, updated in place
     * @param cOff   its first element, in floats
     * @param ldc    its leading dimension, in floats
     * @param hOut   the new hidden state's memory {@code [batch × hidden]}, written
     * @param hOff   its first element, in floats
     * @param ldh    its leading dimension, in floats
     */
    void lstmCell(int batch, int hidden,
                  MemorySegment gates, long gOff, int ldg,
                  MemorySegment c, long cOff, int ldc,
                  MemorySegment hOut, long hOff, int ldh);

    /**
     * One GRU step in PyTorch's formulation. {@code gi} ({@code [batch × 3·hidden]}) holds
     * {@code W_ih·x + b_ih} and {@code gh} holds {@code W_hh·h + b_hh}, both in the order {@code r, z, n}:
     * <pre>
     *   r  = σ(gi_r + gh_r)
     *   z  = σ(gi_z + gh_z)
     *   n  = tanh(gi_n + r ⊙ gh_n)
     *   h' = (1 − z) ⊙ n + z ⊙ h
     * </pre>
     * {@code h} is read from {@code hPrev}, {@code h'} written to {@code hOut}; the two may be the same
     * memory. {@code gi} and {@code gh} are not modified.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gi     the input projections' memory {@code [batch × 3·hidden]}
     * @param giOff  their first element, in floats
     * @param ldgi   their leading dimension, in floats
     * @param gh     the recurrent projections' memory {@code [batch × 3·hidden]}
     * @param ghOff  their first element, in floats
     * @param ldgh   their leading dimension, in floats
     * @param hPrev  the previous hidden state's memory {@code [batch × hidden]}
     * @param hpOff  its first element, in floats
     * @param ldhp   its leading dimension, in floats
     * @param hOut   the new hidden state's memory {@code [batch × hidden]}, written
     * @param hoOff  its first element, in floats
     * @param ldho   its leading dimension, in floats
     */
    void gruCell(int batch, int hidden,
                 MemorySegment gi, long giOff, int ldgi,
                 MemorySegment gh, long ghOff, int ldgh,
                 MemorySegment hPrev, long hpOff, int ldhp,
                 MemorySegment hOut, long hoOff, int ldho);

    /**
     * One Elman step: {@code h' = act(pre)}, where row {@code b} of {@code pre} ({@code [batch × hidden]})
     * holds {@code W_ih·x + b_ih + W_hh·h + b_hh}. {@code hOut} may be {@code pre}.
     *
     * @param batch      the rows (samples)
     * @param hidden     the hidden size
     * @param activation tanh or ReLU
     * @param pre        the pre-activations' memory {@code [batch × hidden]}
     * @param pOff       their first element, in floats
     * @param ldp        their leading dimension, in floats
     * @param hOut       the new hidden state's memory {@code [batch × hidden]}, written
     * @param hOff       its first element, in floats
     * @param ldh        its leading dimension, in floats
     */
    void rnnCell(int batch, int hidden, Activation activation,
                 MemorySegment pre, long pOff, int ldp,
                 MemorySegment hOut, long hOff, int ldh);
}
