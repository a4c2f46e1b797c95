package dev.panamarnn.app;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.Embedding;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Linear;
import dev.panamarnn.nn.LoadOptions;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import dev.panamarnn.nn.WeightFormat;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One part of an application model as its {@code model.json} describes it: an optional embedding, a
 * recurrent layer and an optional linear head, loaded from a state_dict by name prefix and checked
 * against the config and against each other. Immutable and thread-safe.
 */
final class Network implements AutoCloseable {
    private final dev.panamarnn.engine.Lifecycle lifecycle = new dev.panamarnn.engine.Lifecycle("the model");
    final Embedding embedding;
    final RecurrentLayer rnn;
    final Linear head;
    /** Null, or the executor a batching view runs its layer through (see {@link #batching}). */
    private final BatchingExecutor batcher;
    /** The network whose weights a batching view shares, or null when this one owns them. */
    private final Network base;

    private Network(Embedding embedding, RecurrentLayer rnn, Linear head, BatchingExecutor batcher, Network base) {
        this.embedding = embedding;
        this.rnn = rnn;
        this.head = head;
        this.batcher = batcher;
        this.base = base;
    }

    /**
     * A view sharing these weights whose layer runs through a new {@link BatchingExecutor}: concurrent
     * calls join each other's steps. Closing the view closes its executor only; this network must stay
     * open while the view is used.
     */
    Network batching(BatchingExecutor.StepListener listener) {
        enter("batching");
        try {
            return new Network(embedding, rnn, head, new BatchingExecutor(rnn, listener), this);
        } finally {
            exit();
        }
    }

    /**
     * Between the steps of a decoding loop: an interrupted thread stops there (a server's request past its
     * deadline, a client gone), its interrupt status kept. The caller's state is as the last step left it.
     *
     * @throws java.util.concurrent.CancellationException if the thread is interrupted
     */
    static void stopIfInterrupted(String op, int step) {
        if (Thread.currentThread().isInterrupted()) {
            throw new java.util.concurrent.CancellationException(op + ": interrupted before step " + step);
        }
    }

    /** Whether calls run through a batching executor. */
    boolean batches() {
        return batcher != null;
    }

    /** The layer's forward, through the executor in a batching view, else with a workspace from the layer's pool. */
    void forward(Tensor x, Tensor h0, Tensor c0, int[] lengths, Tensor out, Tensor hN, Tensor cN) {
        if (batcher != null) batcher.forward(x, h0, c0, lengths, out, hN, cN);
        else rnn.forward(x, h0, c0, lengths, out, hN, cN, null);
    }

    static Network load(ModelConfig cfg, String what, ModelConfig.Part p, StateDict sd, boolean batchFirst, Backend backend) {
        Embedding emb = null;
        RecurrentLayer rnn = null;
        Linear head = null;
        try {
            rnn = named(cfg.file() + ": " + what + " \"rnn\" (prefix " + Text.quote(p.rnnPrefix()) + ")",
                    () -> RecurrentLayer.load(sd, p.rnnPrefix(), p.mode(), batchFirst, backend, WeightFormat.fromProperty(), PARTS));
            LayerSpec s = rnn.spec();
            String where = cfg.file() + ": " + what + " \"rnn\"";
            if (s.mode() != p.mode()) throw new IllegalArgumentException(where + " says mode " + p.mode() + ", the weights hold " + s.mode());
            check(where + ".input_size", p.inputSize(), s.inputSize());
            check(where + ".hidden_size", p.hiddenSize(), s.hiddenSize());
            check(where + ".num_layers", p.numLayers(), s.numLayers());
            if (p.bidirectional() != s.bidirectional()) {
                throw new IllegalArgumentException(where + ".bidirectional says " + p.bidirectional() + ", the weights say " + s.bidirectional());
            }
            if (p.embedding() != null) {
                emb = named(cfg.file() + ": " + what + " \"embedding\"", () -> Embedding.load(sd, p.embedding(), PARTS));
                if (emb.dim() != s.inputSize()) {
                    throw new IllegalArgumentException(cfg.file() + ": " + what + " embedding " + Text.quote(p.embedding() + "weight") + " has dimension " + emb.dim()
                            + " but the recurrent layer's input size is " + s.inputSize());
                }
            }
            if (p.head() != null) {
                head = named(cfg.file() + ": " + what + " \"head\"", () -> Linear.load(sd, p.head(), backend, PARTS));
                int want = s.directions() * s.outputSize();
                if (head.inFeatures() != want) {
                    throw new IllegalArgumentException(cfg.file() + ": " + what + " head " + Text.quote(p.head() + "weight") + " takes " + head.inFeatures()
                            + " features but the recurrent layer gives " + want);
                }
            }
            return new Network(emb, rnn, head, null, null);
        } catch (Throwable e) {
            if (emb != null) emb.close();
            if (rnn != null) rnn.close();
            if (head != null) head.close();
            throw e;
        }
    }

    /**
     * The parts load leniently, reporting to nobody: a tensor one part does not use may be another's, and
     * what no part uses is the whole model's to judge ({@link #checkUsed}).
     */
    private static final LoadOptions PARTS = LoadOptions.lenient(ignored -> {});

    /** {@code load()}, its IllegalArgumentException's message led by {@code where} (the config and the part). */
    private static <T> T named(String where, Supplier<T> load) {
        try {
            return load.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** The tensors this network read, part {@code p} of its config: its layer's, its embedding's weight, its head's weight and bias. */
    Set<String> used(ModelConfig.Part p) {
        Set<String> u = new HashSet<>(rnn.spec().stateDictShapes(p.rnnPrefix()).keySet());
        if (embedding != null) u.add(p.embedding() + "weight");
        if (head != null) {
            u.add(p.head() + "weight");
            if (head.hasBias()) u.add(p.head() + "bias");
        }
        return u;
    }

    /**
     * As PyTorch's {@code model.load_state_dict(sd, strict)}: every tensor of {@code sd} must be used by a
     * part ({@code used}), and the others go to {@code options}: strict, an error naming them and the
     * config's prefixes; lenient, the callback. When that throws, the {@code parts} are closed.
     */
    static void checkUsed(ModelConfig cfg, String what, StateDict sd, LoadOptions options, Set<String> used, Network... parts) {
        try {
            List<String> unused = new ArrayList<>();
            for (String n : sd.names()) if (!used.contains(n)) unused.add(n);
            options.unused(cfg.file() + ": the " + what + " (" + prefixes(cfg) + ")", unused);
        } catch (Throwable e) {
            for (Network n : parts) n.close();
            throw e;
        }
    }

    /** Where the config says the parts' weights are, e.g. {@code embedding 'embed.', rnn 'rnn.', head 'fc.'}. */
    private static String prefixes(ModelConfig cfg) {
        List<String> out = new ArrayList<>();
        if (cfg.structure() == ModelConfig.Structure.SEQ2SEQ) {
            prefixes("encoder ", cfg.encoder(), out);
            prefixes("decoder ", cfg.decoder(), out);
        } else {
            prefixes("", cfg.main(), out);
        }
        return String.join(", ", out);
    }

    private static void prefixes(String part, ModelConfig.Part p, List<String> out) {
        if (p.embedding() != null) out.add(part + "embedding " + Text.quote(p.embedding()));
        out.add(part + "rnn " + Text.quote(p.rnnPrefix()));
        if (p.head() != null) out.add(part + "head " + Text.quote(p.head()));
    }

    private static void check(String key, int config, int weights) {
        if (config != weights) throw new IllegalArgumentException(key + " is " + config + ", the weights say " + weights);
    }

    LayerSpec spec() {
        return rnn.spec();
    }

    /** Writes the embeddings of {@code tokens[b][t]} for t &lt; lengths: row {@code t·B+b} (time-major) or {@code b·T+t} of {@code x}. */
    void embed(int[][] tokens, int T, boolean timeMajor, Tensor x) {
        int B = tokens.length;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < tokens[b].length; t++) {
                int row = timeMajor ? t * B + b : b * T + t;
                embedding.copyRow(tokens[b][t], x.segment(), x.offset() + (long) row * x.ld());
            }
        }
    }

    /**
     * Logits {@code (T·B, V)}, row {@code t·B+b} (time-major), as {@code [b][t][V]}; sample b keeps its
     * first {@code lengths[b]} steps (all T when lengths is null).
     */
    static float[][][] perStep(Tensor logits, int T, int B, int[] lengths) {
        int V = logits.cols();
        float[][][] r = new float[B][][];
        for (int b = 0; b < B; b++) {
            int n = lengths == null ? T : lengths[b];
            r[b] = new float[n][V];
            for (int t = 0; t < n; t++) {
                MemorySegment.copy(logits.segment(), ValueLayout.JAVA_FLOAT, (logits.offset() + (long) (t * B + b) * logits.ld()) * Float.BYTES,
                        r[b][t], 0, V);
            }
        }
        return r;
    }

    /** Every token id in range, else an error naming the sequence and position. */
    void checkTokens(String what, int[][] tokens) {
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b] == null) throw new IllegalArgumentException(what + "[" + b + "] is null");
            for (int t = 0; t < tokens[b].length; t++) {
                int id = tokens[b][t];
                if (id < 0 || id >= embedding.size()) {
                    throw new IllegalArgumentException(what + "[" + b + "][" + t + "] = " + id + " is not a token id (0.." + (embedding.size() - 1) + ")");
                }
            }
        }
    }

    /** Starts a call: close() waits until {@link #exit()}; a closed network throws IllegalStateException. */
    void enter(String op) {
        lifecycle.enter(op);
    }

    void exit() {
        lifecycle.exit();
    }

    /** Waits for running calls, then frees the weights. Idempotent. */
    @Override
    public void close() {
        lifecycle.close(() -> {
            if (base != null) {
                batcher.close();
                return;
            }
            if (embedding != null) embedding.close();
            rnn.close();
            if (head != null) head.close();
        });
    }

    /** Reads {@code dir/model.json} and checks its structure ({@link ModelConfig#read(Path, ModelConfig.Structure)}). */
    static ModelConfig config(Path dir, ModelConfig.Structure want) throws IOException {
        return ModelConfig.read(dir, want);
    }

    static SafeTensors weights(Path dir) throws IOException {
        Path w = dir.resolve("weights.safetensors");
        if (!Files.isRegularFile(w)) throw new IOException(dir + ": no weights.safetensors");
        return SafeTensors.open(w);
    }
}
