package dev.panamarnn.app;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.Heads;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.LoadOptions;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * N-vs-M encoder-decoder (seq2seq) without attention: the encoder runs over each source with its own
 * length and its final state ({@code h_n}, and {@code c_n} for LSTM) initialises the decoder, which
 * starts from {@code <bos>} and generates until {@code <eos>} or a maximum length.
 *
 * <ul>
 *   <li>{@link #greedy}: batched greedy decoding; each sample stops on its own (its result ends at its
 *       {@code <eos>}), the batch runs until every sample has stopped;</li>
 *   <li>{@link #beamSearch}: beam search with a width, scored by the sum of float32 log-softmax values
 *       with no length normalisation, exactly as {@code models/README.md} specifies;</li>
 *   <li>{@link #decoderLogits}: teacher-forced logits of given decoder inputs, for scoring.</li>
 * </ul>
 * Immutable and thread-safe; per call, scratch lives in a confined arena the call closes and nothing is
 * allocated per decoding step.
 * Decoding (greedy and beam) checks the thread's interrupt status between steps: an interrupted caller
 * stops with a {@link java.util.concurrent.CancellationException} (status kept). {@link #batching} gives
 * a view for servers whose concurrent calls share each step.
 */
public final class Seq2Seq implements AutoCloseable {
    private final ModelConfig config;
    private final Network encoder, decoder;
    private final Vocabulary source, target;

    /** In a batching view: the loops that decode every caller's greedy sequences in shared batches; else null. */
    private final DecodeLoop.Pool loop;

    private Seq2Seq(ModelConfig config, Network encoder, Network decoder) {
        this(config, encoder, decoder, null);
    }

    private Seq2Seq(ModelConfig config, Network encoder, Network decoder, DecodeLoop.Pool loop) {
        this.loop = loop;
        this.config = config;
        this.encoder = encoder;
        this.decoder = decoder;
        this.source = new Vocabulary(config.vocab());
        this.target = new Vocabulary(config.outputVocab());
    }

    /**
     * A view of this model for servers: the greedy decoding of concurrent calls ({@link #greedy},
     * {@link #translate} with beam 1) runs in shared batches (continuous batching: one loop thread per core
     * steps every sequence handed to it; a caller that finds the loops idle decodes alone, a sequence joins at a step boundary and leaves at its end token);
     * sources are encoded on the caller's thread, beam search runs as in this model. Tokens equal this
     * model's. An interrupted caller's sequences leave at the next step
     * ({@link java.util.concurrent.CancellationException}). The view shares this model's weights and must
     * be closed (which stops its loops only) before this model is.
     *
     * @param listener told of every batched step (see {@link BatchingExecutor.StepListener}), or null
     * @return the view, to close
     * @throws IllegalArgumentException if the weights are bfloat16 (the executor packs float32)
     * @throws IllegalStateException if this model is closed
     */
    public Seq2Seq batching(BatchingExecutor.StepListener listener) {
        encoder.enter("batching");
        try {
            // Sources are encoded on the caller's thread as in this model; greedy decoding in the shared batch.
            return new Seq2Seq(config, encoder, decoder, new DecodeLoop.Pool(decoder, listener));
        } finally {
            encoder.exit();
        }
    }

    /**
     * Loads {@code dir/model.json} (structure {@code seq2seq}) and {@code dir/weights.safetensors},
     * strictly: a tensor of the file that neither the encoder nor the decoder uses is an error naming it.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid; the message names the file
     * @throws IllegalArgumentException if the weights do not fit the config; the message names the tensor
     */
    public static Seq2Seq load(Path dir, Backend backend) throws IOException {
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
    public static Seq2Seq load(Path dir, Backend backend, LoadOptions options) throws IOException {
        ModelConfig cfg = Network.config(dir, ModelConfig.Structure.SEQ2SEQ);
        try (SafeTensors w = Network.weights(dir)) {
            return load(cfg, w.asStateDict(), backend, options);
        }
    }

    /**
     * The model {@code cfg} describes, from {@code weights}: every tensor must be used by a part of it.
     *
     * @param cfg     the config, of structure {@code seq2seq}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config, or the encoder's state not the decoder's
     */
    public static Seq2Seq load(ModelConfig cfg, StateDict weights, Backend backend) {
        return load(cfg, weights, backend, LoadOptions.strict());
    }

    /**
     * {@link #load(ModelConfig, StateDict, Backend)} with {@code options} for the tensors no part of the model uses.
     *
     * @param cfg     the config, of structure {@code seq2seq}
     * @param weights the tensors, copied at load
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param options what to do with tensors no part uses
     * @return the model, to close
     * @throws IllegalArgumentException if the weights do not fit the config, or the encoder's state not the decoder's
     */
    public static Seq2Seq load(ModelConfig cfg, StateDict weights, Backend backend, LoadOptions options) {
        Objects.requireNonNull(cfg, "config");
        Objects.requireNonNull(options, "options");
        if (cfg.structure() != ModelConfig.Structure.SEQ2SEQ) throw new IllegalArgumentException(cfg.file() + ": not a seq2seq model");
        if (cfg.encoder().embedding() == null || cfg.decoder().embedding() == null) {
            throw new IllegalArgumentException(cfg.file() + ": encoder and decoder each need \"embedding\"");
        }
        Network enc = Network.load(cfg, "encoder", cfg.encoder(), weights, true, backend);
        Network dec;
        try {
            dec = Network.load(cfg, "decoder", cfg.decoder(), weights, false, backend);
        } catch (Throwable e) {
            enc.close();
            throw e;
        }
        try {
            LayerSpec es = enc.spec(), ds = dec.spec();
            String err = null;
            if (es.mode() != ds.mode()) err = "encoder (" + es.mode() + ") and decoder (" + ds.mode() + ") must be the same kind of cell";
            else if (ds.bidirectional()) err = "the decoder cannot be bidirectional";
            else if (es.numLayers() * es.directions() != ds.numLayers() || es.outputSize() != ds.outputSize() || es.hiddenSize() != ds.hiddenSize()) {
                err = "the encoder's final state (" + es.numLayers() * es.directions() + " × " + es.outputSize() + ") must fit the decoder's initial state ("
                        + ds.numLayers() + " × " + ds.outputSize() + ")";
            } else if (enc.embedding.size() != cfg.vocab().size()) err = "\"input_vocab\" has " + cfg.vocab().size() + " tokens, the encoder embedding " + enc.embedding.size();
            else if (dec.embedding.size() != cfg.outputVocab().size()) err = "\"output_vocab\" has " + cfg.outputVocab().size() + " tokens, the decoder embedding " + dec.embedding.size();
            else if (dec.head.outFeatures() != cfg.outputVocab().size()) err = "\"output_vocab\" has " + cfg.outputVocab().size() + " tokens, the decoder head gives " + dec.head.outFeatures();
            if (err != null) throw new IllegalArgumentException(cfg.file() + ": " + err);
            java.util.Set<String> used = enc.used(cfg.encoder());
            used.addAll(dec.used(cfg.decoder()));
            Network.checkUsed(cfg, "seq2seq model", weights, options, used, enc, dec);
            return new Seq2Seq(cfg, enc, dec);
        } catch (Throwable e) {
            enc.close();
            dec.close();
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
     * The encoder's vocabulary ({@code input_vocab}).
     *
     * @return the vocabulary
     */
    public Vocabulary sourceVocabulary() {
        return source;
    }

    /**
     * The decoder's vocabulary ({@code output_vocab}).
     *
     * @return the vocabulary
     */
    public Vocabulary targetVocabulary() {
        return target;
    }

    /**
     * The most tokens {@link #translate} generates ({@code max_output_length}).
     *
     * @return the length
     */
    public int maxOutputLength() {
        return config.maxOutputLength();
    }

    /**
     * A beam search result: tokens without {@code <bos>}, with {@code <eos>} when it was reached; the summed log-probability.
     *
     * @param tokens the generated token ids
     * @param score  the sum of their log-probabilities
     */
    public record Beam(int[] tokens, float score) {}

    /** The decoder's state per sample: (layers, B, P) and, for LSTM, (layers, B, hidden). */
    private record DecoderState(Tensor h, Tensor c) {}

    private DecoderState encode(Arena a, int[][] sources, int rows) {
        encoder.checkTokens("sources", sources);
        int B = sources.length, T = 0;
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++) {
            if (sources[b].length == 0) throw new IllegalArgumentException("sources[" + b + "] is empty");
            lengths[b] = sources[b].length;
            T = Math.max(T, lengths[b]);
        }
        LayerSpec es = encoder.spec(), ds = decoder.spec();
        int E = encoder.embedding.dim();
        Tensor x = Tensor.allocate(a, B, T, E);
        encoder.embed(sources, T, false, x.reshape(B * T, E));
        Tensor o = Tensor.allocate(a, B, T, es.directions() * es.outputSize());
        Tensor h = Tensor.allocate(a, ds.numLayers(), rows, ds.outputSize());
        Tensor c = es.mode() == Mode.LSTM ? Tensor.allocate(a, ds.numLayers(), rows, ds.hiddenSize()) : null;
        final int finalT = T;
        boolean full = Arrays.stream(lengths).allMatch(l -> l == finalT);
        if (rows == B) {
            encoder.forward(x, null, null, full ? null : lengths, o, h, c);
        } else { // one source, `rows` beams: encode once, copy the state into every row
            Tensor h1 = Tensor.allocate(a, ds.numLayers(), 1, ds.outputSize());
            Tensor c1 = c == null ? null : Tensor.allocate(a, ds.numLayers(), 1, ds.hiddenSize());
            encoder.forward(x, null, null, null, o, h1, c1);
            for (int l = 0; l < ds.numLayers(); l++) {
                for (int r = 0; r < rows; r++) {
                    h.slice(l).rows(r, r + 1).copyFrom(h1.slice(l));
                    if (c != null) c.slice(l).rows(r, r + 1).copyFrom(c1.slice(l));
                }
            }
        }
        return new DecoderState(h, c);
    }

    /**
     * Batched greedy decoding: for each source, the tokens generated (argmax, ties to the lowest id) up
     * to and including {@code <eos>}, or {@code maxLength} tokens when it never comes.
     *
     * @param sources   the source token ids, one non-empty row per sample
     * @param maxLength the most tokens to generate per sample, in 1..{@link ModelConfig#MAX_OUTPUT_LENGTH}
     * @return the generated tokens per sample
     * @throws IllegalArgumentException if a source is empty or has an id outside the vocabulary, or a length is out of range
     */
    public int[][] greedy(int[][] sources, int maxLength) {
        encoder.enter("greedy");
        try {
            return greedy0(sources, maxLength);
        } finally {
            encoder.exit();
        }
    }

    private int[][] greedy0(int[][] sources, int maxLength) {
        if (loop == null || !loop.trySolo()) return greedy1(sources, maxLength, loop);
        try {
            return greedy1(sources, maxLength, null); // alone: as the model does
        } finally {
            loop.endSolo();
        }
    }

    /** {@code loop}: the decoding loops of a batching view, or null to decode on this thread. */
    private int[][] greedy1(int[][] sources, int maxLength, DecodeLoop.Pool loop) {
        Objects.requireNonNull(sources, "sources");
        checkMax(maxLength);
        int B = sources.length;
        ModelConfig.checkGeneratedTokens("greedy", "sources", B, "maxLength", maxLength);
        if (B == 0) return new int[0][];
        int V = target.size(), E = decoder.embedding.dim(), P = decoder.spec().outputSize();
        int[][] out = new int[B][0]; // grown as tokens come
        int[] count = new int[B];
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            DecoderState st = loop != null ? loop.prefill(() -> encode(a, sources, B)) : encode(a, sources, B);
            if (loop != null && maxLength > 0) { // a batching view: decoded in the shared batch
                DecodeLoop.Request[] reqs = new DecodeLoop.Request[B];
                for (int b = 0; b < B; b++) reqs[b] = loop.request(st.h, st.c, b, config.bos(), 0, out[b], Decoding.greedy(), null, maxLength, config.eos(), null);
                Network.stopIfInterrupted("greedy", 0);
                loop.decode(reqs);
                int[][] res = new int[B][];
                for (int b = 0; b < B; b++) res[b] = Arrays.copyOf(reqs[b].out, reqs[b].count);
                return res;
            }
            Tensor x = Tensor.allocate(a, 1, B, E), o = Tensor.allocate(a, 1, B, P), logits = Tensor.allocate(a, B, V);
            Tensor om = o.reshape(B, P);
            int[] next = new int[B];
            Arrays.fill(next, config.bos());
            boolean[] done = new boolean[B];
            int running = B;
            for (int step = 0; step < maxLength && running > 0; step++) {
                Network.stopIfInterrupted("greedy", step);
                for (int b = 0; b < B; b++) decoder.embedding.copyRow(next[b], x.segment(), x.offset() + (long) b * x.ld());
                decoder.forward(x, st.h, st.c, null, o, st.h, st.c);
                decoder.head.forward(om, logits);
                Heads.argmax(logits, next);
                for (int b = 0; b < B; b++) {
                    if (done[b]) continue;
                    out[b] = ModelConfig.roomForOne(out[b], count[b], maxLength);
                    out[b][count[b]++] = next[b];
                    if (next[b] == config.eos()) {
                        done[b] = true;
                        running--;
                    }
                }
            }
        }
        int[][] res = new int[B][];
        for (int b = 0; b < B; b++) res[b] = Arrays.copyOf(out[b], count[b]);
        return res;
    }

    /**
     * Teacher forcing: the decoder fed {@code decoderInputs[b]} (all of one length T, usually {@code <bos>}
     * followed by the target) from each source's encoding; returns logits {@code [B][T][vocab]}.
     *
     * @param sources       the source token ids, one non-empty row per sample
     * @param decoderInputs the decoder's input token ids, one row per source, all of one length
     * @return the logits
     * @throws IllegalArgumentException if the counts or lengths do not match, or an id is outside its vocabulary
     */
    public float[][][] decoderLogits(int[][] sources, int[][] decoderInputs) {
        encoder.enter("decoderLogits");
        try {
            return decoderLogits0(sources, decoderInputs);
        } finally {
            encoder.exit();
        }
    }

    private float[][][] decoderLogits0(int[][] sources, int[][] decoderInputs) {
        Objects.requireNonNull(sources, "sources");
        Objects.requireNonNull(decoderInputs, "decoderInputs");
        if (decoderInputs.length != sources.length) {
            throw new IllegalArgumentException("decoderInputs has " + decoderInputs.length + " sequences, sources " + sources.length);
        }
        decoder.checkTokens("decoderInputs", decoderInputs);
        int B = sources.length;
        if (B == 0) return new float[0][][];
        int T = decoderInputs[0].length;
        for (int b = 0; b < B; b++) {
            if (decoderInputs[b].length != T || T == 0) {
                throw new IllegalArgumentException("decoderInputs must all have one non-zero length: [0] has " + T + ", [" + b + "] has " + decoderInputs[b].length);
            }
        }
        int V = target.size(), E = decoder.embedding.dim(), P = decoder.spec().outputSize();
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            DecoderState st = encode(a, sources, B);
            Tensor x = Tensor.allocate(a, T, B, E), o = Tensor.allocate(a, T, B, P), logits = Tensor.allocate(a, T * B, V);
            decoder.embed(decoderInputs, T, true, x.reshape(T * B, E));
            decoder.forward(x, st.h, st.c, null, o, st.h, st.c);
            decoder.head.forward(o.reshape(T * B, P), logits);
            return Network.perStep(logits, T, B, null);
        }
    }

    /**
     * Beam search for one source. Each step extends every alive beam by every token; the {@code width}
     * best candidates (score descending, then beam index, then token id) survive; one ending in
     * {@code <eos>} is finished. It stops when {@code width} beams have finished, none is alive, or after
     * {@code maxLength} tokens. The result is the best finished beam (the first finished among equals),
     * else the best alive one. Width 1 gives greedy decoding.
     *
     * @param src       the source token ids, non-empty
     * @param width     the beam width, in 1..1024
     * @param maxLength the most tokens to generate, in 1..{@link ModelConfig#MAX_OUTPUT_LENGTH}
     * @return the best beam
     * @throws IllegalArgumentException if the source is empty or has an id outside the vocabulary, or width or length is out of range
     */
    public Beam beamSearch(int[] src, int width, int maxLength) {
        encoder.enter("beamSearch");
        try {
            return beamSearch0(src, width, maxLength);
        } finally {
            encoder.exit();
        }
    }

    private Beam beamSearch0(int[] src, int width, int maxLength) {
        Objects.requireNonNull(src, "source");
        checkMax(maxLength);
        if (width < 1 || width > 1024) throw new IllegalArgumentException("beam width must be in 1..1024, got " + width);
        int V = target.size(), E = decoder.embedding.dim(), P = decoder.spec().outputSize(), L = decoder.spec().numLayers(), W = width;
        int eos = config.eos();
        try (Arena a = dev.panamarnn.Arenas.confined()) {
            DecoderState cur = encode(a, new int[][] {src}, W);
            DecoderState nxt = new DecoderState(Tensor.allocate(a, L, W, P), cur.c == null ? null : Tensor.allocate(a, L, W, decoder.spec().hiddenSize()));
            Tensor x = Tensor.allocate(a, 1, W, E), o = Tensor.allocate(a, 1, W, P), logits = Tensor.allocate(a, W, V);
            Tensor om = o.reshape(W, P);
            int cap = Math.min(maxLength, 16); // the beams' rows grow with their length, not maxLength up front
            int[][] seq = new int[W][cap], seqNext = new int[W][cap];
            float[] score = new float[W], scoreNext = new float[W];
            int[] parent = new int[W], token = new int[W];
            float[] candScore = new float[W];
            int alive = 1, len = 0;
            List<Beam> finished = new ArrayList<>();
            int[] last = new int[W];
            Arrays.fill(last, config.bos());
            for (int step = 0; step < maxLength; step++) {
                Network.stopIfInterrupted("beamSearch", step);
                for (int r = 0; r < W; r++) decoder.embedding.copyRow(last[Math.min(r, alive - 1)], x.segment(), x.offset() + (long) r * x.ld());
                decoder.forward(x, cur.h, cur.c, null, o, cur.h, cur.c);
                decoder.head.forward(om, logits);
                Heads.logSoftmax(logits, logits);
                // The W best (score, beam, token) over alive × V, in order.
                int picked = 0;
                for (int k = 0; k < W; k++) {
                    int bb = -1, bt = -1;
                    float bs = 0;
                    for (int bi = 0; bi < alive; bi++) {
                        long row = logits.offset() + (long) bi * logits.ld();
                        for (int t = 0; t < V; t++) {
                            float sc = score[bi] + logits.segment().getAtIndex(ValueLayout.JAVA_FLOAT, row + t);
                            if (sc != sc) continue;
                            // Candidates are totally ordered; the k-th pick is the best one after pick k-1.
                            if (picked > 0 && !better(candScore[picked - 1], parent[picked - 1], token[picked - 1], sc, bi, t)) continue;
                            if (bb < 0 || better(sc, bi, t, bs, bb, bt)) {
                                bs = sc;
                                bb = bi;
                                bt = t;
                            }
                        }
                    }
                    if (bb < 0) break;
                    candScore[picked] = bs;
                    parent[picked] = bb;
                    token[picked] = bt;
                    picked++;
                }
                len++;
                if (len > cap) {
                    cap = (int) Math.min(maxLength, 2L * cap);
                    for (int r = 0; r < W; r++) {
                        seq[r] = Arrays.copyOf(seq[r], cap);
                        seqNext[r] = Arrays.copyOf(seqNext[r], cap);
                    }
                }
                int nAlive = 0;
                for (int k = 0; k < picked; k++) {
                    int bi = parent[k];
                    if (token[k] == eos) {
                        int[] toks = Arrays.copyOf(seq[bi], len);
                        toks[len - 1] = eos;
                        finished.add(new Beam(toks, candScore[k]));
                    } else {
                        System.arraycopy(seq[bi], 0, seqNext[nAlive], 0, len - 1);
                        seqNext[nAlive][len - 1] = token[k];
                        scoreNext[nAlive] = candScore[k];
                        for (int l = 0; l < L; l++) {
                            nxt.h.slice(l).rows(nAlive, nAlive + 1).copyFrom(cur.h.slice(l).rows(bi, bi + 1));
                            if (nxt.c != null) nxt.c.slice(l).rows(nAlive, nAlive + 1).copyFrom(cur.c.slice(l).rows(bi, bi + 1));
                        }
                        nAlive++;
                    }
                }
                int[][] ts = seq; seq = seqNext; seqNext = ts;
                float[] tf = score; score = scoreNext; scoreNext = tf;
                DecoderState td = cur; cur = nxt; nxt = td;
                alive = nAlive;
                for (int k = 0; k < alive; k++) last[k] = seq[k][len - 1];
                if (finished.size() >= W || alive == 0) break;
            }
            if (!finished.isEmpty()) {
                Beam best = finished.get(0);
                for (Beam f : finished) if (f.score() > best.score()) best = f;
                return best;
            }
            return new Beam(Arrays.copyOf(seq[0], len), score[0]);
        }
    }

    /** Candidate (s, b, t) ranks before (s2, b2, t2): higher score, then lower beam, then lower token. */
    private static boolean better(float s, int b, int t, float s2, int b2, int t2) {
        if (s != s2) return s > s2;
        if (b != b2) return b < b2;
        return t < t2;
    }

    /**
     * Text in, text out: greedy (width 1) or beam search.
     *
     * @param text      the source text, in the source vocabulary's characters
     * @param beamWidth the beam width; 1 or less for greedy
     * @return the translation
     * @throws IllegalArgumentException if the text is empty or a character is not in the vocabulary
     */
    public String translate(String text, int beamWidth) {
        int[] src = source.encode(text);
        if (src.length == 0) throw new IllegalArgumentException("translate: empty input");
        int[] toks = beamWidth <= 1 ? greedy(new int[][] {src}, maxOutputLength())[0] : beamSearch(src, beamWidth, maxOutputLength()).tokens();
        return target.decode(toks);
    }

    private static void checkMax(int maxLength) {
        if (maxLength < 1 || maxLength > ModelConfig.MAX_OUTPUT_LENGTH) {
            throw new IllegalArgumentException("maxLength must be in 1.." + ModelConfig.MAX_OUTPUT_LENGTH + ", got " + maxLength);
        }
    }

    @Override
    public void close() {
        if (loop != null) {
            loop.close(); // a view: the weights are the model's it came from
            return;
        }
        encoder.close();
        decoder.close();
    }
}
