package dev.panamarnn.nn;

import dev.panamarnn.Arenas;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;

/**
 * The {@code float[]} forms of {@link RecurrentLayer#forward(float[], int, int)} and
 * {@link RecurrentCell#step(float[], float[], float[], int)}: each array's length checked first (naming the
 * array and the length it must have), copied into a native arena of the call's own, run on the tensor
 * path, copied out; the arena is closed before the call returns.
 */
final class ArrayCalls {
    private ArrayCalls() {}

    static RecurrentLayer.ArrayResult forward(RecurrentLayer layer, float[] input, int seqLen, int batch, float[] h0, float[] c0, int[] lengths) {
        LayerSpec spec = layer.spec();
        positive("forward", "seqLen", seqLen);
        positive("forward", "batch", batch);
        int I = spec.inputSize(), D = spec.directions(), LD = spec.numLayers() * D, P = spec.outputSize(), H = spec.hiddenSize();
        String p = spec.projSize() > 0 ? "proj_size" : "hidden_size";
        if (spec.batchFirst()) length("forward", "input", input, "batch·seq_len·input_size", batch, seqLen, I);
        else length("forward", "input", input, "seq_len·batch·input_size", seqLen, batch, I);
        if (h0 != null) length("forward", "h0", h0, "num_layers·directions·batch·" + p, LD, batch, P);
        if (c0 != null) {
            if (spec.mode() != Mode.LSTM) throw new IllegalArgumentException("forward: c0 is only for LSTM, this layer is " + spec.mode());
            length("forward", "c0", c0, "num_layers·directions·batch·hidden_size", LD, batch, H);
        }
        // A shared arena when the call is large enough for the layer's helper thread to take half (it may
        // not touch a confined arena's memory); else a confined one, cheaper to close. Same bits either way.
        try (Arena arena = layer.splitsWork(seqLen, batch) ? Arenas.shared() : Arenas.confined()) {
            Tensor x = spec.batchFirst() ? Tensor.of(arena, input, batch, seqLen, I) : Tensor.of(arena, input, seqLen, batch, I);
            Tensor h = h0 == null ? null : Tensor.of(arena, h0, LD, batch, P);
            Tensor c = c0 == null ? null : Tensor.of(arena, c0, LD, batch, H);
            RecurrentLayer.Result r = layer.forward(arena, x, h, c, lengths);
            return new RecurrentLayer.ArrayResult(r.output().toArray(), r.hN().toArray(), r.cN() == null ? null : r.cN().toArray());
        }
    }

    static void step(RecurrentCell cell, float[] x, float[] h, float[] c, int batch) {
        positive("step", "batch", batch);
        int I = cell.inputSize(), H = cell.hiddenSize();
        length("step", "x", x, "batch·input_size", batch, I);
        length("step", "h", h, "batch·hidden_size", batch, H);
        if (cell.mode() == Mode.LSTM) {
            if (c == null) throw new IllegalArgumentException("step: c (the LSTM cell state, batch·hidden_size = " + batch + "·" + H + " floats) is null");
            length("step", "c", c, "batch·hidden_size", batch, H);
        } else if (c != null) {
            throw new IllegalArgumentException("step: c is only for LSTM, this cell is " + cell.mode());
        }
        try (Arena arena = Arenas.confined()) {
            Tensor xt = Tensor.of(arena, x, batch, I), ht = Tensor.of(arena, h, batch, H);
            Tensor ct = c == null ? null : Tensor.of(arena, c, batch, H);
            cell.step(xt, ht, ct);
            // Only now, the step done: a failed one leaves the caller's state untouched.
            ht.copyTo(h);
            if (ct != null) ct.copyTo(c);
        }
    }

    private static void positive(String op, String name, int v) {
        if (v < 1) throw new IllegalArgumentException(op + ": " + name + " must be >= 1, got " + v);
    }

    /** {@code a} must hold the product of {@code dims} floats, {@code what} saying which (e.g. {@code "batch·input_size"}). */
    private static void length(String op, String name, float[] a, String what, int... dims) {
        long n = 1;
        StringBuilder factors = new StringBuilder();
        for (int d : dims) {
            n *= d;
            if (!factors.isEmpty()) factors.append('·');
            factors.append(d);
        }
        if (a == null) throw new IllegalArgumentException(op + ": " + name + " is null; it must hold " + what + " = " + factors + " = " + n + " floats");
        if (a.length != n) {
            throw new IllegalArgumentException(op + ": " + name + " has " + a.length + " floats; it must hold " + what + " = " + factors + " = " + n);
        }
    }
}
