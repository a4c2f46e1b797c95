package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.MemorySegment;

/**
 * One step of a cell with caller-held state (PyTorch's {@code RNNCell}, {@code LSTMCell}, {@code GRUCell}):
 * the input projection {@code x·W_ihᵀ + b} into scratch, then the layer's {@link CellStep} over every
 * partition, the state updated in place. One per {@link Scratch}, reused.
 */
public final class CellRun {
    private final Mat x = new Mat(), h = new Mat(), c = new Mat(), gates = new Mat(), gh = new Mat();

    /** One per scratch. */
    private static final Scratch.Key<CellRun> STATE = new Scratch.Key<>(CellRun::new);

    private CellRun() {}

    /**
     * Advances {@code h} (and {@code c}) one step on validated arguments.
     *
     * @param w  the cell's weights (one layer, one direction)
     * @param k  the kernels
     * @param ws scratch for this call (acquired)
     * @param B  the rows
     * @param xT the input {@code [B × input]}
     * @param hT the hidden state {@code [B × H]}, read and overwritten
     * @param cT the cell state {@code [B × H]} (LSTM), read and overwritten; else null
     */
    public static void step(Weights w, Kernels k, Scratch ws, int B, Tensor xT, Tensor hT, Tensor cT) {
        ws.state(STATE).run(w, k, ws, B, xT, hT, cT);
    }

    private void run(Weights w, Kernels k, Scratch ws, int B, Tensor xT, Tensor hT, Tensor cT) {
        Shape shape = w.shape;
        int I = shape.inputSize(), GH = shape.gates() * shape.hidden();
        ws.plan();
        long gatesAt = ws.claim((long) B * GH), ghAt = ws.claim(shape.cell() == Cell.GRU ? (long) B * GH : 0);
        MemorySegment mem = ws.commit();
        gates.set(mem, gatesAt, GH);
        gh.set(mem, ghAt, GH);
        x.of(xT);
        MemorySegment bias = w.bias[0];
        if (bias != null) {
            for (int b = 0; b < B; b++) MemorySegment.copy(bias, 0, mem, gates.row(b) * Float.BYTES, (long) GH * Float.BYTES);
        }
        w.gemm(k, B, GH, I, x.seg, x.off, x.ld, w.wih[0], 0, bias != null ? 1f : 0f, mem, gates.off, GH);
        CellStep step = w.step(0, 0);
        Mat hm = h.of(hT), cm = c.of(cT);
        step.run(k, 0, step.parts(), B, B, hm, hm, gates, gh, cm, null);
    }
}
