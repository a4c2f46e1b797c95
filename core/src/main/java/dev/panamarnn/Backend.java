package dev.panamarnn;

import dev.panamarnn.kernel.GateLayout;
import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * A kernel backend behind argument checks: {@code scalar} (the reference), {@code simd} (Vector API) or
 * {@code openblas} (GEMM and GEMV through OpenBLAS, gate math from {@code simd}).
 *
 * <p>Every method validates shapes, leading dimensions, segment sizes and liveness, then delegates to the
 * unchecked {@link Kernels}. Bad arguments throw {@link IllegalArgumentException}, a closed arena
 * {@link IllegalStateException}; either way nothing has been written.
 *
 * <p>The default backend is chosen once, at first use of {@link #defaultBackend()}: the one named by the
 * system property {@code panama.rnn.backend} (an error if it is not available), otherwise the
 * highest-priority available one ({@code openblas}, then {@code simd}, then {@code scalar}). The choice
 * and the reason are logged once. Backends are thread-safe.
 */
public final class Backend {
    private final Kernels kernels;
    private final String reason;

    Backend(Kernels kernels, String reason) {
        this.kernels = Objects.requireNonNull(kernels);
        this.reason = reason;
    }

    /**
     * The default backend (see the class comment).
     *
     * @return the backend chosen for this JVM, the same instance on every call
     */
    public static Backend defaultBackend() {
        return BackendRegistry.Default.get();
    }

    /**
     * The backend of that name.
     *
     * @param name the backend's name: {@code openblas}, {@code simd} or {@code scalar}
     * @return the backend
     * @throws IllegalArgumentException if no backend has that name
     * @throws IllegalStateException if it exists but cannot run here (the message says why)
     */
    public static Backend get(String name) {
        Objects.requireNonNull(name, "name");
        return BackendRegistry.get(name);
    }

    /**
     * Every known backend, available or not, highest priority first.
     *
     * @return their statuses
     */
    public static List<Status> list() {
        return BackendRegistry.providers().stream().map(p -> {
            KernelProvider.Availability a = p.availability();
            return new Status(p.name(), p.priority(), a.available(), a.reason(), BackendRegistry.describe(p, a));
        }).toList();
    }

    /**
     * What {@link #list()} reports per backend.
     *
     * @param name        the backend's name
     * @param priority    its priority in automatic selection; higher wins
     * @param available   whether it can run here
     * @param reason      why it can or cannot
     * @param description what it runs on (library version, CPU features, threads)
     */
    public record Status(String name, int priority, boolean available, String reason, String description) {}

    /**
     * The backend's name: {@code openblas}, {@code simd} or {@code scalar}.
     *
     * @return the name
     */
    public String name() {
        return kernels.name();
    }

    /**
     * Why this backend was chosen (for the default backend) or "requested by name".
     *
     * @return the reason
     */
    public String selectionReason() {
        return reason;
    }

    /** The unchecked kernels: not API (the model layer reads the field through {@code dev.panamarnn.internal.KernelAccess}). */
    Kernels kernels() {
        return kernels;
    }

    // ---- GEMM / GEMV ----------------------------------------------------------------------------

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C} on tensors seen as matrices; shapes are taken from the tensors.
     *
     * @param transA whether to use Aᵀ
     * @param transB whether to use Bᵀ
     * @param alpha  the product's factor
     * @param a      A, seen as a matrix
     * @param b      B, seen as a matrix
     * @param beta   C's factor; 0 overwrites C
     * @param c      C {@code [m × n]}, written
     * @throws IllegalArgumentException if the shapes do not fit together, or C overlaps A or B
     * @throws IllegalStateException if a tensor's arena was closed
     */
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        Checks.alive("gemm", "A", a);
        Checks.alive("gemm", "B", b);
        Checks.alive("gemm", "C", c);
        int m = transA ? a.cols() : a.rows();
        int k = transA ? a.rows() : a.cols();
        int kb = transB ? b.cols() : b.rows();
        int n = transB ? b.rows() : b.cols();
        if (kb != k) {
            throw new IllegalArgumentException("gemm: op(A) is [" + m + " × " + k + "] (A " + a.shapeString() + ", transA=" + transA
                    + ") so op(B) needs " + k + " rows, got op(B) [" + kb + " × " + n + "] (B " + b.shapeString() + ", transB=" + transB + ")");
        }
        Checks.shape("gemm", "C", c, m, n);
        sgemm(transA, transB, m, n, k, alpha, a.segment(), a.offset(), a.ld(), b.segment(), b.offset(), b.ld(),
                beta, c.segment(), c.offset(), c.ld());
    }

    /**
     * BLAS-style {@code sgemm} on segments (row-major, offsets in floats), validated; see {@link Kernels#sgemm}.
     *
     * @param transA whether A is stored transposed ({@code [k × m]})
     * @param transB whether B is stored transposed ({@code [n × k]})
     * @param m      rows of op(A) and C
     * @param n      columns of op(B) and C
     * @param k      columns of op(A), rows of op(B)
     * @param alpha  the product's factor
     * @param a      A's memory, native
     * @param aOff   A's first element, in floats
     * @param lda    A's leading dimension, in floats
     * @param b      B's memory, native
     * @param bOff   B's first element, in floats
     * @param ldb    B's leading dimension, in floats
     * @param beta   C's factor; 0 overwrites C
     * @param c      C's memory, native, written
     * @param cOff   C's first element, in floats
     * @param ldc    C's leading dimension (≥ n), in floats
     * @throws IllegalArgumentException if a size is negative, a matrix does not fit its segment, or C overlaps A or B
     * @throws IllegalStateException if a segment's arena was closed
     */
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        Checks.nonNegative("sgemm", "m", m);
        Checks.nonNegative("sgemm", "n", n);
        Checks.nonNegative("sgemm", "k", k);
        Checks.matrix("sgemm", transA ? "A (transposed, stored [k × m])" : "A (stored [m × k])", a, aOff,
                transA ? k : m, transA ? m : k, lda);
        Checks.matrix("sgemm", transB ? "B (transposed, stored [n × k])" : "B (stored [k × n])", b, bOff,
                transB ? n : k, transB ? k : n, ldb);
        Checks.matrix("sgemm", "C (stored [m × n])", c, cOff, m, n, ldc);
        long cFloats = Tensor.requiredFloats(m, n, ldc);
        Checks.disjoint("sgemm", "C", c, cOff, cFloats, "A", a, aOff, Tensor.requiredFloats(transA ? k : m, transA ? m : k, lda));
        Checks.disjoint("sgemm", "C", c, cOff, cFloats, "B", b, bOff, Tensor.requiredFloats(transB ? n : k, transB ? k : n, ldb));
        if (m == 0 || n == 0) return;
        kernels.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * {@code y = alpha·op(A)·x + beta·y}; {@code x} and {@code y} are contiguous tensors of the right length.
     *
     * @param transA whether to use Aᵀ
     * @param alpha  the product's factor
     * @param a      A, seen as a matrix
     * @param x      x, contiguous
     * @param beta   y's factor; 0 overwrites y
     * @param y      y, contiguous, written
     * @throws IllegalArgumentException if a length does not fit A
     * @throws IllegalStateException if a tensor's arena was closed
     */
    public void gemv(boolean transA, float alpha, Tensor a, Tensor x, float beta, Tensor y) {
        Checks.alive("gemv", "A", a);
        vector("gemv", "x", x, transA ? a.rows() : a.cols());
        vector("gemv", "y", y, transA ? a.cols() : a.rows());
        sgemv(transA, a.rows(), a.cols(), alpha, a.segment(), a.offset(), a.ld(), x.segment(), x.offset(), beta, y.segment(), y.offset());
    }

    /**
     * BLAS-style {@code sgemv} on segments, validated; see {@link Kernels#sgemv}.
     *
     * @param transA whether to multiply by Aᵀ
     * @param m      rows of stored A
     * @param n      columns of stored A
     * @param alpha  the product's factor
     * @param a      A's memory, native
     * @param aOff   A's first element, in floats
     * @param lda    A's leading dimension, in floats
     * @param x      x's memory, native
     * @param xOff   x's first element, in floats
     * @param beta   y's factor; 0 overwrites y
     * @param y      y's memory, native, written
     * @param yOff   y's first element, in floats
     * @throws IllegalArgumentException if a size is negative, an operand does not fit its segment, or y overlaps A or x
     * @throws IllegalStateException if a segment's arena was closed
     */
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        Checks.nonNegative("sgemv", "m", m);
        Checks.nonNegative("sgemv", "n", n);
        Checks.matrix("sgemv", "A (stored [m × n])", a, aOff, m, n, lda);
        int xLen = transA ? m : n, yLen = transA ? n : m;
        Checks.matrix("sgemv", "x", x, xOff, 1, xLen, Math.max(1, xLen));
        Checks.matrix("sgemv", "y", y, yOff, 1, yLen, Math.max(1, yLen));
        Checks.disjoint("sgemv", "y", y, yOff, yLen, "A", a, aOff, Tensor.requiredFloats(m, n, lda));
        Checks.disjoint("sgemv", "y", y, yOff, yLen, "x", x, xOff, xLen);
        if (yLen == 0) return;
        kernels.sgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, beta, y, yOff);
    }

    // ---- activations ----------------------------------------------------------------------------

    /**
     * {@code y = sigmoid(x)} elementwise; same shape; {@code y} may be {@code x}.
     *
     * @param x the input
     * @param y the output, of x's shape
     */
    public void sigmoid(Tensor x, Tensor y) {
        elementwise("sigmoid", x, y, 0);
    }

    /**
     * {@code y = tanh(x)} elementwise; same shape; {@code y} may be {@code x}.
     *
     * @param x the input
     * @param y the output, of x's shape
     */
    public void tanh(Tensor x, Tensor y) {
        elementwise("tanh", x, y, 1);
    }

    /**
     * {@code y = max(x, 0)} elementwise; same shape; {@code y} may be {@code x}.
     *
     * @param x the input
     * @param y the output, of x's shape
     */
    public void relu(Tensor x, Tensor y) {
        elementwise("relu", x, y, 2);
    }

    private void elementwise(String op, Tensor x, Tensor y, int which) {
        Checks.alive(op, "x", x);
        Checks.shape(op, "y", y, x.rows(), x.cols());
        int n = x.cols();
        for (int r = 0; r < x.rows(); r++) {
            long xo = x.offset() + (long) r * x.ld(), yo = y.offset() + (long) r * y.ld();
            switch (which) {
                case 0 -> kernels.sigmoid(n, x.segment(), xo, y.segment(), yo);
                case 1 -> kernels.tanh(n, x.segment(), xo, y.segment(), yo);
                default -> kernels.relu(n, x.segment(), xo, y.segment(), yo);
            }
        }
    }

    // ---- fused cells ----------------------------------------------------------------------------

    /**
     * One LSTM step: {@code gates [B × 4·H]} (pre-activations i, f, g, o), {@code c [B × H]} updated in
     * place, {@code hOut [B × H]} written. See {@link Kernels#lstmCell}.
     *
     * @param gates the pre-activations {@code [B × 4·H]}, read only
     * @param c     the cell state {@code [B × H]}, updated in place
     * @param hOut  the new hidden state {@code [B × H]}, written
     */
    public void lstmCell(Tensor gates, Tensor c, Tensor hOut) {
        Checks.alive("lstmCell", "c", c);
        int b = c.rows(), h = c.cols();
        Checks.shape("lstmCell", "gates", gates, b, GateLayout.LSTM_GATES * h);
        Checks.shape("lstmCell", "hOut", hOut, b, h);
        kernels.lstmCell(b, h, gates.segment(), gates.offset(), gates.ld(), c.segment(), c.offset(), c.ld(),
                hOut.segment(), hOut.offset(), hOut.ld());
    }

    /**
     * One GRU step: {@code gi, gh [B × 3·H]} (r, z, n), {@code hPrev, hOut [B × H]} (may be the same).
     * See {@link Kernels#gruCell}.
     *
     * @param gi    the input projections {@code [B × 3·H]}
     * @param gh    the recurrent projections {@code [B × 3·H]}
     * @param hPrev the previous hidden state {@code [B × H]}
     * @param hOut  the new hidden state {@code [B × H]}, written
     */
    public void gruCell(Tensor gi, Tensor gh, Tensor hPrev, Tensor hOut) {
        Checks.alive("gruCell", "hPrev", hPrev);
        int b = hPrev.rows(), h = hPrev.cols();
        Checks.shape("gruCell", "gi", gi, b, GateLayout.GRU_GATES * h);
        Checks.shape("gruCell", "gh", gh, b, GateLayout.GRU_GATES * h);
        Checks.shape("gruCell", "hOut", hOut, b, h);
        kernels.gruCell(b, h, gi.segment(), gi.offset(), gi.ld(), gh.segment(), gh.offset(), gh.ld(),
                hPrev.segment(), hPrev.offset(), hPrev.ld(), hOut.segment(), hOut.offset(), hOut.ld());
    }

    /**
     * One Elman step: {@code hOut = act(pre)}, both {@code [B × H]}. See {@link Kernels#rnnCell}.
     *
     * @param activation tanh or ReLU
     * @param pre        the pre-activations {@code [B × H]}
     * @param hOut       the new hidden state {@code [B × H]}, written
     */
    public void rnnCell(Activation activation, Tensor pre, Tensor hOut) {
        Objects.requireNonNull(activation, "activation");
        Checks.alive("rnnCell", "pre", pre);
        Checks.shape("rnnCell", "hOut", hOut, pre.rows(), pre.cols());
        kernels.rnnCell(pre.rows(), pre.cols(), activation, pre.segment(), pre.offset(), pre.ld(),
                hOut.segment(), hOut.offset(), hOut.ld());
    }

    private static void vector(String op, String name, Tensor t, int len) {
        Checks.alive(op, name, t);
        if (t.size() != len || !t.isContiguous()) {
            throw new IllegalArgumentException(op + ": " + name + " must be a contiguous vector of " + len
                    + " elements, got " + t.shapeString() + (t.isContiguous() ? "" : " with ld " + t.ld()));
        }
    }

    @Override
    public String toString() {
        return "Backend[" + name() + "]";
    }
}
