package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;

/**
 * The forward pass of a multi-layer, optionally bidirectional recurrent layer over whole sequences, on
 * validated arguments.
 *
 * <p>Per layer: one GEMM projects the whole input, all T·B rows and both directions at once, onto the
 * gate pre-activations (biases folded in). Then per direction and step: the layer's {@link CellStep}
 * (the product {@code h·W_hhᵀ} added onto that step's pre-activations, the fused gate kernel) and a copy of
 * h into the output. Every step addresses its rows through an offset and a leading dimension, so
 * time-major and batch-first layouts both run without transposing, and nothing is allocated per step.
 *
 * <p>Variable lengths (PyTorch's packed sequences): the batch is gathered into time-major order sorted
 * by length, longest first, so at step t the samples still running are a prefix of the batch: the
 * forward direction shrinks that prefix as sequences end (their state freezes at their last step), the
 * reverse direction grows it as it reaches each sample's last step (each starting from its h0). Outputs
 * past a sample's length stay zero; results are scattered back to the caller's order at the end.
 *
 * <p>In two halves (two threads per call; {@link Helper} runs one when it is free, else the caller runs
 * both, cut the same way): the projection by columns; a bidirectional layer's directions one per half; a
 * unidirectional layer's steps by the weights' partitions of the hidden units ({@link Weights#cuts}): each
 * half multiplies h by its own rows of W_hh, applies the gate math to its units and copies its output
 * columns, then both meet. h is double-buffered in that mode (a half must not overwrite units the other
 * still reads); c is per unit, so it stays in place.
 *
 * <p>One per {@link Scratch}, reused from call to call: its fields are the call's arguments and
 * positions, set at the start of {@link #run}.
 */
public final class SequenceRun {
    // The call.
    private Shape shape;
    private Weights w;
    private Kernels k;
    private Helper helper;
    private int T, B, layer;
    private boolean timeMajor, fromZero;
    private int[] perm, running;
    private final Mat input = new Mat(), output = new Mat(), h0 = new Mat(), c0 = new Mat(), hN = new Mat(), cN = new Mat();
    private Mat h0m, c0m, hNm, cNm;
    /** The layer's input, its gate pre-activations for all steps, its output. */
    private Mat x;
    private final Mat xp = new Mat(), out = new Mat(), xin = new Mat(), inter = new Mat(), tmp = new Mat();
    /** Per direction: the state (h double-buffered when a step is split), scratch, this step's position. */
    private final Dir[] dirs = {new Dir(0), new Dir(1)};
    /** The work of two halves, made once. */
    private final StepParts.Work projectHalf = this::projectHalf, direction = d -> direction(d, false), stepHalf = this::stepHalf;
    private int splitDir;

    /** One per scratch. */
    private static final Scratch.Key<SequenceRun> STATE = new Scratch.Key<>(SequenceRun::new);

    private SequenceRun() {}

    /** A direction's state and current step. */
    private static final class Dir {
        final int d;
        final Mat h = new Mat(), hNext = new Mat(), c = new Mat(), gh = new Mat(), raw = new Mat(), gates = new Mat();
        Mat cur, next;
        CellStep step;
        int nb, stale;
        /** This step's first output row and the rows between its samples. */
        long first;
        int stride;

        Dir(int d) {
            this.d = d;
        }
    }

    /**
     * The forward pass. With {@code halves}, the work is cut in two (see the class comment) and
     * {@code helper}, when not null (acquired by the caller), runs some of it.
     *
     * @param shape   the layer
     * @param w       its weights
     * @param k       the kernels
     * @param ws      scratch for this call (acquired)
     * @param halves  whether to cut the work in two
     * @param helper  a second thread for the halves, or null
     * @param T       steps
     * @param B       samples
     * @param input   the input
     * @param h0      initial hidden states, or null
     * @param c0      initial cell states, or null
     * @param lengths lengths per sample, or null for T
     * @param output  the output
     * @param hN      final hidden states, or null; may be h0 itself
     * @param cN      final cell states, or null; may be c0 itself
     */
    public static void forward(Shape shape, Weights w, Kernels k, Scratch ws, boolean halves, Helper helper, int T, int B,
                               Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor output, Tensor hN, Tensor cN) {
        ws.state(STATE).run(shape, w, k, ws, halves, helper, T, B, input, h0, c0, lengths, output, hN, cN);
    }

    private void run(Shape shape, Weights w, Kernels k, Scratch ws, boolean halves, Helper helper, int T, int B,
                     Tensor inputT, Tensor h0T, Tensor c0T, int[] lengths, Tensor outputT, Tensor hNT, Tensor cNT) {
        this.shape = shape;
        this.w = w;
        this.k = k;
        this.helper = helper;
        this.T = T;
        this.B = B;
        int L = shape.layers(), D = shape.directions(), G = shape.gates(), H = shape.hidden(), P = shape.output(), GH = G * H;
        int I = shape.inputSize();
        long rows = (long) T * B;
        boolean packed = lengths != null, lstm = shape.cell() == Cell.LSTM;
        boolean split = halves && D == 1 && w.parts() > 1;
        // h_n given as the very tensor h0 is (c_n as c0), to carry state across calls: the final states go
        // to scratch and reach the caller's tensor only once every layer has run, so a call that fails
        // half-way leaves the caller's state as it was.
        boolean stageH = sameView(h0T, hNT), stageC = sameView(c0T, cNT);

        // Scratch, laid out by name.
        ws.plan();
        long xinAt = ws.claim(packed ? rows * I : 0);
        long xpAt = ws.claim(rows * D * GH);
        long interAt0 = ws.claim(L > 1 ? rows * D * P : 0), interAt1 = ws.claim(L > 2 ? rows * D * P : 0);
        long outAt = ws.claim(packed ? rows * D * P : 0);
        long hAt = ws.claim((long) D * B * P), hNextAt = ws.claim(split ? (long) D * B * P : 0);
        long cAt = ws.claim(lstm ? (long) D * B * H : 0);
        long rawAt = ws.claim(shape.proj() > 0 ? (long) D * B * H : 0);
        long ghAt = ws.claim(shape.cell() == Cell.GRU ? (long) D * B * GH : 0);
        long hNAt = ws.claim(stageH ? (long) L * D * B * P : 0), cNAt = ws.claim(stageC ? (long) L * D * B * H : 0);
        MemorySegment mem = ws.commit();

        Mat in = input.of(inputT), outM = output.of(outputT);
        h0m = h0.of(h0T);
        c0m = c0.of(c0T);
        hNm = stageH ? hN.set(mem, hNAt, P) : hN.of(hNT);
        cNm = stageC ? cN.set(mem, cNAt, H) : cN.of(cNT);
        fromZero = h0T == null;
        for (int d = 0; d < D; d++) {
            Dir s = dirs[d];
            s.h.set(mem, hAt + (long) d * B * P, P);
            s.hNext.set(mem, hNextAt + (long) d * B * P, P);
            s.c.set(mem, cAt + (long) d * B * H, H);
            s.raw.set(mem, rawAt + (long) d * B * H, H);
            s.gh.set(mem, ghAt + (long) d * B * GH, GH);
        }

        // Sorting by length (descending, stable) makes the running samples a prefix at every step.
        perm = ws.perm(B);
        running = ws.running(T);
        order(lengths, T, B, perm, running);
        timeMajor = packed || !shape.batchFirst();
        x = in;
        if (packed) {
            x = xin.set(mem, xinAt, I);
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < B; s++) Rows.copy(in, callerRow(t, perm[s]), x, (long) t * B + s, I, 0);
            }
        }
        xp.set(mem, xpAt, D * GH);

        for (int l = 0; l < L; l++) {
            layer = l;
            if (l == L - 1) {
                if (packed) out.set(mem, outAt, D * P);
                else out.set(outM.seg, outM.off, outM.ld);
            } else {
                out.set(mem, l % 2 == 0 ? interAt0 : interAt1, D * P);
            }
            if (packed) Rows.zero(out, rows, D * P);
            // Input projection for all steps and both directions: XP = X·W_ihᵀ + folded bias.
            if (halves) inHalves(projectHalf);
            else project(0, D * GH);
            // The recurrence, direction by direction (one per half when there are two).
            if (halves && D == 2) inHalves(direction);
            else for (int d = 0; d < D; d++) direction(d, split);
            x = (l % 2 == 0 ? inter : tmp).set(out.seg, out.off, out.ld); // the next layer reads this one's output
        }

        if (packed) {
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < B; s++) Rows.copy(x, (long) t * B + s, outM, callerRow(t, perm[s]), D * P, 0);
            }
        }
        if (stageH) Rows.copy(hNm.seg, hNm.off, P, hNT.segment(), hNT.offset(), hNT.ld(), (long) L * D * B, P);
        if (stageC) Rows.copy(cNm.seg, cNm.off, H, cNT.segment(), cNT.offset(), cNT.ld(), (long) L * D * B, H);
    }

    /** Runs both halves of {@code work}: with the helper when there is one, else here, one after the other. */
    private void inHalves(StepParts.Work work) {
        if (helper != null) helper.run(work, 2);
        else StepParts.runAlone(work, 2);
    }

    /**
     * Whether h_n is the very tensor h0 is (or c_n c0), to carry state across calls: the same first
     * element and leading dimension. Such a final state is staged in scratch and written at the end.
     *
     * @param a a tensor, or null
     * @param b a tensor, or null
     * @return whether both are views of the same memory
     */
    public static boolean sameView(Tensor a, Tensor b) {
        if (a == null || b == null) return false;
        return a.segment().address() + a.offset() * Float.BYTES == b.segment().address() + b.offset() * Float.BYTES && a.ld() == b.ld();
    }

    /**
     * Half {@code half} of the projection's columns. Halves on a multiple of 16 columns (whole vectors,
     * whole GEMM tiles); with two directions, that is one direction's gates per half.
     */
    private void projectHalf(int half) {
        int n = shape.directions() * shape.gates() * shape.hidden(), mid = Math.min((n / 2 + 15) / 16 * 16, n);
        if (half == 0) project(0, mid);
        else project(mid, n);
    }

    /**
     * Columns {@code [from, to)} (gate pre-activations, both directions side by side) of the layer's input
     * projection, for all T·B rows. Split by columns, not rows, so that every GEMM has the same M whether
     * or not the helper took half: a BLAS may sum a row in another order for another M (OpenBLAS does),
     * and a call's bits must not depend on whether the helper was free.
     */
    private void project(int from, int to) {
        if (to <= from) return;
        int in = shape.layerInput(layer), rows = T * B;
        MemorySegment bias = w.bias[layer], wih = w.wih[layer];
        if (bias != null) {
            for (long r = 0; r < rows; r++) {
                MemorySegment.copy(bias, (long) from * Float.BYTES, xp.seg, (xp.row(r) + from) * Float.BYTES, (long) (to - from) * Float.BYTES);
            }
        }
        w.gemm(k, rows, to - from, in, x.seg, x.off, x.ld, wih, (long) from * in, bias != null ? 1f : 0f, xp.seg, xp.off + from, xp.ld);
    }

    /** All steps of direction d of the current layer; with {@code split}, each step in two halves by partition. */
    private void direction(int d, boolean split) {
        int P = shape.output(), H = shape.hidden(), li = layer * shape.directions() + d;
        boolean lstm = shape.cell() == Cell.LSTM;
        Dir s = dirs[d];
        s.step = w.step(layer, d);
        s.cur = s.h;
        s.next = split ? s.hNext : s.h;
        initState(h0m, li, P, s.h);
        if (lstm) initState(c0m, li, H, s.c);
        if (split) {
            initState(h0m, li, P, s.hNext);
            splitDir = d;
        }
        for (int i = 0; i < T; i++) {
            int t = d == 0 ? i : T - 1 - i;
            int nb = running[t];
            if (nb == 0) continue;
            at(s, i, t, nb);
            if (split) {
                inHalves(stepHalf);
                // Samples that have ended keep their state: carry it into the buffer that becomes current.
                for (int b = nb; b < B; b++) Rows.copy(s.cur, b, s.next, b, P, 0);
                Mat c = s.cur;
                s.cur = s.next;
                s.next = c;
            } else {
                s.step.run(k, 0, s.step.parts(), nb, s.stale, s.h, s.h, s.gates, s.gh, s.c, s.raw);
                copyOut(s, s.h, 0, P);
            }
        }
        finalState(hNm, li, P, s.cur);
        if (lstm) finalState(cNm, li, H, s.c);
    }

    /** Partition q of the current step of the split direction: from cur into next, then its output columns. */
    private void stepHalf(int q) {
        Dir s = dirs[splitDir];
        s.step.run(k, q, q + 1, s.nb, s.stale, s.cur, s.next, s.gates, s.gh, s.c, s.raw);
        int a = s.step.unit(q);
        copyOut(s, s.next, a, s.step.unit(q + 1) - a);
    }

    /** Sets direction s to step i (time t, nb samples running). */
    private void at(Dir s, int i, int t, int nb) {
        s.nb = nb;
        s.stale = i == 0 && fromZero ? 0 : nb; // h·W_hhᵀ is zero at the first step from zero state: skip the product
        s.first = timeMajor ? (long) t * B : t;
        s.stride = timeMajor ? 1 : T;
        s.gates.set(xp.seg, xp.row(s.first) + (long) s.d * shape.gates() * shape.hidden(), s.stride * xp.ld);
    }

    /** Columns {@code [col, col+width)} of h's first nb rows → this step's output rows, direction s.d. */
    private void copyOut(Dir s, Mat h, int col, int width) {
        long o = out.row(s.first) + (long) s.d * shape.output() + col;
        long oLd = (long) s.stride * out.ld;
        for (int b = 0; b < s.nb; b++) {
            MemorySegment.copy(h.seg, (h.row(b) + col) * Float.BYTES, out.seg, (o + b * oLd) * Float.BYTES, (long) width * Float.BYTES);
        }
    }

    /** Row index in the caller's input/output of step t, sample b. */
    private long callerRow(int t, int b) {
        return shape.batchFirst() ? (long) b * T + t : (long) t * B + b;
    }

    private static void order(int[] lengths, int T, int B, int[] perm, int[] running) {
        for (int b = 0; b < B; b++) perm[b] = b;
        if (lengths == null) {
            java.util.Arrays.fill(running, 0, T, B);
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

    /** Layer-direction li's initial state (or zeros) into the B rows of dst, in the sorted order. */
    private void initState(Mat src, int li, int width, Mat dst) {
        if (src == null) { // the B rows are contiguous: one fill
            Rows.fillZero(dst.seg, dst.off, (long) B * width);
            return;
        }
        for (int s = 0; s < B; s++) Rows.copy(src, (long) li * B + perm[s], dst, s, width, 0);
    }

    /** The B rows of src, in the sorted order, to layer-direction li's final state. */
    private void finalState(Mat dst, int li, int width, Mat src) {
        if (dst == null) return;
        for (int s = 0; s < B; s++) Rows.copy(src, s, dst, (long) li * B + perm[s], width, 0);
    }
}
