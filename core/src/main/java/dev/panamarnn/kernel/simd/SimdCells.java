package dev.panamarnn.kernel.simd;

import dev.panamarnn.kernel.Activation;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fused gate kernels: one pass per batch row over the hidden units in vector chunks: load the gate
 * chunks, apply the {@link SimdMath} activations in registers, write c and h. The last chunk of a row is
 * masked. Formulas and gate order are those of {@link dev.panamarnn.kernel.Kernels}. Also the plain
 * activation loops over contiguous floats.
 */
final class SimdCells {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final long B = Float.BYTES;

    private SimdCells() {}

    static void lstm(int batch, int hidden, MemorySegment gates, long gOff, int ldg,
                     MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hOff, int ldh) {
        long gate = hidden * B;
        int ub = S.loopBound(hidden);
        for (int r = 0; r < batch; r++) {
            long g = (gOff + (long) r * ldg) * B, cc = (cOff + (long) r * ldc) * B, h = (hOff + (long) r * ldh) * B;
            int j = 0;
            for (; j < ub; j += VL, g += VL * B, cc += VL * B, h += VL * B) {
                lstmChunk(gates, g, gate, c, cc, hOut, h, VL);
            }
            if (j < hidden) lstmChunk(gates, g, gate, c, cc, hOut, h, hidden - j);
        }
    }

    // One chunk per call, memory in and memory out. If C2 does not inline it (five inlined activations
    // make a large compile unit, and past NodeCountInliningCutoff C2 stops inlining), the call costs a few
    // cycles; a vector passed to or returned from a call that is not inlined would instead be boxed, i.e.
    // allocated, every time. For the same reason the loads are written out, not behind a helper.

    /** c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c') for min(left, VL) hidden units (masked: a row's tail). */
    private static void lstmChunk(MemorySegment gates, long g, long gate, MemorySegment c, long cc,
                                  MemorySegment hOut, long h, int left) {
        boolean masked = left < VL;
        VectorMask<Float> m = masked ? S.indexInRange(0, left) : null;
        FloatVector iv, fv, gv, ov, cv;
        if (!masked) {
            iv = FloatVector.fromMemorySegment(S, gates, g, NO);
            fv = FloatVector.fromMemorySegment(S, gates, g + gate, NO);
            gv = FloatVector.fromMemorySegment(S, gates, g + 2 * gate, NO);
            ov = FloatVector.fromMemorySegment(S, gates, g + 3 * gate, NO);
            cv = FloatVector.fromMemorySegment(S, c, cc, NO);
        } else {
            iv = FloatVector.fromMemorySegment(S, gates, g, NO, m);
            fv = FloatVector.fromMemorySegment(S, gates, g + gate, NO, m);
            gv = FloatVector.fromMemorySegment(S, gates, g + 2 * gate, NO, m);
            ov = FloatVector.fromMemorySegment(S, gates, g + 3 * gate, NO, m);
            cv = FloatVector.fromMemorySegment(S, c, cc, NO, m);
        }
        FloatVector c1 = SimdMath.sigmoid(fv).fma(cv, SimdMath.sigmoid(iv).mul(SimdMath.tanh(gv)));
        FloatVector h1 = SimdMath.sigmoid(ov).mul(SimdMath.tanh(c1));
        if (!masked) {
            c1.intoMemorySegment(c, cc, NO);
            h1.intoMemorySegment(hOut, h, NO);
        } else {
            c1.intoMemorySegment(c, cc, NO, m);
            h1.intoMemorySegment(hOut, h, NO, m);
        }
    }

    static void gru(int batch, int hidden, MemorySegment gi, long giOff, int ldgi, MemorySegment gh, long ghOff, int ldgh,
                    MemorySegment hPrev, long hpOff, int ldhp, MemorySegment hOut, long hoOff, int ldho) {
        long gate = hidden * B;
        int ub = S.loopBound(hidden);
        for (int r = 0; r < batch; r++) {
            long x = (giOff + (long) r * ldgi) * B, y = (ghOff + (long) r * ldgh) * B;
            long hp = (hpOff + (long) r * ldhp) * B, ho = (hoOff + (long) r * ldho) * B;
            int j = 0;
            for (; j < ub; j += VL, x += VL * B, y += VL * B, hp += VL * B, ho += VL * B) {
                gruChunk(gi, x, gh, y, gate, hPrev, hp, hOut, ho, VL);
            }
            if (j < hidden) gruChunk(gi, x, gh, y, gate, hPrev, hp, hOut, ho, hidden - j);
        }
    }

    /** r, z = σ(gi + gh); n = tanh(gi_n + r·gh_n); h' = n + z·(h − n), h read before the chunk is written. */
    private static void gruChunk(MemorySegment gi, long x, MemorySegment gh, long y, long gate,
                                 MemorySegment hPrev, long hp, MemorySegment hOut, long ho,
                                 int left) {
        boolean masked = left < VL;
        VectorMask<Float> m = masked ? S.indexInRange(0, left) : null;
        FloatVector xr, xz, xn, yr, yz, yn, hv;
        if (!masked) {
            xr = FloatVector.fromMemorySegment(S, gi, x, NO);
            xz = FloatVector.fromMemorySegment(S, gi, x + gate, NO);
            xn = FloatVector.fromMemorySegment(S, gi, x + 2 * gate, NO);
            yr = FloatVector.fromMemorySegment(S, gh, y, NO);
            yz = FloatVector.fromMemorySegment(S, gh, y + gate, NO);
            yn = FloatVector.fromMemorySegment(S, gh, y + 2 * gate, NO);
            hv = FloatVector.fromMemorySegment(S, hPrev, hp, NO);
        } else {
            xr = FloatVector.fromMemorySegment(S, gi, x, NO, m);
            xz = FloatVector.fromMemorySegment(S, gi, x + gate, NO, m);
            xn = FloatVector.fromMemorySegment(S, gi, x + 2 * gate, NO, m);
            yr = FloatVector.fromMemorySegment(S, gh, y, NO, m);
            yz = FloatVector.fromMemorySegment(S, gh, y + gate, NO, m);
            yn = FloatVector.fromMemorySegment(S, gh, y + 2 * gate, NO, m);
            hv = FloatVector.fromMemorySegment(S, hPrev, hp, NO, m);
        }
        FloatVector n = SimdMath.tanh(SimdMath.sigmoid(xr.add(yr)).fma(yn, xn));
        FloatVector h1 = SimdMath.sigmoid(xz.add(yz)).fma(hv.sub(n), n);
        if (!masked) h1.intoMemorySegment(hOut, ho, NO);
        else h1.intoMemorySegment(hOut, ho, NO, m);
    }

    static void rnn(int batch, int hidden, Activation act, MemorySegment pre, long pOff, int ldp,
                    MemorySegment hOut, long hOff, int ldh) {
        for (int r = 0; r < batch; r++) {
            long p = pOff + (long) r * ldp, h = hOff + (long) r * ldh;
            if (act == Activation.TANH) tanh(hidden, pre, p, hOut, h);
            else relu(hidden, pre, p, hOut, h);
        }
    }

    /** {@code y = tanh(x)} over n contiguous floats (offsets in floats). */
    static void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int ub = S.loopBound(n), j = 0;
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.tanh(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.tanh(FloatVector.fromMemorySegment(S, x, xi, NO, m)).intoMemorySegment(y, yi, NO, m);
        }
    }

    /** {@code y = σ(x)} over n contiguous floats. */
    static void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int ub = S.loopBound(n), j = 0;
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.sigmoid(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.sigmoid(FloatVector.fromMemorySegment(S, x, xi, NO, m)).intoMemorySegment(y, yi, NO, m);
        }
    }

    /** {@code y = max(x, 0)} over n contiguous floats. */
    static void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int ub = S.loopBound(n), j = 0;
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.relu(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.relu(FloatVector.fromMemorySegment(S, x, xi, NO, m)).intoMemorySegment(y, yi, NO, m);
        }
    }
}
