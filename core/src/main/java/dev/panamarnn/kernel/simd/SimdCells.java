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
 * masked. Formulas and gate order are those of {@link dev.panamarnn.kernel.Kernels}.
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
        VectorMask<Float> tail = S.indexInRange(ub, hidden);
        for (int r = 0; r < batch; r++) {
            long g = (gOff + (long) r * ldg) * B, cc = (cOff + (long) r * ldc) * B, h = (hOff + (long) r * ldh) * B;
            int j = 0;
            for (; j < ub; j += VL, g += VL * B, cc += VL * B, h += VL * B) {
                FloatVector i = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g, NO));
                FloatVector f = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g + gate, NO));
                FloatVector gg = SimdMath.tanh(FloatVector.fromMemorySegment(S, gates, g + 2 * gate, NO));
                FloatVector o = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g + 3 * gate, NO));
                FloatVector c1 = f.fma(FloatVector.fromMemorySegment(S, c, cc, NO), i.mul(gg));
                c1.intoMemorySegment(c, cc, NO);
                o.mul(SimdMath.tanh(c1)).intoMemorySegment(hOut, h, NO);
            }
            if (j < hidden) {
                FloatVector i = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g, NO, tail));
                FloatVector f = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g + gate, NO, tail));
                FloatVector gg = SimdMath.tanh(FloatVector.fromMemorySegment(S, gates, g + 2 * gate, NO, tail));
                FloatVector o = SimdMath.sigmoid(FloatVector.fromMemorySegment(S, gates, g + 3 * gate, NO, tail));
                FloatVector c1 = f.fma(FloatVector.fromMemorySegment(S, c, cc, NO, tail), i.mul(gg));
                c1.intoMemorySegment(c, cc, NO, tail);
                o.mul(SimdMath.tanh(c1)).intoMemorySegment(hOut, h, NO, tail);
            }
        }
    }

    static void gru(int batch, int hidden, MemorySegment gi, long giOff, int ldgi, MemorySegment gh, long ghOff, int ldgh,
                    MemorySegment hPrev, long hpOff, int ldhp, MemorySegment hOut, long hoOff, int ldho) {
        long gate = hidden * B;
        int ub = S.loopBound(hidden);
        VectorMask<Float> tail = S.indexInRange(ub, hidden);
        for (int r = 0; r < batch; r++) {
            long x = (giOff + (long) r * ldgi) * B, y = (ghOff + (long) r * ldgh) * B;
            long hp = (hpOff + (long) r * ldhp) * B, ho = (hoOff + (long) r * ldho) * B;
            int j = 0;
            for (; j < ub; j += VL, x += VL * B, y += VL * B, hp += VL * B, ho += VL * B) {
                FloatVector rg = SimdMath.sigmoid(load(gi, x).add(load(gh, y)));
                FloatVector z = SimdMath.sigmoid(load(gi, x + gate).add(load(gh, y + gate)));
                FloatVector n = SimdMath.tanh(rg.fma(load(gh, y + 2 * gate), load(gi, x + 2 * gate)));
                // h' = (1 - z)·n + z·h = n + z·(h - n); h is read before the same chunk is written.
                z.fma(load(hPrev, hp).sub(n), n).intoMemorySegment(hOut, ho, NO);
            }
            if (j < hidden) {
                FloatVector rg = SimdMath.sigmoid(load(gi, x, tail).add(load(gh, y, tail)));
                FloatVector z = SimdMath.sigmoid(load(gi, x + gate, tail).add(load(gh, y + gate, tail)));
                FloatVector n = SimdMath.tanh(rg.fma(load(gh, y + 2 * gate, tail), load(gi, x + 2 * gate, tail)));
                z.fma(load(hPrev, hp, tail).sub(n), n).intoMemorySegment(hOut, ho, NO, tail);
            }
        }
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
