package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.MemorySegment;

/**
 * The batching engine behind the public {@code BatchingExecutor}: concurrent callers' samples share each
 * step, one recurrence ({@link BatchRecurrence}) per layer and direction. A call copies its input and
 * initial states into its scratch, projects the first steps of its input ({@link BatchProjection}) and
 * joins each recurrence in turn, layer by layer, forward direction then reverse; other threads then touch
 * only that scratch, never the caller's tensors.
 *
 * <p>Memory: W_ih per layer and W_hh per (layer, direction) prepared once for the backend, and state
 * buffers for the largest batch seen. Float32 weights only.
 */
public final class Batching implements AutoCloseable {
    private final Shape shape;
    private final Weights w;
    private final Kernels k;
    private final BatchRecurrence[][] recurrences;
    /** Per layer: W_ih of both directions ({@code [D·G·H × I_l]}), prepared for the projection's chunks. */
    private final PreparedWeights[] wih;
    private final Callers callers = new Callers();

    /**
     * Prepares the weights and the recurrences; on failure, frees what it made.
     *
     * @param w the layer's weights (float32, open while the engine is used)
     * @param k the layer's kernels
     */
    public Batching(Weights w, Kernels k) {
        this(w, k, null);
    }

    /**
     * What a step's leader reports after each step (the public {@code BatchingExecutor.StepListener}).
     */
    @FunctionalInterface
    public interface StepListener {
        /**
         * One step has run.
         *
         * @param rows  the samples in the step's batch
         * @param calls the calls they belong to
         * @param nanos the step's wall time
         */
        void step(int rows, int calls, long nanos);
    }

    /**
     * Prepares the weights and the recurrences, each reporting its steps to {@code listener}; on failure,
     * frees what it made.
     *
     * @param w        the layer's weights (float32, open while the engine is used)
     * @param k        the layer's kernels
     * @param listener told of every step by its leader, or null
     */
    public Batching(Weights w, Kernels k, StepListener listener) {
        this.shape = w.shape;
        this.w = w;
        this.k = k;
        int L = shape.layers(), D = shape.directions();
        recurrences = new BatchRecurrence[L][D];
        wih = new PreparedWeights[L];
        try {
            for (int l = 0; l < L; l++) {
                int in = shape.layerInput(l);
                wih[l] = k.prepare(w.wih[l], 0, in, D * shape.gates() * shape.hidden(), in);
                for (int d = 0; d < D; d++) recurrences[l][d] = new BatchRecurrence(callers, w, k, l, d, listener);
            }
        } catch (Throwable e) {
            close(); // the recurrences made before the failure
            throw e;
        }
    }

    /**
     * What the steps have done so far: steps, sample-steps, the largest batch, the most calls in one
     * step, parts run by a helper, the steps' wall time.
     *
     * @param steps       steps run
     * @param sampleSteps the sum of the batch sizes
     * @param maxBatch    the largest batch, in samples
     * @param maxCalls    the most calls in one step's batch
     * @param helperParts parts run by a second caller
     * @param stepNanos   the steps' wall time, summed
     */
    public record Counts(long steps, long sampleSteps, int maxBatch, int maxCalls, long helperParts, long stepNanos) {}

    /**
     * The counts so far; exact once calls have returned, while they run a recent snapshot.
     *
     * @return the counts
     */
    public Counts counts() {
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
        return new Counts(steps, rows, maxRows, maxCalls, helped, nanos);
    }

    /**
     * One call, on validated arguments; blocks until its samples have run through every layer.
     *
     * @param ws      the call's scratch (acquired)
     * @param T       steps
     * @param B       samples
     * @param lengths lengths per sample, or null for T
     * @param input   the input
     * @param h0      initial hidden states, or null
     * @param c0      initial cell states, or null
     * @param output  the output
     * @param hN      final hidden states, or null
     * @param cN      final cell states, or null
     * @throws IllegalStateException if a step of this call's batch failed
     */
    public void run(Scratch ws, int T, int B, int[] lengths, Tensor input, Tensor h0, Tensor c0, Tensor output, Tensor hN, Tensor cN) {
        callers.enter();
        try {
            runCall(ws, T, B, lengths, input, h0, c0, output, hN, cN);
        } finally {
            callers.exit();
        }
    }

    private void runCall(Scratch ws, int T, int B, int[] lengths, Tensor input, Tensor h0, Tensor c0, Tensor output, Tensor hN, Tensor cN) {
        int L = shape.layers(), D = shape.directions(), P = shape.output(), H = shape.hidden(), GH = shape.gates() * H;
        int I = shape.inputSize();
        boolean lstm = shape.cell() == Cell.LSTM, batchFirst = shape.batchFirst();
        long rows = (long) T * B, states = (long) L * D * B;
        ws.plan();
        long xpAt = ws.claim(rows * D * GH), outAt0 = ws.claim(rows * D * P), outAt1 = ws.claim(L > 1 ? rows * D * P : 0);
        long h0At = ws.claim(h0 != null ? states * P : 0), c0At = ws.claim(c0 != null ? states * H : 0);
        long hNAt = ws.claim(states * P), cNAt = ws.claim(lstm ? states * H : 0), xAt = ws.claim(rows * I);
        MemorySegment mem = ws.commit();
        // The input and initial states into scratch: other threads compute steps and projection chunks,
        // and they touch only executor-owned memory.
        Rows.copy(input.segment(), input.offset(), input.ld(), mem, xAt, I, rows, I);
        if (h0 != null) Rows.copy(h0.segment(), h0.offset(), h0.ld(), mem, h0At, P, states, P);
        if (c0 != null) Rows.copy(c0.segment(), c0.offset(), c0.ld(), mem, c0At, H, states, H);
        BatchCall call = ws.state(BatchCall.STATE);
        long x = xAt;
        int xLd = I, steps = T;
        if (lengths != null) {
            steps = 0;
            for (int len : lengths) steps = Math.max(steps, len);
        }
        long stride = batchFirst ? 1 : B; // rows between a sample's consecutive steps
        for (int l = 0; l < L; l++) {
            long out = l % 2 == 0 ? outAt0 : outAt1;
            if (lengths != null) Rows.fillZero(mem, out, rows * D * P); // rows past a length stay zero
            // The first chunk of the projection here, the others by whoever is idle while the samples step
            // (the reverse direction starts once the forward one is through, every chunk done by then).
            call.projection.begin(k, wih[l], w.bias[l], mem, x, xLd, mem, xpAt, T, B, batchFirst, steps, callers.inside() == 1);
            try {
                call.projection.runNext();
                for (int d = 0; d < D; d++) {
                    int li = l * D + d;
                    BatchCall.Entry[] es = call.begin(B, h0 != null);
                    for (int b = 0; b < B; b++) {
                        BatchCall.Entry e = es[b];
                        long first = batchFirst ? (long) b * T : b; // the row of step 0
                        int len = lengths == null ? T : lengths[b];
                        long st = (long) li * B + b;
                        e.xp = mem;
                        e.xpOff = xpAt + first * D * GH + (long) d * GH;
                        e.xpStride = stride * D * GH;
                        e.out = mem;
                        e.outOff = out + first * D * P + (long) d * P;
                        e.outStride = stride * D * P;
                        e.t = d == 0 ? 0 : len - 1;
                        e.dir = d == 0 ? 1 : -1;
                        e.left = len;
                        e.h0 = h0 != null ? mem : null;
                        e.h0Off = h0At + st * P;
                        e.c0 = c0 != null ? mem : null;
                        e.c0Off = c0At + st * H;
                        e.hN = mem;
                        e.hNOff = hNAt + st * P;
                        e.cN = lstm ? mem : null;
                        e.cNOff = cNAt + st * H;
                    }
                    recurrences[l][d].run(call);
                    Throwable f = call.failure;
                    if (f instanceof java.util.concurrent.CancellationException ce) throw ce;
                    if (f != null) throw new IllegalStateException("forward: the batched step failed: " + f, f);
                }
            } finally {
                call.projection.finish();
            }
            x = out;
            xLd = D * P;
        }
        Rows.copy(mem, x, D * P, output.segment(), output.offset(), output.ld(), rows, D * P);
        if (hN != null) Rows.copy(mem, hNAt, P, hN.segment(), hN.offset(), hN.ld(), states, P);
        if (cN != null) Rows.copy(mem, cNAt, H, cN.segment(), cN.offset(), cN.ld(), states, H);
    }

    /** Frees the batch state; only once no call is running (the executor's close sees to that). */
    @Override
    public void close() {
        for (BatchRecurrence[] byDir : recurrences) {
            for (BatchRecurrence r : byDir) {
                if (r != null) r.close();
            }
        }
    }
}
