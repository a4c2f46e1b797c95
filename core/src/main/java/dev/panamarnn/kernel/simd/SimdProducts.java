package dev.panamarnn.kernel.simd;

import dev.panamarnn.kernel.Bf16Products;
import dev.panamarnn.kernel.PreparedProducts;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The Vector API's products over native segments, generic over {@code FloatVector.SPECIES_PREFERRED}:
 * blocked GEMM ({@link SimdGemm}, {@link SimdMicroKernel}), GEMV ({@link SimdGemv}), the bfloat16 GEMV,
 * and the small-batch product over packed weights ({@link SimdPackedGemm}). Single-threaded per call;
 * the only state is per-thread scratch ({@link SimdScratch}). Loaded by name from
 * {@link SimdKernelProvider}; its cell math is {@link SimdCells}.
 */
final class SimdProducts implements Bf16Products, PreparedProducts {

    /** Public so that {@link SimdKernelProvider} can create it reflectively. */
    public SimdProducts() {}

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0f) {
            SimdGemm.scale(m, n, beta, c, cOff, ldc);
        } else if (m == 1) {
            // One row of C: x = op(A)'s row (stride lda when A is transposed) times op(B).
            float[] x = SimdGemv.copyIn(a, aOff, transA ? lda : 1, k);
            if (transB) {
                SimdGemv.gemvN(n, k, alpha, b, bOff, ldb, x, beta, c, cOff, 1); // B [n × k]: C = B·x
            } else {
                SimdGemv.gemvT(k, n, alpha, b, bOff, ldb, x, beta, c, cOff);    // B [k × n]: C = Bᵀ·x
            }
        } else if (n == 1 && !transA) {
            // One column of C (stride ldc) = A·x with x = op(B)'s column.
            float[] x = SimdGemv.copyIn(b, bOff, transB ? 1 : ldb, k);
            SimdGemv.gemvN(m, k, alpha, a, aOff, lda, x, beta, c, cOff, ldc);
        } else {
            SimdGemm.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }
    }

    /**
     * One row of A (the batch-1 step): a GEMV that reads the bfloat16 rows directly, so it moves half the
     * bytes of the float32 one. More rows: B is widened once per call into per-thread scratch and the
     * float32 GEMM runs; it then costs one extra pass over B, which a batch amortises.
     */
    @Override
    public void sgemmBf16(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0f) {
            SimdGemm.scale(m, n, beta, c, cOff, ldc);
        } else if (m == 1 && SimdGemv.BLOCKS) {
            float[] x = SimdGemv.copyIn(a, aOff, 1, k);
            SimdGemv.gemvNBf16(n, k, alpha, b, bOff, ldb, x, beta, c, cOff);
        } else {
            MemorySegment w = SimdScratch.get().widened((long) n * k);
            SimdGemv.widen(n, k, b, bOff, ldb, w);
            sgemm(false, true, m, n, k, alpha, a, aOff, lda, w, 0, k, beta, c, cOff, ldc);
        }
    }

    @Override
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        int outLen = transA ? n : m, inLen = transA ? m : n;
        if (outLen <= 0) return;
        if (inLen <= 0 || alpha == 0f) {
            SimdGemm.scale(1, outLen, beta, y, yOff, outLen);
            return;
        }
        float[] xs = SimdGemv.copyIn(x, xOff, 1, inLen);
        if (transA) SimdGemv.gemvT(m, n, alpha, a, aOff, lda, xs, beta, y, yOff);
        else SimdGemv.gemvN(m, n, alpha, a, aOff, lda, xs, beta, y, yOff, 1);
    }

    /** W packed once into the panels of {@link SimdPackedGemm}, on the heap. */
    @Override
    public PreparedWeights prepare(MemorySegment w, long wOff, int ldw, int n, int k) {
        return SimdPackedGemm.pack(w, wOff, ldw, n, k);
    }

    @Override
    public void gemmPrepared(int m, PreparedWeights w, MemorySegment a, long aOff, int lda, float beta,
                             MemorySegment c, long cOff, int ldc) {
        if (!(w instanceof SimdPackedGemm.Packed p)) throw new IllegalArgumentException("simd cannot read " + w + ": prepared by another backend");
        int n = p.n(), k = p.k();
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            SimdGemm.scale(m, n, beta, c, cOff, ldc);
            return;
        }
        SimdScratch s = SimdScratch.get();
        float[] xs = s.vec(m * k);
        for (int i = 0; i < m; i++) MemorySegment.copy(a, JAVA_FLOAT, (aOff + (long) i * lda) * Float.BYTES, xs, i * k, k);
        SimdPackedGemm.gemm(m, p, xs, beta, c, cOff, ldc, s.sums());
    }
}
