package dev.panamarnn.nn;

import dev.panamarnn.Backend;
import dev.panamarnn.Checks;
import dev.panamarnn.Tensor;
import dev.panamarnn.engine.Helper;
import dev.panamarnn.engine.Resources;
import dev.panamarnn.engine.Scratch;
import dev.panamarnn.engine.SequenceRun;
import dev.panamarnn.engine.Shape;
import dev.panamarnn.engine.Weights;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * A recurrent sequence layer with PyTorch's semantics: {@code nn.LSTM}, {@code nn.GRU}, {@code nn.RNN}
 * (tanh or ReLU), with {@code num_layers}, {@code bidirectional}, {@code bias}, {@code batch_first} and
 * LSTM {@code proj_size}; optional initial states; per-sample lengths like packed sequences.
 *
 * <p>Shapes (T steps, B samples, D = 2 if bidirectional else 1, P = proj_size or hidden_size):
 * <ul>
 *   <li>{@code input}: {@code (T, B, input_size)}, or {@code (B, T, input_size)} when batch-first;</li>
 *   <li>{@code h0}, {@code h_n}: {@code (layers·D, B, P)}; {@code c0}, {@code c_n} (LSTM): {@code (layers·D, B, hidden)},
 *       ordered layer-major, direction-minor;</li>
 *   <li>{@code output}: {@code (T, B, D·P)} or batch-first {@code (B, T, D·P)}: the last layer's h at every step,
 *       forward direction in the first P columns.</li>
 *   <li>{@code lengths}: one per sample, {@code 1 ≤ length ≤ T}; outputs past a sample's length are zero, its
 *       forward final state is the one at its last step, its reverse direction starts there.</li>
 * </ul>
 * Dropout between layers is a training setting: ignored at inference, so it is not a parameter.
 *
 * <p>A loaded layer is immutable and thread-safe: any number of threads may call {@code forward} at
 * once. Each call borrows scratch from a pool the layer owns (or uses a {@link Workspace} the caller
 * passes). {@link #close()} waits for running calls, then frees the weights; later calls throw
 * {@link IllegalStateException}. Arguments are validated before any kernel runs; a rejected call
 * writes nothing.
 *
 * <p>Failures. When memory runs out (native or heap) a load or a call throws the JVM's
 * {@link OutOfMemoryError}; a failed thread start throws what {@link Thread#start()} throws. Either way
 * every byte and lock the load or call took is given back, the layer still gives the same bits, the
 * caller's h0/c0 are untouched (also when passed as h_n/c_n to carry state; only {@code output} and a
 * separate h_n/c_n may hold partial results), and {@link #close()} returns once running calls end: no
 * exit path leaves a call that cannot finish. {@code FaultInjectionTest} makes each native allocation,
 * thread start and OpenBLAS call fail in turn to show it.
 */
public final class RecurrentLayer implements AutoCloseable {
    private final LayerSpec spec;
    private final Shape shape;
    private final Resources resources;
    private final Backend backend;
    /** The backend's unchecked kernels: reached only after this class has checked every argument. */
    private final dev.panamarnn.kernel.Kernels kernels;
    /** Threads per call given at load, or 0 to follow {@link dev.panamarnn.Parallelism#threads()}. */
    private final int threads;
    /** Why a layer loaded with BF16_IF_FASTER took the format it did ({@link #weightFormat()}), for explain(); else empty. */
    private final String formatWhy;

    /** The shapes the checks name, built once (a message string per call would be heap per call). */
    private final String inputShape, stateShape, cellShape, outputShape;

    private RecurrentLayer(LayerSpec spec, Weights weights, Backend backend, boolean panels, String fused, int threads, String formatWhy) {
        this.spec = spec;
        this.formatWhy = formatWhy;
        this.threads = threads;
        this.shape = LayerWeights.shape(spec);
        String p = spec.projSize() > 0 ? "proj_size" : "hidden_size";
        this.inputShape = spec.batchFirst() ? "(batch, seq_len, input_size=" + spec.inputSize() + ")" : "(seq_len, batch, input_size=" + spec.inputSize() + ")";
        this.stateShape = "(num_layers·directions, batch, " + p + ")";
        this.cellShape = "(num_layers·directions, batch, hidden_size)";
        this.outputShape = spec.batchFirst() ? "(batch, seq_len, directions·" + p + ")" : "(seq_len, batch, directions·" + p + ")";
        this.backend = backend;
        dev.panamarnn.kernel.Kernels k = dev.panamarnn.internal.KernelAccess.of(backend);
        if (!fused.equals("auto")) k = k.withFusedSteps(fused.equals("on")); // a setting overrides the measured choice
        this.kernels = k;
        weights.prepare(kernels, panels); // before the weights are published through resources' final field
        this.resources = new Resources(weights, "layer");
    }

    /**
     * Loads a layer whose structure is read from the weights' names and shapes (layers, directions,
     * sizes, bias, projection, cell type).
     *
     * @param weights    the tensors, by PyTorch's names ({@code weight_ih_l0}, …); copied at load
     * @param prefix   prepended to every PyTorch name, e.g. {@code "encoder.rnn."}; {@code ""} for none
     * @param modeHint needed only for an Elman RNN ({@link Mode#RNN_TANH} or {@link Mode#RNN_RELU}); else
     *                 null, or the mode to insist on
     * @param batchFirst whether input and output are {@code (B, T, …)} rather than {@code (T, B, …)}
     * @param backend  the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the layer, to close
     * @throws IllegalArgumentException if the weights do not make a layer (a tensor missing, of the wrong shape or
     *     not floating-point, or one under {@code prefix} that the layer does not use); the message names it
     */
    public static RecurrentLayer load(StateDict weights, String prefix, Mode modeHint, boolean batchFirst, Backend backend) {
        return load(weights, prefix, modeHint, batchFirst, backend, WeightFormat.fromProperty());
    }

    /**
     * {@link #load(StateDict, String, Mode, boolean, Backend)} with the weight matrices stored as {@code format}.
     *
     * @param weights    the tensors, by PyTorch's names
     * @param prefix     prepended to every PyTorch name; {@code ""} for none
     * @param modeHint   needed only for an Elman RNN; else null or the mode to insist on
     * @param batchFirst whether input and output are {@code (B, T, …)}
     * @param backend    the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param format     how to store the weight matrices
     * @return the layer, to close
     * @throws IllegalArgumentException if the weights do not make a layer; the message names the tensor
     */
    public static RecurrentLayer load(StateDict weights, String prefix, Mode modeHint, boolean batchFirst, Backend backend, WeightFormat format) {
        return load(weights, prefix, modeHint, batchFirst, backend, format, LoadOptions.strict());
    }

    /**
     * {@link #load(StateDict, String, Mode, boolean, Backend, WeightFormat)} with {@code options} for the
     * tensors under {@code prefix} that the layer does not use: {@link LoadOptions#strict()} (what the other
     * overloads do) refuses them by name, {@link LoadOptions#lenient} skips and reports them.
     *
     * @param weights    the tensors, by PyTorch's names
     * @param prefix     prepended to every PyTorch name; {@code ""} for none
     * @param modeHint   needed only for an Elman RNN; else null or the mode to insist on
     * @param batchFirst whether input and output are {@code (B, T, …)}
     * @param backend    the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param format     how to store the weight matrices
     * @param options    what to do with tensors under {@code prefix} that the layer does not use
     * @return the layer, to close
     * @throws IllegalArgumentException if the weights do not make a layer; the message names the tensor
     */
    public static RecurrentLayer load(StateDict weights, String prefix, Mode modeHint, boolean batchFirst, Backend backend, WeightFormat format,
                                      LoadOptions options) {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(prefix, "prefix");
        LayerSpec spec = LayerWeights.infer(weights, prefix, modeHint, batchFirst);
        return create(spec, weights, prefix, backend, format, options, null);
    }

    /**
     * Creates a layer of exactly this spec; every tensor it needs must be present with the right shape,
     * floating-point, and every other tensor under {@code prefix} is an error ({@link LoadOptions#strict()}).
     *
     * @param spec    the layer's structure
     * @param weights the tensors, by PyTorch's names; copied
     * @param prefix  prepended to every PyTorch name; {@code ""} for none
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the layer, to close
     * @throws IllegalArgumentException if a tensor is missing, of the wrong shape, not floating-point or unused
     */
    public static RecurrentLayer create(LayerSpec spec, StateDict weights, String prefix, Backend backend) {
        return create(spec, weights, prefix, backend, WeightFormat.fromProperty());
    }

    /**
     * {@link #create(LayerSpec, StateDict, String, Backend)} with the weight matrices stored as {@code format}.
     *
     * @param spec    the layer's structure
     * @param weights the tensors, by PyTorch's names; copied
     * @param prefix  prepended to every PyTorch name; {@code ""} for none
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param format  how to store the weight matrices
     * @return the layer, to close
     * @throws IllegalArgumentException if a tensor is missing, of the wrong shape, not floating-point or unused
     */
    public static RecurrentLayer create(LayerSpec spec, StateDict weights, String prefix, Backend backend, WeightFormat format) {
        return create(spec, weights, prefix, backend, format, LoadOptions.strict());
    }

    /**
     * {@link #create(LayerSpec, StateDict, String, Backend, WeightFormat)} with {@code options} for the tensors it does not use.
     *
     * @param spec    the layer's structure
     * @param weights the tensors, by PyTorch's names; copied
     * @param prefix  prepended to every PyTorch name; {@code ""} for none
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param format  how to store the weight matrices
     * @param options what to do with tensors under {@code prefix} that the layer does not use
     * @return the layer, to close
     * @throws IllegalArgumentException if a tensor is missing, of the wrong shape or not floating-point, or (strict) unused
     */
    public static RecurrentLayer create(LayerSpec spec, StateDict weights, String prefix, Backend backend, WeightFormat format, LoadOptions options) {
        return create(spec, weights, prefix, backend, format, options, null);
    }

    /**
     * The one way a layer is made. {@code config}: the layer's own settings (threads per call, step panels),
     * or null to follow the process's ({@link dev.panamarnn.Parallelism}, {@link dev.panamarnn.Config#defaults()}).
     */
    static RecurrentLayer create(LayerSpec spec, StateDict weights, String prefix, Backend backend, WeightFormat format, LoadOptions options,
                                 dev.panamarnn.Config config) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
        Backend be = backend == null ? Backend.defaultBackend() : backend; // before anything is allocated
        dev.panamarnn.Config settings = config != null ? config : dev.panamarnn.Config.defaults();
        StringBuilder why = new StringBuilder();
        boolean bf16 = format.bf16On(dev.panamarnn.internal.KernelAccess.of(be), LayerWeights.whhFloats(spec),
                config != null ? config.threadsPerCall() : dev.panamarnn.Parallelism.threads(), why);
        Weights w = LayerWeights.load(weights, prefix, spec, bf16, options);
        try {
            return new RecurrentLayer(spec, w, be, settings.stepPanels(), settings.fusedSteps(), config != null ? config.threadsPerCall() : 0,
                    why.isEmpty() ? "" : " (bf16-if-faster: " + why + ")");
        } catch (Throwable e) {
            w.close();
            throw e;
        }
    }

    /**
     * How the weight matrices are stored: for a layer loaded with {@link WeightFormat#BF16_IF_FASTER}, what
     * this machine's measurement chose.
     *
     * @return {@link WeightFormat#F32} or {@link WeightFormat#BF16}
     */
    public WeightFormat weightFormat() {
        return resources.weights().bf16() ? WeightFormat.BF16 : WeightFormat.F32;
    }

    /**
     * The layer's structure: mode, sizes, layers, directions, bias, projection, batch-first.
     *
     * @return the spec
     */
    public LayerSpec spec() {
        return spec;
    }

    /**
     * The backend the layer computes on.
     *
     * @return the backend
     */
    public Backend backend() {
        return backend;
    }

    /** The weights and the workspace pool, with the rule that close() waits for calls (for {@link BatchingExecutor}). */
    Resources resources() {
        return resources;
    }

    /**
     * The results of a forward pass; {@code cN} is null but for LSTM.
     *
     * @param output the last layer's hidden state at every step: {@code (T, B, D·P)}, or {@code (B, T, D·P)} batch-first
     * @param hN     the final hidden states, {@code (layers·D, B, P)}
     * @param cN     the final cell states, {@code (layers·D, B, hidden)}, for LSTM; else null
     */
    public record Result(Tensor output, Tensor hN, Tensor cN) {}

    /**
     * Forward with zero initial state and full lengths; results allocated in {@code arena}.
     *
     * @param arena the arena the results are allocated in
     * @param input {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @return output, h_n and (LSTM) c_n
     * @throws IllegalArgumentException if the input's shape does not fit the layer
     * @throws IllegalStateException if the layer was closed or the input's arena is
     */
    public Result forward(Arena arena, Tensor input) {
        return forward(arena, input, null, null, null);
    }

    /**
     * Forward; {@code h0}, {@code c0}, {@code lengths} may be null. Results are allocated in {@code arena}.
     *
     * @param arena   the arena the results are allocated in
     * @param input   {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @param h0      the initial hidden states {@code (layers·D, B, P)}, or null for zeros
     * @param c0      the initial cell states {@code (layers·D, B, hidden)} (LSTM), or null for zeros
     * @param lengths each sample's length, {@code 1 ≤ length ≤ T}, or null for T
     * @return output, h_n and (LSTM) c_n
     * @throws IllegalArgumentException if a shape or length does not fit the layer
     * @throws IllegalStateException if the layer was closed or a tensor's arena is
     */
    public Result forward(Arena arena, Tensor input, Tensor h0, Tensor c0, int[] lengths) {
        Result r = allocateResult(arena, input);
        forward(input, h0, c0, lengths, r.output(), r.hN(), r.cN(), null);
        return r;
    }

    /** Zeroed output, h_n and (LSTM) c_n in {@code arena} for this input. */
    Result allocateResult(Arena arena, Tensor input) {
        Objects.requireNonNull(arena, "arena");
        checkInput(input);
        int T = steps(input), B = batch(input), D = spec.directions(), P = spec.outputSize();
        checkOutputSize(T, B);
        Tensor out = spec.batchFirst() ? Tensor.allocate(arena, B, T, D * P) : Tensor.allocate(arena, T, B, D * P);
        Tensor hN = Tensor.allocate(arena, spec.numLayers() * D, B, P);
        Tensor cN = spec.mode() == Mode.LSTM ? Tensor.allocate(arena, spec.numLayers() * D, B, spec.hiddenSize()) : null;
        return new Result(out, hN, cN);
    }

    /**
     * Forward into the caller's buffers (no heap or native allocation once warm). {@code hN} and
     * {@code cN} may be null when not wanted; {@code workspace} may be null to borrow from the layer's pool.
     *
     * @param input     {@code (T, B, input_size)}, or {@code (B, T, input_size)} batch-first
     * @param h0        the initial hidden states {@code (layers·D, B, P)}, or null for zeros
     * @param c0        the initial cell states {@code (layers·D, B, hidden)} (LSTM), or null for zeros
     * @param lengths   each sample's length, {@code 1 ≤ length ≤ T}, or null for T
     * @param output    written: {@code (T, B, D·P)}, or {@code (B, T, D·P)} batch-first; must not overlap the inputs
     * @param hN        written: {@code (layers·D, B, P)}, or null; may be {@code h0} itself to carry state
     * @param cN        written (LSTM): {@code (layers·D, B, hidden)}, or null; may be {@code c0} itself
     * @param workspace scratch for this call, not shared with a concurrent call, or null
     * @throws IllegalArgumentException if a shape or length does not fit the layer, or outputs overlap inputs
     * @throws IllegalStateException if the layer was closed or a tensor's arena is
     */
    public void forward(Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor output, Tensor hN, Tensor cN, Workspace workspace) {
        int[] lens = check(input, h0, c0, lengths, output, hN, cN);
        int T = steps(input), B = batch(input);
        boolean split = splitsWork(T, B);
        Scratch explicit = workspace == null ? null : workspace.scratch();
        Scratch ws = resources.enter("forward", explicit);
        Helper helper = null;
        try {
            // With two threads per call, the work is cut in two whenever it is large enough; the helper runs
            // some of it when it is free and may touch the tensors (a confined arena's belong to their owner),
            // else the caller runs both halves. The cut, and so every bit of the result, never depends on it.
            if (split) {
                Helper t = Helper.shared(); // may fail to start its thread: then nothing is held but what finally releases
                boolean shared = t.canAccess(input.segment()) && t.canAccess(output.segment()) && (h0 == null || t.canAccess(h0.segment()))
                        && (c0 == null || t.canAccess(c0.segment())) && (hN == null || t.canAccess(hN.segment()))
                        && (cN == null || t.canAccess(cN.segment()));
                if (shared && t.tryAcquire()) helper = t;
            }
            SequenceRun.forward(shape, resources.weights(), kernels, ws, split, helper, T, B, input, h0, c0, lens, output, hN, cN);
        } finally {
            try {
                if (helper != null) helper.release();
            } finally {
                resources.exit(ws, explicit);
            }
        }
    }

    /**
     * Every check of {@link #forward(Tensor, Tensor, Tensor, int[], Tensor, Tensor, Tensor, Workspace)}'s
     * arguments (shapes, liveness, aliasing), before anything is read or written; shared with
     * {@link BatchingExecutor}. Steps and batch are then {@link #steps} and {@link #batch} of the input.
     *
     * @return the lengths to run: null when every sample is full length, else a copy of {@code lengths}
     */
    int[] check(Tensor input, Tensor h0, Tensor c0, int[] lengths, Tensor output, Tensor hN, Tensor cN) {
        checkInput(input);
        int T = steps(input), B = batch(input), D = spec.directions(), P = spec.outputSize(), LD = spec.numLayers() * D;
        if (h0 != null) check3("h0", h0, LD, B, P, stateShape);
        if (c0 != null) {
            if (spec.mode() != Mode.LSTM) throw new IllegalArgumentException("forward: c0 is only for LSTM, this layer is " + spec.mode());
            check3("c0", c0, LD, B, spec.hiddenSize(), cellShape);
        }
        int[] lens = checkLengths(lengths, T, B);
        Checks.alive("forward", "output", output);
        if (spec.batchFirst()) check3("output", output, B, T, D * P, outputShape);
        else check3("output", output, T, B, D * P, outputShape);
        if (hN != null) check3("h_n", hN, LD, B, P, stateShape);
        if (cN != null) {
            if (spec.mode() != Mode.LSTM) throw new IllegalArgumentException("forward: c_n is only for LSTM, this layer is " + spec.mode());
            check3("c_n", cN, LD, B, spec.hiddenSize(), cellShape);
        }
        disjoint("output", output, "input", input);
        if (h0 != null) disjoint("output", output, "h0", h0);
        if (c0 != null) disjoint("output", output, "c0", c0);
        if (hN != null) {
            disjoint("h_n", hN, "output", output);
            disjoint("h_n", hN, "input", input);
            if (h0 != null && !SequenceRun.sameView(h0, hN)) disjoint("h_n", hN, "h0", h0);
            if (c0 != null) disjoint("h_n", hN, "c0", c0); // an initial state is read when its layer-direction starts
        }
        if (cN != null) {
            disjoint("c_n", cN, "output", output);
            disjoint("c_n", cN, "input", input);
            if (hN != null) disjoint("c_n", cN, "h_n", hN);
            if (c0 != null && !SequenceRun.sameView(c0, cN)) disjoint("c_n", cN, "c0", c0);
            if (h0 != null) disjoint("c_n", cN, "h0", h0);
        }
        return lens;
    }

    /**
     * The checks {@link #forward} makes of its tensors' shapes, made on the shapes alone, with forward's
     * messages: so that a caller reading tensors from a file refuses a wrong one from its header, before
     * copying it anywhere. For an input file (the CLI's {@code forward}):
     * <pre>{@code
     * layer.checkShapes(in.info("input").shape(), in.contains("h0") ? in.info("h0").shape() : null,
     *                   in.contains("c0") ? in.info("c0").shape() : null);
     * Tensor x = in.toTensor("input", arena); // only now 8 GiB, if the shape says so and it is right
     * }</pre>
     * Also refuses an input whose output ({@code seq_len × batch × directions·P}) would pass the 2^31-1
     * elements a {@link Tensor} holds.
     *
     * @param input the input's shape; {@code h0} and {@code c0} may be null (absent)
     * @param h0 the shape of h0, or null
     * @param c0 the shape of c0, or null
     * @throws IllegalArgumentException naming the tensor, the shape it must have and the one it has
     */
    public void checkShapes(int[] input, int[] h0, int[] c0) {
        Objects.requireNonNull(input, "input");
        if (input.length != 3 || input[2] != spec.inputSize() || input[0] < 1 || input[1] < 1) {
            throw new IllegalArgumentException("forward: input must be " + inputShape + " with seq_len, batch >= 1, got " + java.util.Arrays.toString(input));
        }
        int T = spec.batchFirst() ? input[1] : input[0], B = spec.batchFirst() ? input[0] : input[1];
        int D = spec.directions(), P = spec.outputSize(), LD = spec.numLayers() * D;
        if (h0 != null) shape3("h0", h0, LD, B, P, stateShape);
        if (c0 != null) {
            if (spec.mode() != Mode.LSTM) throw new IllegalArgumentException("forward: c0 is only for LSTM, this layer is " + spec.mode());
            shape3("c0", c0, LD, B, spec.hiddenSize(), cellShape);
        }
        checkOutputSize(T, B);
    }

    private static void shape3(String name, int[] s, int d0, int d1, int d2, String meaning) {
        if (s.length != 3 || s[0] != d0 || s[1] != d1 || s[2] != d2) {
            throw new IllegalArgumentException("forward: " + name + " must be " + meaning + " = [" + d0 + ", " + d1 + ", " + d2 + "], got " + java.util.Arrays.toString(s));
        }
    }

    /** Results of {@code T} steps and {@code B} samples fit in tensors (2^31-1 elements), else an error saying so. */
    private void checkOutputSize(int T, int B) {
        long n = (long) T * B * spec.directions() * spec.outputSize();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("forward: output " + outputShape + " for seq_len " + T + " and batch " + B + " would have " + n
                    + " elements, more than a tensor holds (2^31-1)");
        }
    }

    /** Steps T of a checked input. */
    int steps(Tensor input) {
        return spec.batchFirst() ? input.dim(1) : input.dim(0);
    }

    /** Batch B of a checked input. */
    int batch(Tensor input) {
        return spec.batchFirst() ? input.dim(0) : input.dim(1);
    }

    /** Below this much work (steps · batch · hidden) a second thread costs more in hand-offs than it saves. */
    private static final long MIN_WORK_FOR_TEAM = 4096;

    private void checkInput(Tensor input) {
        Checks.alive("forward", "input", input);
        if (input.rank() != 3 || input.dim(2) != spec.inputSize() || input.dim(0) < 1 || input.dim(1) < 1) {
            throw new IllegalArgumentException("forward: input must be " + inputShape + " with seq_len, batch >= 1, got " + input.shapeString());
        }
    }

    private static void check3(String name, Tensor t, int d0, int d1, int d2, String meaning) {
        Checks.alive("forward", name, t);
        if (t.rank() != 3 || t.dim(0) != d0 || t.dim(1) != d1 || t.dim(2) != d2) {
            throw new IllegalArgumentException("forward: " + name + " must be " + meaning + " = [" + d0 + ", " + d1 + ", " + d2
                    + "], got " + t.shapeString());
        }
    }

    private static int[] checkLengths(int[] lengths, int T, int B) {
        if (lengths == null) return null;
        if (lengths.length != B) {
            throw new IllegalArgumentException("forward: lengths must have one entry per sample (" + B + "), got " + lengths.length);
        }
        for (int len : lengths) {
            if (len != T) {
                // A copy, and the checks on it: the caller's array may change while the call runs (another
                // thread), and only the copy is read from here on.
                int[] copy = lengths.clone();
                for (int b = 0; b < B; b++) {
                    if (copy[b] < 1 || copy[b] > T) {
                        throw new IllegalArgumentException("forward: lengths[" + b + "] must be in 1.." + T + " (seq_len), got " + copy[b]);
                    }
                }
                return copy;
            }
        }
        return null; // every sample full length: the call runs all T steps whatever the array holds later
    }

    private static void disjoint(String outName, Tensor out, String inName, Tensor in) {
        Checks.disjoint("forward", outName, out.segment(), out.offset(), Tensor.requiredFloats(out.rows(), out.cols(), out.ld()),
                inName, in.segment(), in.offset(), Tensor.requiredFloats(in.rows(), in.cols(), in.ld()));
    }

    // ---- Named options, the preferred style (LayerLoader, Forward); the positional overloads above stay ----

    /**
     * A loader with every setting at its default, to set by name and load:
     * <pre>{@code
     * RecurrentLayer rnn = RecurrentLayer.loader().prefix("rnn.").mode(Mode.RNN_TANH).batchFirst(true)
     *         .weightFormat(WeightFormat.BF16).loadOptions(LoadOptions.lenient(ignored::addAll)).load(stateDict);
     * }</pre>
     * The preferred way to load; the positional {@code load} and {@code create} overloads do the same.
     *
     * @return the loader with every setting at its default (immutable, shareable)
     */
    public static LayerLoader loader() {
        return LayerLoader.defaults();
    }

    /**
     * {@code loader().load(weights)}: no prefix, structure and mode from the weights (not for an Elman RNN,
     * which needs {@link LayerLoader#mode}).
     *
     * @param weights the tensors, by PyTorch's names ({@code weight_ih_l0}, …); copied at load
     * @return the layer, to close
     * @throws IllegalArgumentException if the weights do not make a layer (a tensor missing, of the wrong
     *     shape, not floating-point or unused, or an Elman RNN's mode not given); the message names it
     */
    public static RecurrentLayer load(StateDict weights) {
        return loader().load(weights);
    }

    /**
     * {@code loader().load(file)}: opens the safetensors file, loads the layer (no prefix: every tensor of
     * the file must be the layer's) and closes the file. See {@link LayerLoader#load(java.nio.file.Path)}.
     *
     * @param file the safetensors file
     * @return the layer, to close
     * @throws java.io.IOException if the file cannot be read or is not valid safetensors, naming it
     * @throws IllegalArgumentException if its tensors do not make a layer; the message starts with the path
     */
    public static RecurrentLayer load(java.nio.file.Path file) throws java.io.IOException {
        return loader().load(file);
    }

    /**
     * {@code options.load(file)}: {@link #load(java.nio.file.Path)} with the settings of {@code options}, a
     * {@link #loader()} kept for reuse.
     *
     * @param file    the safetensors file
     * @param options the settings (prefix, mode, batch-first, spec, backend, weight format, load options); not null
     * @return the layer, to close
     * @throws java.io.IOException if the file cannot be read or is not valid safetensors, naming it
     * @throws IllegalArgumentException if its tensors do not make such a layer; the message starts with the path
     */
    public static RecurrentLayer load(java.nio.file.Path file, LayerLoader options) throws java.io.IOException {
        return Objects.requireNonNull(options, "options").load(file);
    }

    /**
     * Forward into the buffers the request names ({@link Forward#into}, required), with its optional
     * initial states, lengths and workspace:
     * <pre>{@code
     * layer.forward(input, Forward.with().h0(h).lengths(l).into(out, hN, cN));
     * }</pre>
     * Exactly {@link #forward(Tensor, Tensor, Tensor, int[], Tensor, Tensor, Tensor, Workspace)} with the
     * request's parts, the same checks and bits. A request kept and reused (its parts set again between
     * calls) allocates nothing: with a {@link Workspace} and full lengths a warm call takes no heap, the
     * zero-allocation path the positional overload also is.
     *
     * @param input   {@code (seq_len, batch, input_size)}, or {@code (batch, seq_len, input_size)} batch-first
     * @param request the initial states, lengths, workspace and (required) output buffers; not null
     * @throws IllegalArgumentException if the request has no output buffer, or as the positional overload (a
     *     shape or length does not fit the layer, or outputs overlap inputs)
     * @throws IllegalStateException if the layer was closed or a tensor's arena is
     */
    public void forward(Tensor input, Forward request) {
        Objects.requireNonNull(request, "request");
        if (!request.hasOutput()) {
            throw new IllegalArgumentException("forward: the request has no output buffer; give one with Forward.into(output, hN, cN), "
                    + "or call forward(arena, input, request) to have the results allocated");
        }
        forward(input, request.h0(), request.c0(), request.lengths(), request.output(), request.hN(), request.cN(), request.workspace());
    }

    /**
     * Forward with the request's initial states, lengths and workspace; the results are allocated in
     * {@code arena}. The request must name no output buffers (for those, {@link #forward(Tensor, Forward)}).
     * A null request is the same as an empty one.
     *
     * @param arena   the arena the results are allocated in
     * @param input   {@code (seq_len, batch, input_size)}, or {@code (batch, seq_len, input_size)} batch-first
     * @param request the initial states, lengths and workspace, with no output buffers; or null
     * @return output, h_n and (LSTM) c_n, allocated in {@code arena}
     * @throws IllegalArgumentException if the request names output buffers, or a shape or length does not fit
     *     the layer
     * @throws IllegalStateException if the layer was closed or a tensor's arena is
     */
    public Result forward(Arena arena, Tensor input, Forward request) {
        if (request == null) return forward(arena, input);
        if (request.hasOutput() || request.hN() != null || request.cN() != null) {
            throw new IllegalArgumentException("forward: the request names output buffers (Forward.into) but the results are to be allocated in "
                    + "the arena; call forward(input, request) to write into them");
        }
        Result r = allocateResult(arena, input);
        forward(input, request.h0(), request.c0(), request.lengths(), r.output(), r.hN(), r.cN(), request.workspace());
        return r;
    }

    /**
     * The results of a forward pass on {@code float[]}s, row-major in the shapes of {@link Result}:
     * {@code output} {@code (seq_len, batch, directions·P)} (batch-first {@code (batch, seq_len, directions·P)}),
     * {@code hN} {@code (num_layers·directions, batch, P)}, {@code cN} {@code (num_layers·directions, batch, hidden_size)}
     * for LSTM, else null. Fresh arrays, the caller's.
     *
     * @param output the last layer's hidden state at every step: {@code seq_len × batch × directions·P} floats
     *               ({@code batch × seq_len × directions·P} batch-first)
     * @param hN     the final hidden states: {@code num_layers·directions × batch × P} floats
     * @param cN     the final cell states: {@code num_layers·directions × batch × hidden_size} floats, for LSTM;
     *               else null
     */
    public record ArrayResult(float[] output, float[] hN, float[] cN) {}

    /**
     * Forward on plain arrays, for callers who do not want to manage native memory: {@code input} is
     * {@code seq_len × batch × input_size} floats, row-major ({@code batch × seq_len × input_size} when
     * batch-first); zero initial state, every sample full length; returns the output, laid out the same way
     * with {@code directions·P} per step and sample. The same bits as the {@link Tensor} forward.
     * Each call copies the input into native memory of its own (an arena closed before it returns) and the
     * results out, and allocates the result arrays: for a hot loop, use the tensor overloads.
     *
     * @param input  {@code seq_len × batch × input_size} floats, row-major ({@code batch × seq_len × input_size}
     *               batch-first)
     * @param seqLen the number of steps, {@code seq_len ≥ 1}
     * @param batch  the number of samples, {@code batch ≥ 1}
     * @return the output, {@code seq_len × batch × directions·P} floats ({@code batch × seq_len × directions·P}
     *     batch-first); a fresh array
     * @throws IllegalArgumentException if {@code seqLen} or {@code batch} is below 1, if {@code input} is null or
     *     not of the length its shape needs (the message names the array and that length), or as the tensor forward
     * @throws IllegalStateException if the layer was closed
     */
    public float[] forward(float[] input, int seqLen, int batch) {
        return forward(input, seqLen, batch, null, null, null).output();
    }

    /**
     * {@link #forward(float[], int, int)} with initial states and returning the final ones too. {@code h0}
     * is {@code num_layers·directions × batch × P} floats, {@code c0} (LSTM) {@code num_layers·directions ×
     * batch × hidden_size}; either may be null for zeros. To carry state across calls, pass the last
     * result's {@code hN()} and {@code cN()}.
     *
     * @param input  {@code seq_len × batch × input_size} floats, row-major ({@code batch × seq_len × input_size}
     *               batch-first)
     * @param seqLen the number of steps, {@code seq_len ≥ 1}
     * @param batch  the number of samples, {@code batch ≥ 1}
     * @param h0     the initial hidden states, {@code num_layers·directions × batch × P} floats, or null for zeros
     * @param c0     the initial cell states (LSTM only), {@code num_layers·directions × batch × hidden_size}
     *               floats, or null for zeros
     * @return the output and the final states, in fresh arrays
     * @throws IllegalArgumentException if {@code seqLen} or {@code batch} is below 1, if an array is not of the
     *     length its shape needs (the message names the array and that length), if {@code c0} is given to a
     *     layer that is not an LSTM, or as the tensor forward
     * @throws IllegalStateException if the layer was closed
     */
    public ArrayResult forward(float[] input, int seqLen, int batch, float[] h0, float[] c0) {
        return forward(input, seqLen, batch, h0, c0, null);
    }

    /**
     * {@link #forward(float[], int, int, float[], float[])} with per-sample {@code lengths} (null for all full
     * length): outputs past a sample's length are zero, and its final state is the one at its last step.
     *
     * @param input   {@code seq_len × batch × input_size} floats, row-major ({@code batch × seq_len × input_size}
     *                batch-first)
     * @param seqLen  the number of steps, {@code seq_len ≥ 1}
     * @param batch   the number of samples, {@code batch ≥ 1}
     * @param h0      the initial hidden states, {@code num_layers·directions × batch × P} floats, or null for zeros
     * @param c0      the initial cell states (LSTM only), {@code num_layers·directions × batch × hidden_size}
     *                floats, or null for zeros
     * @param lengths one length per sample, each in {@code 1..seq_len}, or null for every sample full length
     * @return the output and the final states, in fresh arrays
     * @throws IllegalArgumentException if {@code seqLen} or {@code batch} is below 1, if an array is not of the
     *     length its shape needs (the message names the array and that length), if {@code c0} is given to a
     *     layer that is not an LSTM, if {@code lengths} has not one entry per sample or one is out of range,
     *     or as the tensor forward
     * @throws IllegalStateException if the layer was closed
     */
    public ArrayResult forward(float[] input, int seqLen, int batch, float[] h0, float[] c0, int[] lengths) {
        return ArrayCalls.forward(this, input, seqLen, batch, h0, c0, lengths);
    }

    /** Whether a call of {@code T} steps and {@code B} samples is large enough to be cut in two when a second thread is allowed. */
    boolean splitsWork(int T, int B) {
        int n = threads != 0 ? threads : dev.panamarnn.Parallelism.threads();
        return n > 1 && (long) T * B * spec.hiddenSize() >= MIN_WORK_FOR_TEAM;
    }

    /** Waits for running calls, then frees the weights and pooled scratch. Idempotent. */
    @Override
    public void close() {
        resources.close();
    }

    /**
     * How this layer computes, for people: its backend and why it was chosen, and for each step shape the
     * product that runs (a step of one sample, of 2–32, of more; the input projection), whether its steps
     * multiply by W_hh prepared at load, the weight format and the threads per call. Fixed for the layer's
     * life: a given call always takes the same path.
     *
     * @return several lines
     */
    public String explain() {
        boolean panels = resources.weights().hasPanels();
        StringBuilder s = new StringBuilder(toString()).append('\n');
        s.append("  backend: ").append(backend.name()).append(" (").append(backend.selectionReason()).append(")\n");
        String[] label = {"step of 1 sample", "step of 2-32 samples", "step of more samples"};
        for (int b = 0; b < dev.panamarnn.kernel.Kernels.BUCKETS; b++) {
            int rows = dev.panamarnn.kernel.Kernels.rowsOf(b);
            boolean prepared = panels && kernels.prefersPreparedSteps(rows);
            boolean fused = resources.weights().hasFusedSteps() && kernels.prefersFusedSteps(rows, (long) spec.mode().gates() * spec.hiddenSize() * spec.outputSize());
            String core = " (" + dev.panamarnn.kernel.Kernels.coreName() + " kernel)";
            s.append("  ").append(label[b]).append(": ").append(fused ? "fused step: product, gates and state in one pass over W_hh packed at load" + core
                    : prepared ? "W_hh prepared at load" + core : kernels.productsFor(rows) + (rows == 1 ? " GEMV" : " GEMM")).append('\n');
        }
        s.append("  input projection: ").append(kernels.productsFor(Integer.MAX_VALUE)).append(" GEMM, all steps at once\n");
        s.append("  cell math: ").append(dev.panamarnn.kernel.Kernels.coreName()).append("; weights ").append(weightFormat())
                .append(formatWhy)
                .append("; threads per call: ").append(threads != 0 ? threads + " (the layer's own)" : dev.panamarnn.Parallelism.threads() + " (the process's)");
        return s.toString();
    }

    @Override
    public String toString() {
        return "RecurrentLayer" + spec + " on " + backend.name() + (resources.weights().bf16() ? ", bf16 weights" : "");
    }
}
