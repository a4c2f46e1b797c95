package dev.panamarnn.bench.soak;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panamarnn.app.CaseFile;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * What the soak loads: seeded random weights for a set of recurrent layers and cells, written as
 * safetensors files with PyTorch's names into a temporary folder (so every load goes through the file
 * reader), a truncated copy of one of them (a file that must be rejected), the example models of
 * {@code models/} and their test inputs.
 */
final class Fixtures implements AutoCloseable {
    /** A layer the soak loads: PyTorch's constructor arguments and the file holding its weights. */
    record LayerFix(String name, LayerSpec spec, Path file) {}

    /** A cell the soak loads ({@code nn.LSTMCell} etc.). */
    record CellFix(String name, Mode mode, int inputSize, int hiddenSize, Path file) {}

    /**
     * Every kind of layer: LSTM, GRU, both Elman RNNs; one to three layers; uni- and bidirectional; with
     * and without bias; time-major and batch-first; an LSTM projection. Hidden sizes of 64 and more are
     * split between two threads when {@code panama.rnn.threads=2}.
     */
    private static final List<Map.Entry<String, LayerSpec>> LAYERS = List.of(
            Map.entry("lstm", new LayerSpec(Mode.LSTM, 32, 64, 1, false, true, false, 0)),
            Map.entry("lstm-2-bi-proj", new LayerSpec(Mode.LSTM, 16, 48, 2, true, true, false, 24)),
            Map.entry("gru-bi-batchfirst", new LayerSpec(Mode.GRU, 24, 64, 1, true, true, true, 0)),
            Map.entry("gru-2", new LayerSpec(Mode.GRU, 8, 96, 2, false, true, false, 0)),
            Map.entry("rnn-tanh-3", new LayerSpec(Mode.RNN_TANH, 16, 32, 3, false, true, false, 0)),
            Map.entry("rnn-relu-bi-nobias-batchfirst", new LayerSpec(Mode.RNN_RELU, 12, 20, 1, true, false, true, 0)));

    final Path dir;
    final Path models;
    final List<LayerFix> layers = new ArrayList<>();
    final List<CellFix> cells = new ArrayList<>();
    /** A layer file cut short: opening it must fail with a {@code SafeTensorsException}. */
    final Path truncated;
    /**
     * Model folders that fail late in loading, after some weights are in native memory: the classifier
     * with one label too many (rejected after its network is loaded), the translator whose decoder head
     * is missing (rejected after the encoder and the decoder's embedding and layer are loaded).
     */
    final Path badClassifier, badSeq2Seq;

    // Inputs from the example models' test cases.
    final float[][][] clsSequences;
    final int[][] lmPrompts, lmSentences, s2sSources;
    final int lmMaxNew;

    private Fixtures(Path dir, Path models, long seed) throws IOException {
        this.dir = dir;
        this.models = models;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map.Entry<String, LayerSpec> l : LAYERS) {
            LayerFix f = new LayerFix(l.getKey(), l.getValue(), dir.resolve(l.getKey() + ".safetensors"));
            writeLayer(f, rnd);
            layers.add(f);
        }
        for (Mode m : List.of(Mode.LSTM, Mode.GRU, Mode.RNN_TANH)) {
            String name = m.name().toLowerCase() + "-cell";
            CellFix c = new CellFix(name, m, 16, m == Mode.GRU ? 64 : 32, dir.resolve(name + ".safetensors"));
            writeCell(c, rnd);
            cells.add(c);
        }
        byte[] whole = Files.readAllBytes(layers.get(0).file());
        truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, Arrays.copyOf(whole, whole.length - 12));
        badClassifier = broken(models.resolve("classifier"), dir.resolve("classifier-extra-label"),
                json -> ((ArrayNode) json.get("labels")).add("extra"));
        badSeq2Seq = broken(models.resolve("seq2seq"), dir.resolve("seq2seq-no-head"),
                json -> ((ObjectNode) json.get("decoder")).put("head", "decoder.missing."));

        CaseFile cls = CaseFile.read(models.resolve("classifier/cases.safetensors"));
        CaseFile lm = CaseFile.read(models.resolve("charlm/cases.safetensors"));
        CaseFile s2s = CaseFile.read(models.resolve("seq2seq/cases.safetensors"));
        clsSequences = cls.sequences("inputs", "lengths");
        lmPrompts = lm.rows("gen_prompts", null);
        lmSentences = lm.has("test_tokens") ? lm.rows("test_tokens", lm.longs("test_lengths")) : lmPrompts;
        lmMaxNew = (int) lm.metaNumber("gen_max_tokens");
        s2sSources = s2s.rows("src_tokens", s2s.longs("src_lengths"));
    }

    /** Writes the weight files into a new temporary folder; {@code models} is the checkout's {@code models/}. */
    static Fixtures create(Path models, long seed) throws IOException {
        for (String m : List.of("classifier", "charlm", "seq2seq")) {
            if (!Files.isRegularFile(models.resolve(m).resolve("model.json"))) {
                throw new IOException(models + ": no " + m + "/model.json (pass --models DIR, the checkout's models/)");
            }
        }
        return new Fixtures(Files.createTempDirectory("panama-rnn-soak"), models, seed);
    }

    Path model(String name) {
        return models.resolve(name);
    }

    /** A copy of a model folder whose model.json is changed by {@code edit}. */
    private static Path broken(Path from, Path to, Consumer<ObjectNode> edit) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("weights.safetensors"), to.resolve("weights.safetensors"));
        ObjectMapper m = new ObjectMapper();
        ObjectNode json = (ObjectNode) m.readTree(from.resolve("model.json").toFile());
        edit.accept(json);
        m.writeValue(to.resolve("model.json").toFile(), json);
        return to;
    }

    private static void writeLayer(LayerFix f, SplittableRandom rnd) throws IOException {
        LayerSpec s = f.spec();
        int G = s.mode().gates(), H = s.hiddenSize(), P = s.outputSize();
        float scale = (float) (1 / Math.sqrt(H));
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int l = 0; l < s.numLayers(); l++) {
            for (int d = 0; d < s.directions(); d++) {
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                w.add("weight_ih" + sfx, random(rnd, G * H * s.layerInputSize(l), scale), G * H, s.layerInputSize(l));
                w.add("weight_hh" + sfx, random(rnd, G * H * P, scale), G * H, P);
                if (s.bias()) {
                    w.add("bias_ih" + sfx, random(rnd, G * H, scale), G * H);
                    w.add("bias_hh" + sfx, random(rnd, G * H, scale), G * H);
                }
                if (s.projSize() > 0) w.add("weight_hr" + sfx, random(rnd, P * H, scale), P, H);
            }
        }
        w.write(f.file());
    }

    private static void writeCell(CellFix c, SplittableRandom rnd) throws IOException {
        int G = c.mode().gates(), H = c.hiddenSize(), I = c.inputSize();
        float scale = (float) (1 / Math.sqrt(H));
        new SafeTensorsWriter()
                .add("weight_ih", random(rnd, G * H * I, scale), G * H, I)
                .add("weight_hh", random(rnd, G * H * H, scale), G * H, H)
                .add("bias_ih", random(rnd, G * H, scale), G * H)
                .add("bias_hh", random(rnd, G * H, scale), G * H)
                .write(c.file());
    }

    static float[] random(SplittableRandom rnd, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return v;
    }

    /** Deletes the temporary folder. */
    @Override
    public void close() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
