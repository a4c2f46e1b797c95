package dev.panamarnn.nn;

import dev.panamarnn.Tensor;
import dev.panamarnn.engine.Batching;
import dev.panamarnn.engine.Lifecycle;
import dev.panamarnn.engine.Resources;
import dev.panamarnn.engine.Scratch;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * Runs {@link RecurrentLayer#forward} for many concurrent callers by batching their steps: a call's
 * samples join a shared batch at a step boundary and leave it when their sequences end, so callers with
 * one sequence each get the GEMM efficiency of a batch (W_hh read once per step for all of them) without
 * waiting for a batch to form. A lone caller runs alone at batch 1.
 *
 * <p>The callers are the compute threads; there is no pool. A call projects the first steps of its input
 * ({@code X·W_ihᵀ + b}) and joins the recurrence; one caller leads each step for
 * the whole batch; waiting callers compute the rest of the projections in chunks and, while no more
 * callers compete for cores than the machine has, one of them runs parts of each step on its core. Each layer and direction is a recurrence of its own: a call runs layer by
 * layer, forward direction then reverse.
 *
 * <p>Semantics, shapes and argument checks are exactly those of {@link RecurrentLayer#forward} (every
 * mode, layers, directions, batch-first, projection, h0/c0, per-sample lengths, a batch per call); every
 * argument is checked before anything is read or written. Results agree with {@code forward}'s within
 * float32 rounding (the step sums in another order). A sample's result does not depend on the other
 * samples in the batch, on every backend: it is bit-identical to what the executor gives for that sample
 * alone, because the step's and the projection's products are over weights prepared once, and they and
 * the row-wise gate kernels treat each row alike whatever the others and whoever computes it (on
 * OpenBLAS too, which has no prepared products of its own: the Vector API's run them).
 *
 * <p>Memory: W_ih per layer and W_hh per (layer, direction) prepared once for the backend (on simd and
 * OpenBLAS packed copies on the heap, the size of the weights; W_hh's rows are also gathered into native
 * copies where the step's parts need it), and state buffers for the largest batch seen.
 *
 * <p>Cancellation: a caller whose thread is interrupted leaves the batch at the next step boundary (or
 * never joins it) and its call throws {@link java.util.concurrent.CancellationException}, its interrupt
 * status kept and its output buffers partly written; the other calls' results do not change. A server
 * uses this for requests past their deadline.
 *
 * <p>The executor does not own the layer: it needs it open ({@code layer.close()} waits for calls in
 * flight; calls after it fail). A failed step fails the calls in that batch with an
 * {@link IllegalStateException} naming the cause and leaves the executor usable. {@link #close()} waits
 * for calls in flight to finish, then frees the batch state; later calls throw
 * {@link IllegalStateException}. Heap per call once warm: the checks' few objects; the scratch (a
 * {@link Workspace} from the layer's pool) and the per-sample bookkeeping are reused.
 */
public final class BatchingExecutor implements AutoCloseable {
    private final RecurrentLayer layer;
    private final Batching engine;
    private final Lifecycle lifecycle = new Lifecycle("batching executor");

    /**
     * An executor over {@code layer}, which must stay open while the executor is used.
     *
     * @param layer an open layer with float32 weights
     * @throws IllegalArgumentException if the layer's weights are bfloat16
     * @throws IllegalStateException if the layer is closed
     */
    public BatchingExecutor(RecurrentLayer layer) {
        this(layer, null);
    }

    /**
     * Told of every step of the batch, by the thread that led it, right after the step: for metrics (a
     * histogram of batch sizes, step times). It runs on the step's critical path, so it must be quick and
     * must not block; what it throws is ignored.
     */
    @FunctionalInterface
    public interface StepListener {
        /**
         * One step has run, for one layer and direction.
         *
         * @param rows  the samples in the step's batch
         * @param calls the calls those samples belong to
         * @param nanos the step's wall time
         */
        void step(int rows, int calls, long nanos);
    }

    /**
     * An executor over {@code layer} that reports each step to {@code listener}.
     *
     * @param layer    an open layer with float32 weights
     * @param listener told of every step (see {@link StepListener}), or null
     * @throws IllegalArgumentException if the layer's weights are bfloat16
     * @throws IllegalStateException if the layer is closed
     */
    public BatchingExecutor(RecurrentLayer layer, StepListener listener) {
        this.layer = Objects.requireNonNull(layer, "layer");
        Resources res = layer.resources();
        if (res.weights().bf16()) {
            throw new IllegalArgumentException("BatchingExecutor: the layer's weights are bfloat16; the executor packs float32 panels, "
                    + "so load the layer with WeightFormat.F32");
        }
        Scratch probe = res.enter("BatchingExecutor", null); // fails if the layer is closed
        try {
            engine = new Batching(res.weights(), dev.panamarnn.internal.KernelAccess.of(layer.backend()), listener == null ? null : listener::step);
        } finally {
            res.exit(probe, null);
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
     * @throws java.util.concurrent.CancellationException if the calling thread is interrupted before its samples end
     */
    public void forward(Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor output, Tensor hN, Tensor cN) {
        int[] lens = layer.check(input, h0, c0, lengths, output, hN, cN);
        lifecycle.enter("forward");
        try {
            Resources res = layer.resources();
            Scratch ws = res.enter("forward", null);
            try {
                engine.run(ws, layer.steps(input), layer.batch(input), lens, input, h0, c0, output, hN, cN);
            } finally {
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
        Batching.Counts c = engine.counts();
        return new Stats(c.steps(), c.sampleSteps(), c.maxBatch(), c.maxCalls(), c.helperParts(), c.stepNanos());
    }

    /** Waits for calls in flight to finish, then frees the batch state; later calls throw. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(engine::close);
    }

    @Override
    public String toString() {
        return "BatchingExecutor over " + layer;
    }
}
