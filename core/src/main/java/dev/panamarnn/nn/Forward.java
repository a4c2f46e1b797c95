package dev.panamarnn.nn;

import dev.panamarnn.Tensor;

/**
 * The optional parts of one {@link RecurrentLayer#forward(Tensor, Forward) forward} call, by name instead of
 * by position: initial states, per-sample lengths, the buffers to write into and the scratch to use.
 * Everything left unset is what PyTorch does without it (zero initial state, every sample full length).
 * <pre>{@code
 * // results allocated for you
 * RecurrentLayer.Result r = layer.forward(arena, input, Forward.with().h0(h0).lengths(lengths));
 * // into your own buffers
 * layer.forward(input, Forward.with().h0(h0).c0(c0).into(output, hN, cN));
 * }</pre>
 *
 * <p>A request is a mutable holder: it only remembers the references it is given (it copies nothing and
 * checks nothing; {@code forward} checks every part, as the positional overloads do). It is not
 * thread-safe; use one per thread. A request kept and reused across calls, its parts set again or
 * {@link #clear() cleared} between them, adds no allocation to a call: with its own output buffers and
 * {@link Workspace}, a warm {@code layer.forward(input, request)} allocates no heap, exactly like the
 * positional {@link RecurrentLayer#forward(Tensor, Tensor, Tensor, int[], Tensor, Tensor, Tensor, Workspace)}
 * it delegates to ({@code HeapPerCallTest} checks both). A new request per call costs one small object.
 */
public final class Forward {
    private Tensor h0, c0, output, hN, cN;
    private int[] lengths;
    private Workspace workspace;

    /** An empty request; the same as {@link #with()}. */
    public Forward() {}

    /**
     * An empty request, to chain the parts onto: {@code Forward.with().h0(h).lengths(l)}.
     *
     * @return a new request with every part unset
     */
    public static Forward with() {
        return new Forward();
    }

    /**
     * The initial hidden state {@code (num_layers·directions, batch, P)}, P being {@code proj_size} if the
     * layer has a projection, else {@code hidden_size}; null (the default) for zeros.
     *
     * @param h0 the initial hidden state {@code (num_layers·directions, batch, P)}, or null for zeros
     * @return this request, to chain further parts onto
     */
    public Forward h0(Tensor h0) {
        this.h0 = h0;
        return this;
    }

    /**
     * The initial cell state of an LSTM {@code (num_layers·directions, batch, hidden_size)}; null (the default)
     * for zeros. Only an LSTM layer takes one: {@code forward} refuses it for any other mode.
     *
     * @param c0 the initial cell state {@code (num_layers·directions, batch, hidden_size)}, or null for zeros
     * @return this request, to chain further parts onto
     */
    public Forward c0(Tensor c0) {
        this.c0 = c0;
        return this;
    }

    /**
     * One length per sample, {@code 1 ≤ length ≤ seq_len}, like a packed sequence; null (the default) for
     * every sample full length. The array is read during the call, not kept past it. Lengths that are not
     * all {@code seq_len} are copied once per call (one {@code int[]} on the heap).
     *
     * @param lengths one length per sample, each in {@code 1..seq_len}, or null for every sample full length
     * @return this request, to chain further parts onto
     */
    public Forward lengths(int[] lengths) {
        this.lengths = lengths;
        return this;
    }

    /**
     * The buffers the results go to: {@code output}, and the final states {@code hN} and (LSTM) {@code cN},
     * each null when not wanted but {@code output}. {@code hN} may be the tensor given as {@link #h0}
     * (and {@code cN} the one given as {@link #c0}) to carry state from call to call.
     *
     * @param output written: {@code (seq_len, batch, directions·P)}, or {@code (batch, seq_len, directions·P)}
     *               batch-first; must not overlap the inputs; required by
     *               {@link RecurrentLayer#forward(Tensor, Forward)}
     * @param hN     written: the final hidden state {@code (num_layers·directions, batch, P)}, or null
     * @param cN     written (LSTM): the final cell state {@code (num_layers·directions, batch, hidden_size)}, or null
     * @return this request, to chain further parts onto
     */
    public Forward into(Tensor output, Tensor hN, Tensor cN) {
        this.output = output;
        this.hN = hN;
        this.cN = cN;
        return this;
    }

    /**
     * {@link #into(Tensor, Tensor, Tensor)} with the output only: the final states are not written (and any
     * {@code hN}/{@code cN} set before are unset).
     *
     * @param output written: {@code (seq_len, batch, directions·P)}, or {@code (batch, seq_len, directions·P)}
     *               batch-first; must not overlap the inputs
     * @return this request, to chain further parts onto
     */
    public Forward into(Tensor output) {
        return into(output, null, null);
    }

    /**
     * Scratch to use instead of borrowing from the layer's pool; null (the default) to borrow. It must not
     * be used by a concurrent call at the same time.
     *
     * @param workspace scratch for the call, or null to borrow from the layer's pool
     * @return this request, to chain further parts onto
     */
    public Forward workspace(Workspace workspace) {
        this.workspace = workspace;
        return this;
    }

    /**
     * Unsets every part, to reuse this request for another call.
     *
     * @return this request, now empty, to chain new parts onto
     */
    public Forward clear() {
        h0 = c0 = output = hN = cN = null;
        lengths = null;
        workspace = null;
        return this;
    }

    /**
     * The initial hidden state set by {@link #h0(Tensor)}.
     *
     * @return the tensor {@code (num_layers·directions, batch, P)}, or null (zeros)
     */
    public Tensor h0() {
        return h0;
    }

    /**
     * The initial cell state set by {@link #c0(Tensor)}.
     *
     * @return the tensor {@code (num_layers·directions, batch, hidden_size)}, or null (zeros)
     */
    public Tensor c0() {
        return c0;
    }

    /**
     * The per-sample lengths set by {@link #lengths(int[])}: the caller's array itself, not a copy.
     *
     * @return one length per sample, or null (every sample full length)
     */
    public int[] lengths() {
        return lengths;
    }

    /**
     * The output buffer set by {@link #into}.
     *
     * @return the tensor {@code (seq_len, batch, directions·P)} (batch-first {@code (batch, seq_len, directions·P)}),
     *     or null (none set)
     */
    public Tensor output() {
        return output;
    }

    /**
     * The final hidden state buffer set by {@link #into(Tensor, Tensor, Tensor)}.
     *
     * @return the tensor {@code (num_layers·directions, batch, P)}, or null (not wanted)
     */
    public Tensor hN() {
        return hN;
    }

    /**
     * The final cell state buffer (LSTM) set by {@link #into(Tensor, Tensor, Tensor)}.
     *
     * @return the tensor {@code (num_layers·directions, batch, hidden_size)}, or null (not wanted)
     */
    public Tensor cN() {
        return cN;
    }

    /**
     * The scratch set by {@link #workspace(Workspace)}.
     *
     * @return the workspace, or null (borrow from the layer's pool)
     */
    public Workspace workspace() {
        return workspace;
    }

    /**
     * Whether {@link #into} gave buffers for the results.
     *
     * @return true if an output buffer is set
     */
    public boolean hasOutput() {
        return output != null;
    }

    @Override
    public String toString() {
        return "Forward[h0=" + shape(h0) + ", c0=" + shape(c0) + ", lengths=" + (lengths == null ? "full" : lengths.length + " samples")
                + ", output=" + shape(output) + ", h_n=" + shape(hN) + ", c_n=" + shape(cN) + (workspace == null ? "" : ", own workspace") + "]";
    }

    private static String shape(Tensor t) {
        return t == null ? "-" : t.shapeString();
    }
}
