package dev.panamarnn.bench.serve;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Vocabulary;
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
public final class OrtSeq2Seq extends OrtPeer {
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
        super(name, maxBatch, maxQueue);
        ModelConfig cfg = ModelConfig.read(dir.resolve("model.json"));
        source = new Vocabulary(cfg.vocab());
        target = new Vocabulary(cfg.outputVocab());
        bos = cfg.bos();
        eos = cfg.eos();
        maxLength = cfg.maxOutputLength();
        hidden = cfg.decoder().hiddenSize();
        encoder = open(dir.resolve("encoder.onnx"));
        decoder = open(dir.resolve("decoder.onnx"));
    }

    @Override
    public String operation() {
        return "translate";
    }

    @Override
    public Callable<byte[]> prepare(byte[] body) {
        JsonNode n = parse(body);
        if (n == null || !n.has("text") || !n.get("text").isTextual() || n.get("text").asText().isEmpty()) throw new IllegalArgumentException("text: expected a string");
        if (n.has("beam") && n.get("beam").asInt() != 1) throw new IllegalArgumentException("beam: this peer decodes greedily only");
        int[] src = source.encode(n.get("text").asText());
        return () -> JSON.writeValueAsBytes(Map.of("translation", translate(src)));
    }

    private String translate(int[] src) throws OrtException {
        long[] s = longs(src);
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
                int best = argmax(logits);
                out[count++] = best;
                if (best == eos) break;
                next = best;
            }
        }
        return target.decode(java.util.Arrays.copyOf(out, count));
    }

    @Override
    public void close() throws OrtException {
        encoder.close();
        decoder.close();
    }
}
