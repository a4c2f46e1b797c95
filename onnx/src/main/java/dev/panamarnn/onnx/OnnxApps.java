package dev.panamarnn.onnx;

import dev.panamarnn.Backend;
import dev.panamarnn.Text;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The application models ({@link SequenceClassifier}, {@link LanguageModel}, {@link Seq2Seq}) with their weights in
 * ONNX graphs: a model directory whose {@code model.json} describes the structure as usual and that holds, instead
 * of {@code weights.safetensors}, what {@code torch.onnx.export} gives for the PyTorch module: {@value #MODEL}
 * (classifier: sequences and optional lengths in, logits out; language model: token ids {@code (B, T)} in,
 * logits {@code (B, T, V)} out) or {@value #ENCODER} and {@value #DECODER} (seq2seq: the encoder maps sources and
 * optional lengths to its final state(s); the decoder maps token ids and those states to logits).
 *
 * <p>Loading reads each part out of its graph exactly: the embedding is the {@code Gather} over a 2-D float
 * initializer, the recurrent layer's layers are the graph's LSTM, GRU or RNN nodes in order (their gate blocks put
 * in PyTorch's order, B split into the two biases), the head is the {@code Gemm} or {@code MatMul} (+ {@code Add})
 * over an initializer. The model then runs on the layers with everything the safetensors model has (fused steps,
 * OpenBLAS, two threads, batching). Then the graph itself runs once on a probe batch of mixed lengths and its
 * outputs are compared with the model's: a graph whose plumbing computes something other than {@code model.json}
 * describes (another head input, another state, a time-major layout) is refused, naming the output and the
 * difference, never loaded to give wrong answers. Such a graph still runs as a graph ({@link OnnxModel#run}).
 */
public final class OnnxApps {
    private OnnxApps() {}

    /** The graph of a classifier or language model directory. */
    public static final String MODEL = "model.onnx";
    /** The encoder graph of a seq2seq directory. */
    public static final String ENCODER = "encoder.onnx";
    /** The decoder graph of a seq2seq directory. */
    public static final String DECODER = "decoder.onnx";

    /** The probe's tolerance, |graph − model| ≤ TOL + TOL·|graph|: the same float32 computation on two paths (1e-6 apart here). */
    private static final double TOL = 1e-4;

    /**
     * Whether {@code dir} is a model directory whose weights are ONNX graphs: it has no {@code weights.safetensors}
     * and has {@value #MODEL} or {@value #ENCODER}.
     *
     * @param dir a directory
     * @return whether the loaders of this class are the ones for it
     */
    public static boolean hasOnnxWeights(Path dir) {
        return !Files.exists(dir.resolve("weights.safetensors")) && (Files.isRegularFile(dir.resolve(MODEL)) || Files.isRegularFile(dir.resolve(ENCODER)));
    }

    /**
     * The classifier of {@code dir/model.json} with its weights from {@code dir/model.onnx}.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the classifier, to close
     * @throws IOException if a file cannot be read or is not valid (the message names it)
     * @throws IllegalArgumentException if the graph does not hold the parts {@code model.json} describes, or computes
     *     something else (the message names the node or the output)
     */
    public static SequenceClassifier classifier(Path dir, Backend backend) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir, ModelConfig.Structure.N_VS_1);
        try (OnnxModel g = OnnxModel.load(dir.resolve(MODEL), backend)) {
            SequenceClassifier c = SequenceClassifier.load(cfg, stateDict(g, cfg.main(), "classifier"), backend);
            try {
                probeClassifier(g, cfg, c);
                return c;
            } catch (Throwable e) {
                c.close();
                throw e;
            }
        }
    }

    /**
     * The language model of {@code dir/model.json} with its weights from {@code dir/model.onnx}.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid (the message names it)
     * @throws IllegalArgumentException if the graph does not hold the parts {@code model.json} describes, or computes
     *     something else
     */
    public static LanguageModel languageModel(Path dir, Backend backend) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir, ModelConfig.Structure.LM);
        try (OnnxModel g = OnnxModel.load(dir.resolve(MODEL), backend)) {
            LanguageModel lm = LanguageModel.load(cfg, stateDict(g, cfg.main(), "language model"), backend);
            try {
                probeLanguageModel(g, cfg, lm);
                return lm;
            } catch (Throwable e) {
                lm.close();
                throw e;
            }
        }
    }

    /**
     * The encoder-decoder of {@code dir/model.json} with its weights from {@code dir/encoder.onnx} and
     * {@code dir/decoder.onnx}.
     *
     * @param dir     the model directory
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the model, to close
     * @throws IOException if a file cannot be read or is not valid (the message names it)
     * @throws IllegalArgumentException if the graphs do not hold the parts {@code model.json} describes, or compute
     *     something else
     */
    public static Seq2Seq seq2seq(Path dir, Backend backend) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir, ModelConfig.Structure.SEQ2SEQ);
        try (OnnxModel enc = OnnxModel.load(dir.resolve(ENCODER), backend); OnnxModel dec = OnnxModel.load(dir.resolve(DECODER), backend)) {
            StateDict e = stateDict(enc, cfg.encoder(), "encoder"), d = stateDict(dec, cfg.decoder(), "decoder");
            Map<String, float[]> data = new HashMap<>();
            Map<String, int[]> shapes = new HashMap<>();
            for (StateDict sd : List.of(e, d)) {
                for (String n : sd.names()) {
                    if (data.put(n, sd.floats(n)) != null) throw new IllegalArgumentException(cfg.file() + ": the encoder and the decoder both have " + Text.quote(n) + "; give them different prefixes");
                    shapes.put(n, sd.shape(n));
                }
            }
            Seq2Seq s = Seq2Seq.load(cfg, StateDict.of(data, shapes), backend);
            try {
                probeSeq2Seq(enc, dec, cfg, s);
                return s;
            } catch (Throwable t) {
                s.close();
                throw t;
            }
        }
    }

    // ------------------------------------------------------------------------------------------ reading the parts

    /**
     * The state_dict of part {@code p} (names under its prefixes) read out of graph {@code g}: the embedding, the
     * recurrent nodes as layers 0, 1, …, the head.
     */
    static StateDict stateDict(OnnxModel g, ModelConfig.Part p, String what) {
        String where = g.file() + " (the " + what + ")";
        Map<String, float[]> data = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        List<OnnxModel.Node> embeddings = new ArrayList<>(), heads = new ArrayList<>();
        int layer = 0;
        for (OnnxModel.Node nd : g.graphNodes()) {
            RecurrentOp r = g.recurrent(nd);
            if (r != null) {
                putLayer(g, nd, r, p, layer++, where, data, shapes);
                continue;
            }
            switch (nd.proto().getOpType()) {
                case "Gather" -> {
                    OnnxTensor table = g.constant(nd.inputs()[0]);
                    if (table != null && table.type() == OnnxTensor.Type.FLOAT && table.rank() == 2) embeddings.add(nd);
                }
                case "Gemm", "MatMul" -> {
                    OnnxTensor w = nd.inputs().length > 1 ? g.constant(nd.inputs()[1]) : null;
                    if (w != null && w.type() == OnnxTensor.Type.FLOAT && w.rank() == 2) heads.add(nd);
                }
                default -> { }
            }
        }
        if (layer != p.numLayers()) {
            throw new IllegalArgumentException(where + ": model.json says " + p.numLayers() + " recurrent layer(s) (rnn.num_layers), the graph has " + layer + " LSTM, GRU or RNN node(s)");
        }
        if (p.embedding() != null) {
            if (embeddings.size() != 1) throw new IllegalArgumentException(where + ": model.json names an embedding, the graph has " + embeddings.size() + " Gather nodes over a 2-D float initializer (one expected)");
            OnnxTensor table = g.constant(embeddings.get(0).inputs()[0]);
            put(data, shapes, p.embedding() + "weight", table.floats(), table.dims());
        }
        if (p.head() != null) {
            if (heads.size() != 1) throw new IllegalArgumentException(where + ": model.json names a head, the graph has " + heads.size() + " Gemm or MatMul nodes over a 2-D float initializer (one expected)");
            putHead(g, heads.get(0), p.head(), where, data, shapes);
        }
        return StateDict.of(data, shapes);
    }

    private static void putLayer(OnnxModel g, OnnxModel.Node nd, RecurrentOp r, ModelConfig.Part p, int layer, String where, Map<String, float[]> data, Map<String, int[]> shapes) {
        String node = where + ": " + nd.label();
        if (!r.onLayers()) throw new IllegalArgumentException(node + " is not what a PyTorch layer computes (" + r.explain() + "); run the graph itself with OnnxModel.run");
        if (r.reverseOnly()) throw new IllegalArgumentException(node + " runs in reverse only, which a PyTorch layer does not; run the graph itself with OnnxModel.run");
        if (r.layerMode() != p.mode()) throw new IllegalArgumentException(node + " is " + r.layerMode() + ", model.json says rnn.mode " + p.mode());
        if ((r.directions() == 2) != p.bidirectional()) throw new IllegalArgumentException(node + " has " + r.directions() + " direction(s), model.json says rnn.bidirectional " + p.bidirectional());
        String[] in = nd.inputs();
        OnnxTensor w = g.constant(in[1]), rr = g.constant(in[2]);
        boolean hasBias = in.length > 3 && !in[3].isEmpty();
        OnnxTensor b = hasBias ? g.constant(in[3]) : null;
        if (w == null || rr == null || (hasBias && b == null)) throw new IllegalArgumentException(node + ": W, R and B must be initializers, not computed per call");
        int[] hi;
        try {
            hi = r.checkWeights(w, rr, b);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(node + ": " + e.getMessage(), e);
        }
        int H = hi[0], gates = rr.dim(1) / H;
        r.putPyTorch(data, shapes, p.rnnPrefix(), layer, w, rr, b, H, hi[1]);
        if (b == null) { // PyTorch's layers have biases in every layer or none: zeros compute the same
            for (int d = 0; d < r.directions(); d++) {
                String sfx = "_l" + layer + (d == 1 ? "_reverse" : "");
                put(data, shapes, p.rnnPrefix() + "bias_ih" + sfx, new float[gates * H], gates * H);
                put(data, shapes, p.rnnPrefix() + "bias_hh" + sfx, new float[gates * H], gates * H);
            }
        }
    }

    /** The head's weight {@code (out, in)} and bias: Gemm (C as bias) or MatMul followed by an Add of a 1-D initializer. */
    private static void putHead(OnnxModel g, OnnxModel.Node nd, String prefix, String where, Map<String, float[]> data, Map<String, int[]> shapes) {
        String node = where + ": " + nd.label();
        OnnxTensor w = g.constant(nd.inputs()[1]);
        boolean transposed; // whether w is already (out, in)
        OnnxTensor bias = null;
        if (nd.proto().getOpType().equals("Gemm")) {
            Attrs a = new Attrs(nd.proto(), node, java.util.Set.of("alpha", "beta", "transA", "transB"));
            if (a.f("alpha", 1f) != 1f || a.i("transA", 0) != 0 || (a.f("beta", 1f) != 1f && nd.inputs().length > 2)) {
                throw new IllegalArgumentException(node + " is not a linear layer (alpha 1, beta 1, transA 0)");
            }
            transposed = a.i("transB", 0) != 0;
            if (nd.inputs().length > 2 && !nd.inputs()[2].isEmpty()) {
                bias = g.constant(nd.inputs()[2]);
                if (bias == null) throw new IllegalArgumentException(node + ": its C (the bias) must be an initializer");
            }
        } else {
            transposed = false;
            String y = nd.outputs()[0];
            for (OnnxModel.Node next : g.graphNodes()) {
                if (!next.proto().getOpType().equals("Add") || next.inputs().length != 2) continue;
                int k = next.inputs()[0].equals(y) ? 1 : next.inputs()[1].equals(y) ? 0 : -1;
                if (k < 0) continue;
                OnnxTensor c = g.constant(next.inputs()[k]);
                if (c != null && c.type() == OnnxTensor.Type.FLOAT && c.rank() == 1) bias = c;
            }
        }
        int out = transposed ? w.dim(0) : w.dim(1), in = transposed ? w.dim(1) : w.dim(0);
        float[] weight = transposed ? w.floats() : Ops.transpose(w, new long[] {1, 0}).floats();
        put(data, shapes, prefix + "weight", weight, out, in);
        if (bias != null) {
            if (bias.type() != OnnxTensor.Type.FLOAT || bias.size() != out) throw new IllegalArgumentException(node + ": its bias " + bias + " does not fit " + out + " outputs");
            put(data, shapes, prefix + "bias", bias.floats(), out);
        }
    }

    private static void put(Map<String, float[]> data, Map<String, int[]> shapes, String name, float[] v, int... shape) {
        data.put(name, v);
        shapes.put(name, shape);
    }

    // ------------------------------------------------------------------------------------------ the probes

    private static final int[] LENGTHS = {5, 2, 4};

    private static void probeClassifier(OnnxModel g, ModelConfig cfg, SequenceClassifier c) {
        List<OnnxModel.Port> in = g.inputs();
        boolean withLengths = in.size() == 2;
        if (in.size() < 1 || in.size() > 2) throw new IllegalArgumentException(g.file() + ": a classifier graph takes (sequences[, lengths]); this one takes " + in);
        int[] lengths = withLengths ? LENGTHS : new int[] {4, 4, 4};
        int B = lengths.length, T = max(lengths);
        SplittableRandom rnd = new SplittableRandom(17);
        Map<String, OnnxTensor> feeds = new HashMap<>();
        float[][] expected;
        if (c.takesTokens()) {
            int[][] tokens = tokens(rnd, lengths, cfg.vocab().size(), 0);
            feeds.put(in.get(0).name(), padded(tokens, T, cfg.pad(), in.get(0)));
            expected = c.logits(tokens);
        } else {
            int I = c.inputSize();
            float[][][] seq = new float[B][][];
            float[] x = new float[B * T * I];
            for (int b = 0; b < B; b++) {
                seq[b] = new float[lengths[b]][I];
                for (int t = 0; t < lengths[b]; t++) {
                    for (int i = 0; i < I; i++) x[(b * T + t) * I + i] = seq[b][t][i] = (float) rnd.nextDouble(-1, 1);
                }
            }
            feeds.put(in.get(0).name(), OnnxTensor.ofFloats(x, B, T, I));
            expected = c.logits(seq);
        }
        if (withLengths) feeds.put(in.get(1).name(), integers(lengths, in.get(1)));
        OnnxTensor got = first(g, g.run(feeds));
        compare(g, cfg, got, flatten(expected), B, expected[0].length);
    }

    private static void probeLanguageModel(OnnxModel g, ModelConfig cfg, LanguageModel lm) {
        List<OnnxModel.Port> in = g.inputs();
        if (in.size() != 1) throw new IllegalArgumentException(g.file() + ": a language model graph takes token ids (B, T) alone; this one takes " + in);
        int[] lengths = {6, 6};
        int[][] tokens = tokens(new SplittableRandom(17), lengths, cfg.vocab().size(), 0);
        float[][][] expected = lm.logits(tokens);
        OnnxTensor got = first(g, g.run(Map.of(in.get(0).name(), padded(tokens, 6, cfg.pad(), in.get(0)))));
        compare(g, cfg, got, flatten(expected), 2, 6, expected[0][0].length);
    }

    private static void probeSeq2Seq(OnnxModel enc, OnnxModel dec, ModelConfig cfg, Seq2Seq s) {
        List<OnnxModel.Port> ein = enc.inputs(), din = dec.inputs();
        boolean withLengths = ein.size() == 2;
        if (ein.size() < 1 || ein.size() > 2) throw new IllegalArgumentException(enc.file() + ": an encoder graph takes (sources[, lengths]); this one takes " + ein);
        if (din.size() != 1 + enc.outputs().size()) {
            throw new IllegalArgumentException(dec.file() + ": a decoder graph takes token ids and the encoder's " + enc.outputs().size() + " output(s) " + enc.outputs() + "; this one takes " + din);
        }
        int[] lengths = withLengths ? LENGTHS : new int[] {4, 4, 4};
        int B = lengths.length, T = max(lengths), steps = 4;
        SplittableRandom rnd = new SplittableRandom(17);
        int[][] sources = tokens(rnd, lengths, cfg.vocab().size(), 0);
        int[][] decIn = tokens(rnd, new int[] {steps, steps, steps}, cfg.outputVocab().size(), 0);
        for (int[] row : decIn) row[0] = Math.max(cfg.bos(), 0);
        Map<String, OnnxTensor> feeds = new HashMap<>();
        feeds.put(ein.get(0).name(), padded(sources, T, cfg.pad(), ein.get(0)));
        if (withLengths) feeds.put(ein.get(1).name(), integers(lengths, ein.get(1)));
        Map<String, OnnxTensor> state = enc.run(feeds);
        Map<String, OnnxTensor> dfeeds = new HashMap<>();
        dfeeds.put(din.get(0).name(), padded(decIn, steps, cfg.pad(), din.get(0)));
        for (int k = 0; k < enc.outputs().size(); k++) dfeeds.put(din.get(k + 1).name(), state.get(enc.outputs().get(k).name()));
        float[][][] expected = s.decoderLogits(sources, decIn);
        compare(dec, cfg, first(dec, dec.run(dfeeds)), flatten(expected), B, steps, expected[0][0].length);
    }

    private static int max(int[] v) {
        int m = 0;
        for (int x : v) m = Math.max(m, x);
        return m;
    }

    private static int[][] tokens(SplittableRandom rnd, int[] lengths, int vocab, int from) {
        int[][] t = new int[lengths.length][];
        for (int b = 0; b < lengths.length; b++) {
            t[b] = new int[lengths[b]];
            for (int i = 0; i < lengths[b]; i++) t[b][i] = rnd.nextInt(from, vocab);
        }
        return t;
    }

    /** Token rows padded to T with {@code pad}, of the port's integer type. */
    private static OnnxTensor padded(int[][] tokens, int T, int pad, OnnxModel.Port port) {
        long[] v = new long[tokens.length * T];
        java.util.Arrays.fill(v, pad);
        for (int b = 0; b < tokens.length; b++) for (int t = 0; t < tokens[b].length; t++) v[b * T + t] = tokens[b][t];
        return OnnxTensor.ofIntegers(integerType(port), v, tokens.length, T);
    }

    private static OnnxTensor integers(int[] values, OnnxModel.Port port) {
        long[] v = new long[values.length];
        for (int i = 0; i < v.length; i++) v[i] = values[i];
        return OnnxTensor.ofIntegers(integerType(port), v, v.length);
    }

    private static OnnxTensor.Type integerType(OnnxModel.Port port) {
        if (port.type() != OnnxTensor.Type.INT64 && port.type() != OnnxTensor.Type.INT32) {
            throw new IllegalArgumentException("graph input " + Text.quote(port.name()) + " is " + port.type() + "; token ids and lengths are INT64 or INT32");
        }
        return port.type();
    }

    private static OnnxTensor first(OnnxModel g, Map<String, OnnxTensor> out) {
        return out.get(g.outputs().get(0).name());
    }

    private static float[] flatten(float[][] a) {
        int n = 0;
        for (float[] r : a) n += r.length;
        float[] f = new float[n];
        int k = 0;
        for (float[] r : a) for (float v : r) f[k++] = v;
        return f;
    }

    private static float[] flatten(float[][][] a) {
        List<float[]> rows = new ArrayList<>();
        for (float[][] m : a) for (float[] r : m) rows.add(r);
        return flatten(rows.toArray(float[][]::new));
    }

    /** The graph's first output against the model's, shape and values. */
    private static void compare(OnnxModel g, ModelConfig cfg, OnnxTensor got, float[] want, int... shape) {
        String what = g.file() + " does not compute what " + cfg.file() + " describes: its output " + Text.quote(g.outputs().get(0).name());
        if (got.type() != OnnxTensor.Type.FLOAT || !java.util.Arrays.equals(got.dims(), shape)) {
            throw new IllegalArgumentException(what + " is " + got + " for a probe batch, the model gives " + java.util.Arrays.toString(shape) + " (batch first)");
        }
        float[] v = got.floats();
        for (int i = 0; i < v.length; i++) {
            if (!(Math.abs(v[i] - want[i]) <= TOL + TOL * Math.abs(v[i]))) {
                throw new IllegalArgumentException(what + " has " + v[i] + " at flat index " + i + " for a probe batch of mixed lengths, the model gives " + want[i]
                        + " (the graph's plumbing differs from the structure model.json describes)");
            }
        }
    }
}
