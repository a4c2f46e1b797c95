package dev.panamarnn.kernel.simd;

import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LT;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The activation functions as vector → vector helpers, inlined by C2 into the loops of {@link SimdCells}.
 * All branch-free per lane; NaN in gives NaN out (the clamps are compare + blend, and a comparison with
 * NaN is false).
 *
 * <p><b>tanh</b>: Eigen's [13/6] rational {@code x·P(x²)/Q(x²)} (generic_fast_tanh_float; coefficients
 * as published, MPL-2.0), every coefficient scaled by 2^8 (the quotient is bit-for-bit the same, but
 * x·A1 no longer underflows for tiny normal x), |x| clamped to 7.9988, the smallest float where the
 * FMA-evaluated rational is exactly 1 (found by scanning). Measured over every float against
 * {@code Math.tanh}: max abs error 2.92e-7 (x = 5.126), max rel error 2.92e-7 where |tanh x| ≥ 2^-126.
 * tanh(±0) = ±0, ±1 exactly for |x| ≥ 7.9988 and ±Inf.
 *
 * <p><b>sigmoid</b>: {@code 1 / (1 + e^-x)} with a Cephes-style expf: t = -x = n·ln2 + r, |r| ≤ ln2/2,
 * e^r = 1 + r + r²·P(r) with Cephes' degree-5 P, 2^n through the exponent bits; t clamped to
 * [-87.34, 88.38] so 2^n stays normal. Chosen over {@code 0.5 + 0.5·tanh(x/2)} (as fast) because it
 * keeps its relative accuracy for negative x, where the tanh form cancels (3 % off at x = -15, 0 below
 * -16). Measured over every float against the double formula: max abs error 8.93e-8 (x = 7.859), max rel
 * error 1.48e-7 for x ≥ -87.3. σ(±0) = 0.5, σ(x) = 1 exactly for x ≥ 17 and +Inf, σ(x) ∈ [0, 4.2e-39] for
 * x ≤ -88.4 and -Inf (the clamp; the true value is smaller still).
 *
 * <p><b>relu</b>: max(x, 0) with NaN kept and -0 → +0, as the scalar reference.
 *
 * <p>Candidates measured (JMH {@code ActivationBenchmark}, n = 4096, ns/element, one run): scalar
 * {@code Math.tanh} 14.97, scalar sigmoid 8.62, {@code lanewise(TANH)} 2.50, {@code lanewise(EXP)}
 * sigmoid 1.23, [9/6] rational tanh 0.80 (max abs error 4.6e-7), sigmoid via the [9/6] tanh 1.16; chosen
 * [13/6] tanh 1.11 and exp sigmoid 1.29. The [13/6] form was kept over the cheaper [9/6] for its
 * accuracy; {@code lanewise(EXP)} is SVML-backed only on some platforms (elsewhere a scalar loop).
 *
 * <p>Each helper must be inlined: one that C2 does not inline boxes every vector it takes or returns
 * (3-20x slower, 128 bytes of garbage per vector). Constants are therefore broadcast in place
 * ({@code FloatVector.broadcast} is force-inlined) instead of through a helper, and the exp is written out
 * inside {@link #sigmoid} (one inlining level less). See {@link SimdCells} for how the loops keep C2
 * inlining them (among other things: one call site per loop, none of its own for the masked tail).
 */
final class SimdMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float T_CLAMP = 7.99881172180175781f;
    private static final float SCALE = 256f;
    private static final float A1 = 4.89352455891786e-03f * SCALE, A3 = 6.37261928875436e-04f * SCALE,
            A5 = 1.48572235717979e-05f * SCALE, A7 = 5.12229709037114e-08f * SCALE,
            A9 = -8.60467152213735e-11f * SCALE, A11 = 2.00018790482477e-13f * SCALE,
            A13 = -2.76076847742355e-16f * SCALE;
    private static final float B0 = 4.89352518554385e-03f * SCALE, B2 = 2.26843463243900e-03f * SCALE,
            B4 = 1.18534705686654e-04f * SCALE, B6 = 1.19825839466702e-06f * SCALE;

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f; // Cephes' split of ln 2
    private static final float ROUND = 0x1.8p23f; // adding it rounds to an integer held in the low mantissa bits
    private static final float EXP_HI = 88.3762626647949f, EXP_LO = -87.3365447504f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    private SimdMath() {}

    /** tanh, the clamped [13/6] rational (see the class comment for its accuracy). */
    static FloatVector tanh(FloatVector x) {
        FloatVector hi = FloatVector.broadcast(S, T_CLAMP), lo = FloatVector.broadcast(S, -T_CLAMP);
        x = x.blend(hi, x.compare(GT, hi)).blend(lo, x.compare(LT, lo));
        FloatVector x2 = x.mul(x);
        FloatVector p = x2.fma(A13, A11)
                .fma(x2, FloatVector.broadcast(S, A9))
                .fma(x2, FloatVector.broadcast(S, A7))
                .fma(x2, FloatVector.broadcast(S, A5))
                .fma(x2, FloatVector.broadcast(S, A3))
                .fma(x2, FloatVector.broadcast(S, A1))
                .mul(x);
        FloatVector q = x2.fma(B6, B4)
                .fma(x2, FloatVector.broadcast(S, B2))
                .fma(x2, FloatVector.broadcast(S, B0));
        return p.div(q);
    }

    /** σ(x) = 1 / (1 + e^-x) with the Cephes-style exp (see the class comment for its accuracy). */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector t = x.neg();
        FloatVector hi = FloatVector.broadcast(S, EXP_HI), lo = FloatVector.broadcast(S, EXP_LO);
        t = t.blend(hi, t.compare(GT, hi)).blend(lo, t.compare(LT, lo));
        FloatVector z = t.fma(LOG2E, ROUND);                          // round(t·log2 e) + ROUND
        FloatVector n = z.sub(ROUND);                                  // the integer n, as a float
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), t); // r = t - n·ln2, in two steps
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector e = r.fma(P0, P1)
                .fma(r, FloatVector.broadcast(S, P2))
                .fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P4))
                .fma(r, FloatVector.broadcast(S, P5));
        e = e.mul(r.mul(r)).add(r).add(1f);                            // e^r = 1 + r + r²·P(r)
        // z's low mantissa bits hold n (ROUND has zeros there), so bits(z) << 23 == n << 23 (mod 2^32).
        e = e.mul(z.reinterpretAsInts().lanewise(LSHL, 23).add(127 << 23).reinterpretAsFloats());
        return FloatVector.broadcast(S, 1f).div(e.add(1f));
    }

    /** max(x, 0) with NaN kept and -0 → +0, as the scalar reference. */
    static FloatVector relu(FloatVector x) {
        return x.blend(0f, x.compare(LE, 0f));
    }

    /*
     * Scalar twins of the helpers above, for the partial last chunk of a loop: the same IEEE operations in
     * the same order (Math.fma for fma, compare-and-select for blend), so each gives the bits of a vector
     * lane (SimdMathTest checks it over a sweep of floats). No vector in or out: nothing to box.
     */

    /** The scalar twin of {@link #tanh(FloatVector)}. */
    static float tanh(float x) {
        if (x > T_CLAMP) x = T_CLAMP;
        if (x < -T_CLAMP) x = -T_CLAMP;
        float x2 = x * x;
        float p = Math.fma(x2, A13, A11);
        p = Math.fma(p, x2, A9);
        p = Math.fma(p, x2, A7);
        p = Math.fma(p, x2, A5);
        p = Math.fma(p, x2, A3);
        p = Math.fma(p, x2, A1);
        p = p * x;
        float q = Math.fma(x2, B6, B4);
        q = Math.fma(q, x2, B2);
        q = Math.fma(q, x2, B0);
        return p / q;
    }

    /** The scalar twin of {@link #sigmoid(FloatVector)}. */
    static float sigmoid(float x) {
        float t = -x;
        if (t > EXP_HI) t = EXP_HI;
        if (t < EXP_LO) t = EXP_LO;
        float z = Math.fma(t, LOG2E, ROUND);
        float n = z - ROUND;
        float r = Math.fma(n, -LN2_HI, t);
        r = Math.fma(n, -LN2_LO, r);
        float e = Math.fma(r, P0, P1);
        e = Math.fma(e, r, P2);
        e = Math.fma(e, r, P3);
        e = Math.fma(e, r, P4);
        e = Math.fma(e, r, P5);
        e = e * (r * r) + r + 1f;
        e = e * Float.intBitsToFloat((Float.floatToRawIntBits(z) << 23) + (127 << 23));
        return 1f / (e + 1f);
    }

    /** The scalar twin of {@link #relu(FloatVector)}. */
    static float relu(float x) {
        return x <= 0f ? 0f : x;
    }
}
