package dev.panamarnn.nn;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs {@link RecurrentLayer#forward} for many concurrent callers by batching their steps: a call's
 * samples join a shared batch at a step boundary and leave it when their sequences end, so callers with
 * one sequence each get the GEMM efficiency of a batch (W_hh read once per step for all of them) without
 * waiting for a batch to form. A lone caller runs alone at batch 1.
 *
 * <p>The callers are the compute threads; there is no pool. A call projects the first steps of its input
 * ({@code X·W_ihᵀ + b}, {@link BatchProjection}) and joins the recurrence; one caller leads each step for
 * the whole batch; waiting callers compute the rest of the projections in chunks and, while no more
 * callers compete for cores than the machine has, one of them runs parts of each step on its core. See
 * {@link BatchRecurrence}. Each layer and direction is a recurrence of its own: a call runs layer by
 * layer, forward direction then reverse.
 *
 * <p>Semantics, shapes and argument checks are exactly those of {@link RecurrentLayer#forward} (every
 * mode, layers, directions, batch-first, projection, h0/c0, per-sample lengths, a batch per call); every
 * argument is checked before anything is read or written. Results agree with {@code forward}'s within
 * float32 rounding (the step sums in another order). A sample's result does not depend on the other
 * samples in the batch, on every backend: it is bit-identical to what the executor gives for that sample
 * alone, because the step's and the projection's products are {@link Kernels#gemmPrepared}, and it and
 * the row-wise gate kernels treat each row alike whatever the others and whoever computes it (on
 * OpenBLAS too: those products run on its gate kernels, see {@code OpenBlasKernels}).
 *
 * <p>Memory: W_ih per layer and W_hh per (layer, direction) prepared once for the backend (on simd and
 * OpenBLAS packed copies on the heap, the size of the weights; W_hh's rows are also gathered into native
 * copies where the step's parts need it), and state buffers for the largest batch seen.
 *
 * <p>The executor does not own the layer: it needs it open ({@code layer.close()} waits for calls in
 * flight; calls after it fail). A failed step fails the calls in that batch with an
 * {@link IllegalStateException} naming the cause and leaves the executor usable. {@link #close()} waits
 * for calls in flight to finish, then frees the batch state; later calls throw
 * {@link IllegalStateException}. Heap per call once warm: the checks' few objects; the scratch (a
 * {@link Workspace} from the layer's pool) and the per-sample bookkeeping are reused.
 */
public final class BatchingExecutor implements AutoCloseable {
    // Workspace slots of a call.
    private static final int S_XP = 0, S_OUT0 = 1, S_OUT1 = 2, S_H0 = 3, S_C0 = 4, S_HN = 5, S_CN = 6, S_X = 7;

    private final RecurrentLayer layer;
    private final LayerSpec spec;
    private final BatchRecurrence[][] recurrences;
    /** Per layer: W_ih of both directions ({@code [D·G·H × I_l]}), prepared for the projection's chunks. */
    private final PreparedWeights[] wih;
    private final AtomicInteger inside = new AtomicInteger(), parked = new AtomicInteger();
    private final int cores = Runtime.getRuntime().availableProcessors();
    private final Lifecycle lifecycle = new Lifecycle("batching executor");

    /**
     * An executor over {@code layer}, which must stay open while the executor is used.
     *
     * @param layer an open layer with float32 weights
     * @throws IllegalArgumentException if the layer's weights are bfloat16
     * @throws IllegalStateException if the layer is closed
     */
    public BatchingExecutor(RecurrentLayer layer) {
        this.layer = Objects.requireNonNull(layer, "layer");
        this.spec = layer.spec();
        Resources res = layer.resources();
        if (res.weights.bf16) {
            throw new IllegalArgumentException("BatchingExecutor: the layer's weights are bfloat16; the executor packs float32 panels, "
                    + "so load the layer with WeightFormat.F32");
        }
        recurrences = new BatchRecurrence[spec.numLayers()][spec.directions()]; // before the layer is entered: nothing to undo
        wih = new PreparedWeights[spec.numLayers()];
        Workspace probe = res.enter("BatchingExecutor", null); // fails if the layer is closed
        try {
            Kernels k = dev.panamarnn.internal.KernelAccess.of(layer.backend());
            for (int l = 0; l < spec.numLayers(); l++) {
                int in = spec.layerInputSize(l);
                wih[l] = k.prepare(res.weights.wih[l], 0, in, spec.directions() * spec.mode().gates() * spec.hiddenSize(), in);
                for (int d = 0; d < spec.directions(); d++) recurrences[l][d] = new BatchRecurrence(this, spec, res.weights, k, l, d);
            }
        } catch (Throwable e) {
            closeRecurrences(); // the ones made before the failure
            throw e;
        } finally {
            res.exit(probe, null);
        }
    }

    private void closeRecurrences() {
        for (BatchRecurrence[] byDir : recurrences) {
            for (BatchRecurrence r : byDir) {
                if (r != null) r.close();
            }
        }
    }

    /**
     * The layer the executor runs.
     *
     * @return the layer
     */
    public RecurrentLayer layer() {
        return layer;
    }

    /**
     * As {@link RecurrentLayer#forward(Arena, Tensor)}: zero initial state, full lengths, results in {@code arena}.
     *
     * @param arena the arena the results are allocated in
     * @param input {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @return output, h_n and (LSTM) c_n
     */
    public RecurrentLayer.Result forward(Arena arena, Tensor input) {
        return forward(arena, input, null, null, null);
    }

    /**
     * As {@link RecurrentLayer#forward(Arena, Tensor, Tensor, Tensor, int[])}; results are allocated in {@code arena}.
     *
     * @param arena   the arena the results are allocated in
     * @param input   {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @param h0      the initial hidden states, or null for zeros
     * @param c0      the initial cell states (LSTM), or null for zeros
     * @param lengths each sample's length, or null for T
     * @return output, h_n and (LSTM) c_n
     */
    public RecurrentLayer.Result forward(Arena arena, Tensor input, Tensor h0, Tensor c0, int[] lengths) {
        RecurrentLayer.Result r = layer.allocateResult(arena, input);
        forward(input, h0, c0, lengths, r.output(), r.hN(), r.cN());
        return r;
    }

    /**
     * As {@link RecurrentLayer#forward(Tensor, Tensor, Tensor, int[], Tensor, Tensor, Tensor, Workspace)}:
     * into the caller's buffers; {@code h0}, {@code c0}, {@code lengths}, {@code hN}, {@code cN} may be null.
     * Blocks until this call's samples have run through every layer.
     *
     * @param input   {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @param h0      the initial hidden states {@code (layers·D, B, P)}, or null for zeros
     * @param c0      the initial cell states {@code (layers·D, B, hidden)} (LSTM), or null for zeros
     * @param lengths each sample's length, {@code 1 ≤ length ≤ T}, or null for T
     * @param output  written: {@code (T, B, D·P)}, or {@code (B, T, D·P)} batch-first
     * @param hN      written: {@code (layers·D, B, P)}, or null
     * @param cN      written (LSTM): {@code (layers·D, B, hidden)}, or null
     * @throws IllegalArgumentException if a shape or length does not fit the layer, or outputs overlap inputs
     * @throws IllegalStateException if the executor or the layer was closed, or a step of this call's batch failed
     */
    public void forward(Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor output, Tensor hN, Tensor cN) {
        int[] lens = layer.check(input, h0, c0, lengths, output, hN, cN);
        lifecycle.enter("forward");
        try {
            Resources res = layer.resources();
            Workspace ws = res.enter("forward", null);
            inside.incrementAndGet();
            try {
                run(ws, layer.steps(input), layer.batch(input), lens, input, h0, c0, output, hN, cN);
            } finally {
                inside.decrementAndGet();
                res.exit(ws, null);
            }
        } finally {
            lifecycle.exit();
        }
    }

    /**
     * As {@link RecurrentLayer#forward(Tensor, Forward)}: into the buffers the request names, with its
     * initial states and lengths. The executor takes its scratch from the layer's pool, so the request's
     * {@link Forward#workspace} must be unset. Blocks until this call's samples have run through every layer.
     *
     * @param input   {@code (seq_len, batch, input_size)}, or {@code (batch, seq_len, input_size)} batch-first
     * @param request the initial states, lengths and (required) output buffers, with no workspace; not null
     * @throws IllegalArgumentException if the request has no output buffer or sets a workspace, if a shape or
     *     length does not fit the layer, or outputs overlap inputs
     * @throws IllegalStateException if the executor or the layer was closed, or a step of this call's batch failed
     */
    public void forward(Tensor input, Forward request) {
        checkRequest(request);
        if (!request.hasOutput()) {
            throw new IllegalArgumentException("forward: the request has no output buffer; give one with Forward.into(output, hN, cN), "
                    + "or call forward(arena, input, request) to have the results allocated");
        }
        forward(input, request.h0(), request.c0(), request.lengths(), request.output(), request.hN(), request.cN());
    }

    /**
     * As {@link RecurrentLayer#forward(Arena, Tensor, Forward)}: results allocated in {@code arena}; the
     * request names no buffers and no workspace. A null request is the same as an empty one.
     *
     * @param arena   the arena the results are allocated in
     * @param input   {@code (seq_len, batch, input_size)}, or {@code (batch, seq_len, input_size)} batch-first
     * @param request the initial states and lengths, with no output buffers and no workspace; or null
     * @return output, h_n and (LSTM) c_n, allocated in {@code arena}
     * @throws IllegalArgumentException if the request names output buffers or sets a workspace, or a shape or
     *     length does not fit the layer
     * @throws IllegalStateException if the executor or the layer was closed, or a step of this call's batch failed
     */
    public RecurrentLayer.Result forward(Arena arena, Tensor input, Forward request) {
        if (request == null) return forward(arena, input);
        checkRequest(request);
        if (request.hasOutput() || request.hN() != null || request.cN() != null) {
            throw new IllegalArgumentException("forward: the request names output buffers (Forward.into) but the results are to be allocated in "
                    + "the arena; call forward(input, request) to write into them");
        }
        return forward(arena, input, request.h0(), request.c0(), request.lengths());
    }

    private static void checkRequest(Forward request) {
        Objects.requireNonNull(request, "request");
        if (request.workspace() != null) {
            throw new IllegalArgumentException("forward: a BatchingExecutor takes its scratch from the layer's pool; leave the request's workspace unset");
        }
    }

    /**
     * What the batch has done since the executor was made: steps run, sample-steps (the sum of the batch
     * sizes), the largest batch (rows) and the most calls in one step's batch, the step parts a second
     * caller ran, and the time steps took (wall clock, summed). Exact once calls have returned; while they
     * run, a recent snapshot.
     *
     * @param steps       steps run
     * @param sampleSteps the sum of the batch sizes over those steps
     * @param maxBatch    the largest batch, in samples
     * @param maxCalls    the most calls in one step's batch
     * @param helperParts step parts run by a second caller
     * @param stepNanos   the wall time of the steps, summed
     */
    public record Stats(long steps, long sampleSteps, int maxBatch, int maxCalls, long helperParts, long stepNanos) {
        /**
         * Mean samples per step.
         *
         * @return {@code sampleSteps / steps}, 0 before any step
         */
        public double meanBatch() {
            return steps == 0 ? 0 : (double) sampleSteps / steps;
        }

        /**
         * Mean wall time of a step, µs.
         *
         * @return the mean, 0 before any step
         */
        public double meanStepMicros() {
            return steps == 0 ? 0 : stepNanos / 1e3 / steps;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%d steps, mean batch %.2f (max %d samples, %d calls), %d parts by a helper, mean step %.1f µs",
                    steps, meanBatch(), maxBatch, maxCalls, helperParts, meanStepMicros());
        }
    }

    /**
     * The counts so far (see {@link Stats}).
     *
     * @return a snapshot
     */
    public Stats stats() {
        long steps = 0, rows = 0, helped = 0, nanos = 0;
        int maxRows = 0, maxCalls = 0;
        for (BatchRecurrence[] byDir : recurrences) {
            for (BatchRecurrence r : byDir) {
                steps += r.steps;
                rows += r.rowSteps;
                helped += r.helperParts;
                nanos += r.stepNanos;
                maxRows = Math.max(maxRows, r.maxRows);
                maxCalls = Math.max(maxCalls, r.maxCalls);
            }
        }
        return new Stats(steps, rows, maxRows, maxCalls, helped, nanos);
    }

    /**
     * Whether a waiting caller may spin as a step's second thread: only while the callers that compete for
     * cores (inside a call and not parked: leaders, helpers, callers projecting) are no more than the cores.
     */
    boolean maySpin() {
        return inside.get() - parked.get() <= cores;
    }

    void parked(int delta) {
        parked.addAndGet(delta);
    }

    private void run(Workspace ws, int T, int B, int[] lengths, Tensor input, Tensor h0, Tensor c0,
                     Tensor output, Tensor hN, Tensor cN) {
        int L = spec.numLayers(), D = spec.directions(), P = spec.outputSize(), H = spec.hiddenSize(), GH = spec.mode().gates() * H;
        int I = spec.inputSize();
        boolean lstm = spec.mode() == Mode.LSTM;
        long rows = (long) T * B, states = (long) L * D * B;
        ws.reserve(rows * D * GH, rows * D * P, L > 1 ? rows * D * P : 0, h0 != null ? states * P : 0,
                c0 != null ? states * H : 0, states * P, lstm ? states * H : 0, rows * I);
        // The input and initial states into scratch: other threads compute steps and projection chunks,
        // and they touch only executor-owned memory.
        copyRows(input.segment(), input.offset(), input.ld(), ws.slot(S_X), 0, I, rows, I);
        if (h0 != null) copyRows(h0.segment(), h0.offset(), h0.ld(), ws.slot(S_H0), 0, P, states, P);
        if (c0 != null) copyRows(c0.segment(), c0.offset(), c0.ld(), ws.slot(S_C0), 0, H, states, H);
        Kernels k = dev.panamarnn.internal.KernelAccess.of(layer.backend());
        LayerWeights w = layer.resources().weights;
        BatchCall call = ws.batchCall();
        MemorySegment x = ws.slot(S_X);
        int xLd = I, steps = T;
        if (lengths != null) {
            steps = 0;
            for (int len : lengths) steps = Math.max(steps, len);
        }
        long stride = spec.batchFirst() ? 1 : B; // rows between a sample's consecutive steps
        for (int l = 0; l < L; l++) {
            MemorySegment out = ws.slot(l % 2 == 0 ? S_OUT0 : S_OUT1), xp = ws.slot(S_XP);
            if (lengths != null) SequenceForward.fillZero(out, 0, rows * D * P); // rows past a length stay zero
            // The first chunk of the projection here, the others by whoever is idle while the samples step
            // (the reverse direction starts once the forward one is through, every chunk done by then).
            call.projection.begin(k, wih[l], w.bias[l], x, 0, xLd, xp, T, B, spec.batchFirst(), steps, inside.get() == 1);
            try {
                call.projection.runNext();
                for (int d = 0; d < D; d++) {
                    int li = l * D + d;
                    BatchCall.Entry[] es = call.begin(B, h0 != null);
                    for (int b = 0; b < B; b++) {
                        BatchCall.Entry e = es[b];
                        long first = spec.batchFirst() ? (long) b * T : b; // the row of step 0
                        int len = lengths == null ? T : lengths[b];
                        e.xp = xp;
                        e.xpOff = first * D * GH + (long) d * GH;
                        e.xpStride = stride * D * GH;
                        e.out = out;
                        e.outOff = first * D * P + (long) d * P;
                        e.outStride = stride * D * P;
                        e.t = d == 0 ? 0 : len - 1;
                        e.dir = d == 0 ? 1 : -1;
                        e.left = len;
                        long st = (long) li * B + b;
                        e.h0 = h0 != null ? ws.slot(S_H0) : null;
                        e.h0Off = st * P;
                        e.c0 = c0 != null ? ws.slot(S_C0) : null;
                        e.c0Off = st * H;
                        e.hN = ws.slot(S_HN);
                        e.hNOff = st * P;
                        e.cN = lstm ? ws.slot(S_CN) : null;
                        e.cNOff = st * H;
                    }
                    recurrences[l][d].run(call);
                    Throwable f = call.failure;
                    if (f != null) throw new IllegalStateException("forward: the batched step failed: " + f, f);
                }
            } finally {
                call.projection.finish();
            }
            x = out;
            xLd = D * P;
        }
        copyRows(x, 0, D * P, output.segment(), output.offset(), output.ld(), rows, D * P);
        if (hN != null) copyRows(ws.slot(S_HN), 0, P, hN.segment(), hN.offset(), hN.ld(), states, P);
        if (cN != null) copyRows(ws.slot(S_CN), 0, H, cN.segment(), cN.offset(), cN.ld(), states, H);
    }

    private static void copyRows(MemorySegment src, long srcOff, int srcLd, MemorySegment dst, long dstOff, int dstLd, long rows, int width) {
        if (srcLd == width && dstLd == width) {
            MemorySegment.copy(src, srcOff * Float.BYTES, dst, dstOff * Float.BYTES, rows * width * Float.BYTES);
            return;
        }
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(src, (srcOff + r * srcLd) * Float.BYTES, dst, (dstOff + r * dstLd) * Float.BYTES, (long) width * Float.BYTES);
        }
    }

    /** Waits for calls in flight to finish, then frees the batch state; later calls throw. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(this::closeRecurrences);
    }

    @Override
    public String toString() {
        return "BatchingExecutor over " + layer;
    }
}
