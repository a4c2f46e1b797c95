package dev.panamarnn.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.app.Vocabulary;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.onnx.OnnxApps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One served model: the loaded model and its batching view (or a layer and its {@link BatchingExecutor}),
 * the platform threads its requests compute on, and the admission limit. {@code maxBatch} threads call the
 * view at once, so up to that many requests share each time step (continuous batching: a request joins
 * the batch at a step boundary and leaves when its sequences end); up to {@code maxQueue} more wait for a
 * thread; beyond that a request is refused ({@link #tryAdmit}).
 */
final class ServedModel implements AutoCloseable {
    /** What a model directory or layer file holds, and the operations it serves. */
    enum Kind {
        CLASSIFIER("classify"), LANGUAGE_MODEL("generate"), SEQ2SEQ("translate"), LAYER("forward"), CUSTOM(null);

        final String op;

        Kind(String op) {
            this.op = op;
        }
    }

    /** Most sequences (or texts) in one request. */
    static final int MAX_SEQUENCES = 256;
    /** Most steps in one sequence. */
    static final int MAX_STEPS = 100_000;
    /** Widest beam. */
    static final int MAX_BEAM = 16;

    final String name;
    final Kind kind;
    final int maxBatch, maxQueue;
    private final AutoCloseable base;
    private final SequenceClassifier classifier;
    private final LanguageModel lm;
    private final Seq2Seq s2s;
    private final RecurrentLayer layer;
    private final BatchingExecutor executor;
    private final CustomModel custom;
    private final ExecutorService pool;
    private final Semaphore slots;
    /** Admitted and not yet finished; waiting for a thread (admitted, not started). */
    final AtomicInteger inFlight = new AtomicInteger(), queued = new AtomicInteger();

    /**
     * A request's computation, run on the model's threads, and the type of what it returns; a streaming
     * job instead puts JSON lines ({@link String}), then a {@link Done} or the {@link Throwable} that ended
     * it, into {@code stream}.
     */
    record Job(Callable<byte[]> work, String contentType, BlockingQueue<Object> stream) {
        Job(Callable<byte[]> work, String contentType) {
            this(work, contentType, null);
        }
    }

    /** The last line of a stream. */
    record Done(String line) {}

    private ServedModel(String name, Kind kind, int maxBatch, int maxQueue, AutoCloseable base, SequenceClassifier classifier, LanguageModel lm,
                        Seq2Seq s2s, RecurrentLayer layer, BatchingExecutor executor) {
        this(name, kind, maxBatch, maxQueue, base, classifier, lm, s2s, layer, executor, null);
    }

    /** Serves a {@link CustomModel}. */
    ServedModel(CustomModel m) {
        this(m.name(), Kind.CUSTOM, m.maxBatch(), m.maxQueue(), m, null, null, null, null, null, m);
        new ModelSpec(m.name(), Path.of("."), null, null, m.maxBatch(), m.maxQueue(), false); // checks name and limits
    }

    private ServedModel(String name, Kind kind, int maxBatch, int maxQueue, AutoCloseable base, SequenceClassifier classifier, LanguageModel lm,
                        Seq2Seq s2s, RecurrentLayer layer, BatchingExecutor executor, CustomModel custom) {
        this.custom = custom;
        this.name = name;
        this.kind = kind;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.base = base;
        this.classifier = classifier;
        this.lm = lm;
        this.s2s = s2s;
        this.layer = layer;
        this.executor = executor;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "panama-rnn-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = Executors.newFixedThreadPool(maxBatch, tf);
        this.slots = new Semaphore(maxBatch + maxQueue);
    }

    /**
     * Loads what {@code spec} names: a model directory (its {@code model.json} says which application
     * structure; weights from safetensors or ONNX) or a layer's safetensors file.
     */
    static ServedModel load(ModelSpec spec, Backend backend, BatchingExecutor.StepListener listener) throws IOException {
        if (spec.layerFile() != null) {
            return closingOnFailure(RecurrentLayer.load(spec.layerFile(), RecurrentLayer.loader().backend(backend).mode(spec.layerMode())),
                    layer -> new ServedModel(spec.name(), Kind.LAYER, spec.maxBatch(), spec.maxQueue(), layer, null, null, null, layer,
                            spec.batching() ? new BatchingExecutor(layer, listener) : null));
        }
        Path dir = spec.dir();
        ModelConfig cfg = ModelConfig.read(dir.resolve("model.json"));
        boolean onnx = OnnxApps.hasOnnxWeights(dir);
        String n = spec.name();
        int mb = spec.maxBatch(), mq = spec.maxQueue();
        boolean on = spec.batching();
        switch (cfg.structure()) {
            case N_VS_1 -> {
                return closingOnFailure(onnx ? OnnxApps.classifier(dir, backend) : SequenceClassifier.load(dir, backend),
                        m -> new ServedModel(n, Kind.CLASSIFIER, mb, mq, m, on ? m.batching(listener) : m, null, null, null, null));
            }
            case LM -> {
                return closingOnFailure(onnx ? OnnxApps.languageModel(dir, backend) : LanguageModel.load(dir, backend),
                        m -> new ServedModel(n, Kind.LANGUAGE_MODEL, mb, mq, m, null, on ? m.batching(listener) : m, null, null, null));
            }
            case SEQ2SEQ -> {
                return closingOnFailure(onnx ? OnnxApps.seq2seq(dir, backend) : Seq2Seq.load(dir, backend),
                        m -> new ServedModel(n, Kind.SEQ2SEQ, mb, mq, m, null, null, on ? m.batching(listener) : m, null, null));
            }
            default -> throw new IllegalArgumentException(dir.resolve("model.json") + ": structure " + cfg.structure() + " is not served");
        }
    }

    /** The operation served. */
    String operation() {
        return custom != null ? custom.operation() : kind.op;
    }

    /** {@code make(model)}, closing the model when that fails. */
    private static <M extends AutoCloseable> ServedModel closingOnFailure(M model, java.util.function.Function<M, ServedModel> make) {
        try {
            return make.apply(model);
        } catch (Throwable e) {
            try {
                model.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Whether concurrent requests share time steps: the model is served through a view, or the layer through an executor. */
    private boolean batching() {
        AutoCloseable served = classifier != null ? classifier : lm != null ? lm : s2s;
        return served != null ? served != base : executor != null;
    }

    /** A place in this model's batch or queue, or false when both are full. */
    boolean tryAdmit() {
        return slots.tryAcquire();
    }

    /** Gives back a place {@link #tryAdmit} took. */
    void release() {
        slots.release();
    }

    /** Runs an admitted job on this model's threads. */
    java.util.concurrent.Future<byte[]> submit(Job job) {
        queued.incrementAndGet();
        return pool.submit(() -> {
            queued.decrementAndGet();
            return job.work().call();
        });
    }

    /**
     * Warms the model up: synthetic requests through its own path (the body parsed and checked, the job on
     * the model's threads, the batching view or executor), 1, 2, 4 … {@code maxBatch} at once, for about
     * {@code budget} in all. The JIT compiles the code real traffic runs, at the batch sizes it brings,
     * before the first client waits on it: without this, the first seconds at a new concurrency stalled
     * for up to half a second while hot methods were compiled again. Custom models are not warmed.
     *
     * @return the synthetic requests run, or -1 for a custom model
     * @throws IllegalStateException if a synthetic request fails (the model cannot serve)
     */
    int warmUp(java.time.Duration budget) throws InterruptedException {
        if (kind == Kind.CUSTOM || budget.isZero()) return kind == Kind.CUSTOM ? -1 : 0;
        List<Integer> levels = new ArrayList<>();
        for (int k = 1; k < maxBatch; k *= 2) levels.add(k);
        levels.add(maxBatch);
        long perLevel = budget.toNanos() / levels.size();
        int run = 0, i = 0;
        for (int k : levels) {
            long end = System.nanoTime() + perLevel;
            do { // rounds of k requests at once, at least one
                List<java.util.concurrent.Future<byte[]>> fs = new ArrayList<>(k);
                for (int j = 0; j < k; j++) fs.add(submit(warmUpJob(i++)));
                for (java.util.concurrent.Future<byte[]> f : fs) {
                    try {
                        f.get(1, TimeUnit.MINUTES);
                    } catch (java.util.concurrent.ExecutionException e) {
                        throw new IllegalStateException(name + ": a warm-up request failed: " + e.getCause(), e.getCause());
                    } catch (java.util.concurrent.TimeoutException e) {
                        throw new IllegalStateException(name + ": a warm-up request took more than a minute", e);
                    }
                }
                run += k;
            } while (System.nanoTime() < end);
        }
        return run;
    }

    /** The {@code i}-th synthetic request: what a client could send, of varying size. */
    private Job warmUpJob(int i) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        switch (kind) {
            case LANGUAGE_MODEL -> {
                o.put("prompt", sampleText(lm.vocabulary(), i, 0));
                if (i % 4 == 3) o.put("temperature", 0.8).put("seed", i);
                if (i % 8 == 5) o.put("stream", true);
            }
            case SEQ2SEQ -> o.put("text", sampleText(s2s.sourceVocabulary(), i, 1));
            case CLASSIFIER -> {
                if (classifier.takesTokens()) o.put("text", sampleText(new Vocabulary(classifier.config().vocab()), i, 1));
                else o.set("inputs", Json.MAPPER.valueToTree(sampleSteps(1 + i % 2, 4 + i % 13, classifier.inputSize(), false)));
            }
            case LAYER -> o.set("input", Json.MAPPER.valueToTree(sampleSteps(1 + i % 2, 4 + i % 13, layer.spec().inputSize(), !layer.spec().batchFirst())));
            default -> throw new IllegalStateException(kind.toString());
        }
        Job job;
        try {
            job = prepare(operation(), Json.MAPPER.writeValueAsBytes(o), "application/json");
        } catch (IOException | BadRequest e) { // a JSON body: no I/O; a bad one is this method's bug
            throw new IllegalStateException(name + ": a warm-up request was refused: " + e.getMessage(), e);
        }
        if (job.stream() == null) return job;
        return new Job(() -> { // a stream's lines go nowhere
            job.work().call();
            return new byte[0];
        }, job.contentType());
    }

    /** A text of the vocabulary's one-character tokens, 0..11 characters long plus {@code min}. */
    private static String sampleText(Vocabulary v, int i, int min) {
        List<String> chars = v.tokens().stream().filter(t -> t.codePointCount(0, t.length()) == 1).toList();
        if (chars.isEmpty()) return "";
        StringBuilder b = new StringBuilder();
        int n = min + (i * 7) % 12;
        for (int j = 0; j < n; j++) b.append(chars.get((i * 31 + j * 17) % chars.size()));
        return b.toString();
    }

    /** {@code B} sequences of {@code T} steps of {@code I} numbers, as (B, T, I), or (T, B, I) when {@code timeMajor}. */
    private static float[][][] sampleSteps(int B, int T, int I, boolean timeMajor) {
        float[][][] x = timeMajor ? new float[T][B][I] : new float[B][T][I];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int k = 0; k < I; k++) (timeMajor ? x[t][b] : x[b][t])[k] = (float) Math.sin(0.7 * t + 1.3 * k + b);
            }
        }
        return x;
    }

    /** What the model says about itself at {@code GET /v1/models}. */
    ObjectNode describe() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("name", name);
        o.put("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
        o.put("operation", operation());
        o.put("max_batch", maxBatch);
        o.put("max_queue", maxQueue);
        o.put("batching", batching());
        if (layer != null) o.put("layer", layer.spec().toString());
        return o;
    }

    /**
     * Parses and checks a request body for {@code op} (on the request's thread, before admission) and
     * returns the computation to run.
     *
     * @throws BadRequest naming the field
     * @throws UnknownOperation when this model does not serve {@code op}
     */
    Job prepare(String op, byte[] body, String contentType) throws IOException {
        if (!op.equals(operation())) throw new UnknownOperation(name + " is a " + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                + " model; it serves " + operation() + ", not " + op);
        return switch (kind) {
            case CUSTOM -> {
                try {
                    yield new Job(custom.prepare(body), "application/json");
                } catch (IllegalArgumentException e) {
                    throw new BadRequest(Json.firstLine(e.getMessage()));
                }
            }
            case CLASSIFIER -> classify(body);
            case LANGUAGE_MODEL -> generate(body);
            case SEQ2SEQ -> translate(body);
            case LAYER -> isSafeTensors(contentType) ? forwardSafeTensors(body) : forwardJson(body);
        };
    }

    /** The model does not serve the operation asked for (404). */
    static final class UnknownOperation extends RuntimeException {
        UnknownOperation(String m) {
            super(m, null, false, false);
        }
    }

    static boolean isSafeTensors(String contentType) {
        if (contentType == null) return false;
        String t = contentType.toLowerCase(java.util.Locale.ROOT);
        return t.startsWith("application/x-safetensors") || t.startsWith("application/octet-stream");
    }

    // ------------------------------------------------------------------ classify

    private Job classify(byte[] body) {
        ObjectNode o = Json.object(body, Set.of("inputs", "input", "texts", "text"));
        SequenceClassifier c = classifier;
        int fields = (o.has("inputs") ? 1 : 0) + (o.has("input") ? 1 : 0) + (o.has("texts") ? 1 : 0) + (o.has("text") ? 1 : 0);
        if (fields != 1) {
            throw new BadRequest(c.takesTokens() ? "texts: give the texts to classify (\"texts\": [...] or \"text\": \"...\")"
                    : "inputs: give the sequences (\"inputs\": [[[...]]], each step " + c.inputSize() + " numbers, or \"input\": [[...]])");
        }
        if (c.takesTokens()) {
            if (o.has("inputs") || o.has("input")) throw new BadRequest("inputs: this model reads text; give \"texts\" or \"text\"");
            String[] texts = o.has("texts") ? Json.texts(o, "texts", MAX_SEQUENCES) : new String[] {Json.text(o, "text")};
            if (texts[0] == null) throw new BadRequest("text: expected a string");
            Vocabulary v = new Vocabulary(c.config().vocab());
            int[][] tokens = new int[texts.length][];
            for (int i = 0; i < texts.length; i++) {
                String f = o.has("texts") ? "texts[" + i + "]" : "text";
                if (texts[i].isEmpty()) throw new BadRequest(f + ": empty");
                try {
                    tokens[i] = v.encode(texts[i]);
                } catch (IllegalArgumentException e) {
                    throw new BadRequest(f + ": " + Json.firstLine(e.getMessage()));
                }
            }
            return json(() -> classified(c.logits(tokens)));
        }
        if (o.has("texts") || o.has("text")) throw new BadRequest("texts: this model reads feature sequences; give \"inputs\" or \"input\"");
        float[][][] seqs = o.has("inputs") ? Json.tensor3(o.get("inputs"), "inputs", c.inputSize(), true)
                : new float[][][] {Json.matrix(o.get("input"), "input", c.inputSize())};
        checkSizes(seqs, o.has("inputs") ? "inputs" : "input");
        return json(() -> classified(c.logits(seqs)));
    }

    private static void checkSizes(float[][][] seqs, String field) {
        if (seqs.length > MAX_SEQUENCES) throw new BadRequest(field + ": at most " + MAX_SEQUENCES + " sequences per request, got " + seqs.length);
        for (int i = 0; i < seqs.length; i++) {
            if (seqs[i].length > MAX_STEPS) throw new BadRequest(field + "[" + i + "]: at most " + MAX_STEPS + " steps, got " + seqs[i].length);
        }
    }

    private ObjectNode classified(float[][] logits) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode preds = r.putArray("predictions");
        int[] best = SequenceClassifier.argmax(logits);
        for (int i = 0; i < logits.length; i++) {
            ObjectNode p = preds.addObject();
            p.put("label", classifier.labels().get(best[i]));
            p.put("probability", SequenceClassifier.probabilities(logits[i])[best[i]]);
            p.set("logits", Json.array(logits[i]));
        }
        return r;
    }

    // ------------------------------------------------------------------ generate

    private Job generate(byte[] body) {
        ObjectNode o = Json.object(body, Set.of("prompt", "max_new", "temperature", "seed", "stream"));
        String prompt = Json.text(o, "prompt");
        if (prompt == null) prompt = "";
        int maxNew = Json.integer(o, "max_new", lm.config().maxOutputLength(), 0, ModelConfig.MAX_OUTPUT_LENGTH);
        double temperature = Json.number(o, "temperature", 0, 0, 100);
        long seed = Json.integer(o, "seed", 1, Integer.MIN_VALUE, Integer.MAX_VALUE);
        try {
            lm.prompt(prompt); // checks the characters now: a 400 before admission
        } catch (IllegalArgumentException e) {
            throw new BadRequest("prompt: " + Json.firstLine(e.getMessage()));
        }
        String p = prompt;
        Decoding d = temperature == 0 ? Decoding.greedy() : Decoding.temperature(temperature, seed);
        if (Json.bool(o, "stream")) {
            // NDJSON: {"token": "..."} per token as it is made, then {"done": true, "text": "..."}.
            BlockingQueue<Object> q = new LinkedBlockingQueue<>();
            Vocabulary v = lm.vocabulary();
            Callable<byte[]> work = () -> {
                try {
                    int[] out = lm.generate(new int[][] {lm.prompt(p)}, d, maxNew,
                            (b, tok) -> q.add(Json.MAPPER.createObjectNode().put("token", v.decode(new int[] {tok})).toString()))[0];
                    q.add(new Done(Json.MAPPER.createObjectNode().put("done", true).put("text", v.decode(out)).toString()));
                } catch (Throwable e) {
                    q.add(e);
                    throw e;
                }
                return new byte[0];
            };
            return new Job(work, "application/x-ndjson", q);
        }
        return json(() -> {
            ObjectNode r = Json.MAPPER.createObjectNode();
            r.put("text", lm.generate(p, d, maxNew));
            return r;
        });
    }

    // ------------------------------------------------------------------ translate

    private Job translate(byte[] body) {
        ObjectNode o = Json.object(body, Set.of("text", "texts", "beam"));
        int beam = Json.integer(o, "beam", 1, 1, MAX_BEAM);
        if (o.has("text") == o.has("texts")) throw new BadRequest("text: give \"text\": \"...\" or \"texts\": [...]");
        String[] texts = o.has("texts") ? Json.texts(o, "texts", MAX_SEQUENCES) : new String[] {Json.text(o, "text")};
        if (texts[0] == null) throw new BadRequest("text: expected a string");
        Vocabulary v = s2s.sourceVocabulary();
        for (int i = 0; i < texts.length; i++) {
            String f = o.has("texts") ? "texts[" + i + "]" : "text";
            if (texts[i].isEmpty()) throw new BadRequest(f + ": empty");
            try {
                v.encode(texts[i]);
            } catch (IllegalArgumentException e) {
                throw new BadRequest(f + ": " + Json.firstLine(e.getMessage()));
            }
        }
        boolean many = o.has("texts");
        return json(() -> {
            ObjectNode r = Json.MAPPER.createObjectNode();
            if (!many) {
                r.put("translation", s2s.translate(texts[0], beam));
            } else {
                ArrayNode a = r.putArray("translations");
                for (String t : texts) a.add(s2s.translate(t, beam));
            }
            return r;
        });
    }

    // ------------------------------------------------------------------ forward

    private Job forwardJson(byte[] body) {
        ObjectNode o = Json.object(body, Set.of("input", "h0", "c0", "lengths"));
        LayerSpec s = layer.spec();
        float[][][] in = Json.tensor3(o.get("input"), "input", s.inputSize(), false);
        if (in == null) throw new BadRequest("input: required, " + (s.batchFirst() ? "(batch, seq_len, " : "(seq_len, batch, ") + s.inputSize() + ")");
        int d0 = in.length, d1 = in[0].length;
        int T = s.batchFirst() ? d1 : d0, B = s.batchFirst() ? d0 : d1;
        if (T > MAX_STEPS) throw new BadRequest("input: at most " + MAX_STEPS + " steps, got " + T);
        if (B > MAX_SEQUENCES) throw new BadRequest("input: at most " + MAX_SEQUENCES + " sequences, got " + B);
        int LD = s.numLayers() * s.directions();
        float[][][] h0 = state(o, "h0", LD, B, s.outputSize());
        float[][][] c0 = state(o, "c0", LD, B, s.hiddenSize());
        if (c0 != null && s.mode() != Mode.LSTM) throw new BadRequest("c0: only an LSTM has a cell state; this layer is " + s.mode());
        int[] lengths = null;
        JsonNode ln = o.get("lengths");
        if (ln != null && !ln.isNull()) {
            if (!ln.isArray() || ln.size() != B) throw new BadRequest("lengths: expected " + B + " integers (one per sequence)");
            lengths = new int[B];
            for (int b = 0; b < B; b++) {
                JsonNode v = ln.get(b);
                if (!v.isIntegralNumber() || v.intValue() < 1 || v.intValue() > T) throw new BadRequest("lengths[" + b + "]: expected an integer in 1.." + T);
                lengths[b] = v.intValue();
            }
        }
        int[] lens = lengths;
        return json(() -> {
            try (Arena a = Arena.ofConfined()) {
                Tensor x = Tensor.allocate(a, d0, d1, s.inputSize());
                for (int i = 0; i < d0; i++) for (int j = 0; j < d1; j++) for (int k = 0; k < s.inputSize(); k++) x.set(i * d1 + j, k, in[i][j][k]);
                Tensor th0 = h0 == null ? null : tensor(a, h0), tc0 = c0 == null ? null : tensor(a, c0);
                RecurrentLayer.Result res = executor != null ? executor.forward(a, x, th0, tc0, lens) : layer.forward(a, x, th0, tc0, lens);
                ObjectNode r = Json.MAPPER.createObjectNode();
                r.set("output", nested(res.output()));
                r.set("h_n", nested(res.hN()));
                if (res.cN() != null) r.set("c_n", nested(res.cN()));
                return r;
            }
        });
    }

    private static float[][][] state(ObjectNode o, String field, int LD, int B, int cols) {
        float[][][] v = Json.tensor3(o.get(field), field, cols, false);
        if (v == null) return null;
        if (v.length != LD || v[0].length != B) {
            throw new BadRequest(field + ": expected (" + LD + ", " + B + ", " + cols + "), got (" + v.length + ", " + v[0].length + ", " + cols + ")");
        }
        return v;
    }

    private static Tensor tensor(Arena a, float[][][] v) {
        int d0 = v.length, d1 = v[0].length, d2 = v[0][0].length;
        Tensor t = Tensor.allocate(a, d0, d1, d2);
        for (int i = 0; i < d0; i++) for (int j = 0; j < d1; j++) for (int k = 0; k < d2; k++) t.set(i * d1 + j, k, v[i][j][k]);
        return t;
    }

    private static ArrayNode nested(Tensor t) {
        int d0 = t.dim(0), d1 = t.dim(1), d2 = t.dim(2);
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (int i = 0; i < d0; i++) {
            ArrayNode m = a.addArray();
            for (int j = 0; j < d1; j++) {
                ArrayNode row = m.addArray();
                for (int k = 0; k < d2; k++) row.add(t.get(i * d1 + j, k));
            }
        }
        return a;
    }

    /** As {@code panama-rnn forward}: 'input' (F32), optional 'h0', 'c0', 'lengths'; returns 'output', 'h_n', 'c_n'. */
    private Job forwardSafeTensors(byte[] body) throws IOException {
        Path tmp = Files.createTempFile("panama-rnn-request", ".safetensors");
        try {
            Files.write(tmp, body);
            return forwardSafeTensors(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private Job forwardSafeTensors(Path file) throws IOException {
        // Read onto the heap here; the work allocates its native tensors in an arena it closes (a job cancelled
        // while queued then holds nothing native).
        Map<String, float[]> data = new java.util.HashMap<>();
        Map<String, int[]> shapes = new java.util.HashMap<>();
        int[] lengths = null;
        try (SafeTensors in = openBody(file)) {
            for (String n : in.names()) {
                if (!Set.of("input", "h0", "c0", "lengths").contains(n)) throw new BadRequest("body: unexpected tensor " + Json.quote(n) + " (expected input, h0, c0, lengths)");
            }
            if (!in.contains("input")) throw new BadRequest("input: the body holds no tensor 'input'");
            for (String n : new String[] {"input", "h0", "c0"}) {
                if (!in.contains(n)) continue;
                SafeTensors.Info info = in.info(n);
                if (info.dtype() != dev.panamarnn.io.DType.F32) throw new BadRequest(n + ": expected F32, got " + info.dtype());
                if (info.rank() != 3) throw new BadRequest(n + ": expected rank 3, got shape " + java.util.Arrays.toString(info.shape()));
                data.put(n, in.toFloatArray(n));
                shapes.put(n, info.shape());
            }
            if (in.contains("lengths")) {
                SafeTensors.Info info = in.info("lengths");
                if (info.dtype() != dev.panamarnn.io.DType.I64 && info.dtype() != dev.panamarnn.io.DType.I32) {
                    throw new BadRequest("lengths: expected I64 or I32, got " + info.dtype());
                }
                long[] l = in.toLongArray("lengths");
                lengths = new int[l.length];
                for (int i = 0; i < l.length; i++) lengths[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, l[i]));
            }
        } catch (IllegalArgumentException e) {
            throw new BadRequest("body: " + Json.firstLine(e.getMessage()));
        }
        int[] lens = lengths;
        // Shapes and lengths are checked by the executor's call, before it computes (IllegalArgumentException: 400).
        Callable<byte[]> work = () -> {
            try (Arena a = Arena.ofConfined()) {
                Tensor x = Tensor.of(a, data.get("input"), shapes.get("input"));
                Tensor h0 = data.containsKey("h0") ? Tensor.of(a, data.get("h0"), shapes.get("h0")) : null;
                Tensor c0 = data.containsKey("c0") ? Tensor.of(a, data.get("c0"), shapes.get("c0")) : null;
                RecurrentLayer.Result r = executor != null ? executor.forward(a, x, h0, c0, lens) : layer.forward(a, x, h0, c0, lens);
                SafeTensorsWriter w = new SafeTensorsWriter().add("output", r.output()).add("h_n", r.hN());
                if (r.cN() != null) w.add("c_n", r.cN());
                Path out = Files.createTempFile("panama-rnn-response", ".safetensors");
                try {
                    w.write(out);
                    return Files.readAllBytes(out);
                } finally {
                    Files.deleteIfExists(out);
                }
            }
        };
        return new Job(work, "application/x-safetensors");
    }

    private static SafeTensors openBody(Path file) {
        try {
            return SafeTensors.open(file);
        } catch (IOException | IllegalArgumentException e) {
            throw new BadRequest("body: not a safetensors file (" + Json.firstLine(e.getMessage()) + ")");
        }
    }

    private static Job json(Callable<ObjectNode> work) {
        return new Job(() -> Json.MAPPER.writeValueAsBytes(work.call()), "application/json");
    }

    /** Stops taking work, waits for the running jobs (up to {@code timeout}), then frees the model. */
    void close(java.time.Duration timeout) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) pool.shutdownNow();
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
        try {
            if (classifier != null && classifier != base) classifier.close();
            if (lm != null && lm != base) lm.close();
            if (s2s != null && s2s != base) s2s.close();
            if (executor != null) executor.close();
            base.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing " + name + ": " + e, e);
        }
    }

    @Override
    public void close() {
        close(java.time.Duration.ofSeconds(30));
    }
}
