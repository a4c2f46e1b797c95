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
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * The character LM's greedy generation on ONNX Runtime: the peer the load test serves behind the same HTTP
 * server as ours, with the request and response of the server's {@code generate} ({@code {"prompt", "max_new"}}
 * in, {@code {"text"}} out: the generated characters, specials left out). The prompt ({@code <bos>} and its
 * characters) runs through {@code prompt.onnx} in one call, then every token through {@code step.onnx}, which
 * carries the LSTM's {@code h} and {@code c} (both exported by {@code scripts/python/make_charlm_ort.py}). One
 * session per graph, shared by the server's threads, one intra-op thread per run. Greedy only (argmax, ties to
 * the lowest id, as {@code Decoding.greedy()}); {@code temperature} must be 0 and {@code stream} false. Bench only.
 */
public final class OrtCharLm extends OrtPeer {
    private static final Set<String> FIELDS = Set.of("prompt", "max_new", "temperature", "seed", "stream");
    private final OrtSession prompt, step;
    private final Vocabulary vocab;
    private final int bos, eos, maxNew, layers, hidden;

    /**
     * Opens the sessions.
     *
     * @param name     the served name
     * @param dir      a directory with model.json, prompt.onnx and step.onnx
     * @param maxBatch threads
     * @param maxQueue queue
     * @throws IOException if model.json cannot be read
     * @throws OrtException if a graph cannot be loaded
     */
    public OrtCharLm(String name, Path dir, int maxBatch, int maxQueue) throws IOException, OrtException {
        super(name, maxBatch, maxQueue);
        ModelConfig cfg = ModelConfig.read(dir.resolve("model.json"));
        vocab = new Vocabulary(cfg.vocab());
        bos = cfg.bos();
        eos = cfg.eos();
        maxNew = cfg.maxOutputLength();
        layers = cfg.main().numLayers();
        hidden = cfg.main().hiddenSize();
        prompt = open(dir.resolve("prompt.onnx"));
        step = open(dir.resolve("step.onnx"));
    }

    @Override
    public String operation() {
        return "generate";
    }

    @Override
    public Callable<byte[]> prepare(byte[] body) {
        JsonNode n = parse(body);
        if (n == null || !n.isObject()) throw new IllegalArgumentException("body: expected a JSON object");
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new IllegalArgumentException("body: unknown field '" + f + "'");
        }
        JsonNode p = n.get("prompt");
        if (p != null && !p.isNull() && !p.isTextual()) throw new IllegalArgumentException("prompt: expected a string");
        JsonNode m = n.get("max_new");
        if (m != null && (!m.canConvertToInt() || m.asInt() < 0 || m.asInt() > ModelConfig.MAX_OUTPUT_LENGTH)) {
            throw new IllegalArgumentException("max_new: expected an integer in 0.." + ModelConfig.MAX_OUTPUT_LENGTH);
        }
        if (n.has("temperature") && n.get("temperature").asDouble() != 0) throw new IllegalArgumentException("temperature: this peer decodes greedily only");
        if (n.has("stream") && n.get("stream").asBoolean()) throw new IllegalArgumentException("stream: this peer does not stream");
        String text = p == null || p.isNull() ? "" : p.asText();
        int limit = m == null ? maxNew : m.asInt();
        int[] ids = tokens(text);
        return () -> JSON.writeValueAsBytes(Map.of("text", vocab.decode(generate(ids, limit))));
    }

    /**
     * Greedy generation from a text prompt, as the server's {@code generate} answers it.
     *
     * @param text   the prompt, in the vocabulary's characters (may be empty)
     * @param limit  the most tokens to generate ({@code <eos>} included)
     * @return the generated text, specials left out
     * @throws OrtException if ONNX Runtime fails
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public String generate(String text, int limit) throws OrtException {
        return vocab.decode(generate(tokens(text), limit));
    }

    /** {@code <bos>} and the prompt's characters' ids. */
    private int[] tokens(String text) {
        int[] chars;
        try {
            chars = vocab.encode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("prompt: " + e.getMessage().lines().findFirst().orElse(""));
        }
        int[] ids = new int[chars.length + 1];
        ids[0] = bos;
        System.arraycopy(chars, 0, ids, 1, chars.length);
        return ids;
    }

    private int[] generate(int[] ids, int limit) throws OrtException {
        long[] t = longs(ids);
        float[] logits, h, c;
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(t), new long[] {1, t.length});
             OrtSession.Result r = prompt.run(Map.of("tokens", x))) {
            logits = flat(r, "logits");
            h = flat(r, "h_n");
            c = flat(r, "c_n");
        }
        long[] stateShape = {layers, 1, hidden};
        int[] out = new int[limit];
        int count = 0;
        while (count < limit) {
            int best = argmax(logits);
            out[count++] = best;
            if (best == eos || count == limit) break;
            try (OnnxTensor tok = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {best}), new long[] {1});
                 OnnxTensor h0 = OnnxTensor.createTensor(env, FloatBuffer.wrap(h), stateShape);
                 OnnxTensor c0 = OnnxTensor.createTensor(env, FloatBuffer.wrap(c), stateShape);
                 OrtSession.Result r = step.run(Map.of("token", tok, "h0", h0, "c0", c0))) {
                logits = flat(r, "logits");
                h = flat(r, "h_n");
                c = flat(r, "c_n");
            }
        }
        return Arrays.copyOf(out, count);
    }

    private static float[] flat(OrtSession.Result r, String name) throws OrtException {
        return flat((OnnxTensor) r.get(name).orElseThrow(() -> new OrtException("no output " + name)));
    }

    @Override
    public void close() throws OrtException {
        prompt.close();
        step.close();
    }
}
