package dev.panamarnn.engine;

import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;

/** The product by a packed weight matrix, float32 or bfloat16 as the layer stores it. */
final class Products {
    private Products() {}

    /**
     * {@code C[m × n] = A·Wᵀ + beta·C} for W {@code [n × k]} of packed rows from element offset
     * {@code wOff} (2-byte elements when {@code bf16}).
     */
    static void gemm(Kernels k, boolean bf16, int m, int n, int kk, MemorySegment a, long aOff, int lda, MemorySegment w, long wOff,
                     float beta, MemorySegment c, long cOff, int ldc) {
        if (bf16) k.sgemmBf16(m, n, kk, 1f, a, aOff, lda, w, wOff, kk, beta, c, cOff, ldc);
        else k.sgemm(false, true, m, n, kk, 1f, a, aOff, lda, w, wOff, kk, beta, c, cOff, ldc);
    }
}
