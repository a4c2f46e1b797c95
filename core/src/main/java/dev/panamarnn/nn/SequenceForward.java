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
 *
 * <p>Two threads ({@link dev.panamarnn.Parallelism}, {@link Team}): the projection is split by columns; a
 * bidirectional layer runs one direction per thread (no synchronisation until the layer ends); a
 * unidirectional layer splits every step by the weights' partitions of the hidden units
 * ({@link LayerWeights#cut}): each thread multiplies h by its own rows of W_hh, applies the gate math to
 * its units and copies its output columns, then both meet. h is double-buffered in that mode (a thread
 * must not overwrite units the other still reads); c is per unit, so it stays in place.
 */
final class SequenceForward {
    // Workspace slots.
    private static final int S_XIN = 0, S_XP = 1, S_INTER0 = 2, S_INTER1 = 3, S_OUT = 4, S_H = 5, S_C = 6, S_HRAW = 7, S_GH = 8, S_H2 = 9,
            S_HN = 10, S_CN = 11;

    private SequenceForward() {}

    /**
     * A matrix argument: segment, offset (floats) and leading dimension. Mutable and held by the
     * workspace's {@link Job}, set once per call or layer, so that a call allocates no heap at all.
     */
    static final class Mat {
        MemorySegment seg;
        long off;
        int ld;

        Mat set(MemorySegment seg, long off, int ld) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            return this;
        }

        /** This matrix set to {@code t}'s memory, or null for a null tensor. */
        Mat of(Tensor t) {
            return t == null ? null : set(t.segment(), t.offset(), t.ld());
        }
    }

    /**
     * The forward pass; with a {@code team} (its helper acquired by the caller) the work is split in two:
     * the input projection by columns; a bidirectional layer's directions one per thread; a unidirectional
     * layer's steps by partition of the hidden units (each thread: its GEMM rows, its gate math, its
     * output columns; a barrier per step, h double-buffered so no thread reads what the other writes).
     */
    static void run(LayerSpec spec, LayerWeights w, Kernels k, Workspace ws, Halves team, int T, int B,
                    Tensor inputT, Tensor h0T, Tensor c0T, int[] lengths, Tensor outputT, Tensor hNT, Tensor cNT) {
        int L = spec.numLayers(), D = spec.directions(), G = spec.mode().gates();
        int Hd = spec.hiddenSize(), P = spec.outputSize(), GH = G * Hd, I = spec.inputSize();
        long rows = (long) T * B;
        boolean packed = lengths != null;
        boolean split = team != null && D == 1 && w.parts() > 1;
        long[] want = ws.request();
        want[S_XIN] = packed ? rows * I : 0;
        want[S_XP] = rows * D * GH;
        want[S_INTER0] = L > 1 ? rows * D * P : 0;
        want[S_INTER1] = L > 2 ? rows * D * P : 0;
        want[S_OUT] = packed ? rows * D * P : 0;
        want[S_H] = (long) D * B * P;
        want[S_C] = spec.mode() == Mode.LSTM ? (long) D * B * Hd : 0;
        want[S_HRAW] = spec.projSize() > 0 ? (long) D * B * Hd : 0;
        want[S_GH] = spec.mode() == Mode.GRU ? (long) D * B * GH : 0;
        want[S_H2] = split ? (long) D * B * P : 0;
        // h_n given as the very tensor h0 is (c_n as c0), to carry state across calls: the final states go
        // to scratch and reach the caller's tensor only once every layer has run, so a call that fails
        // half-way leaves the caller's state as it was.
        boolean stageH = RecurrentLayer.sameView(h0T, hNT), stageC = RecurrentLayer.sameView(c0T, cNT);
        want[S_HN] = stageH ? (long) L * D * B * P : 0;
        want[S_CN] = stageC ? (long) L * D * B * Hd : 0;
        ws.reserve(want);
        Job job = ws.job();
        Mat input = job.inputM.of(inputT), output = job.outputM.of(outputT);
        Mat h0 = job.h0M.of(h0T), c0 = job.c0M.of(c0T);
        Mat hN = stageH ? job.hNM.set(ws.slot(S_HN), 0, P) : job.hNM.of(hNT);
        Mat cN = stageC ? job.cNM.set(ws.slot(S_CN), 0, Hd) : job.cNM.of(cNT);

        // Sorting by length (descending, stable) makes the running samples a prefix at every step.
        int[] perm = ws.perm(B);
        int[] running = ws.running(T);
        order(lengths, T, B, perm, running);

        boolean timeMajor = packed || !spec.batchFirst();
        Mat x = input;
        if (packed) {
            x = job.xinM.set(ws.slot(S_XIN), 0, I);
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < B; s++) {
                    copyRow(input, callerRow(spec, T, B, t, perm[s]), x, (long) t * B + s, I, 0);
                }
            }
        }
        Mat xp = job.xpM.set(ws.slot(S_XP), 0, D * GH);
        job.init(spec, w, k, ws, T, B, timeMajor, h0, c0, hN, cN, perm, running, split);
        for (int l = 0; l < L; l++) {
            Mat out = l == L - 1 ? (packed ? job.outM.set(ws.slot(S_OUT), 0, D * P) : output)
                    : job.interM[l % 2].set(ws.slot(l % 2 == 0 ? S_INTER0 : S_INTER1), 0, D * P);
            if (packed) zero(out, rows, D * P);
            job.layer(l, x, xp, out);
            // Input projection for all steps and both directions: XP = X·W_ihᵀ + folded bias.
            if (team != null) {
                job.kind = Job.PROJECT;
                team.runBoth(job);
            } else {
                project(job, job.views[0], 0, D * GH);
            }
            if (team != null && D == 2) {
                job.kind = Job.DIRECTION;
                team.runBoth(job);
            } else {
                for (int d = 0; d < D; d++) direction(job, d, split ? team : null);
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
        if (stageH) copyRows(hN, job.outM.of(hNT), (long) L * D * B, P);
        if (stageC) copyRows(cN, job.outM.of(cNT), (long) L * D * B, Hd);
    }

    private static void copyRows(Mat src, Mat dst, long rows, int width) {
        for (long r = 0; r < rows; r++) copyRow(src, r, dst, r, width, 0);
    }

    /**
     * Columns {@code [from, to)} (gate pre-activations, both directions side by side) of layer
     * {@code j.l}'s input projection, for all T·B rows. Split by columns, not rows, so that every GEMM
     * has the same M whether or not the helper took half: a BLAS may sum a row in another order for
     * another M (OpenBLAS does), and a call's bits must not depend on whether the helper was free.
     */
    private static void project(Job j, Views v, int from, int to) {
        if (to <= from) return;
        int in = j.spec.layerInputSize(j.l), rows = j.T * j.B;
        MemorySegment bias = j.w.bias[j.l], wih = j.w.wih[j.l];
        if (bias != null) {
            for (long r = 0; r < rows; r++) {
                MemorySegment.copy(bias, (long) from * Float.BYTES, j.xp.seg, (j.xp.off + r * j.xp.ld + from) * Float.BYTES,
                        (long) (to - from) * Float.BYTES);
            }
        }
        long wOff = (long) from * in;
        j.w.gemm(j.k, rows, to - from, in, v.at(j.x.seg, j.x.off), 0, j.x.ld, j.w.bf16 ? wih : v.at(wih, wOff), j.w.bf16 ? wOff : 0,
                bias != null ? 1f : 0f, v.at(j.xp.seg, j.xp.off + from), 0, j.xp.ld);
    }

    /** All steps of direction {@code d} of layer {@code j.l}; with a team, each step split by partition. */
    private static void direction(Job j, int d, Halves team) {
        LayerSpec spec = j.spec;
        int B = j.B, T = j.T, P = spec.outputSize(), Hd = spec.hiddenSize(), li = j.l * spec.directions() + d;
        Mat h = j.h[d], c = j.c[d];
        Step st = j.steps[d];
        st.flipped = false;
        initState(j.h0, li, B, P, j.perm, h);
        if (c != null) initState(j.c0, li, B, Hd, j.perm, c);
        if (team != null) {
            initState(j.h0, li, B, P, j.perm, j.h2[d]);
            j.kind = Job.STEP;
            j.stepDir = d;
            for (int s = 0; s < T; s++) {
                int t = d == 0 ? s : T - 1 - s;
                int nb = j.running[t];
                if (nb == 0) continue;
                j.at(st, s, t, nb);
                team.runBoth(j);
                // Samples that have ended keep their state: carry it into the buffer that becomes current.
                Mat cur = st.cur(), next = st.next();
                for (int b = nb; b < B; b++) {
                    MemorySegment.copy(cur.seg, (cur.off + (long) b * P) * Float.BYTES, next.seg, (next.off + (long) b * P) * Float.BYTES,
                            (long) P * Float.BYTES);
                }
                st.flipped = !st.flipped;
            }
            h = st.cur();
        } else {
            for (int s = 0; s < T; s++) {
                int t = d == 0 ? s : T - 1 - s;
                int nb = j.running[t];
                if (nb == 0) continue;
                j.at(st, s, t, nb);
                stepAll(j, st, h, c);
            }
        }
        finalState(j.hN, li, B, P, j.perm, h);
        if (c != null) finalState(j.cN, li, B, Hd, j.perm, c);
    }

    /** One step of direction st.d for the first nb samples, every partition, on this thread; h in place. */
    private static void stepAll(Job j, Step st, Mat h, Mat c) {
        Views v = j.views[st.d];
        LayerSpec spec = j.spec;
        int Hd = spec.hiddenSize(), P = spec.outputSize(), G = spec.mode().gates(), GH = G * Hd, d = st.d, nb = st.nb;
        Kernels k = j.k;
        MemorySegment g = j.xp.seg;
        long gOff = st.gOff;
        int gLd = st.gLd;
        int[] cut = j.w.cut;
        switch (spec.mode()) {
            case LSTM -> {
                if (!st.zeroH) stepProduct(j, v, d, nb, h, g, gOff, gLd);
                if (spec.projSize() > 0) {
                    MemorySegment raw = j.ws.slot(S_HRAW);
                    long rawOff = (long) d * j.B * Hd;
                    k.lstmCell(nb, Hd, g, gOff, gLd, c.seg, c.off, Hd, raw, rawOff, Hd);
                    j.w.gemm(k, nb, P, Hd, v.at(raw, rawOff), 0, Hd, j.w.whr[j.l][d], 0, 0f, v.at(h.seg, h.off), 0, P);
                } else {
                    for (int q = 0; q + 1 < cut.length; q++) {
                        int a = cut[q], hq = cut[q + 1] - a;
                        k.lstmCell(nb, hq, g, gOff + (long) G * a, gLd, c.seg, c.off + a, Hd, h.seg, h.off + a, P);
                    }
                }
            }
            case GRU -> {
                MemorySegment gh = j.ws.slot(S_GH);
                long ghOff = (long) d * j.B * GH;
                MemorySegment hn = j.w.hnBias[j.l][d];
                for (int b = 0; b < nb; b++) {
                    MemorySegment.copy(hn, 0, gh, (ghOff + (long) b * GH) * Float.BYTES, (long) GH * Float.BYTES);
                }
                if (!st.zeroH) stepProduct(j, v, d, nb, h, gh, ghOff, GH);
                for (int q = 0; q + 1 < cut.length; q++) {
                    int a = cut[q], hq = cut[q + 1] - a;
                    k.gruCell(nb, hq, g, gOff + (long) G * a, gLd, gh, ghOff + (long) G * a, GH, h.seg, h.off + a, P, h.seg, h.off + a, P);
                }
            }
            case RNN_TANH, RNN_RELU -> {
                if (!st.zeroH) stepProduct(j, v, d, nb, h, g, gOff, gLd);
                k.rnnCell(nb, Hd, spec.mode().activation(), g, gOff, gLd, h.seg, h.off, P);
            }
        }
        copyOut(j, st, h, 0, P);
    }

    /**
     * The whole step's product {@code C += h·W_hhᵀ} for the first nb rows: over the layer's prepared
     * panels, partition by partition, when its backend prefers them for nb rows (each element then the
     * same arithmetic as in {@link #partProduct}, so the steps of one and two threads agree bit for bit),
     * else the layer's GEMM over the whole W_hh.
     */
    private static void stepProduct(Job j, Views v, int d, int nb, Mat h, MemorySegment c, long cOff, int ldc) {
        int G = j.spec.mode().gates(), P = j.spec.outputSize();
        if (j.w.usePanels(j.k, nb)) {
            int[] cut = j.w.cut;
            for (int q = 0; q + 1 < cut.length; q++) {
                j.k.gemmPrepared(nb, j.w.panels[j.l][d][q], h.seg, h.off, P, 1f, c, cOff + (long) G * cut[q], ldc);
            }
        } else {
            j.w.gemm(j.k, nb, G * j.spec.hiddenSize(), P, v.at(h.seg, h.off), 0, P, j.w.whh[j.l][d], 0, 1f, v.at(c, cOff), 0, ldc);
        }
    }

    /** Partition q's rows of {@link #stepProduct}: {@code C[nb × G·hq] += h·W_hh,qᵀ}, C at partition q's first gate column. */
    private static void partProduct(Job j, Views v, int d, int q, int nb, Mat h, MemorySegment c, long cOff, int ldc) {
        int G = j.spec.mode().gates(), P = j.spec.outputSize(), a = j.w.cut[q], rowsQ = G * (j.w.cut[q + 1] - a);
        if (j.w.usePanels(j.k, nb)) {
            j.k.gemmPrepared(nb, j.w.panels[j.l][d][q], h.seg, h.off, P, 1f, c, cOff, ldc);
        } else {
            MemorySegment whh = j.w.whh[j.l][d];
            long wOff = (long) G * a * P;
            // bfloat16 rows are read by offset (2-byte elements); a float32 view at the offset keeps OpenBLAS's pointer reused
            j.w.gemm(j.k, nb, rowsQ, P, v.at(h.seg, h.off), 0, P, j.w.bf16 ? whh : v.at(whh, wOff), j.w.bf16 ? wOff : 0, 1f, v.at(c, cOff), 0, ldc);
        }
    }

    /** Partition q of one step: its GEMM rows and gate math, from st.cur() into st.next(); its output columns. */
    private static void stepPart(Job j, Step st, int q) {
        Views v = j.views[q];
        LayerSpec spec = j.spec;
        int Hd = spec.hiddenSize(), P = spec.outputSize(), G = spec.mode().gates(), GH = G * Hd, d = st.d, nb = st.nb;
        int a = j.w.cut[q], hq = j.w.cut[q + 1] - a, rowsQ = G * hq;
        Kernels k = j.k;
        Mat h = st.cur(), hNext = st.next(), c = j.c[d];
        MemorySegment g = j.xp.seg;
        long gOff = st.gOff + (long) G * a;
        int gLd = st.gLd;
        switch (spec.mode()) {
            case LSTM -> {
                if (!st.zeroH) partProduct(j, v, d, q, nb, h, g, gOff, gLd);
                k.lstmCell(nb, hq, g, gOff, gLd, c.seg, c.off + a, Hd, hNext.seg, hNext.off + a, P);
            }
            case GRU -> {
                MemorySegment gh = j.ws.slot(S_GH);
                long ghOff = (long) G * a;
                MemorySegment hn = j.w.hnBias[j.l][d];
                for (int b = 0; b < nb; b++) {
                    MemorySegment.copy(hn, ghOff * Float.BYTES, gh, (ghOff + (long) b * GH) * Float.BYTES, (long) rowsQ * Float.BYTES);
                }
                if (!st.zeroH) partProduct(j, v, d, q, nb, h, gh, ghOff, GH);
                k.gruCell(nb, hq, g, gOff, gLd, gh, ghOff, GH, h.seg, h.off + a, P, hNext.seg, hNext.off + a, P);
            }
            case RNN_TANH, RNN_RELU -> {
                if (!st.zeroH) partProduct(j, v, d, q, nb, h, g, gOff, gLd);
                k.rnnCell(nb, hq, spec.mode().activation(), g, gOff, gLd, hNext.seg, hNext.off + a, P);
            }
        }
        copyOut(j, st, hNext, a, hq);
    }

    /** Columns {@code [col, col+width)} of h's first nb rows → this step's output rows, direction st.d. */
    private static void copyOut(Job j, Step st, Mat h, int col, int width) {
        int P = j.spec.outputSize();
        long oOff = j.out.off + st.first * j.out.ld + (long) st.d * P + col;
        int oLd = st.stride * j.out.ld;
        for (int b = 0; b < st.nb; b++) {
            MemorySegment.copy(h.seg, (h.off + (long) b * P + col) * Float.BYTES, j.out.seg, (oOff + (long) b * oLd) * Float.BYTES,
                    (long) width * Float.BYTES);
        }
    }

    /**
     * Slices of the workspace and weights at the offsets the steps use, made once and reused, so that a
     * kernel receives each operand at offset 0. The OpenBLAS backend passes pointers to native code and
     * would otherwise make a slice object per call (per step); with these, steady-state steps allocate
     * nothing. Keyed by segment identity and offset; a segment the workspace replaced simply stops
     * matching, and a full table starts over. One per thread: not thread-safe.
     */
    static final class Views {
        private static final int SIZE = 1 << 11; // power of two; entries at the steps' distinct offsets
        private final MemorySegment[] base = new MemorySegment[SIZE], view = new MemorySegment[SIZE];
        private final long[] offs = new long[SIZE];
        private int used;

        /** {@code seg} seen from float {@code off} on. */
        MemorySegment at(MemorySegment seg, long off) {
            if (off == 0) return seg;
            int i = (int) ((off * 0x9E3779B97F4A7C15L) >>> 53) & (SIZE - 1);
            for (int n = 0; n < SIZE; n++, i = (i + 1) & (SIZE - 1)) {
                MemorySegment b = base[i];
                if (b == null) break;
                if (b == seg && offs[i] == off) return view[i];
            }
            if (used >= SIZE / 2) { // too full for fast probes: start over
                java.util.Arrays.fill(base, null);
                java.util.Arrays.fill(view, null);
                used = 0;
                i = (int) ((off * 0x9E3779B97F4A7C15L) >>> 53) & (SIZE - 1);
            }
            while (base[i] != null) i = (i + 1) & (SIZE - 1);
            MemorySegment v = seg.asSlice(off * Float.BYTES);
            base[i] = seg;
            offs[i] = off;
            view[i] = v;
            used++;
            return v;
        }
    }

    /** Where one direction's current step is; one per direction, so the two directions can run at once. */
    static final class Step {
        final int d;
        int nb, stride, gLd;
        long first, gOff;
        boolean zeroH, flipped;
        Mat a, b;

        Step(int d) {
            this.d = d;
        }

        Mat cur() {
            return flipped ? b : a;
        }

        Mat next() {
            return flipped ? a : b;
        }
    }

    /**
     * Everything one forward pass's steps need, in one object per workspace (so nothing is allocated per
     * step), and the work a {@link Team} splits: a projection by columns, the two directions, or a step by
     * partition of the hidden units.
     */
    static final class Job implements Team.Job {
        static final int PROJECT = 0, DIRECTION = 1, STEP = 2;
        int kind, stepDir;
        LayerSpec spec;
        LayerWeights w;
        Kernels k;
        Workspace ws;
        int T, B, l;
        boolean timeMajor;
        Mat h0, c0, hN, cN, x, xp, out;
        int[] perm, running;
        final Mat[] h = new Mat[2], h2 = new Mat[2], c = new Mat[2];
        /** The matrices of one call, set per call (or layer): see {@link Mat}. */
        final Mat inputM = new Mat(), outputM = new Mat(), h0M = new Mat(), c0M = new Mat(), hNM = new Mat(), cNM = new Mat(),
                xinM = new Mat(), xpM = new Mat(), outM = new Mat();
        final Mat[] interM = {new Mat(), new Mat()}, hM = {new Mat(), new Mat()}, h2M = {new Mat(), new Mat()}, cM = {new Mat(), new Mat()};
        final Step[] steps = {new Step(0), new Step(1)};
        /** Pointer views per thread (the caller's and the helper's): see {@link Views}. */
        final Views[] views = {new Views(), new Views()};

        void init(LayerSpec spec, LayerWeights w, Kernels k, Workspace ws, int T, int B, boolean timeMajor,
                  Mat h0, Mat c0, Mat hN, Mat cN, int[] perm, int[] running, boolean doubleBuffer) {
            this.spec = spec;
            this.w = w;
            this.k = k;
            this.ws = ws;
            this.T = T;
            this.B = B;
            this.timeMajor = timeMajor;
            this.h0 = h0;
            this.c0 = c0;
            this.hN = hN;
            this.cN = cN;
            this.perm = perm;
            this.running = running;
            int P = spec.outputSize(), Hd = spec.hiddenSize();
            for (int d = 0; d < spec.directions(); d++) {
                h[d] = hM[d].set(ws.slot(S_H), (long) d * B * P, P);
                h2[d] = doubleBuffer ? h2M[d].set(ws.slot(S_H2), (long) d * B * P, P) : null;
                c[d] = spec.mode() == Mode.LSTM ? cM[d].set(ws.slot(S_C), (long) d * B * Hd, Hd) : null;
                steps[d].a = h[d];
                steps[d].b = h2[d];
                steps[d].flipped = false;
            }
        }

        void layer(int l, Mat x, Mat xp, Mat out) {
            this.l = l;
            this.x = x;
            this.xp = xp;
            this.out = out;
        }

        /** Sets {@code st} to step s (time t, nb samples running) of its direction. */
        void at(Step st, int s, int t, int nb) {
            st.nb = nb;
            st.first = timeMajor ? (long) t * B : t;
            st.stride = timeMajor ? 1 : T;
            st.gOff = xp.off + st.first * xp.ld + (long) st.d * spec.mode().gates() * spec.hiddenSize();
            st.gLd = st.stride * xp.ld;
            st.zeroH = s == 0 && h0 == null; // h·W_hhᵀ is zero: skip the GEMM
        }

        @Override
        public void run(int part) {
            switch (kind) {
                case PROJECT -> {
                    // Halves on a multiple of 16 columns (whole vectors, whole GEMM tiles); with two
                    // directions, that is one direction's gates per thread.
                    int n = spec.directions() * spec.mode().gates() * spec.hiddenSize(), mid = (n / 2 + 15) / 16 * 16;
                    if (part == 0) project(this, views[0], 0, Math.min(mid, n));
                    else project(this, views[1], Math.min(mid, n), n);
                }
                case DIRECTION -> direction(this, part, null);
                case STEP -> stepPart(this, steps[stepDir], part);
                default -> throw new IllegalStateException("job kind " + kind);
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
        if (src == null) { // the B rows are contiguous: one fill
            fillZero(dst.seg, dst.off, (long) B * width);
            return;
        }
        for (int s = 0; s < B; s++) {
            MemorySegment.copy(src.seg, (src.off + ((long) li * B + perm[s]) * src.ld) * Float.BYTES,
                    dst.seg, (dst.off + (long) s * width) * Float.BYTES, (long) width * Float.BYTES);
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
        if (m.ld == width) { // contiguous: one fill
            fillZero(m.seg, m.off, rows * width);
            return;
        }
        for (long r = 0; r < rows; r++) fillZero(m.seg, m.off + r * m.ld, width);
    }

    /** Zeros, copied from to fill without a slice object ({@code asSlice(…).fill} allocates one when not inlined). */
    private static final MemorySegment ZEROS = java.lang.foreign.Arena.global().allocate(16 * 1024, 64);

    /** {@code floats} zeros into {@code seg} from float {@code off}. */
    static void fillZero(MemorySegment seg, long off, long floats) {
        long at = off * Float.BYTES, left = floats * Float.BYTES;
        while (left > 0) {
            long n = Math.min(left, ZEROS.byteSize());
            MemorySegment.copy(ZEROS, 0, seg, at, n);
            at += n;
            left -= n;
        }
    }

}
