package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * NaN, ±Inf and values near the float range through softmax, log-softmax and argmax give what PyTorch
 * 1.13 gives (the expected rows were printed by {@code torch.softmax / log_softmax / argmax} on the same
 * float32 rows): NaN spreads to the whole row, -Inf entries get probability 0, +Inf makes the row NaN,
 * and argmax returns the first NaN. No exception on any of them.
 */
class HeadsEdgeCaseTest {
    private static final float NAN = Float.NaN, INF = Float.POSITIVE_INFINITY;
    private static final float[][] ROWS = {
            {1f, NAN, 3f, NAN},
            {1f, INF, 3f, 2f},
            {-INF, 0.5f, -INF, 0.5f},
            {-INF, -INF, -INF, -INF},
            {1e30f, -1e30f, 3e38f, -3e38f}};
    private static final int[] ARGMAX = {1, 1, 1, 0, 2};
    private static final float[][] SOFTMAX = {
            {NAN, NAN, NAN, NAN},
            {NAN, NAN, NAN, NAN},
            {0f, 0.5f, 0f, 0.5f},
            {NAN, NAN, NAN, NAN},
            {0f, 0f, 1f, 0f}};
    private static final float[][] LOG_SOFTMAX = {
            {NAN, NAN, NAN, NAN},
            {NAN, NAN, NAN, NAN},
            {-INF, -0.6931471824645996f, -INF, -0.6931471824645996f},
            {NAN, NAN, NAN, NAN},
            {-3.0000000054977558e+38f, -3.0000000054977558e+38f, 0f, -INF}};

    @Test
    void asPyTorch() {
        try (Arena arena = Arena.ofConfined()) {
            float[] flat = new float[ROWS.length * 4];
            for (int r = 0; r < ROWS.length; r++) System.arraycopy(ROWS[r], 0, flat, 4 * r, 4);
            Tensor logits = Tensor.of(arena, flat, ROWS.length, 4), out = Tensor.allocate(arena, ROWS.length, 4);
            int[] idx = new int[ROWS.length];
            Heads.argmax(logits, idx);
            assertArrayEquals(ARGMAX, idx);
            Heads.softmax(logits, out);
            for (int r = 0; r < ROWS.length; r++) assertArrayEquals(SOFTMAX[r], row(out, r), 1e-7f, "softmax row " + r);
            Heads.logSoftmax(logits, out);
            for (int r = 0; r < ROWS.length; r++) assertArrayEquals(LOG_SOFTMAX[r], row(out, r), 1e-6f, "log-softmax row " + r);
            assertEquals(2, dev.panamarnn.nn.Heads.argmax(logits.segment(), logits.offset() + 16, 4), "the largest finite value");
        }
    }

    private static float[] row(Tensor t, int r) {
        float[] a = new float[4];
        for (int j = 0; j < 4; j++) a[j] = t.get(r, j);
        return a;
    }
}
