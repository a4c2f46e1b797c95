package dev.panamarnn.bench.serve;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Vocabulary;
import dev.panamarnn.server.CustomModel;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The seq2seq demo model's greedy translation on ONNX Runtime (its encoder.onnx and decoder.onnx, one
 * session each, shared by the server's threads, one intra-op thread per run): the peer the load test
 * serves behind the same HTTP server as ours. Bench only.
 */
public final class OrtSeq2Seq implements CustomModel {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String name;
    private final int maxBatch, maxQueue;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    private final OrtSession encoder, decoder;
    private final Vocabulary source, target;
    private final int bos, eos, maxLength, hidden;

    /**
     * Opens the sessions.
     *
     * @param name     the served name
     * @param dir      a directory with model.json, encoder.onnx and decoder.onnx
     * @param maxBatch threads
     * @param maxQueue queue
     * @throws IOException if model.json cannot be read
     * @throws OrtException if a graph cannot be loaded
     */
    public OrtSeq2Seq(String name, Path dir, int maxBatch, int maxQueue) throws IOException, OrtException {
        this.name = name;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        ModelConfig cfg = ModelConfig.read(dir.resolve("model.json"));
        source = new Vocabulary(cfg.vocab());
        target = new Vocabulary(cfg.outputVocab());
        bos = cfg.bos();
        eos = cfg.eos();
        maxLength = cfg.maxOutputLength();
        hidden = cfg.decoder().hiddenSize();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1);
        o.setInterOpNumThreads(1);
        encoder = env.createSession(dir.resolve("encoder.onnx").toString(), o);
        decoder = env.createSession(dir.resolve("decoder.onnx").toString(), o);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String operation() {
        return "translate";
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public int maxQueue() {
        return maxQueue;
    }

    @Override
    public Callable<byte[]> prepare(byte[] body) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("body: not JSON");
        }
        if (n == null || !n.has("text") || !n.get("text").isTextual() || n.get("text").asText().isEmpty()) throw new IllegalArgumentException("text: expected a string");
        if (n.has("beam") && n.get("beam").asInt() != 1) throw new IllegalArgumentException("beam: this peer decodes greedily only");
        int[] src = source.encode(n.get("text").asText());
        return () -> JSON.writeValueAsBytes(Map.of("translation", translate(src)));
    }

    private String translate(int[] src) throws OrtException {
        long[] s = new long[src.length];
        for (int i = 0; i < s.length; i++) s[i] = src[i];
        float[] h;
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(s), new long[] {1, s.length});
             OnnxTensor len = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {s.length}), new long[] {1});
             OrtSession.Result r = encoder.run(Map.of("src", x, "lengths", len))) {
            h = flat((OnnxTensor) r.get("h_n").get());
        }
        int[] out = new int[maxLength];
        int count = 0;
        long next = bos;
        for (int step = 0; step < maxLength; step++) {
            try (OnnxTensor tok = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {next}), new long[] {1, 1});
                 OnnxTensor state = OnnxTensor.createTensor(env, FloatBuffer.wrap(h), new long[] {1, 1, hidden});
                 OrtSession.Result r = decoder.run(Map.of("tokens", tok, "h", state))) {
                float[] logits = flat((OnnxTensor) r.get("logits").get());
                h = flat((OnnxTensor) r.get("h_n").get());
                int best = 0;
                for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
                out[count++] = best;
                if (best == eos) break;
                next = best;
            }
        }
        return target.decode(java.util.Arrays.copyOf(out, count));
    }

    private static float[] flat(OnnxTensor t) {
        FloatBuffer b = t.getFloatBuffer();
        float[] v = new float[b.remaining()];
        b.get(v);
        return v;
    }

    @Override
    public void close() throws OrtException {
        encoder.close();
        decoder.close();
    }
}
