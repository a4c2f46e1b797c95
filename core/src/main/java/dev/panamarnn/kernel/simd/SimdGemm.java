package dev.panamarnn.kernel.simd;

import static dev.panamarnn.kernel.simd.SimdMicroKernel.MR;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.NR;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.S;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.VL;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Blocked single-precision GEMM in the GotoBLAS/BLIS layout, single-threaded:
 * <pre>
 *   for jc in n by NC:                     B̃ = op(B)[pc:pc+kc, jc:jc+nc] packed in NR-wide panels (L3)
 *     for pc in k by KC:
 *       for ic in m by MC:                 Ã = op(A)[ic:ic+mc, pc:pc+kc] packed in MR-high panels (L2)
 *         for jr in nc by NR:              one B̃ micro-panel [kc × NR] stays in L1
 *           for ir in mc by MR:            microkernel: C[MR × NR] += Ã micro-panel · B̃ micro-panel
 * </pre>
 * Panels are zero-padded to MR / NR, so edge blocks run the same microkernel and only their write-back
 * is partial. All four transpose combinations differ only in how the two pack routines read. A short A
 * (up to {@link #SMALL_A} packed floats: the per-step shapes) takes {@link #smallM} instead.
 *
 * <p>Measured (AVX2 EPYC, one thread, one JMH run of {@code SimdGemmBenchmark} beside OpenBLAS, GFLOP/s
 * simd / OpenBLAS): 2048³ 46.6 / 81.5; step shapes 256×4096×1024 51.2 / 70.8, 64×2048×512 30.6 / 59.6,
 * 32×768×256 49.8 / 56.5, 32×512×512 45.9 / 58.7. Standalone runs reach 55-64 at 2048³ and 48-55 at
 * the step shapes; run-to-run spread on this 2-vCPU VM is large (identical compiled code measured 30 and
 * 55 GFLOP/s in different JVMs), so compare figures from one run.
 */
final class SimdGemm {
    /**
     * KC: a B̃ micro-panel of KC × NR floats should take about half of the 32 KiB L1, leaving room for the
     * streaming Ã micro-panels and the C tile: 16 KiB / (NR·4 B) = 256 with AVX2 (NR = 16), 128 with
     * AVX-512. (24 KiB measured no better.)
     */
    static final int KC = 16 * 1024 / (NR * Float.BYTES);
    /** MC: Ã (MC × KC floats) should fill about half of the 512 KiB L2; a multiple of MR. */
    static final int MC = Math.max(MR, (256 * 1024 / (KC * Float.BYTES)) / MR * MR);
    /** NC: B̃ (KC × NC floats, 4 MiB with AVX2) lives in the 32 MiB L3; a multiple of NR. */
    static final int NC = 4096 / NR * NR;

    /** Up to this many floats of packed A (256 KiB, half the L2) take the {@link #smallM} order. */
    static final int SMALL_A = 64 * 1024;

    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private SimdGemm() {}

    /** The general path; the caller has handled m, n, k == 0, alpha == 0 and the GEMV shapes. */
    static void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        if ((long) roundUp(m, MR) * k <= SMALL_A) {
            smallM(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        SimdScratch s = SimdScratch.get();
        // Split each dimension into equal blocks no larger than the constants, so that e.g. k = 512 is
        // 3 × 171 rather than 170 + 170 + 170 + 2 (a whole extra pass over C for two k steps).
        int mc = roundUp(ceilDiv(m, ceilDiv(m, MC)), MR);
        int kcMax = ceilDiv(k, ceilDiv(k, KC));
        int ncMax = roundUp(ceilDiv(n, ceilDiv(n, NC)), NR);
        float[] pa = s.packA(mc * kcMax);
        float[] pb = s.packB(kcMax * ncMax);
        for (int jc = 0; jc < n; jc += ncMax) {
            int nc = Math.min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                SimdPack.packB(tb, b, bOff, ldb, pc, jc, kc, nc, pb);
                float betaK = pc == 0 ? beta : 1f; // later k blocks accumulate onto C
                for (int ic = 0; ic < m; ic += mc) {
                    int mcur = Math.min(mc, m - ic);
                    SimdPack.packA(ta, a, aOff, lda, ic, pc, mcur, kc, pa);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int cols = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mcur; ir += MR) {
                            SimdMicroKernel.run(kc, pa, ir * kc, pb, jr * kc, alpha, betaK,
                                    c, cOff + (long) (ic + ir) * ldc + jc + jr, ldc,
                                    Math.min(MR, mcur - ir), cols, s.tile);
                        }
                    }
                }
            }
        }
    }

    /**
     * The order for a short A (the per-step shapes, batch ≤ a few hundred): all of op(A) packed once
     * (it fits in L2), then for each NR-wide column strip of C, for each k block: pack that one B̃
     * micro-panel (it stays in L1) and sweep it over all of A. The strip of C (m × NR) stays in cache
     * across the k blocks, and packed B never travels out to L3 and back.
     */
    private static void smallM(boolean ta, boolean tb, int m, int n, int k, float alpha,
                               MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                               float beta, MemorySegment c, long cOff, int ldc) {
        SimdScratch s = SimdScratch.get();
        float[] pa = s.packA(roundUp(m, MR) * k);
        SimdPack.packA(ta, a, aOff, lda, 0, 0, m, k, pa);
        int kcMax = ceilDiv(k, ceilDiv(k, KC));
        float[] pb = s.packB(kcMax * NR);
        for (int jr = 0; jr < n; jr += NR) {
            int cols = Math.min(NR, n - jr);
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                SimdPack.packB(tb, b, bOff, ldb, pc, jr, kc, cols, pb);
                float betaK = pc == 0 ? beta : 1f;
                for (int ir = 0; ir < m; ir += MR) {
                    SimdMicroKernel.run(kc, pa, ir * k + pc * MR, pb, 0, alpha, betaK,
                            c, cOff + (long) ir * ldc + jr, ldc, Math.min(MR, m - ir), cols, s.tile);
                }
            }
        }
    }

    /** C = beta·C (C not read when beta == 0): what GEMM reduces to when k == 0 or alpha == 0. */
    static void scale(int m, int n, float beta, MemorySegment c, long cOff, int ldc) {
        int ub = S.loopBound(n);
        VectorMask<Float> tail = S.indexInRange(ub, n);
        for (int i = 0; i < m; i++) {
            long o = (cOff + (long) i * ldc) * Float.BYTES;
            int j = 0;
            for (; j < ub; j += VL, o += VL * Float.BYTES) {
                FloatVector v = beta == 0f ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, c, o, NO).mul(beta);
                v.intoMemorySegment(c, o, NO);
            }
            if (j < n) {
                FloatVector v = beta == 0f ? FloatVector.zero(S) : FloatVector.fromMemorySegment(S, c, o, NO, tail).mul(beta);
                v.intoMemorySegment(c, o, NO, tail);
            }
        }
    }

    private static int ceilDiv(int x, int q) {
        return (x + q - 1) / q;
    }

    private static int roundUp(int x, int q) {
        return (x + q - 1) / q * q;
    }
}
