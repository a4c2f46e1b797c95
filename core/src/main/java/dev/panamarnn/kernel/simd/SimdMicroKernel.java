package dev.panamarnn.kernel.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM microkernel: an {@code MR × NR} block of C held in {@code MR · NR/VL} vector registers,
 * updated from a packed A micro-panel ({@code [kc × MR]}, k-major) and a packed B micro-panel
 * ({@code [kc × NR]}, k-major) by broadcast + FMA.
 *
 * <p>Shape: MR = 4 rows × NR = 2 vectors: 8 accumulators + 2 B vectors + 4 broadcasts = 14 of the 16
 * AVX2 registers. C2 issues all loads of an iteration before its FMAs, so the broadcasts need registers
 * of their own: 6 × 2 (15 registers on paper) spilled four accumulators, 3 × 3 was slightly faster at
 * 2048³ but wastes rows at batch 32/64. Eight accumulator chains just cover FMA latency × ports (4 × 2).
 * Per k step: 2 vector loads + 4 broadcast loads for 8 FMAs. Generic over the vector length: with
 * AVX-512, NR = 32 and the same 14 registers of 32 (a bigger tile would pay there; not tuned).
 */
final class SimdMicroKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    static final int MR = 4;
    static final int NR = 2 * VL;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private SimdMicroKernel() {}

    /**
     * {@code C[rows × cols] = alpha · Ã·B̃ + beta · C} (C not read when beta == 0), C at float offset
     * {@code cOff} with {@code ldc}; {@code pa}/{@code pb} are zero-padded to MR / NR, so the arithmetic
     * is always full and only the write-back distinguishes an edge block (through {@code tile}).
     */
    static void run(int kc, float[] pa, int ai, float[] pb, int bi, float alpha, float beta,
                    MemorySegment c, long cOff, int ldc, int rows, int cols, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        // Not unrolled: C2 schedules every load of an unrolled body first, which needs more than 16
        // registers and spills accumulators. Every index is (loop variable)·scale + invariant, so C2
        // hoists the array range checks (separately incremented offsets defeat that).
        for (int p = 0; p < kc; p++) {
            int ao = ai + p * MR, bo = bi + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bo);
            FloatVector b1 = FloatVector.fromArray(S, pb, bo + VL);
            FloatVector a = FloatVector.broadcast(S, pa[ao]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, pa[ao + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, pa[ao + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, pa[ao + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
        }
        // The accumulators go through the tile rather than straight to C: passing vectors to a helper
        // that C2 declines to inline (the method is near NodeCountInliningCutoff) would box them inside
        // the loop. The extra stores and loads per tile are nothing beside its kc·MR·NR/VL FMAs.
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        if (rows == MR && cols == NR) storeFull(c, cOff, ldc, tile, alpha, beta);
        else storeEdge(c, cOff, ldc, rows, cols, tile, alpha, beta);
    }

    /** C[MR × NR] = alpha·tile + beta·C, whole vectors. */
    private static void storeFull(MemorySegment c, long cOff, int ldc, float[] tile, float alpha, float beta) {
        FloatVector al = FloatVector.broadcast(S, alpha);
        long row = cOff * Float.BYTES, ld = (long) ldc * Float.BYTES;
        for (int r = 0; r < MR; r++, row += ld) {
            for (int t = 0; t < NR; t += VL) {
                long o = row + (long) t * Float.BYTES;
                FloatVector v = FloatVector.fromArray(S, tile, r * NR + t).mul(al);
                if (beta != 0f) v = FloatVector.fromMemorySegment(S, c, o, NO).fma(FloatVector.broadcast(S, beta), v);
                v.intoMemorySegment(c, o, NO);
            }
        }
    }

    /** The part of an edge block inside C, element by element from the tile. */
    static void storeEdge(MemorySegment c, long cOff, int ldc, int rows, int cols, float[] tile, float alpha, float beta) {
        for (int r = 0; r < rows; r++) {
            long row = cOff + (long) r * ldc;
            for (int j = 0; j < cols; j++) {
                float v = alpha * tile[r * NR + j];
                if (beta != 0f) v += beta * c.getAtIndex(F, row + j);
                c.setAtIndex(F, row + j, v);
            }
        }
    }
}
