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
            for (; j < ub; j += VL, g += VL * B, cc += VL * B, h += VL * B) lstmChunk(gates, g, gate, c, cc, hOut, h);
            if (j < hidden) lstmTail(gates, g, gate, c, cc, hOut, h, hidden - j);
        }
    }

    // One chunk per call, memory in and memory out: if C2 does not inline it (five inlined activations
    // make a large compile unit, and past NodeCountInliningCutoff it stops inlining), the call costs a few
    // cycles, whereas a vector crossing a call that is not inlined is boxed, i.e. allocated, every time.

    /** c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c') for one vector of hidden units. */
    private static void lstmChunk(MemorySegment gates, long g, long gate, MemorySegment c, long cc, MemorySegment hOut, long h) {
        FloatVector i = SimdMath.sigmoid(load(gates, g));
        FloatVector f = SimdMath.sigmoid(load(gates, g + gate));
        FloatVector gg = SimdMath.tanh(load(gates, g + 2 * gate));
        FloatVector o = SimdMath.sigmoid(load(gates, g + 3 * gate));
        FloatVector c1 = f.fma(load(c, cc), i.mul(gg));
        c1.intoMemorySegment(c, cc, NO);
        o.mul(SimdMath.tanh(c1)).intoMemorySegment(hOut, h, NO);
    }

    /** The same for the last {@code left < VL} hidden units of a row, masked. */
    private static void lstmTail(MemorySegment gates, long g, long gate, MemorySegment c, long cc, MemorySegment hOut, long h, int left) {
        VectorMask<Float> m = S.indexInRange(0, left);
        FloatVector i = SimdMath.sigmoid(load(gates, g, m));
        FloatVector f = SimdMath.sigmoid(load(gates, g + gate, m));
        FloatVector gg = SimdMath.tanh(load(gates, g + 2 * gate, m));
        FloatVector o = SimdMath.sigmoid(load(gates, g + 3 * gate, m));
        FloatVector c1 = f.fma(load(c, cc, m), i.mul(gg));
        c1.intoMemorySegment(c, cc, NO, m);
        o.mul(SimdMath.tanh(c1)).intoMemorySegment(hOut, h, NO, m);
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
                gruChunk(gi, x, gh, y, gate, hPrev, hp, hOut, ho);
            }
            if (j < hidden) gruTail(gi, x, gh, y, gate, hPrev, hp, hOut, ho, hidden - j);
        }
    }

    /** r, z = σ(gi + gh); n = tanh(gi_n + r·gh_n); h' = n + z·(h − n), h read before the chunk is written. */
    private static void gruChunk(MemorySegment gi, long x, MemorySegment gh, long y, long gate,
                                 MemorySegment hPrev, long hp, MemorySegment hOut, long ho) {
        FloatVector rg = SimdMath.sigmoid(load(gi, x).add(load(gh, y)));
        FloatVector z = SimdMath.sigmoid(load(gi, x + gate).add(load(gh, y + gate)));
        FloatVector n = SimdMath.tanh(rg.fma(load(gh, y + 2 * gate), load(gi, x + 2 * gate)));
        z.fma(load(hPrev, hp).sub(n), n).intoMemorySegment(hOut, ho, NO);
    }

    private static void gruTail(MemorySegment gi, long x, MemorySegment gh, long y, long gate,
                                MemorySegment hPrev, long hp, MemorySegment hOut, long ho, int left) {
        VectorMask<Float> m = S.indexInRange(0, left);
        FloatVector rg = SimdMath.sigmoid(load(gi, x, m).add(load(gh, y, m)));
        FloatVector z = SimdMath.sigmoid(load(gi, x + gate, m).add(load(gh, y + gate, m)));
        FloatVector n = SimdMath.tanh(rg.fma(load(gh, y + 2 * gate, m), load(gi, x + 2 * gate, m)));
        z.fma(load(hPrev, hp, m).sub(n), n).intoMemorySegment(hOut, ho, NO, m);
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
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) SimdMath.tanh(load(x, xi)).intoMemorySegment(y, yi, NO);
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.tanh(load(x, xi, m)).intoMemorySegment(y, yi, NO, m);
        }
    }

    /** {@code y = σ(x)} over n contiguous floats. */
    static void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int ub = S.loopBound(n), j = 0;
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) SimdMath.sigmoid(load(x, xi)).intoMemorySegment(y, yi, NO);
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.sigmoid(load(x, xi, m)).intoMemorySegment(y, yi, NO, m);
        }
    }

    /** {@code y = max(x, 0)} over n contiguous floats. */
    static void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int ub = S.loopBound(n), j = 0;
        for (; j < ub; j += VL, xi += VL * B, yi += VL * B) SimdMath.relu(load(x, xi)).intoMemorySegment(y, yi, NO);
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            SimdMath.relu(load(x, xi, m)).intoMemorySegment(y, yi, NO, m);
        }
    }

    private static FloatVector load(MemorySegment s, long byteOff) {
        return FloatVector.fromMemorySegment(S, s, byteOff, NO);
    }

    private static FloatVector load(MemorySegment s, long byteOff, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(S, s, byteOff, NO, m);
    }
}
