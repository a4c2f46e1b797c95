package dev.panamarnn.kernel.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The accuracy of {@link SimdMath}'s approximations against double-precision references, over a dense
 * sweep of float bit patterns (every 31st, both signs, about 139 million values) plus the special values,
 * asserting the bounds documented on each function. The exhaustive figures (every float) in the Javadoc
 * were measured with the same loop at step 1.
 */
class SimdMathTest {
    private static final int STEP = 31;

    /** Max abs and rel error of {@code f} against {@code ref} over the sweep; rel only where {@code relDomain}. */
    private static double[] sweep(UnaryOperator<FloatVector> f, java.util.function.DoubleUnaryOperator ref,
                                  java.util.function.DoublePredicate relDomain) {
        int vl = SimdMath.S.length();
        float[] in = new float[4096], out = new float[4096];
        double maxAbs = 0, maxRel = 0;
        long bits = 0;
        while (bits <= 0xFFFFFFFFL) {
            int cnt = 0;
            while (cnt < in.length && bits <= 0xFFFFFFFFL) {
                in[cnt++] = Float.intBitsToFloat((int) bits);
                bits += STEP;
            }
            for (int i = 0; i < cnt; i += vl) f.apply(FloatVector.fromArray(SimdMath.S, in, i)).intoArray(out, i);
            for (int i = 0; i < cnt; i++) {
                float x = in[i];
                if (Float.isNaN(x)) {
                    assertTrue(Float.isNaN(out[i]), "NaN in must give NaN out, got " + out[i]);
                    continue;
                }
                double r = ref.applyAsDouble(x), e = Math.abs(out[i] - r);
                if (!(e <= 1)) throw new AssertionError("f(" + x + ") = " + out[i] + ", reference " + r);
                maxAbs = Math.max(maxAbs, e);
                if (r != 0 && relDomain.test(x)) maxRel = Math.max(maxRel, e / Math.abs(r));
            }
        }
        return new double[] {maxAbs, maxRel};
    }

    private static float apply(UnaryOperator<FloatVector> f, float x) {
        return f.apply(FloatVector.broadcast(SimdMath.S, x)).lane(0);
    }

    @Test
    void tanhAccuracy() {
        double[] err = sweep(SimdMath::tanh, Math::tanh, x -> Math.abs(Math.tanh(x)) >= Float.MIN_NORMAL);
        System.out.printf("tanh: max abs %.3e, max rel %.3e (every %dth float)%n", err[0], err[1], STEP);
        assertTrue(err[0] <= 3.0e-7, "tanh max abs error " + err[0]);
        assertTrue(err[1] <= 3.0e-7, "tanh max rel error " + err[1]);
    }

    @Test
    void sigmoidAccuracy() {
        double[] err = sweep(SimdMath::sigmoid, x -> 1 / (1 + Math.exp(-x)), x -> x >= -87.3);
        System.out.printf("sigmoid: max abs %.3e, max rel (x ≥ -87.3) %.3e (every %dth float)%n", err[0], err[1], STEP);
        assertTrue(err[0] <= 1.2e-7, "sigmoid max abs error " + err[0]);
        assertTrue(err[1] <= 4e-7, "sigmoid max rel error " + err[1]);
    }

    @Test
    void tanhSpecialValues() {
        assertEquals(0f, apply(SimdMath::tanh, 0f));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(apply(SimdMath::tanh, -0f)), "tanh(-0) = -0");
        assertEquals(1e-30f, apply(SimdMath::tanh, 1e-30f), 1e-37f);
        for (float x : new float[] {8f, 9.01f, 20f, 100f, 1e10f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertEquals(1f, apply(SimdMath::tanh, x), "tanh(" + x + ")");
            assertEquals(-1f, apply(SimdMath::tanh, -x), "tanh(" + -x + ")");
        }
        assertTrue(Float.isNaN(apply(SimdMath::tanh, Float.NaN)));
        // Every float around the clamp: never above 1, and accurate up to it.
        for (float x = 7.5f; x < 8.5f; x = Math.nextUp(x)) {
            float y = apply(SimdMath::tanh, x);
            assertTrue(y <= 1f && Math.abs(y - Math.tanh(x)) <= 3e-7, "tanh(" + x + ") = " + y);
        }
    }

    @Test
    void sigmoidSpecialValues() {
        assertEquals(0.5f, apply(SimdMath::sigmoid, 0f));
        assertEquals(0.5f, apply(SimdMath::sigmoid, -0f));
        for (float x : new float[] {17f, 88f, 100f, 1e10f, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            assertEquals(1f, apply(SimdMath::sigmoid, x), "sigmoid(" + x + ")");
            float lo = apply(SimdMath::sigmoid, -x);
            assertTrue(lo >= 0f && lo < (x >= 88f ? 1e-30f : 1e-7f), "sigmoid(" + -x + ") = " + lo);
        }
        assertTrue(Float.isNaN(apply(SimdMath::sigmoid, Float.NaN)));
    }

    @Test
    void reluSpecialValues() {
        assertEquals(0f, apply(SimdMath::relu, -3f));
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(apply(SimdMath::relu, -0f)), "relu(-0) = +0");
        assertEquals(2.5f, apply(SimdMath::relu, 2.5f));
        assertEquals(Float.POSITIVE_INFINITY, apply(SimdMath::relu, Float.POSITIVE_INFINITY));
        assertEquals(0f, apply(SimdMath::relu, Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(apply(SimdMath::relu, Float.NaN)));
    }

    /**
     * The scalar twins, which compute a loop's partial last chunk, give every lane's bits (NaN as NaN):
     * a row's values do not depend on where its chunks fall, at any vector width.
     */
    @Test
    void scalarTwinsEqualVectorLanes() {
        int vl = SimdMath.S.length();
        float[] in = new float[4096], out = new float[4096];
        long bits = 0;
        int checked = 0;
        while (bits <= 0xFFFFFFFFL) {
            int cnt = 0;
            while (cnt < in.length && bits <= 0xFFFFFFFFL) {
                in[cnt++] = Float.intBitsToFloat((int) bits);
                bits += 4 * STEP + 1;
            }
            cnt -= cnt % vl;
            for (int f = 0; f < 3; f++) {
                for (int i = 0; i < cnt; i += vl) {
                    FloatVector v = FloatVector.fromArray(SimdMath.S, in, i);
                    (f == 0 ? SimdMath.tanh(v) : f == 1 ? SimdMath.sigmoid(v) : SimdMath.relu(v)).intoArray(out, i);
                }
                for (int i = 0; i < cnt; i++) {
                    float x = in[i], s = f == 0 ? SimdMath.tanh(x) : f == 1 ? SimdMath.sigmoid(x) : SimdMath.relu(x);
                    if (Float.floatToIntBits(s) != Float.floatToIntBits(out[i])) {
                        throw new AssertionError(new String[] {"tanh", "sigmoid", "relu"}[f] + "(" + x + "): scalar twin "
                                + s + ", vector lane " + out[i]);
                    }
                }
            }
            checked += cnt;
        }
        assertTrue(checked > 30_000_000, "sweep too short: " + checked);
    }
}
