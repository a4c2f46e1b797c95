package dev.panamarnn.bench.serve;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.server.CustomModel;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * What the ONNX Runtime peers of the load test share: the served name and limits, the environment, sessions
 * with one intra-op thread per run, the JSON body and the greedy pick. Bench only.
 */
abstract class OrtPeer implements CustomModel {
    static final ObjectMapper JSON = new ObjectMapper();
    final OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    private final String name;
    private final int maxBatch, maxQueue;

    OrtPeer(String name, int maxBatch, int maxQueue) {
        this.name = name;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public int maxQueue() {
        return maxQueue;
    }

    /** A session on one intra-op and one inter-op thread: the server's threads are the parallelism. */
    OrtSession open(Path graph) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1);
        o.setInterOpNumThreads(1);
        return env.createSession(graph.toString(), o);
    }

    /** The request body as JSON (null for an empty body). */
    static JsonNode parse(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("body: not JSON");
        }
    }

    /** A tensor's values. */
    static float[] flat(OnnxTensor t) {
        FloatBuffer b = t.getFloatBuffer();
        float[] v = new float[b.remaining()];
        b.get(v);
        return v;
    }

    /** The greedy token: the highest logit, ties to the lowest id (as {@code Decoding.greedy()}). */
    static int argmax(float[] logits) {
        int best = 0;
        for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
        return best;
    }

    /** Token ids as ONNX's int64. */
    static long[] longs(int[] ids) {
        long[] t = new long[ids.length];
        for (int i = 0; i < t.length; i++) t[i] = ids[i];
        return t;
    }
}
