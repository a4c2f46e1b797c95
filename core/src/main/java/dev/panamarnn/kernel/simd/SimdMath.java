package dev.panamarnn.kernel.simd;

import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LT;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The activation functions as vector → vector helpers, written so the gate kernels inline them and keep
 * everything in registers. All are branch-free; NaN in gives NaN out (clamps use compare + blend, and a
 * comparison with NaN is false, so NaN passes through the clamp into the arithmetic).
 *
 * <p>Candidates measured (JMH, {@code ActivationBenchmark}, n = 4096, AVX2 EPYC, one run; see the
 * figures in {@link #tanh} and {@link #sigmoid}): the scalar {@code Math.tanh} loop, the Vector API's
 * {@code lanewise(TANH)} and {@code lanewise(EXP)} (SVML stubs), a [13/6] and a [9/6] rational tanh, and
 * sigmoid either as {@code 0.5 + 0.5·tanh(x/2)} or as {@code 1 / (1 + exp(-x))} with the exp below.
 */
final class SimdMath {
    // Constants are broadcast in place (FloatVector.broadcast is force-inlined) rather than through a
    // helper: in a large compile unit C2 stops inlining ordinary methods (NodeCountInliningCutoff), and a
    // helper returning a vector that is not inlined allocates a box on every call.
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private SimdMath() {}

    // ---- tanh: Eigen's [13/6] rational (generic_fast_tanh_float), odd numerator over even denominator.
    // Coefficients as published in Eigen (MPL-2.0), all scaled by 2^8: the quotient is bit-for-bit the
    // same, but x·A1 no longer underflows for tiny normal x, which keeps the relative error small there.
    // The clamp is the smallest float where the FMA-evaluated rational is exactly 1 (found by scanning).
    private static final float T_CLAMP = 7.99881172180175781f;
    private static final float SCALE = 256f;
    private static final float A1 = 4.89352455891786e-03f * SCALE, A3 = 6.37261928875436e-04f * SCALE,
            A5 = 1.48572235717979e-05f * SCALE, A7 = 5.12229709037114e-08f * SCALE,
            A9 = -8.60467152213735e-11f * SCALE, A11 = 2.00018790482477e-13f * SCALE,
            A13 = -2.76076847742355e-16f * SCALE;
    private static final float B0 = 4.89352518554385e-03f * SCALE, B2 = 2.26843463243900e-03f * SCALE,
            B4 = 1.18534705686654e-04f * SCALE, B6 = 1.19825839466702e-06f * SCALE;

    /**
     * tanh as a clamped [13/6] rational function {@code x·P(x²)/Q(x²)}, |x| clamped to 7.9988 where the
     * rational is exactly ±1: 9 FMAs, 2 multiplies, 1 division, 2 compare-blends.
     *
     * <p>Accuracy against {@code Math.tanh}, measured over every float: max abs error 2.92e-7 (at
     * x = 5.126), max rel error 2.92e-7 where |tanh x| ≥ 2^-126 (subnormal results lose relative accuracy
     * like any float arithmetic; their abs error is below 1e-38). tanh(±0) = ±0, tanh(x) = ±1 exactly for
     * |x| ≥ 7.9988, tanh(±Inf) = ±1, NaN → NaN. Asserted in {@code SimdMathTest}.
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector hi = FloatVector.broadcast(S, T_CLAMP);
        FloatVector lo = FloatVector.broadcast(S, -T_CLAMP);
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

    // ---- exp for sigmoid: Cephes-style expf. t = n·ln2 + r, |r| ≤ ln2/2, e^r = 1 + r + r²·P(r) with P of
    // degree 5 (Cephes' coefficients), 2^n through the exponent bits. t is clamped to [-87.34, 88.38] so
    // that 2^n stays a normal float (e^t in [1.2e-38, 2.4e38]).
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f; // Cephes' split of ln 2
    private static final float ROUND = 0x1.8p23f; // adding it rounds to an integer held in the low mantissa bits
    private static final float EXP_HI = 88.3762626647949f, EXP_LO = -87.3365447504f; // 2^n stays a normal float
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * The logistic function {@code 1 / (1 + e^-x)} with the Cephes-style exp above: one exp, one add, one
     * division. Chosen over {@code 0.5 + 0.5·tanh(x/2)} (about as fast) because it keeps its relative
     * accuracy for negative x, where the tanh form cancels (3 % off at x = -15, exactly 0 below -16).
     *
     * <p>Accuracy against {@code 1/(1+Math.exp(-x))} in double, measured over every float: max abs error
     * 8.93e-8 (at x = 7.859), max rel error 1.48e-7 for x ≥ -87.3. σ(±0) = 0.5, σ(x) = 1 exactly for
     * x ≥ 17, σ(x) ∈ [0, 4.2e-39] for x ≤ -88.4 (the clamp of the exp; the true value is smaller still),
     * σ(+Inf) = 1, σ(-Inf) ≈ 4.2e-39, NaN → NaN. Asserted in {@code SimdMathTest}.
     */
    static FloatVector sigmoid(FloatVector x) {
        // e = exp(-x), written out here rather than called: one inlining level less (see the class comment).
        FloatVector t = x.neg();
        FloatVector hi = FloatVector.broadcast(S, EXP_HI);
        FloatVector lo = FloatVector.broadcast(S, EXP_LO);
        t = t.blend(hi, t.compare(GT, hi)).blend(lo, t.compare(LT, lo));
        FloatVector z = t.fma(LOG2E, ROUND);                          // round(t·log2 e) + ROUND
        FloatVector n = z.sub(ROUND);                                  // the integer n, as a float
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), t); // r = t - n·ln2, in two steps
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector y = r.fma(P0, P1)
                .fma(r, FloatVector.broadcast(S, P2))
                .fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P4))
                .fma(r, FloatVector.broadcast(S, P5));
        y = y.mul(r.mul(r)).add(r).add(1f);                            // e^r = 1 + r + r²·P(r)
        // z's low mantissa bits hold n (ROUND has zeros there), so bits(z) << 23 == n << 23 (mod 2^32).
        FloatVector pow2n = z.reinterpretAsInts().lanewise(LSHL, 23).add(127 << 23).reinterpretAsFloats();
        return FloatVector.broadcast(S, 1f).div(y.mul(pow2n).add(1f));
    }

    /** max(x, 0) with NaN kept and -0 → +0, as the scalar reference. */
    static FloatVector relu(FloatVector x) {
        return x.blend(0f, x.compare(LE, 0f));
    }
}
