package dev.panamarnn.app;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.LoadOptions;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A token language model (embedding → recurrent layer → linear head over the vocabulary), in the two
 * structures it serves:
 * <ul>
 *   <li><b>N-vs-N</b>: logits at every step ({@link #logits}, or {@link #feed} to carry the state across
 *       calls, so a sequence fed in chunks gives exactly what it gives in one call);</li>
 *   <li><b>1-vs-N</b>: from a start token, a prompt or a given state, {@link #generate} produces tokens one
 *       at a time, each fed back as the next input, greedy or sampled with a seeded temperature, until
 *       the end token or a maximum length; in a batch each sample stops on its own.</li>
 * </ul>
 * Generation checks the thread's interrupt status between tokens: an interrupted caller stops with a
 * {@link java.util.concurrent.CancellationException} (status kept), its state as the last step left it.
 * {@link #batching} gives a view for servers whose concurrent calls share each step.
 * The model is immutable and thread-safe; a {@link State} belongs to one caller at a time. Per call,
 * scratch comes from a confined arena the call closes; nothing is allocated per generated token.
 */
public final class LanguageModel implements AutoCloseable {
    private final ModelConfig config;
    private final Network net;
    private final Vocabulary vocab;

    /** In a batching view: the loops that decode every caller's sequences in shared batches; else null. */
    private final DecodeLoop.Pool loop;

    private LanguageModel(ModelConfig config, Network net) {
        this(config, net, null);
    }

    private LanguageModel(ModelConfig config, Network net, DecodeLoop.Pool loop) {
        this.config = config;
        this.net = net;
        this.vocab = new Vocabulary(config.vocab());
        this.loop = loop;
    }

    /**
     * A view of this model for servers: the tokens of concurrent {@code generate} calls are decoded in
     * shared batches (continuous batching: one loop thread per core steps every sequence handed to it; a caller that finds the loops idle decodes alone, a
     * sequence joins at a step boundary and leaves at its end token or budget), so many threads generating
     * one sequence each share each step's product; prompts run on the caller's thread. Greedy tokens equal
     * this model's; sampled ones too for one prompt per call (its own random stream; several sampled
     * prompts in one call take this model's path). Logits and states agree within float32 rounding. An
     * interrupted caller's sequences leave at the next step ({@link java.util.concurrent.CancellationException}).
     * The view shares this model's weights and must be closed (which stops its loops only) before this model is.
     *
     * @param listener told of every batched step (see {@link BatchingExecutor.StepListener}), or null
     * @return the view, to close
     * @throws IllegalArgumentException if the weights are bfloat16 (the executor packs float32)
     * @throws IllegalStateException if this model is closed
     */
    public LanguageModel batching(BatchingExecutor.StepListener listener) {
        net.enter("batching");
        try {
            // Prompts run on the caller's thread as in this model; the tokens after them in the shared batch.
            return new LanguageModel(config, net, new DecodeLoop.Pool(net, listener));
        } finally {
            net.exit();
        }
    }

    /**
     * Loads {@code dir/model.json} (structure {@code lm}) and {@code dir/weights.safetensors}, strictly: a
     * tensor of the file that no part of the model uses is an error naming it.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid; the message names the file
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static LanguageModel load(Path dir, Backend backend) throws IOException {
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
    public static LanguageModel load(Path dir, Backend backend, LoadOptions options) throws IOException {
        ModelConfig cfg = Network.config(dir, ModelConfig.Structure.LM);
        try (SafeTensors w = Network.weights(dir)) {
            return load(cfg, w.asStateDict(), backend, options);
        }
    }

    /**
     * The model {@code cfg} describes, from {@code weights}: every tensor must be used by a part of it.
     *
     * @param cfg     the config, of structure {@code lm}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static LanguageModel load(ModelConfig cfg, StateDict weights, Backend backend) {
        return load(cfg, weights, backend, LoadOptions.strict());
    }

    /**
     * {@link #load(ModelConfig, StateDict, Backend)} with {@code options} for the tensors no part of the model uses.
     *
     * @param cfg     the config, of structure {@code lm}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param options what to do with tensors no part uses
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static LanguageModel load(ModelConfig cfg, StateDict weights, Backend backend, LoadOptions options) {
        Objects.requireNonNull(cfg, "config");
        Objects.requireNonNull(options, "options");
        if (cfg.structure() != ModelConfig.Structure.LM) throw new IllegalArgumentException(cfg.file() + ": not an lm model");
        if (cfg.main().embedding() == null || cfg.main().head() == null) {
            throw new IllegalArgumentException(cfg.file() + ": a language model needs \"embedding\" and \"head\"");
        }
        Network net = Network.load(cfg, "language model", cfg.main(), weights, false, backend);
        try {
            String err = null;
            if (net.spec().bidirectional()) err = "a language model cannot be bidirectional";
            else if (net.embedding.size() != cfg.vocab().size()) err = "\"vocab\" has " + cfg.vocab().size() + " tokens, the embedding " + net.embedding.size();
            else if (net.head.outFeatures() != cfg.vocab().size()) err = "\"vocab\" has " + cfg.vocab().size() + " tokens, the head gives " + net.head.outFeatures();
            if (err != null) throw new IllegalArgumentException(cfg.file() + ": " + err);
            Network.checkUsed(cfg, "language model", weights, options, net.used(cfg.main()), net);
            return new LanguageModel(cfg, net);
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
     * The token vocabulary, input and output.
     *
     * @return the vocabulary
     */
    public Vocabulary vocabulary() {
        return vocab;
    }

    /**
     * The start token's id.
     *
     * @return {@code bos} of the config
     */
    public int bos() {
        return config.bos();
    }

    /**
     * The end token's id.
     *
     * @return {@code eos} of the config
     */
    public int eos() {
        return config.eos();
    }

    /**
     * The recurrent state of {@code batch} sequences, zero at first; owns its native memory until
     * {@link #close()}. Not thread-safe: one caller at a time.
     */
    public final class State implements AutoCloseable {
        private final Arena arena;
        final int batch;
        final Tensor h, c;

        /** {@code a}: the state's own arena, closed with it (shared for callers' states; see {@link #scratchState}). */
        private State(int batch, Arena a) {
            LayerSpec s = net.spec();
            this.batch = batch;
            try {
                h = Tensor.allocate(a, s.numLayers(), batch, s.outputSize());
                c = s.mode() == Mode.LSTM ? Tensor.allocate(a, s.numLayers(), batch, s.hiddenSize()) : null;
            } catch (Throwable e) {
                a.close();
                throw e;
            }
            arena = a;
        }

        /**
         * The number of sequences.
         *
         * @return the batch
         */
        public int batch() {
            return batch;
        }

        /** Back to the zero state. */
        public void reset() {
            h.fill(0f);
            if (c != null) c.fill(0f);
        }

        /**
         * A copy of h, {@code (num_layers, batch, hidden)}.
         *
         * @return h, row-major
         */
        public float[] hidden() {
            return h.toArray();
        }

        @Override
        public void close() {
            arena.close();
        }

        LanguageModel owner() {
            return LanguageModel.this;
        }
    }

    /**
     * A zero state for {@code batch} sequences, to close. Meant to live across calls (a conversation, a
     * stream fed piece by piece), and usable from any thread: its memory is shared, and closing shared
     * memory makes the JVM pause every thread briefly, so for one generation per request use the stateless
     * {@link #generate(int[][], Decoding, int)} (its state is confined to the call) instead of a new state each time.
     *
     * @param batch the number of sequences, ≥ 1
     * @return the state
     * @throws IllegalArgumentException if {@code batch < 1}
     */
    public State newState(int batch) {
        if (batch < 1) throw new IllegalArgumentException("newState: batch must be >= 1, got " + batch);
        return new State(batch, dev.panamarnn.Arenas.shared());
    }

    /**
     * A zero state for one call on this thread: confined memory. Closing a shared arena makes the JVM
     * stop every thread for a moment (a handshake), and a server generating per request with dozens of
     * threads spent seconds a minute there; a confined arena closes without one. The layer's helper thread
     * leaves confined tensors to their owner ({@code RecurrentLayer.forward}), and a batching view copies
     * the state in and out on this thread.
     */
    private State scratchState(int batch) {
        return new State(batch, dev.panamarnn.Arenas.confined());
    }

    /**
     * N-vs-N, streaming: feeds {@code tokens[b]} (the same count for every sample) from the state, which
     * is advanced; returns the logits {@code [B][T][vocab]} at every step. A rejected call leaves the
     * state unchanged.
     *
     * @param state  this model's state, advanced past the tokens
     * @param tokens the token ids, one row per sample of the state, rows of equal length
     * @return the logits
     * @throws IllegalArgumentException if the rows differ in length or number from the state, or an id is outside the vocabulary
     */
    public float[][][] feed(State state, int[][] tokens) {
        net.enter("feed");
        try {
            return feed0(state, tokens);
        } finally {
            net.exit();
        }
    }

    private float[][][] feed0(State state, int[][] tokens) {
        checkState(state);
        Objects.requireNonNull(tokens, "tokens");
        if (tokens.length != state.batch) throw new IllegalArgumentException("feed: tokens has " + tokens.length + " sequences, the state " + state.batch);
        net.checkTokens("tokens", tokens);
        int T = tokens[0].length;
        for (int b = 1; b < tokens.length; b++) {
            if (tokens[b].length != T) {
                throw new IllegalArgumentException("feed: every sequence of a chunk needs the same length: tokens[0] has " + T + ", tokens[" + b + "] has " + tokens[b].length);
            }
        }
        if (T == 0) return new float[state.batch][0][];
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            Tensor logits = run(a, tokens, T, null, state.h, state.c, state.h, state.c);
            return Network.perStep(logits, T, state.batch, null);
        }
    }

    /**
     * N-vs-N, one shot from the zero state: logits {@code [b][t][vocab]} for every step of each sequence
     * (sequences may differ in length; each gets exactly its own steps).
     *
     * @param tokens the token ids, one row per sequence
     * @return the logits
     * @throws IllegalArgumentException if an id is outside the vocabulary
     */
    public float[][][] logits(int[][] tokens) {
        net.enter("logits");
        try {
            return logits0(tokens);
        } finally {
            net.exit();
        }
    }

    private float[][][] logits0(int[][] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        net.checkTokens("tokens", tokens);
        int B = tokens.length;
        if (B == 0) return new float[0][][];
        int[] lengths = lengths("tokens", tokens);
        int T = Arrays.stream(lengths).max().orElse(0);
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            LayerSpec s = net.spec();
            Tensor hN = Tensor.allocate(a, s.numLayers(), B, s.outputSize());
            Tensor cN = s.mode() == Mode.LSTM ? Tensor.allocate(a, s.numLayers(), B, s.hiddenSize()) : null;
            Tensor logits = run(a, tokens, T, lengths, null, null, hN, cN);
            return Network.perStep(logits, T, B, lengths);
        }
    }

    /**
     * 1-vs-N from the zero state: each prompt (non-empty, usually starting with {@code <bos>}) is fed, then
     * tokens are generated. {@code prompts.length × maxNew} must be at most {@link ModelConfig#MAX_GENERATED_TOKENS}.
     *
     * @param prompts  the prompts' token ids, one row per sequence, each non-empty
     * @param decoding greedy or sampled
     * @param maxNew   the most tokens to generate per sequence
     * @return the generated tokens per sequence, the end token included when reached
     * @throws IllegalArgumentException if a prompt is empty or has an id outside the vocabulary, or the request is too large
     */
    public int[][] generate(int[][] prompts, Decoding decoding, int maxNew) {
        Objects.requireNonNull(prompts, "prompts");
        checkRequest(prompts.length, maxNew); // before the state is allocated
        return generate(prompts, decoding, maxNew, null);
    }

    /**
     * As {@link #generate(int[][], Decoding, int)}, telling {@code sink} of each token as it is produced
     * (streaming without a state of one's own).
     *
     * @param prompts  the prompts' token ids
     * @param decoding greedy or sampled
     * @param maxNew   the most tokens to generate per sequence
     * @param sink     told of each token, or null
     * @return the generated tokens per sequence, the end token included when reached
     * @throws IllegalArgumentException if a prompt is empty or has an id outside the vocabulary, or the request is too large
     */
    public int[][] generate(int[][] prompts, Decoding decoding, int maxNew, TokenSink sink) {
        Objects.requireNonNull(prompts, "prompts");
        checkRequest(prompts.length, maxNew); // before the state is allocated
        if (prompts.length == 0) return new int[0][];
        try (State st = scratchState(prompts.length)) {
            return generate(st, prompts, decoding, maxNew, sink);
        }
    }

    /**
     * 1-vs-N from a state: feeds each prompt (lengths may differ), then generates up to {@code maxNew}
     * tokens per sample, each fed back as the next input, stopping a sample at the end token (included
     * in its result). The state ends after the last token fed. Returns the generated tokens per sample.
     *
     * @param state    this model's state, as many sequences as prompts
     * @param prompts  the prompts' token ids, one row per sample of the state
     * @param decoding greedy or sampled
     * @param maxNew   the most tokens to generate per sequence
     * @return the generated tokens per sequence
     * @throws IllegalArgumentException naming them when {@code maxNew} is outside 0..{@link ModelConfig#MAX_OUTPUT_LENGTH}
     *     or {@code prompts.length × maxNew} exceeds {@link ModelConfig#MAX_GENERATED_TOKENS}
     */
    public int[][] generate(State state, int[][] prompts, Decoding decoding, int maxNew) {
        return generate(state, prompts, decoding, maxNew, null);
    }

    /**
     * Told of each token as {@link #generate(State, int[][], Decoding, int, TokenSink)} produces it, for
     * streaming. It runs on the generating thread between steps; what it throws ends the generation and
     * reaches the caller (the state as the last step left it).
     */
    @FunctionalInterface
    public interface TokenSink {
        /**
         * A sample's next token, the end token included.
         *
         * @param sample the sample's row in the state
         * @param token  the token id
         */
        void token(int sample, int token);
    }

    /**
     * As {@link #generate(State, int[][], Decoding, int)}, telling {@code sink} of each token as it is
     * produced.
     *
     * @param state    this model's state, as many sequences as prompts
     * @param prompts  the prompts' token ids, one row per sample of the state
     * @param decoding greedy or sampled
     * @param maxNew   the most tokens to generate per sequence
     * @param sink     told of each token, or null
     * @return the generated tokens per sequence
     * @throws IllegalArgumentException naming them when {@code maxNew} is outside 0..{@link ModelConfig#MAX_OUTPUT_LENGTH}
     *     or {@code prompts.length × maxNew} exceeds {@link ModelConfig#MAX_GENERATED_TOKENS}
     */
    public int[][] generate(State state, int[][] prompts, Decoding decoding, int maxNew, TokenSink sink) {
        net.enter("generate");
        try {
            return generate0(state, prompts, decoding, maxNew, sink);
        } finally {
            net.exit();
        }
    }

    private int[][] generate0(State state, int[][] prompts, Decoding decoding, int maxNew, TokenSink sink) {
        if (loop == null || !loop.trySolo()) return generate1(state, prompts, decoding, maxNew, sink, loop);
        try {
            return generate1(state, prompts, decoding, maxNew, sink, null); // alone: as the model does
        } finally {
            loop.endSolo();
        }
    }

    /** {@code loop}: the decoding loops of a batching view, or null to decode on this thread. */
    private int[][] generate1(State state, int[][] prompts, Decoding decoding, int maxNew, TokenSink sink, DecodeLoop.Pool loop) {
        checkState(state);
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(decoding, "decoding");
        if (prompts.length != state.batch) throw new IllegalArgumentException("generate: prompts has " + prompts.length + " sequences, the state " + state.batch);
        checkRequest(prompts.length, maxNew);
        net.checkTokens("prompts", prompts);
        int[] lengths = lengths("prompts", prompts);
        int B = prompts.length, T = Arrays.stream(lengths).max().orElse(0), V = vocab.size(), E = net.embedding.dim();
        LayerSpec s = net.spec();
        int P = s.outputSize();
        int[][] out = new int[B][0]; // grown as tokens come: a batch that stops early takes what it made
        int[] count = new int[B];
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            // The prompts, each from the state to its own last step.
            Tensor x = Tensor.allocate(a, T, B, E);
            net.embed(prompts, T, true, x.reshape(T * B, E));
            Tensor o = Tensor.allocate(a, T, B, P);
            boolean full = Arrays.stream(lengths).allMatch(l -> l == T);
            if (loop != null) {
                loop.prefill(() -> {
                    net.forward(x, state.h, state.c, full ? null : lengths, o, state.h, state.c);
                    return null;
                });
            } else {
                net.forward(x, state.h, state.c, full ? null : lengths, o, state.h, state.c);
            }
            Tensor last = Tensor.allocate(a, B, P);
            for (int b = 0; b < B; b++) last.rows(b, b + 1).copyFrom(o.slice(lengths[b] - 1).rows(b, b + 1));
            Tensor logits = Tensor.allocate(a, B, V);
            net.head.forward(last, logits);

            if (loop != null && maxNew > 0 && (B == 1 || decoding.isGreedy())) {
                // A batching view: the first token here, the rest in the shared decoding batch (one random
                // stream, as alone, so the same draws).
                SplittableRandom rnd = decoding.random();
                List<DecodeLoop.Request> reqs = new ArrayList<>();
                for (int b = 0; b < B; b++) {
                    int tok = decoding.pick(logits.segment(), logits.offset() + (long) b * logits.ld(), V, rnd);
                    out[b] = ModelConfig.roomForOne(out[b], 0, maxNew);
                    out[b][0] = tok;
                    count[b] = 1;
                    if (sink != null) sink.token(b, tok);
                    if (tok != config.eos() && maxNew > 1) reqs.add(loop.request(state.h, state.c, b, tok, 1, out[b], decoding, rnd, maxNew, config.eos(), sink));
                }
                if (!reqs.isEmpty()) {
                    Network.stopIfInterrupted("generate", 1);
                    loop.decode(reqs.toArray(DecodeLoop.Request[]::new));
                    for (DecodeLoop.Request q : reqs) {
                        loop.writeBack(q, state.h, state.c);
                        out[q.sample] = q.out;
                        count[q.sample] = q.count;
                    }
                }
                int[][] res = new int[B][];
                for (int b = 0; b < B; b++) res[b] = Arrays.copyOf(out[b], count[b]);
                return res;
            }

            // Then one token per step for every sample still running.
            Tensor x1 = Tensor.allocate(a, 1, B, E), o1 = Tensor.allocate(a, 1, B, P);
            Tensor o1m = o1.reshape(B, P);
            int[] next = new int[B];
            boolean[] done = new boolean[B];
            SplittableRandom rnd = decoding.random();
            int running = B;
            for (int step = 0; step < maxNew && running > 0; step++) {
                Network.stopIfInterrupted("generate", step);
                for (int b = 0; b < B; b++) {
                    if (done[b]) continue;
                    int tok = decoding.pick(logits.segment(), logits.offset() + (long) b * logits.ld(), V, rnd);
                    next[b] = tok;
                    out[b] = ModelConfig.roomForOne(out[b], count[b], maxNew);
                    out[b][count[b]++] = tok;
                    if (sink != null) sink.token(b, tok);
                    if (tok == config.eos()) {
                        done[b] = true;
                        running--;
                    }
                }
                if (running == 0 || step == maxNew - 1) break;
                for (int b = 0; b < B; b++) net.embedding.copyRow(next[b], x1.segment(), x1.offset() + (long) b * x1.ld());
                net.forward(x1, state.h, state.c, null, o1, state.h, state.c);
                net.head.forward(o1m, logits);
            }
        }
        int[][] res = new int[B][];
        for (int b = 0; b < B; b++) res[b] = Arrays.copyOf(out[b], count[b]);
        return res;
    }

    /**
     * Text in, text out: {@code <bos>} + the prompt's characters, then the generated text (specials left out).
     *
     * @param prompt   the text, in the vocabulary's characters
     * @param decoding greedy or sampled
     * @param maxNew   the most tokens to generate
     * @return the generated text
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public String generate(String prompt, Decoding decoding, int maxNew) {
        return vocab.decode(generate(new int[][] {prompt(prompt)}, decoding, maxNew)[0]);
    }

    /**
     * A text prompt as the model reads it: {@code <bos>} followed by its characters' ids.
     *
     * @param text the text, in the vocabulary's characters
     * @return the token ids
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public int[] prompt(String text) {
        int[] p = vocab.encode(text);
        int[] withBos = new int[p.length + 1];
        withBos[0] = config.bos();
        System.arraycopy(p, 0, withBos, 1, p.length);
        return withBos;
    }

    /**
     * Teacher-forced next-token accuracy over whole sequences (each {@code <bos>} … {@code <eos>}): the
     * model reads {@code seq[0..n-2]} and each step's argmax is compared with the next token. Runs in
     * batches of {@code batch}; returns {@code {correct, predictions}}.
     *
     * @param sequences the token sequences, each of at least 2 tokens
     * @param batch     sequences per forward pass, ≥ 1
     * @return the correct predictions and the predictions made
     */
    public long[] nextTokenAccuracy(int[][] sequences, int batch) {
        Objects.requireNonNull(sequences, "sequences");
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        net.checkTokens("sequences", sequences);
        for (int b = 0; b < sequences.length; b++) {
            if (sequences[b].length < 2) throw new IllegalArgumentException("sequences[" + b + "] needs at least 2 tokens, has " + sequences[b].length);
        }
        long correct = 0, total = 0;
        for (int from = 0; from < sequences.length; from += batch) {
            int n = Math.min(batch, sequences.length - from);
            int[][] in = new int[n][];
            for (int b = 0; b < n; b++) in[b] = Arrays.copyOf(sequences[from + b], sequences[from + b].length - 1);
            float[][][] lg = logits(in);
            for (int b = 0; b < n; b++) {
                int[] seq = sequences[from + b];
                for (int t = 0; t < in[b].length; t++) {
                    if (Decoding.argmax(lg[b][t]) == seq[t + 1]) correct++;
                    total++;
                }
            }
        }
        return new long[] {correct, total};
    }

    /** Embeds tokens (time-major), runs the layer and the head; returns logits {@code (T·B, V)}, row t·B+b. */
    private Tensor run(Arena a, int[][] tokens, int T, int[] lengths, Tensor h0, Tensor c0, Tensor hN, Tensor cN) {
        int B = tokens.length, E = net.embedding.dim(), P = net.spec().outputSize();
        Tensor x = Tensor.allocate(a, T, B, E);
        net.embed(tokens, T, true, x.reshape(T * B, E));
        Tensor o = Tensor.allocate(a, T, B, P);
        net.forward(x, h0, c0, lengths, o, hN, cN);
        Tensor logits = Tensor.allocate(a, T * B, vocab.size());
        net.head.forward(o.reshape(T * B, P), logits);
        return logits;
    }

    private static void checkRequest(int prompts, int maxNew) {
        if (maxNew < 0 || maxNew > ModelConfig.MAX_OUTPUT_LENGTH) {
            throw new IllegalArgumentException("generate: maxNew must be in 0.." + ModelConfig.MAX_OUTPUT_LENGTH + ", got " + maxNew);
        }
        ModelConfig.checkGeneratedTokens("generate", "prompts", prompts, "maxNew", maxNew);
    }

    private static int[] lengths(String what, int[][] seqs) {
        int[] l = new int[seqs.length];
        for (int b = 0; b < seqs.length; b++) {
            if (seqs[b].length == 0) throw new IllegalArgumentException(what + "[" + b + "] is empty");
            l[b] = seqs[b].length;
        }
        return l;
    }

    private void checkState(State state) {
        Objects.requireNonNull(state, "state");
        if (state.owner() != this) throw new IllegalArgumentException("state belongs to another language model");
        if (!state.h.isAlive()) throw new IllegalStateException("state is closed");
    }

    @Override
    public void close() {
        if (loop != null) {
            loop.close(); // a view: the weights are the model's it came from
            return;
        }
        net.close();
    }
}
