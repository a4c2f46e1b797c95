package dev.panamarnn.kernel.simd;

import static dev.panamarnn.kernel.simd.SimdMicroKernel.MR;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.NR;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.S;
import static dev.panamarnn.kernel.simd.SimdMicroKernel.VL;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM pack routines: op(B) into {@code [kc × NR]} panels, op(A) into {@code [kc × MR]} panels, both
 * k-major and zero-padded. Where the source is contiguous along the panel's short side (B, Aᵀ) it is a
 * copy; where it is contiguous along k (Bᵀ, A) it is a transpose, done in 4 × 4 blocks with 128-bit
 * vectors (2 shuffle stages, 4 loads and 4 stores per 16 floats instead of 16 + 16 scalar accesses). The
 * 128-bit species is used whatever the preferred width, since NR and MR are multiples of 4.
 */
final class SimdPack {
    private static final VectorSpecies<Float> Q = FloatVector.SPECIES_128;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final long B = Float.BYTES;
    // Stage d of the block transpose swaps bit d between row and lane index: lanes with bit d set take
    // the partner row's lane l - d ("up"), lanes with it clear take the partner's lane l + d ("down").
    private static final VectorMask<Float> ODD1 = VectorMask.fromLong(Q, 0b1010), ODD2 = VectorMask.fromLong(Q, 0b1100);
    private static final VectorShuffle<Float> UP1 = VectorShuffle.fromValues(Q, 0, 0, 2, 2),
            DOWN1 = VectorShuffle.fromValues(Q, 1, 1, 3, 3),
            UP2 = VectorShuffle.fromValues(Q, 0, 1, 0, 1),
            DOWN2 = VectorShuffle.fromValues(Q, 2, 3, 2, 3);

    private SimdPack() {}

    /** Packs op(B)[pc:pc+kc, jc:jc+nc] panel by panel. */
    static void packB(boolean tb, MemorySegment b, long bOff, int ldb, int pc, int jc, int kc, int nc, float[] pb) {
        for (int jr = 0; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr);
            if (tb) {
                // Column j of the panel is row jc+jr+j of B, contiguous in k.
                transposeInto(b, bOff + (long) (jc + jr) * ldb + pc, ldb, cols, kc, pb, jr * kc, NR);
            } else {
                copyRows(b, bOff + (long) pc * ldb + jc + jr, ldb, cols, kc, pb, jr * kc);
            }
        }
    }

    /** Packs op(A)[ic:ic+mc, pc:pc+kc] panel by panel. */
    static void packA(boolean ta, MemorySegment a, long aOff, int lda, int ic, int pc, int mc, int kc, float[] pa) {
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            int dst = ir * kc;
            if (!ta) {
                transposeInto(a, aOff + (long) (ic + ir) * lda + pc, lda, rows, kc, pa, dst, MR);
            } else {
                // For each k the MR values are contiguous in memory.
                for (int p = 0; p < kc; p++) {
                    long src = aOff + (long) (pc + p) * lda + ic + ir;
                    int d = dst + p * MR;
                    for (int i = 0; i < rows; i++) pa[d + i] = a.getAtIndex(F, src + i);
                    for (int i = rows; i < MR; i++) pa[d + i] = 0f;
                }
            }
        }
    }

    /** {@code [kc × NR]} k-major panel from kc rows of {@code cols} contiguous floats each. */
    private static void copyRows(MemorySegment src, long off, int ld, int cols, int kc, float[] dst, int d) {
        long o = off * B, step = (long) ld * B;
        if (cols == NR) {
            for (int p = 0; p < kc; p++, o += step, d += NR) {
                for (int t = 0; t < NR; t += VL) {
                    FloatVector.fromMemorySegment(S, src, o + t * B, NO).intoArray(dst, d + t);
                }
            }
        } else {
            for (int p = 0; p < kc; p++, o += step, d += NR) {
                for (int t = 0; t < NR; t += VL) {
                    VectorMask<Float> m = S.indexInRange(t, cols);
                    FloatVector.fromMemorySegment(S, src, o + t * B, NO, m).intoArray(dst, d + t);
                }
            }
        }
    }

    /**
     * {@code dst[d + p·width + j] = src[off + j·ld + p]} for j < lines, p < kc; zero for lines ≤ j < width.
     * Groups of 4 lines are first copied to a heap buffer in bulk (segment loads at four long offsets
     * keep their bounds checks inside the loop, which cost more than the copy), then go through 4 × 4
     * register transposes; the k tail and a partial group are scalar.
     */
    private static void transposeInto(MemorySegment src, long off, int ld, int lines, int kc, float[] dst, int d, int width) {
        int kc4 = kc & ~3;
        int j = 0;
        if (lines >= 4) {
            float[] buf = SimdScratch.get().lines(4 * kc);
            for (; j + 4 <= lines; j += 4) {
                for (int t = 0; t < 4; t++) {
                    MemorySegment.copy(src, F, (off + (long) (j + t) * ld) * B, buf, t * kc, kc);
                }
                for (int p = 0; p < kc4; p += 4) {
                    FloatVector v0 = FloatVector.fromArray(Q, buf, p);
                    FloatVector v1 = FloatVector.fromArray(Q, buf, kc + p);
                    FloatVector v2 = FloatVector.fromArray(Q, buf, 2 * kc + p);
                    FloatVector v3 = FloatVector.fromArray(Q, buf, 3 * kc + p);
                    // Stage 1: 2 × 2 blocks of single lanes.
                    FloatVector w0 = v0.blend(v1.rearrange(UP1), ODD1), w1 = v0.rearrange(DOWN1).blend(v1, ODD1);
                    FloatVector w2 = v2.blend(v3.rearrange(UP1), ODD1), w3 = v2.rearrange(DOWN1).blend(v3, ODD1);
                    // Stage 2: 2 × 2 blocks of lane pairs.
                    FloatVector u0 = w0.blend(w2.rearrange(UP2), ODD2), u2 = w0.rearrange(DOWN2).blend(w2, ODD2);
                    FloatVector u1 = w1.blend(w3.rearrange(UP2), ODD2), u3 = w1.rearrange(DOWN2).blend(w3, ODD2);
                    int q = d + p * width + j;
                    u0.intoArray(dst, q);
                    u1.intoArray(dst, q + width);
                    u2.intoArray(dst, q + 2 * width);
                    u3.intoArray(dst, q + 3 * width);
                }
                for (int p = kc4; p < kc; p++) {
                    for (int t = 0; t < 4; t++) dst[d + p * width + j + t] = buf[t * kc + p];
                }
            }
        }
        for (; j < lines; j++) {
            long o = off + (long) j * ld;
            for (int p = 0; p < kc; p++) dst[d + p * width + j] = src.getAtIndex(F, o + p);
        }
        for (; j < width; j++) {
            for (int p = 0; p < kc; p++) dst[d + p * width + j] = 0f;
        }
    }
}
