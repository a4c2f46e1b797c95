package dev.panamarnn.kernel.scalar;

import dev.panamarnn.kernel.Activation;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The reference backend: plain loops, obviously right, no cleverness. Sums accumulate in double and the
 * transcendental functions run in double, so the other backends are measured against something more
 * accurate than themselves.
 */
final class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float av = get(a, aOff + (transA ? (long) p * lda + i : (long) i * lda + p));
                    float bv = get(b, bOff + (transB ? (long) j * ldb + p : (long) p * ldb + j));
                    sum += (double) av * bv;
                }
                long ci = cOff + (long) i * ldc + j;
                double prior = beta == 0f ? 0 : (double) beta * get(c, ci);
                set(c, ci, (float) (alpha * sum + prior));
            }
        }
    }

    @Override
    public void sgemmBf16(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    short w = b.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, bOff + (long) j * ldb + dev.panamarnn.kernel.Bf16Layout.position(p, k));
                    sum += (double) get(a, aOff + (long) i * lda + p) * Float.intBitsToFloat(w << 16);
                }
                long ci = cOff + (long) i * ldc + j;
                set(c, ci, (float) (alpha * sum + (beta == 0f ? 0 : beta * (double) get(c, ci))));
            }
        }
    }

    @Override
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        int outLen = transA ? n : m;
        int inLen = transA ? m : n;
        for (int j = 0; j < outLen; j++) {
            double sum = 0;
            for (int p = 0; p < inLen; p++) {
                float av = get(a, aOff + (transA ? (long) p * lda + j : (long) j * lda + p));
                sum += (double) av * get(x, xOff + p);
            }
            double prior = beta == 0f ? 0 : (double) beta * get(y, yOff + j);
            set(y, yOff + j, (float) (alpha * sum + prior));
        }
    }

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
