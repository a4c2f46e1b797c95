package dev.panamarnn.nn;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;

/**
 * The forward pass of a multi-layer, optionally bidirectional recurrent layer, on validated arguments.
 *
 * <p>Per layer: one GEMM projects the whole input, all T·B rows and both directions at once, onto the
 * gate pre-activations (biases folded in). Then per direction and step: one GEMM {@code h·W_hhᵀ} added
 * onto that step's pre-activations, one fused gate kernel, and a copy of h into the output. Every step
 * addresses its rows through an offset and a leading dimension, so time-major and batch-first layouts
 * both run without transposing, and nothing is allocated per step.
 *
 * <p>Variable lengths (PyTorch's packed sequences): the batch is gathered into time-major order sorted
 * by length, longest first, so at step t the samples still running are a prefix of the batch: the
 * forward direction shrinks that prefix as sequences end (their state freezes at their last step), the
 * reverse direction grows it as it reaches each sample's last step (each starting from its h0). Outputs
 * past a sample's length stay zero; results are scattered back to the caller's order at the end.
 */
final class SequenceForward {
    // Workspace slots.
    private static final int S_XIN = 0, S_XP = 1, S_INTER0 = 2, S_INTER1 = 3, S_OUT = 4, S_H = 5, S_C = 6, S_HRAW = 7, S_GH = 8;

    private SequenceForward() {}

    /** A matrix argument: segment, offset (floats) and leading dimension. Never created per step. */
    record Mat(MemorySegment seg, long off, int ld) {
        static Mat of(Tensor t) {
            return t == null ? null : new Mat(t.segment(), t.offset(), t.ld());
        }
    }

    static void run(LayerSpec spec, LayerWeights w, Kernels k, Workspace ws, int T, int B,
                    Mat input, Mat h0, Mat c0, int[] lengths, Mat output, Mat hN, Mat cN) {
        int L = spec.numLayers(), D = spec.directions(), G = spec.mode().gates();
        int Hd = spec.hiddenSize(), P = spec.outputSize(), GH = G * Hd, I = spec.inputSize();
        long rows = (long) T * B;
        boolean packed = lengths != null;
        ws.reserve(packed ? rows * I : 0, rows * D * GH, L > 1 ? rows * D * P : 0, L > 2 ? rows * D * P : 0,
                packed ? rows * D * P : 0, (long) D * B * P, spec.mode() == Mode.LSTM ? (long) D * B * Hd : 0,
                spec.projSize() > 0 ? (long) B * Hd : 0, spec.mode() == Mode.GRU ? (long) B * GH : 0);

        // Sorting by length (descending, stable) makes the running samples a prefix at every step.
        int[] perm = ws.perm(B);
        int[] running = ws.running(T);
        order(lengths, T, B, perm, running);

        boolean timeMajor = packed || !spec.batchFirst();
        Mat x = input;
        if (packed) {
            x = new Mat(ws.slot(S_XIN), 0, I);
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < B; s++) {
                    copyRow(input, callerRow(spec, T, B, t, perm[s]), x, (long) t * B + s, I, 0);
                }
            }
        }
        Mat xp = new Mat(ws.slot(S_XP), 0, D * GH);
        for (int l = 0; l < L; l++) {
            int in = spec.layerInputSize(l);
            Mat out = l == L - 1 ? (packed ? new Mat(ws.slot(S_OUT), 0, D * P) : output)
                    : new Mat(ws.slot(l % 2 == 0 ? S_INTER0 : S_INTER1), 0, D * P);
            if (packed) zero(out, rows, D * P);
            // Input projection for all steps and both directions: XP = X·W_ihᵀ + folded bias.
            if (w.bias[l] != null) {
                for (long r = 0; r < rows; r++) {
                    MemorySegment.copy(w.bias[l], 0, xp.seg, r * xp.ld * Float.BYTES, (long) D * GH * Float.BYTES);
                }
            }
            k.sgemm(false, true, (int) rows, D * GH, in, 1f, x.seg, x.off, x.ld, w.wih[l], 0, in,
                    w.bias[l] != null ? 1f : 0f, xp.seg, xp.off, xp.ld);
            for (int d = 0; d < D; d++) {
                int li = l * D + d;
                Mat h = new Mat(ws.slot(S_H), (long) d * B * P, P);
                Mat c = spec.mode() == Mode.LSTM ? new Mat(ws.slot(S_C), (long) d * B * Hd, Hd) : null;
                initState(h0, li, B, P, perm, h);
                if (c != null) initState(c0, li, B, Hd, perm, c);
                for (int s = 0; s < T; s++) {
                    int t = d == 0 ? s : T - 1 - s;
                    int nb = running[t];
                    if (nb == 0) continue;
                    long first = timeMajor ? (long) t * B : t;
                    int stride = timeMajor ? 1 : T;
                    long gOff = xp.off + first * xp.ld + (long) d * GH;
                    int gLd = stride * xp.ld;
                    boolean zeroH = s == 0 && h0 == null; // h·W_hhᵀ is zero: skip the GEMM
                    step(spec, w, k, ws, l, d, nb, zeroH, xp.seg, gOff, gLd, h, c);
                    // h → this step's output rows, columns of direction d.
                    long oOff = out.off + first * out.ld + (long) d * P;
                    int oLd = stride * out.ld;
                    for (int b = 0; b < nb; b++) {
                        MemorySegment.copy(h.seg, (h.off + (long) b * P) * Float.BYTES,
                                out.seg, (oOff + (long) b * oLd) * Float.BYTES, (long) P * Float.BYTES);
                    }
                }
                finalState(hN, li, B, P, perm, h);
                if (c != null) finalState(cN, li, B, Hd, perm, c);
            }
            x = out;
        }
        if (packed) {
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < B; s++) {
                    copyRow(x, (long) t * B + s, output, callerRow(spec, T, B, t, perm[s]), D * P, 0);
                }
            }
        }
    }

    /** One step of one direction for the first {@code nb} samples; gates at {@code (g, gOff, gLd)}. */
    private static void step(LayerSpec spec, LayerWeights w, Kernels k, Workspace ws, int l, int d, int nb, boolean zeroH,
                             MemorySegment g, long gOff, int gLd, Mat h, Mat c) {
        int Hd = spec.hiddenSize(), P = spec.outputSize(), GH = spec.mode().gates() * Hd;
        MemorySegment whh = w.whh[l][d];
        switch (spec.mode()) {
            case LSTM -> {
                if (!zeroH) k.sgemm(false, true, nb, GH, P, 1f, h.seg, h.off, P, whh, 0, P, 1f, g, gOff, gLd);
                if (spec.projSize() > 0) {
                    MemorySegment raw = ws.slot(S_HRAW);
                    k.lstmCell(nb, Hd, g, gOff, gLd, c.seg, c.off, Hd, raw, 0, Hd);
                    k.sgemm(false, true, nb, P, Hd, 1f, raw, 0, Hd, w.whr[l][d], 0, Hd, 0f, h.seg, h.off, P);
                } else {
                    k.lstmCell(nb, Hd, g, gOff, gLd, c.seg, c.off, Hd, h.seg, h.off, P);
                }
            }
            case GRU -> {
                MemorySegment gh = ws.slot(S_GH);
                MemorySegment hn = w.hnBias[l][d];
                for (int b = 0; b < nb; b++) {
                    MemorySegment.copy(hn, 0, gh, (long) b * GH * Float.BYTES, (long) GH * Float.BYTES);
                }
                if (!zeroH) k.sgemm(false, true, nb, GH, P, 1f, h.seg, h.off, P, whh, 0, P, 1f, gh, 0, GH);
                k.gruCell(nb, Hd, g, gOff, gLd, gh, 0, GH, h.seg, h.off, P, h.seg, h.off, P);
            }
            case RNN_TANH, RNN_RELU -> {
                if (!zeroH) k.sgemm(false, true, nb, GH, P, 1f, h.seg, h.off, P, whh, 0, P, 1f, g, gOff, gLd);
                k.rnnCell(nb, Hd, spec.mode().activation(), g, gOff, gLd, h.seg, h.off, P);
            }
        }
    }

    /** Row index in the caller's input/output of step t, sample b. */
    private static long callerRow(LayerSpec spec, int T, int B, int t, int b) {
        return spec.batchFirst() ? (long) b * T + t : (long) t * B + b;
    }

    private static void order(int[] lengths, int T, int B, int[] perm, int[] running) {
        for (int b = 0; b < B; b++) perm[b] = b;
        if (lengths == null) {
            java.util.Arrays.fill(running, B);
            return;
        }
        // Stable insertion sort, longest first (B is a batch size: small).
        for (int i = 1; i < B; i++) {
            int p = perm[i], j = i - 1;
            while (j >= 0 && lengths[perm[j]] < lengths[p]) {
                perm[j + 1] = perm[j];
                j--;
            }
            perm[j + 1] = p;
        }
        for (int t = 0; t < T; t++) {
            int n = 0;
            while (n < B && lengths[perm[n]] > t) n++;
            running[t] = n;
        }
    }

    private static void initState(Mat src, int li, int B, int width, int[] perm, Mat dst) {
        for (int s = 0; s < B; s++) {
            long to = (dst.off + (long) s * width) * Float.BYTES;
            if (src == null) {
                dst.seg.asSlice(to, (long) width * Float.BYTES).fill((byte) 0);
            } else {
                MemorySegment.copy(src.seg, (src.off + ((long) li * B + perm[s]) * src.ld) * Float.BYTES,
                        dst.seg, to, (long) width * Float.BYTES);
            }
        }
    }

    private static void finalState(Mat dst, int li, int B, int width, int[] perm, Mat src) {
        if (dst == null) return;
        for (int s = 0; s < B; s++) {
            MemorySegment.copy(src.seg, (src.off + (long) s * width) * Float.BYTES,
                    dst.seg, (dst.off + ((long) li * B + perm[s]) * dst.ld) * Float.BYTES, (long) width * Float.BYTES);
        }
    }

    private static void copyRow(Mat src, long srcRow, Mat dst, long dstRow, int width, int col) {
        MemorySegment.copy(src.seg, (src.off + srcRow * src.ld + col) * Float.BYTES,
                dst.seg, (dst.off + dstRow * dst.ld + col) * Float.BYTES, (long) width * Float.BYTES);
    }

    private static void zero(Mat m, long rows, int width) {
        for (long r = 0; r < rows; r++) {
            m.seg.asSlice((m.off + r * m.ld) * Float.BYTES, (long) width * Float.BYTES).fill((byte) 0);
        }
    }

}
