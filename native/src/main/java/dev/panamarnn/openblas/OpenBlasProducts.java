package dev.panamarnn.openblas;

import dev.panamarnn.kernel.MatrixProducts;
import dev.panamarnn.openblas.generated.CBlas;
import java.lang.foreign.MemorySegment;

/**
 * GEMM and GEMV through OpenBLAS's CBLAS interface, and the backend's policy for a step's product
 * ({@link #prefersPreparedSteps}). Nothing else: bfloat16 and prepared products and the cell math are the
 * core's, the Vector API's when the JVM has it. Debian's OpenBLAS 0.3.21 exports no bfloat16 GEMM
 * ({@code cblas_sbgemm} is declared, not built). Prepared products: measured at the S1 step (W
 * {@code [2048 × 512]}, one JMH run, µs), {@code cblas_sgemm} with 2, 4 and 8 rows took 492, 430 and 568
 * (it packs W on every call) against 75 for one {@code cblas_sgemv}, while the Vector API's product over W
 * packed once costs at 2 rows what one row does.
 *
 * <p>Shape routing: a product with one output row ({@code m == 1}) or one output column ({@code n == 1})
 * is a matrix-vector product, and {@code cblas_sgemm} is several times slower than {@code cblas_sgemv}
 * there (1 × 1024 × 256: ~95 µs against ~17 µs on an AVX2 EPYC), so those go to {@code cblas_sgemv}
 * with the vector's stride as its increment.
 *
 * <p>Operands arrive as (segment, float offset); {@link Pointers} turns them into pointer arguments
 * without allocating in steady state.
 *
 * <p>Unchecked, like every {@link MatrixProducts}: callers validate (see {@link dev.panamarnn.Backend}).
 */
final class OpenBlasProducts implements MatrixProducts {
    private static final int ROW_MAJOR = CBlas.CblasRowMajor();
    private static final int NO_TRANS = CBlas.CblasNoTrans();
    private static final int TRANS = CBlas.CblasTrans();

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            // OpenBLAS handles k == 0 as C = beta·C; spelled out here so beta == 0 never reads C.
            for (int i = 0; i < m; i++) {
                long row = cOff + (long) i * ldc;
                for (int j = 0; j < n; j++) {
                    long idx = (row + j) * Float.BYTES;
                    c.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, idx,
                            beta == 0f ? 0f : beta * c.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, idx));
                }
            }
            return;
        }
        Pointers p = Pointers.local();
        if (m == 1) {
            // c[0, :] = alpha · op(A)[0, :] · op(B) + beta · c[0, :]
            // op(A) row 0 is A's row 0 (stride 1) or, transposed, A's column 0 (stride lda).
            int incX = transA ? lda : 1;
            if (transB) { // op(B) = Bᵀ with B stored [n × k]: y = B · x
                dev.panamarnn.Faults.blasCall();
                CBlas.cblas_sgemv(ROW_MAJOR, NO_TRANS, n, k, alpha, p.at(b, bOff), ldb, p.at(a, aOff), incX, beta, p.at(c, cOff), 1);
            } else {      // B stored [k × n]: y = Bᵀ · x
                dev.panamarnn.Faults.blasCall();
                CBlas.cblas_sgemv(ROW_MAJOR, TRANS, k, n, alpha, p.at(b, bOff), ldb, p.at(a, aOff), incX, beta, p.at(c, cOff), 1);
            }
            return;
        }
        if (n == 1) {
            // c[:, 0] = alpha · op(A) · op(B)[:, 0] + beta · c[:, 0]; C's column has stride ldc.
            int incX = transB ? 1 : ldb;
            if (transA) { // A stored [k × m]: y = Aᵀ · x
                dev.panamarnn.Faults.blasCall();
                CBlas.cblas_sgemv(ROW_MAJOR, TRANS, k, m, alpha, p.at(a, aOff), lda, p.at(b, bOff), incX, beta, p.at(c, cOff), ldc);
            } else {
                dev.panamarnn.Faults.blasCall();
                CBlas.cblas_sgemv(ROW_MAJOR, NO_TRANS, m, k, alpha, p.at(a, aOff), lda, p.at(b, bOff), incX, beta, p.at(c, cOff), ldc);
            }
            return;
        }
        dev.panamarnn.Faults.blasCall();
        CBlas.cblas_sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k,
                alpha, p.at(a, aOff), lda, p.at(b, bOff), ldb, beta, p.at(c, cOff), ldc);
    }

    @Override
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        if ((transA ? n : m) == 0) return;
        if ((transA ? m : n) == 0) {
            sgemm(false, false, 1, transA ? n : m, 0, alpha, a, aOff, lda, x, xOff, 1, beta, y, yOff, Math.max(1, transA ? n : m));
            return;
        }
        Pointers p = Pointers.local();
        dev.panamarnn.Faults.blasCall();
        CBlas.cblas_sgemv(ROW_MAJOR, transA ? TRANS : NO_TRANS, m, n, alpha, p.at(a, aOff), lda, p.at(x, xOff), 1, beta, p.at(y, yOff), 1);
    }

    /**
     * Steps of 2 to 32 rows with OpenBLAS at 1 thread: {@code cblas_sgemm} packs W_hh again on every
     * call, W packed once does not. Measured ({@code LayerBenchmark -p panels=on,off}, 2 forks, medians,
     * ms), 1 thread: R1 (32 rows, 512×512) 43.3 against 47.3, G1 (32 rows) 217 against 219, L2 (64 rows)
     * 361 against 363; our two threads: R1 25.8 against 29.2, G1 112 against 118, L2 177 against 171.
     * With the six-row panel kernel (its product alone 0.78× OpenBLAS's at 64 × 2048 × 512) L2 with
     * panels at up to 64 rows measured 386 against 531 and then 409 against 411 at 1 thread, 816 against
     * 800 at our 2 threads: no clear gain, so the limit stayed.
     * So 64 rows stay with OpenBLAS's GEMM, as do single rows ({@code cblas_sgemv}) and large batches
     * ({@code GemmBenchmark} 256×4096×1024: 28.0 ms against 31.9–35.0). With more OpenBLAS threads its
     * GEMM spreads each step over them, where the panel kernel would run it on one.
     */
    @Override
    public boolean prefersPreparedSteps(int m) {
        return m >= 2 && m <= 32 && OpenBlas.threads() == 1;
    }
}
