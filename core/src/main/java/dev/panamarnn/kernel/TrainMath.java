package dev.panamarnn.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * The elementwise parts of training's forward and backward step, one row (one sample) of {@code h} hidden
 * units at a time, written as plain loops: the reference the Vector API version ({@code SimdTrainMath}) is
 * tested against. Offsets count floats. Gate blocks follow PyTorch's order (LSTM i, f, g, o; GRU r, z, n),
 * each {@code h} wide.
 */
public class TrainMath {
    private static final TrainMath SCALAR = new TrainMath();
    private static volatile TrainMath simd;

    /** Subclasses: the Vector API's ({@code dev.panamarnn.kernel.simd.SimdTrainMath}). */
    protected TrainMath() {}

    /**
     * The implementation a backend's training uses: these loops for {@code scalar} (the reference), else the
     * Vector API's when the JVM has {@code jdk.incubator.vector}, else these loops.
     *
     * @param backendName the backend's name
     * @return the implementation
     */
    public static TrainMath forBackend(String backendName) {
        if (backendName.equals("scalar") || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) return SCALAR;
        TrainMath m = simd;
        if (m == null) {
            try {
                m = (TrainMath) Class.forName("dev.panamarnn.kernel.simd.SimdTrainMath").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                m = SCALAR;
            }
            simd = m;
        }
        return m;
    }

    /**
     * A short name of the implementation.
     *
     * @return a short name of the implementation
     */
    public String name() {
        return "scalar";
    }

    /**
     * {@code y[j] = a[j] + b[j]} for {@code n} floats.
     *
     * @param n the number of floats
     * @param a the first operand
     * @param aOff its first element, in floats
     * @param b the second operand
     * @param bOff its first element, in floats
     * @param y the output (may be an operand)
     * @param yOff its first element, in floats
     */
    public void add(int n, MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment y, long yOff) {
        for (int j = 0; j < n; j++) set(y, yOff + j, get(a, aOff + j) + get(b, bOff + j));
    }

    /**
     * {@code y[j] += a[j]} for {@code n} floats.
     *
     * @param n the number of floats
     * @param a the first operand
     * @param aOff its first element, in floats
     * @param y the output (may be an operand)
     * @param yOff its first element, in floats
     */
    public void accumulate(int n, MemorySegment a, long aOff, MemorySegment y, long yOff) {
        for (int j = 0; j < n; j++) set(y, yOff + j, get(y, yOff + j) + get(a, aOff + j));
    }

    /**
     * LSTM: {@code c = f·cPrev + i·g} from the activated gates {@code act} (i, f, g, o).
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param cPrev the previous cell
     * @param pOff its first element, in floats
     * @param c the new cell, written
     * @param cOff its first element, in floats
     */
    public void lstmState(int h, MemorySegment act, long aOff, MemorySegment cPrev, long pOff, MemorySegment c, long cOff) {
        for (int j = 0; j < h; j++) {
            float i = get(act, aOff + j), f = get(act, aOff + h + j), g = get(act, aOff + 2L * h + j);
            set(c, cOff + j, f * get(cPrev, pOff + j) + i * g);
        }
    }

    /**
     * LSTM: {@code out = o·tanh(c)} given {@code tc = tanh(c)}.
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param tc tanh of the cell
     * @param tOff its first element, in floats
     * @param out the output, written
     * @param oOff its first element, in floats
     */
    public void lstmOutput(int h, MemorySegment act, long aOff, MemorySegment tc, long tOff, MemorySegment out, long oOff) {
        for (int j = 0; j < h; j++) set(out, oOff + j, get(act, aOff + 3L * h + j) * get(tc, tOff + j));
    }

    /**
     * GRU: the candidate's pre-activation {@code n = xn + r·hn}, written over the n block of {@code act}.
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param xw the input side's pre-activations (for its n block)
     * @param xOff its first element, in floats
     * @param hn {@code W_hn·h + b_hn}
     * @param hOff its first element, in floats
     */
    public void gruCandidate(int h, MemorySegment act, long aOff, MemorySegment xw, long xOff, MemorySegment hn, long hOff) {
        for (int j = 0; j < h; j++) {
            set(act, aOff + 2L * h + j, get(xw, xOff + 2L * h + j) + get(act, aOff + j) * get(hn, hOff + j));
        }
    }

    /**
     * GRU: {@code out = (1 - z)·n + z·hPrev}.
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param hPrev the previous state
     * @param pOff its first element, in floats
     * @param out the output, written
     * @param oOff its first element, in floats
     */
    public void gruState(int h, MemorySegment act, long aOff, MemorySegment hPrev, long pOff, MemorySegment out, long oOff) {
        for (int j = 0; j < h; j++) {
            float z = get(act, aOff + h + j), n = get(act, aOff + 2L * h + j);
            set(out, oOff + j, (1f - z) * n + z * get(hPrev, pOff + j));
        }
    }

    /**
     * LSTM backward for one row: from {@code dOut} (the gradient of {@code o·tanh(c)}) and {@code dc} (of c,
     * updated in place to the gradient of the previous c), the pre-activations' gradient {@code dPre} (i, f, g, o).
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param tc tanh of the cell
     * @param tOff its first element, in floats
     * @param cPrev the previous cell
     * @param pOff its first element, in floats
     * @param dOut the gradient of the output
     * @param dOff its first element, in floats
     * @param dc the gradient of the cell, updated to the previous cell's
     * @param dcOff its first element, in floats
     * @param dPre the pre-activations' gradient, written
     * @param gOff its first element, in floats
     */
    public void lstmBackward(int h, MemorySegment act, long aOff, MemorySegment tc, long tOff, MemorySegment cPrev, long pOff,
                      MemorySegment dOut, long dOff, MemorySegment dc, long dcOff, MemorySegment dPre, long gOff) {
        for (int j = 0; j < h; j++) {
            float i = get(act, aOff + j), f = get(act, aOff + h + j), g = get(act, aOff + 2L * h + j), o = get(act, aOff + 3L * h + j);
            float t = get(tc, tOff + j), d = get(dOut, dOff + j);
            float dct = get(dc, dcOff + j) + d * o * (1f - t * t);
            set(dPre, gOff + j, dct * g * i * (1f - i));
            set(dPre, gOff + h + j, dct * get(cPrev, pOff + j) * f * (1f - f));
            set(dPre, gOff + 2L * h + j, dct * i * (1f - g * g));
            set(dPre, gOff + 3L * h + j, d * t * o * (1f - o));
            set(dc, dcOff + j, dct * f);
        }
    }

    /**
     * GRU backward for one row: from {@code dh} (of the new state), the input side's pre-activation gradient
     * {@code dx} (r, z, n), the hidden side's {@code dhw} (r, z, and n·r, since r multiplies {@code W_hn·h + b_hn}),
     * and the direct part of the previous state's gradient, {@code dPrev = dh·z}.
     *
     * @param h the hidden units of the row
     * @param act the activated gates of the row
     * @param aOff its first element, in floats
     * @param hn {@code W_hn·h + b_hn}
     * @param nOff its first element, in floats
     * @param hPrev the previous state
     * @param pOff its first element, in floats
     * @param dh the gradient of the new state
     * @param dOff its first element, in floats
     * @param dx the input side's pre-activation gradient, written
     * @param xOff its first element, in floats
     * @param dhw the hidden side's pre-activation gradient, written
     * @param wOff its first element, in floats
     * @param dPrev the direct part of the previous state's gradient, written
     * @param vOff its first element, in floats
     */
    public void gruBackward(int h, MemorySegment act, long aOff, MemorySegment hn, long nOff, MemorySegment hPrev, long pOff,
                     MemorySegment dh, long dOff, MemorySegment dx, long xOff, MemorySegment dhw, long wOff,
                     MemorySegment dPrev, long vOff) {
        for (int j = 0; j < h; j++) {
            float r = get(act, aOff + j), z = get(act, aOff + h + j), n = get(act, aOff + 2L * h + j);
            float d = get(dh, dOff + j);
            float dn = d * (1f - z) * (1f - n * n);
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

    /**
     * Elman backward for one row: {@code dPre = dh·act'(pre)}, from the output {@code y = act(pre)}.
     *
     * @param h the hidden units of the row
     * @param relu whether the activation is ReLU (else tanh)
     * @param y the output (may be an operand)
     * @param yOff its first element, in floats
     * @param dh the gradient of the new state
     * @param dOff its first element, in floats
     * @param dPre the pre-activations' gradient, written
     * @param gOff its first element, in floats
     */
    public void rnnBackward(int h, boolean relu, MemorySegment y, long yOff, MemorySegment dh, long dOff, MemorySegment dPre, long gOff) {
        for (int j = 0; j < h; j++) {
            float v = get(y, yOff + j), d = get(dh, dOff + j);
            set(dPre, gOff + j, relu ? (v > 0f ? d : 0f) : d * (1f - v * v));
        }
    }

    /**
     * One float.
     *
     * @param s the memory
     * @param i its index, in floats
     * @return the float
     */
    protected static float get(MemorySegment s, long i) {
        return s.getAtIndex(JAVA_FLOAT, i);
    }

    /**
     * Writes one float.
     *
     * @param s the memory
     * @param i its index, in floats
     * @param v the value
     */
    protected static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(JAVA_FLOAT, i, v);
    }
}
