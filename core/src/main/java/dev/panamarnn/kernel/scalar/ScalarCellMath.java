package dev.panamarnn.kernel.scalar;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.CellMath;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The reference cell math: plain loops, the transcendental functions in double, so the other backends
 * are measured against something more accurate than themselves.
 */
final class ScalarCellMath implements CellMath {

    @Override
    public void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) set(y, yOff + i, sigmoid(get(x, xOff + i)));
    }

    @Override
    public void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) set(y, yOff + i, (float) StrictMath.tanh(get(x, xOff + i)));
    }

    @Override
    public void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) set(y, yOff + i, relu(get(x, xOff + i)));
    }

    @Override
    public void lstmCell(int batch, int hidden, MemorySegment gates, long gOff, int ldg,
                         MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hOff, int ldh) {
        for (int b = 0; b < batch; b++) {
            long g = gOff + (long) b * ldg;
            for (int j = 0; j < hidden; j++) {
                double i = sigmoid(get(gates, g + j));
                double f = sigmoid(get(gates, g + hidden + j));
                double gg = StrictMath.tanh(get(gates, g + 2L * hidden + j));
                double o = sigmoid(get(gates, g + 3L * hidden + j));
                long ci = cOff + (long) b * ldc + j;
                float cNew = (float) (f * get(c, ci) + i * gg);
                set(c, ci, cNew);
                set(hOut, hOff + (long) b * ldh + j, (float) (o * StrictMath.tanh(cNew)));
            }
        }
    }

    @Override
    public void gruCell(int batch, int hidden, MemorySegment gi, long giOff, int ldgi,
                        MemorySegment gh, long ghOff, int ldgh, MemorySegment hPrev, long hpOff, int ldhp,
                        MemorySegment hOut, long hoOff, int ldho) {
        for (int b = 0; b < batch; b++) {
            long xi = giOff + (long) b * ldgi;
            long hi = ghOff + (long) b * ldgh;
            for (int j = 0; j < hidden; j++) {
                double r = sigmoid((double) get(gi, xi + j) + get(gh, hi + j));
                double z = sigmoid((double) get(gi, xi + hidden + j) + get(gh, hi + hidden + j));
                double nn = StrictMath.tanh(get(gi, xi + 2L * hidden + j) + r * get(gh, hi + 2L * hidden + j));
                double h = get(hPrev, hpOff + (long) b * ldhp + j);
                set(hOut, hoOff + (long) b * ldho + j, (float) ((1 - z) * nn + z * h));
            }
        }
    }

    @Override
    public void rnnCell(int batch, int hidden, Activation activation, MemorySegment pre, long pOff, int ldp,
                        MemorySegment hOut, long hOff, int ldh) {
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < hidden; j++) {
                float v = get(pre, pOff + (long) b * ldp + j);
                float h = activation == Activation.TANH ? (float) StrictMath.tanh(v) : relu(v);
                set(hOut, hOff + (long) b * ldh + j, h);
            }
        }
    }

    /** Double-precision logistic function; saturates to exactly 0 and 1 like PyTorch's. */
    static double sigmoid(double x) {
        return 1.0 / (1.0 + StrictMath.exp(-x));
    }

    private static float sigmoid(float x) {
        return (float) sigmoid((double) x);
    }

    private static float relu(float v) {
        return v > 0f ? v : (v != v ? v : 0f);
    }

    private static float get(MemorySegment s, long index) {
        return s.getAtIndex(JAVA_FLOAT, index);
    }

    private static void set(MemorySegment s, long index, float v) {
        s.setAtIndex(JAVA_FLOAT, index, v);
    }
}
