package dev.panamarnn.kernel.simd;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.CellMath;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The gate kernels and the activation loops, per batch row in vector chunks: the Vector API's
 * {@link CellMath}. Formulas and gate order are those of {@link CellMath}. No access is masked: the partial
 * last chunk of a row is a scalar loop in the FMA loops (with {@link Math#fma}, so it equals the vector lanes
 * bit for bit), in the activation loops a scalar loop
 * of {@link SimdMath}'s scalar twins (see there).
 *
 * <p>A gate kernel is a sequence of small loops per row, the activation loops ({@link #sigmoid},
 * {@link #tanh}) over the gate blocks into a per-thread scratch row (L1/L2) and plain FMA loops for the
 * state, rather than one fused pass. Measured, and dictated by the JIT (a Vector API call or
 * {@link SimdMath} helper that is not inlined and intrinsified boxes every vector: 3-20x slower and
 * hundreds of bytes of garbage per hidden unit):
 * <ul>
 * <li>C2 parses each Vector API call into many nodes before simplifying; a fused LSTM step (five
 *     activations in one loop) passed NodeCountInliningCutoff, after which C2 stops inlining, and so did
 *     one sigmoid plus one tanh in one loop method;
 * <li>C1 gave up on larger fused methods ("out of virtual registers"), which left them in unintrinsified
 *     tier-2 code, for good at batch 1;
 * <li>in deep callers the Vector API's own call chains ran past MaxInlineLevel;
 * <li>C2 inlines a {@link SimdMath} helper (over 35 bytes of bytecode) only at a call site that is hot in
 *     the profile, which every caller shares: a separate call for the masked tail was cold wherever most
 *     calls are whole vectors, and then boxed two vectors per tail (an LSTM cell of 72 units at 512 bits:
 *     192 bytes per row). So each activation loop calls its helper from one site, for the tail too.
 * </ul>
 * Small methods that take and return no vectors are safe either way: inlined or called, nothing is
 * boxed. The extra pass over the scratch row costs little beside the activations.
 */
final class SimdCells implements CellMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final long B = Float.BYTES;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** Public so that {@link SimdKernelProvider} can create it reflectively. */
    public SimdCells() {}

    @Override
    public void lstmCell(int batch, int hidden, MemorySegment gates, long gOff, int ldg,
                         MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hOff, int ldh) {
        long h1 = hidden;
        MemorySegment t = SimdScratch.get().cellRow(5 * h1); // [σ(i) | σ(f) | tanh(g) | σ(o) | tanh(c')]
        for (int r = 0; r < batch; r++) {
            long g = gOff + r * (long) ldg, cRow = cOff + r * (long) ldc;
            sigmoid(2 * hidden, gates, g, t, 0);
            tanh(hidden, gates, g + 2 * h1, t, 2 * h1);
            sigmoid(hidden, gates, g + 3 * h1, t, 3 * h1);
            lstmState(hidden, t, c, cRow);
            tanh(hidden, c, cRow, t, 4 * h1);
            product(hidden, t, 3 * h1, t, 4 * h1, hOut, hOff + r * (long) ldh);
        }
    }

    /** c' = σ(f)·c + σ(i)·tanh(g), in place in c (offset in floats). */
    private static void lstmState(int hidden, MemorySegment t, MemorySegment c, long cOff) {
        long gate = hidden * B, ti = 0, cc = cOff * B;
        int j = 0;
        for (; j + VL <= hidden; j += VL, ti += VL * B, cc += VL * B) {
            FloatVector.fromMemorySegment(S, t, ti + gate, NO).fma(FloatVector.fromMemorySegment(S, c, cc, NO),
                    FloatVector.fromMemorySegment(S, t, ti, NO).mul(FloatVector.fromMemorySegment(S, t, ti + 2 * gate, NO)))
                    .intoMemorySegment(c, cc, NO);
        }
        for (; j < hidden; j++, ti += B, cc += B) {
            c.set(F, cc, Math.fma(t.get(F, ti + gate), c.get(F, cc), t.get(F, ti) * t.get(F, ti + 2 * gate)));
        }
    }

    /** {@code out[j] = a[j]·b[j]} for j < n (offsets in floats). */
    private static void product(int n, MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long oOff) {
        long ai = aOff * B, bi = bOff * B, oi = oOff * B;
        int j = 0;
        for (; j + VL <= n; j += VL, ai += VL * B, bi += VL * B, oi += VL * B) {
            FloatVector.fromMemorySegment(S, a, ai, NO).mul(FloatVector.fromMemorySegment(S, b, bi, NO))
                    .intoMemorySegment(out, oi, NO);
        }
        for (; j < n; j++, ai += B, bi += B, oi += B) {
            out.set(F, oi, a.get(F, ai) * b.get(F, bi));
        }
    }

    @Override
    public void gruCell(int batch, int hidden, MemorySegment gi, long giOff, int ldgi, MemorySegment gh, long ghOff, int ldgh,
                        MemorySegment hPrev, long hpOff, int ldhp, MemorySegment hOut, long hoOff, int ldho) {
        long h1 = hidden;
        MemorySegment t = SimdScratch.get().cellRow(3 * h1); // [r | z | n]
        for (int r = 0; r < batch; r++) {
            long x = giOff + r * (long) ldgi, y = ghOff + r * (long) ldgh;
            gruSums(2 * hidden, gi, x, gh, y, t);
            sigmoid(2 * hidden, t, 0, t, 0);
            gruNArg(hidden, t, gi, x + 2 * h1, gh, y + 2 * h1);
            tanh(hidden, t, 2 * h1, t, 2 * h1);
            gruOut(hidden, t, hPrev, hpOff + r * (long) ldhp, hOut, hoOff + r * (long) ldho);
        }
    }

    /** {@code t[j] = gi[j] + gh[j]} for j < n (offsets in floats). */
    private static void gruSums(int n, MemorySegment gi, long xOff, MemorySegment gh, long yOff, MemorySegment t) {
        long x = xOff * B, y = yOff * B, ti = 0;
        int j = 0;
        for (; j + VL <= n; j += VL, x += VL * B, y += VL * B, ti += VL * B) {
            FloatVector.fromMemorySegment(S, gi, x, NO).add(FloatVector.fromMemorySegment(S, gh, y, NO))
                    .intoMemorySegment(t, ti, NO);
        }
        for (; j < n; j++, x += B, y += B, ti += B) {
            t.set(F, ti, gi.get(F, x) + gh.get(F, y));
        }
    }

    /** {@code t[2H + j] = gi_n[j] + r[j]·gh_n[j]}, the argument of n's tanh. */
    private static void gruNArg(int hidden, MemorySegment t, MemorySegment gi, long xOff, MemorySegment gh, long yOff) {
        long x = xOff * B, y = yOff * B, ti = 0, dst = 2L * hidden * B;
        int j = 0;
        for (; j + VL <= hidden; j += VL, x += VL * B, y += VL * B, ti += VL * B) {
            FloatVector.fromMemorySegment(S, t, ti, NO).fma(FloatVector.fromMemorySegment(S, gh, y, NO),
                    FloatVector.fromMemorySegment(S, gi, x, NO)).intoMemorySegment(t, ti + dst, NO);
        }
        for (; j < hidden; j++, x += B, y += B, ti += B) {
            t.set(F, ti + dst, Math.fma(t.get(F, ti), gh.get(F, y), gi.get(F, x)));
        }
    }

    /** h' = (1 − z)·n + z·h = n + z·(h − n); h is read before its chunk is written (hOut may be hPrev). */
    private static void gruOut(int hidden, MemorySegment t, MemorySegment hPrev, long hpOff, MemorySegment hOut, long hoOff) {
        long gate = hidden * B, ti = 0, hp = hpOff * B, ho = hoOff * B;
        int j = 0;
        for (; j + VL <= hidden; j += VL, ti += VL * B, hp += VL * B, ho += VL * B) {
            FloatVector n = FloatVector.fromMemorySegment(S, t, ti + 2 * gate, NO);
            FloatVector.fromMemorySegment(S, t, ti + gate, NO)
                    .fma(FloatVector.fromMemorySegment(S, hPrev, hp, NO).sub(n), n).intoMemorySegment(hOut, ho, NO);
        }
        for (; j < hidden; j++, ti += B, hp += B, ho += B) {
            float n = t.get(F, ti + 2 * gate);
            hOut.set(F, ho, Math.fma(t.get(F, ti + gate), hPrev.get(F, hp) - n, n));
        }
    }

    @Override
    public void rnnCell(int batch, int hidden, Activation act, MemorySegment pre, long pOff, int ldp,
                        MemorySegment hOut, long hOff, int ldh) {
        for (int r = 0; r < batch; r++) {
            long p = pOff + (long) r * ldp, h = hOff + (long) r * ldh;
            if (act == Activation.TANH) tanh(hidden, pre, p, hOut, h);
            else relu(hidden, pre, p, hOut, h);
        }
    }

    /*
     * The activation loops: whole vectors through the SimdMath helper, then the partial last chunk, if any,
     * through its scalar twin (the same operations per lane, so the same bits). No vector on the tail's
     * path and no masked access: a masked tail on a branch of its own was a cold site wherever most calls
     * are whole vectors, and C2 compiled it into boxing calls in some runs (HeapPerCallTest: 1 KiB per
     * call; 2 × 96 bytes for a helper it did not inline). A scalar loop that is cold costs nothing to box.
     */

    /** {@code y = tanh(x)} over n contiguous floats (offsets in floats; y may be x). */
    @Override
    public void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int j = 0;
        for (; j + VL <= n; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.tanh(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        for (; j < n; j++, xi += B, yi += B) y.set(F, yi, SimdMath.tanh(x.get(F, xi)));
    }

    /** {@code y = σ(x)} over n contiguous floats. */
    @Override
    public void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int j = 0;
        for (; j + VL <= n; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.sigmoid(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        for (; j < n; j++, xi += B, yi += B) y.set(F, yi, SimdMath.sigmoid(x.get(F, xi)));
    }

    /** {@code y = max(x, 0)} over n contiguous floats. */
    @Override
    public void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        long xi = xOff * B, yi = yOff * B;
        int j = 0;
        for (; j + VL <= n; j += VL, xi += VL * B, yi += VL * B) {
            SimdMath.relu(FloatVector.fromMemorySegment(S, x, xi, NO)).intoMemorySegment(y, yi, NO);
        }
        for (; j < n; j++, xi += B, yi += B) y.set(F, yi, SimdMath.relu(x.get(F, xi)));
    }
}
