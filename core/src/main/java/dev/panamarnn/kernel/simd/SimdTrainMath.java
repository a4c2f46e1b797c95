package dev.panamarnn.kernel.simd;

import static jdk.incubator.vector.VectorOperators.GT;

import dev.panamarnn.kernel.TrainMath;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API's {@link TrainMath}: training's per-row elementwise math in whole vectors of
 * {@link FloatVector#SPECIES_PREFERRED}, the last {@code n mod lanes} elements of a row in a scalar loop.
 * Formulas and gate order are {@link TrainMath}'s; offsets count floats.
 *
 * <p><b>Rounding.</b> {@link #add}, {@link #accumulate} and {@link #lstmOutput} round as the reference does
 * (bit for bit). The others fuse a multiply with the add that follows it ({@code f·cPrev + i·g},
 * {@code xn + r·hn}, the backward's {@code dc + dOut·o·(1 − t²)}) and compute {@code 1 − t²} as
 * {@code fma(−t, t, 1)}: one rounding instead of two, which matters where the reference cancels
 * ({@code 1 − t·t} for |t| near 1 loses up to half an ulp of 1.0 absolute; the FMA is exact to half an ulp
 * of the result). The difference from the reference is therefore a few ulps of the result, or, where a sum
 * cancels, a few ulps of its largest term. The products keep the reference's order.
 *
 * <p><b>Width independence.</b> The scalar tail evaluates the same formulas with {@link Math#fma}, so each
 * element's result depends only on its inputs: not on its position in the row, the row length or the
 * vector width (MaxVectorSize). Rows may overlap only element for element (an output may be the input of
 * the same index, as {@link #accumulate}'s {@code y}): every chunk is read before it is written.
 *
 * <p><b>No vector boxing.</b> As in {@link SimdCells}: the loops call only the Vector API (force-inlined)
 * and no helper that takes or returns a vector; each operation has one call site per loop; the tail has no
 * vector call site of its own (a masked tail is a cold site where most rows are whole vectors, and a cold
 * site is where C2 stops inlining and boxes). The tail helpers take and return no vectors, so whether C2
 * inlines them does not matter.
 */
public final class SimdTrainMath extends TrainMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final long B = Float.BYTES;

    /** Public, with no arguments: {@link TrainMath#forBackend} creates it reflectively. */
    public SimdTrainMath() {}

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public void add(int n, MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment y, long yOff) {
        long ai = aOff * B, bi = bOff * B, yi = yOff * B;
        int j = 0;
        for (int up = S.loopBound(n); j < up; j += VL) {
            long k = j * B;
            FloatVector.fromMemorySegment(S, a, ai + k, NO).add(FloatVector.fromMemorySegment(S, b, bi + k, NO))
                    .intoMemorySegment(y, yi + k, NO);
        }
        if (j < n) super.add(n - j, a, aOff + j, b, bOff + j, y, yOff + j);
    }

    @Override
    public void accumulate(int n, MemorySegment a, long aOff, MemorySegment y, long yOff) {
        long ai = aOff * B, yi = yOff * B;
        int j = 0;
        for (int up = S.loopBound(n); j < up; j += VL) {
            long k = j * B;
            FloatVector.fromMemorySegment(S, y, yi + k, NO).add(FloatVector.fromMemorySegment(S, a, ai + k, NO))
                    .intoMemorySegment(y, yi + k, NO);
        }
        if (j < n) super.accumulate(n - j, a, aOff + j, y, yOff + j);
    }

    @Override
    public void lstmState(int h, MemorySegment act, long aOff, MemorySegment cPrev, long pOff, MemorySegment c, long cOff) {
        long hb = h * B, ai = aOff * B, pi = pOff * B, ci = cOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector i = FloatVector.fromMemorySegment(S, act, ai + k, NO);
            FloatVector f = FloatVector.fromMemorySegment(S, act, ai + hb + k, NO);
            FloatVector g = FloatVector.fromMemorySegment(S, act, ai + 2 * hb + k, NO);
            f.fma(FloatVector.fromMemorySegment(S, cPrev, pi + k, NO), i.mul(g)).intoMemorySegment(c, ci + k, NO);
        }
        if (j < h) lstmStateTail(j, h, act, aOff, cPrev, pOff, c, cOff);
    }

    private static void lstmStateTail(int from, int h, MemorySegment act, long aOff, MemorySegment cPrev, long pOff,
                                      MemorySegment c, long cOff) {
        for (int j = from; j < h; j++) {
            float i = get(act, aOff + j), f = get(act, aOff + h + j), g = get(act, aOff + 2L * h + j);
            set(c, cOff + j, Math.fma(f, get(cPrev, pOff + j), i * g));
        }
    }

    @Override
    public void lstmOutput(int h, MemorySegment act, long aOff, MemorySegment tc, long tOff, MemorySegment out, long oOff) {
        long ai = (aOff + 3L * h) * B, ti = tOff * B, oi = oOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector.fromMemorySegment(S, act, ai + k, NO).mul(FloatVector.fromMemorySegment(S, tc, ti + k, NO))
                    .intoMemorySegment(out, oi + k, NO);
        }
        for (; j < h; j++) set(out, oOff + j, get(act, aOff + 3L * h + j) * get(tc, tOff + j));
    }

    @Override
    public void gruCandidate(int h, MemorySegment act, long aOff, MemorySegment xw, long xOff, MemorySegment hn, long hOff) {
        long ai = aOff * B, ni = (aOff + 2L * h) * B, xi = (xOff + 2L * h) * B, hi = hOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector.fromMemorySegment(S, act, ai + k, NO).fma(FloatVector.fromMemorySegment(S, hn, hi + k, NO),
                    FloatVector.fromMemorySegment(S, xw, xi + k, NO)).intoMemorySegment(act, ni + k, NO);
        }
        for (; j < h; j++) {
            set(act, aOff + 2L * h + j, Math.fma(get(act, aOff + j), get(hn, hOff + j), get(xw, xOff + 2L * h + j)));
        }
    }

    @Override
    public void gruState(int h, MemorySegment act, long aOff, MemorySegment hPrev, long pOff, MemorySegment out, long oOff) {
        long zi = (aOff + h) * B, ni = (aOff + 2L * h) * B, pi = pOff * B, oi = oOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector z = FloatVector.fromMemorySegment(S, act, zi + k, NO);
            FloatVector n = FloatVector.fromMemorySegment(S, act, ni + k, NO);
            FloatVector.broadcast(S, 1f).sub(z).fma(n, z.mul(FloatVector.fromMemorySegment(S, hPrev, pi + k, NO)))
                    .intoMemorySegment(out, oi + k, NO);
        }
        for (; j < h; j++) {
            float z = get(act, aOff + h + j), n = get(act, aOff + 2L * h + j);
            set(out, oOff + j, Math.fma(1f - z, n, z * get(hPrev, pOff + j)));
        }
    }

    @Override
    public void lstmBackward(int h, MemorySegment act, long aOff, MemorySegment tc, long tOff, MemorySegment cPrev, long pOff,
                             MemorySegment dOut, long dOff, MemorySegment dc, long dcOff, MemorySegment dPre, long gOff) {
        long hb = h * B, ai = aOff * B, ti = tOff * B, pi = pOff * B, di = dOff * B, ci = dcOff * B, gi = gOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector i = FloatVector.fromMemorySegment(S, act, ai + k, NO);
            FloatVector f = FloatVector.fromMemorySegment(S, act, ai + hb + k, NO);
            FloatVector g = FloatVector.fromMemorySegment(S, act, ai + 2 * hb + k, NO);
            FloatVector o = FloatVector.fromMemorySegment(S, act, ai + 3 * hb + k, NO);
            FloatVector t = FloatVector.fromMemorySegment(S, tc, ti + k, NO);
            FloatVector d = FloatVector.fromMemorySegment(S, dOut, di + k, NO);
            FloatVector cp = FloatVector.fromMemorySegment(S, cPrev, pi + k, NO);
            FloatVector one = FloatVector.broadcast(S, 1f);
            FloatVector dct = d.mul(o).fma(t.neg().fma(t, one), FloatVector.fromMemorySegment(S, dc, ci + k, NO));
            dct.mul(g).mul(i).mul(one.sub(i)).intoMemorySegment(dPre, gi + k, NO);
            dct.mul(cp).mul(f).mul(one.sub(f)).intoMemorySegment(dPre, gi + hb + k, NO);
            dct.mul(i).mul(g.neg().fma(g, one)).intoMemorySegment(dPre, gi + 2 * hb + k, NO);
            d.mul(t).mul(o).mul(one.sub(o)).intoMemorySegment(dPre, gi + 3 * hb + k, NO);
            dct.mul(f).intoMemorySegment(dc, ci + k, NO);
        }
        if (j < h) lstmBackwardTail(j, h, act, aOff, tc, tOff, cPrev, pOff, dOut, dOff, dc, dcOff, dPre, gOff);
    }

    private static void lstmBackwardTail(int from, int h, MemorySegment act, long aOff, MemorySegment tc, long tOff,
                                         MemorySegment cPrev, long pOff, MemorySegment dOut, long dOff,
                                         MemorySegment dc, long dcOff, MemorySegment dPre, long gOff) {
        for (int j = from; j < h; j++) {
            float i = get(act, aOff + j), f = get(act, aOff + h + j), g = get(act, aOff + 2L * h + j), o = get(act, aOff + 3L * h + j);
            float t = get(tc, tOff + j), d = get(dOut, dOff + j);
            float dct = Math.fma(d * o, Math.fma(-t, t, 1f), get(dc, dcOff + j));
            set(dPre, gOff + j, dct * g * i * (1f - i));
            set(dPre, gOff + h + j, dct * get(cPrev, pOff + j) * f * (1f - f));
            set(dPre, gOff + 2L * h + j, dct * i * Math.fma(-g, g, 1f));
            set(dPre, gOff + 3L * h + j, d * t * o * (1f - o));
            set(dc, dcOff + j, dct * f);
        }
    }

    @Override
    public void gruBackward(int h, MemorySegment act, long aOff, MemorySegment hn, long nOff, MemorySegment hPrev, long pOff,
                            MemorySegment dh, long dOff, MemorySegment dx, long xOff, MemorySegment dhw, long wOff,
                            MemorySegment dPrev, long vOff) {
        long hb = h * B, ai = aOff * B, ni = nOff * B, pi = pOff * B, di = dOff * B, xi = xOff * B, wi = wOff * B, vi = vOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector r = FloatVector.fromMemorySegment(S, act, ai + k, NO);
            FloatVector z = FloatVector.fromMemorySegment(S, act, ai + hb + k, NO);
            FloatVector n = FloatVector.fromMemorySegment(S, act, ai + 2 * hb + k, NO);
            FloatVector d = FloatVector.fromMemorySegment(S, dh, di + k, NO);
            FloatVector hp = FloatVector.fromMemorySegment(S, hPrev, pi + k, NO);
            FloatVector hv = FloatVector.fromMemorySegment(S, hn, ni + k, NO);
            FloatVector one = FloatVector.broadcast(S, 1f);
            FloatVector omz = one.sub(z);
            FloatVector dn = d.mul(omz).mul(n.neg().fma(n, one));
            FloatVector dz = d.mul(hp.sub(n)).mul(z).mul(omz);
            FloatVector dr = dn.mul(hv).mul(r).mul(one.sub(r));
            dr.intoMemorySegment(dx, xi + k, NO);
            dz.intoMemorySegment(dx, xi + hb + k, NO);
            dn.intoMemorySegment(dx, xi + 2 * hb + k, NO);
            dr.intoMemorySegment(dhw, wi + k, NO);
            dz.intoMemorySegment(dhw, wi + hb + k, NO);
            dn.mul(r).intoMemorySegment(dhw, wi + 2 * hb + k, NO);
            d.mul(z).intoMemorySegment(dPrev, vi + k, NO);
        }
        if (j < h) gruBackwardTail(j, h, act, aOff, hn, nOff, hPrev, pOff, dh, dOff, dx, xOff, dhw, wOff, dPrev, vOff);
    }

    private static void gruBackwardTail(int from, int h, MemorySegment act, long aOff, MemorySegment hn, long nOff,
                                        MemorySegment hPrev, long pOff, MemorySegment dh, long dOff, MemorySegment dx, long xOff,
                                        MemorySegment dhw, long wOff, MemorySegment dPrev, long vOff) {
        for (int j = from; j < h; j++) {
            float r = get(act, aOff + j), z = get(act, aOff + h + j), n = get(act, aOff + 2L * h + j);
            float d = get(dh, dOff + j);
            float dn = d * (1f - z) * Math.fma(-n, n, 1f);
            float dz = d * (get(hPrev, pOff + j) - n) * z * (1f - z);
            float dr = dn * get(hn, nOff + j) * r * (1f - r);
            set(dx, xOff + j, dr);
            set(dx, xOff + h + j, dz);
            set(dx, xOff + 2L * h + j, dn);
            set(dhw, wOff + j, dr);
            set(dhw, wOff + h + j, dz);
            set(dhw, wOff + 2L * h + j, dn * r);
            set(dPrev, vOff + j, d * z);
        }
    }

    @Override
    public void rnnBackward(int h, boolean relu, MemorySegment y, long yOff, MemorySegment dh, long dOff, MemorySegment dPre, long gOff) {
        if (relu) reluBackward(h, y, yOff, dh, dOff, dPre, gOff);
        else tanhBackward(h, y, yOff, dh, dOff, dPre, gOff);
    }

    /** {@code dPre = v > 0 ? d : 0} (NaN v gives 0, as the reference). */
    private static void reluBackward(int h, MemorySegment y, long yOff, MemorySegment dh, long dOff, MemorySegment dPre, long gOff) {
        long yi = yOff * B, di = dOff * B, gi = gOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector v = FloatVector.fromMemorySegment(S, y, yi + k, NO);
            FloatVector.zero(S).blend(FloatVector.fromMemorySegment(S, dh, di + k, NO), v.compare(GT, 0f))
                    .intoMemorySegment(dPre, gi + k, NO);
        }
        for (; j < h; j++) set(dPre, gOff + j, get(y, yOff + j) > 0f ? get(dh, dOff + j) : 0f);
    }

    /** {@code dPre = d·(1 − v²)}, with {@code 1 − v²} as {@code fma(−v, v, 1)}. */
    private static void tanhBackward(int h, MemorySegment y, long yOff, MemorySegment dh, long dOff, MemorySegment dPre, long gOff) {
        long yi = yOff * B, di = dOff * B, gi = gOff * B;
        int j = 0;
        for (int up = S.loopBound(h); j < up; j += VL) {
            long k = j * B;
            FloatVector v = FloatVector.fromMemorySegment(S, y, yi + k, NO);
            FloatVector.fromMemorySegment(S, dh, di + k, NO).mul(v.neg().fma(v, FloatVector.broadcast(S, 1f)))
                    .intoMemorySegment(dPre, gi + k, NO);
        }
        for (; j < h; j++) {
            float v = get(y, yOff + j);
            set(dPre, gOff + j, get(dh, dOff + j) * Math.fma(-v, v, 1f));
        }
    }
}
