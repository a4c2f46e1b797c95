package dev.panamarnn.app;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.Heads;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.LoadOptions;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * N-vs-1: classifies a whole sequence from its final state. The recurrent layer runs over the batch
 * with each sample's own length (packed-sequence semantics); the head reads the last layer's final
 * state, each sample's state at its last valid step, and for a bidirectional layer the forward final
 * state joined with the reverse direction's (which ends at step 0): PyTorch's
 * {@code fc(cat(h_n[-2], h_n[-1]))}.
 *
 * <p>Inputs are feature vectors ({@code input_size} floats per step) or, when the model has an
 * embedding, token ids. Immutable and thread-safe; each call allocates its scratch in a confined arena
 * it closes (nothing per step).
 * {@link #batching} gives a view for servers whose concurrent calls share each step.
 */
public final class SequenceClassifier implements AutoCloseable {
    private final ModelConfig config;
    private final Network net;

    private SequenceClassifier(ModelConfig config, Network net) {
        this.config = config;
        this.net = net;
    }

    /**
     * A view of this model for servers: concurrent calls join each other's time steps through a
     * {@link BatchingExecutor} per recurrent layer (continuous batching: a call's sequences join the batch
     * at a step boundary and leave it when they end), so many threads calling with one sequence each share
     * each step's product. Results equal this model's within float32 rounding (the batch sums in another
     * order) and do not depend on the other calls in the batch. The view shares this model's weights and
     * must be closed (which closes its executors only) before this model is.
     *
     * @param listener told of every batched step (see {@link BatchingExecutor.StepListener}), or null
     * @return the view, to close
     * @throws IllegalArgumentException if the weights are bfloat16 (the executor packs float32)
     * @throws IllegalStateException if this model is closed
     */
    public SequenceClassifier batching(BatchingExecutor.StepListener listener) {
        return new SequenceClassifier(config, net.batching(listener));
    }

    /**
     * Loads {@code dir/model.json} (structure {@code n_vs_1}) and {@code dir/weights.safetensors}, strictly:
     * a tensor of the file that no part of the model uses is an error naming it.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid; the message names the file
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static SequenceClassifier load(Path dir, Backend backend) throws IOException {
        return load(dir, backend, LoadOptions.strict());
    }

    /**
     * {@link #load(Path, Backend)} with {@code options} for the file's tensors no part of the model uses.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param options what to do with tensors no part uses
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid; the message names the file
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static SequenceClassifier load(Path dir, Backend backend, LoadOptions options) throws IOException {
        ModelConfig cfg = Network.config(dir, ModelConfig.Structure.N_VS_1);
        try (SafeTensors w = Network.weights(dir)) {
            return load(cfg, w.asStateDict(), backend, options);
        }
    }

    /**
     * The model {@code cfg} describes, from {@code weights}: every tensor must be used by a part of it.
     *
     * @param cfg     the config, of structure {@code n_vs_1}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static SequenceClassifier load(ModelConfig cfg, StateDict weights, Backend backend) {
        return load(cfg, weights, backend, LoadOptions.strict());
    }

    /**
     * {@link #load(ModelConfig, StateDict, Backend)} with {@code options} for the tensors no part of the model uses.
     *
     * @param cfg     the config, of structure {@code n_vs_1}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param options what to do with tensors no part uses
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static SequenceClassifier load(ModelConfig cfg, StateDict weights, Backend backend, LoadOptions options) {
        Objects.requireNonNull(cfg, "config");
        Objects.requireNonNull(options, "options");
        if (cfg.structure() != ModelConfig.Structure.N_VS_1) throw new IllegalArgumentException(cfg.file() + ": not an n_vs_1 model");
        Network net = Network.load(cfg, "classifier", cfg.main(), weights, true, backend);
        try {
            if (net.head.outFeatures() != cfg.labels().size()) {
                throw new IllegalArgumentException(cfg.file() + ": \"labels\" has " + cfg.labels().size() + " entries, the head "
                        + Text.quote(cfg.main().head() + "weight") + " gives " + net.head.outFeatures() + " logits");
            }
            if (net.embedding == null && cfg.inputSize() != net.spec().inputSize()) {
                throw new IllegalArgumentException(cfg.file() + ": \"input_size\" is " + cfg.inputSize() + ", the weights say " + net.spec().inputSize());
            }
            Network.checkUsed(cfg, "classifier", weights, options, net.used(cfg.main()), net);
            return new SequenceClassifier(cfg, net);
        } catch (Throwable e) {
            net.close();
            throw e;
        }
    }

    /**
     * The model's {@code model.json}.
     *
     * @return the config
     */
    public ModelConfig config() {
        return config;
    }

    /**
     * The class labels, in logit order.
     *
     * @return the labels
     */
    public List<String> labels() {
        return config.labels();
    }

    /**
     * Features per step (the recurrent layer's input size), for models without an embedding.
     *
     * @return the features per step
     */
    public int inputSize() {
        return net.spec().inputSize();
    }

    /**
     * Whether the model reads token ids (it has an embedding) rather than feature vectors.
     *
     * @return whether it has an embedding
     */
    public boolean takesTokens() {
        return net.embedding != null;
    }

    /**
     * Logits for a padded batch: {@code input (B, T, input_size)} batch-first, {@code lengths} one per
     * sample in 1..T (null: all T); writes {@code logits (B, classes)}.
     *
     * @param input   the features, {@code (B, T, input_size)}
     * @param lengths each sample's length, or null for T
     * @param logits  written: {@code (B, classes)}
     * @throws IllegalArgumentException if a shape or length does not fit the model
     */
    public void logits(Tensor input, int[] lengths, Tensor logits) {
        net.enter("classify");
        try {
            logits0(input, lengths, logits);
        } finally {
            net.exit();
        }
    }

    private void logits0(Tensor input, int[] lengths, Tensor logits) {
        Objects.requireNonNull(input, "input");
        if (net.embedding != null) throw new IllegalArgumentException("classify: this model reads token ids, not feature vectors");
        LayerSpec s = net.spec();
        if (input.rank() != 3 || input.dim(2) != s.inputSize() || input.dim(0) < 1 || input.dim(1) < 1) {
            throw new IllegalArgumentException("classify: input must be (batch, seq_len, input_size=" + s.inputSize() + "), got " + input.shapeString());
        }
        int B = input.dim(0), T = input.dim(1);
        checkLogits(logits, B);
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            run(a, input, lengths, B, T, logits);
        }
    }

    /**
     * Logits of variable-length feature sequences: {@code sequences[b][t][i]}; returns {@code [B][classes]}.
     *
     * @param sequences the feature sequences, each non-empty, each step of {@link #inputSize()} features
     * @return the logits
     */
    public float[][] logits(float[][][] sequences) {
        net.enter("classify");
        try {
            return logits0(sequences);
        } finally {
            net.exit();
        }
    }

    private float[][] logits0(float[][][] sequences) {
        Objects.requireNonNull(sequences, "sequences");
        if (net.embedding != null) throw new IllegalArgumentException("classify: this model reads token ids, not feature vectors");
        int B = sequences.length, I = inputSize(), T = 0;
        if (B == 0) return new float[0][];
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++) {
            if (sequences[b] == null || sequences[b].length == 0) throw new IllegalArgumentException("classify: sequence " + b + " is empty");
            lengths[b] = sequences[b].length;
            T = Math.max(T, lengths[b]);
            for (int t = 0; t < lengths[b]; t++) {
                if (sequences[b][t] == null || sequences[b][t].length != I) {
                    throw new IllegalArgumentException("classify: sequence " + b + " step " + t + " must have " + I + " features, got "
                            + (sequences[b][t] == null ? "null" : sequences[b][t].length));
                }
            }
        }
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            Tensor x = Tensor.allocate(a, B, T, I);
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < lengths[b]; t++) {
                    MemorySegment.copy(sequences[b][t], 0, x.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT,
                            (x.offset() + (long) (b * T + t) * x.ld()) * Float.BYTES, I);
                }
            }
            Tensor out = Tensor.allocate(a, B, labels().size());
            run(a, x, lengths, B, T, out);
            return toRows(out);
        }
    }

    /**
     * Logits of token sequences (models with an embedding); returns {@code [B][classes]}.
     *
     * @param tokens the token sequences, each non-empty
     * @return the logits
     */
    public float[][] logits(int[][] tokens) {
        net.enter("classify");
        try {
            return logits0(tokens);
        } finally {
            net.exit();
        }
    }

    private float[][] logits0(int[][] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        if (net.embedding == null) throw new IllegalArgumentException("classify: this model reads feature vectors, not token ids");
        net.checkTokens("tokens", tokens);
        int B = tokens.length, T = 0;
        if (B == 0) return new float[0][];
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++) {
            if (tokens[b].length == 0) throw new IllegalArgumentException("classify: sequence " + b + " is empty");
            lengths[b] = tokens[b].length;
            T = Math.max(T, lengths[b]);
        }
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            Tensor x = Tensor.allocate(a, B, T, net.embedding.dim());
            net.embed(tokens, T, false, x.reshape(B * T, net.embedding.dim()));
            Tensor out = Tensor.allocate(a, B, labels().size());
            run(a, x, lengths, B, T, out);
            return toRows(out);
        }
    }

    /**
     * The most likely class of each sequence (ties to the lowest index).
     *
     * @param logits the logits per sequence
     * @return the class index per sequence
     */
    public static int[] argmax(float[][] logits) {
        int[] out = new int[logits.length];
        for (int b = 0; b < logits.length; b++) {
            out[b] = Decoding.argmax(logits[b]);
        }
        return out;
    }

    private void run(Arena a, Tensor x, int[] lengths, int B, int T, Tensor logits) {
        LayerSpec s = net.spec();
        int D = s.directions(), P = s.outputSize(), L = s.numLayers();
        Tensor out = Tensor.allocate(a, B, T, D * P);
        Tensor hN = Tensor.allocate(a, L * D, B, P);
        Tensor cN = s.mode() == dev.panamarnn.nn.Mode.LSTM ? Tensor.allocate(a, L * D, B, s.hiddenSize()) : null;
        net.forward(x, null, null, lengths, out, hN, cN);
        // [forward final | reverse final] of the last layer, per sample.
        Tensor feat = Tensor.allocate(a, B, D * P);
        for (int d = 0; d < D; d++) feat.columns(d * P, (d + 1) * P).copyFrom(hN.slice((L - 1) * D + d));
        net.head.forward(feat, logits);
    }

    private void checkLogits(Tensor logits, int B) {
        Objects.requireNonNull(logits, "logits");
        if (logits.rank() != 2 || logits.dim(0) != B || logits.dim(1) != labels().size()) {
            throw new IllegalArgumentException("classify: logits must be (batch=" + B + ", classes=" + labels().size() + "), got " + logits.shapeString());
        }
    }

    static float[][] toRows(Tensor t) {
        float[][] r = new float[t.rows()][t.cols()];
        for (int i = 0; i < t.rows(); i++) {
            MemorySegment.copy(t.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, (t.offset() + (long) i * t.ld()) * Float.BYTES, r[i], 0, t.cols());
        }
        return r;
    }

    /**
     * Softmax of one row of logits, as probabilities.
     *
     * @param logits one row of logits
     * @return the probabilities, summing to 1
     */
    public static float[] probabilities(float[] logits) {
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            Tensor t = Tensor.of(a, logits, 1, logits.length);
            Heads.softmax(t, t);
            return t.toArray();
        }
    }

    @Override
    public void close() {
        net.close();
    }
}
