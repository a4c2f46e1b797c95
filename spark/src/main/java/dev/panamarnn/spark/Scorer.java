package dev.panamarnn.spark;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.onnx.OnnxApps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;

/**
 * A loaded model and how a batch of rows goes through it: inputs (a {@code String} or a {@code float[][]}
 * sequence per row) in, the task's output values per row out. One per executor JVM and model
 * ({@link ModelCache}), shared by the task threads: the models are immutable and thread-safe, and every
 * call holds its own state.
 */
abstract sealed class Scorer implements AutoCloseable {

    /**
     * The output values of each row of a batch, in the order of {@link Task#outputs}.
     *
     * @param inputs one input per row
     * @param spec   the decoding options
     * @return {@code [row][output]}
     * @throws IllegalArgumentException naming the row (its index in {@code inputs}) when an input cannot be scored
     */
    abstract Object[][] score(List<Object> inputs, ScoreSpec spec);

    /** @return the task */
    abstract Task task();

    /** @return whether a classifier reads text */
    boolean takesTokens() {
        return false;
    }

    /** @return the features per step of a sequence input (0 for text) */
    abstract int inputSize();

    @Override
    public abstract void close();

    /**
     * Loads the model {@code spec} names from {@code path} (the spec's path, or an executor's shipped copy).
     *
     * @param spec what to load
     * @param path where it is on this JVM's machine
     * @return the scorer
     * @throws IOException if the files cannot be read
     */
    static Scorer load(ScoreSpec spec, Path path) throws IOException {
        Backend backend = spec.backend() == null ? Backend.defaultBackend() : Backend.get(spec.backend());
        if (spec.layer()) {
            var loader = RecurrentLayer.loader().backend(backend).batchFirst(false);
            if (spec.layerMode() != null) loader = loader.mode(Mode.parse(spec.layerMode()));
            return new Forward(RecurrentLayer.load(path, loader));
        }
        ModelConfig cfg = ModelConfig.read(path.resolve("model.json"));
        boolean onnx = OnnxApps.hasOnnxWeights(path);
        return switch (cfg.structure()) {
            case N_VS_1 -> new Classify(onnx ? OnnxApps.classifier(path, backend) : SequenceClassifier.load(path, backend));
            case LM -> new Generate(onnx ? OnnxApps.languageModel(path, backend) : LanguageModel.load(path, backend));
            case SEQ2SEQ -> new Translate(onnx ? OnnxApps.seq2seq(path, backend) : Seq2Seq.load(path, backend));
        };
    }

    /** A row's failure, naming it by its index in the batch; {@link ScorePartition} turns the index into its place in the partition. */
    static final class RowError extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        final int row;

        RowError(int row, String message) {
            super(message);
            this.row = row;
        }
    }

    private static int[] encode(dev.panamarnn.app.Vocabulary v, int row, String text, boolean allowEmpty) {
        try {
            int[] ids = v.encode(text);
            if (ids.length == 0 && !allowEmpty) throw new IllegalArgumentException("empty text");
            return ids;
        } catch (IllegalArgumentException e) {
            throw new RowError(row, e.getMessage());
        }
    }

    private static int maxTokens(ScoreSpec spec, int modelMax) {
        return spec.maxTokens() > 0 ? Math.min(spec.maxTokens(), ModelConfig.MAX_OUTPUT_LENGTH) : modelMax;
    }

    static final class Classify extends Scorer {
        private final SequenceClassifier model;
        private final dev.panamarnn.app.Vocabulary vocabulary; // null for a model on features

        Classify(SequenceClassifier model) {
            this.model = model;
            this.vocabulary = model.takesTokens() ? new dev.panamarnn.app.Vocabulary(model.config().vocab()) : null;
        }

        @Override
        Task task() {
            return Task.CLASSIFY;
        }

        @Override
        boolean takesTokens() {
            return model.takesTokens();
        }

        @Override
        int inputSize() {
            return model.takesTokens() ? 0 : model.inputSize();
        }

        @Override
        Object[][] score(List<Object> inputs, ScoreSpec spec) {
            float[][] logits;
            if (vocabulary != null) {
                int[][] tokens = new int[inputs.size()][];
                for (int i = 0; i < tokens.length; i++) tokens[i] = encode(vocabulary, i, (String) inputs.get(i), false);
                logits = model.logits(tokens);
            } else {
                float[][][] seqs = new float[inputs.size()][][];
                for (int i = 0; i < seqs.length; i++) seqs[i] = (float[][]) inputs.get(i);
                logits = model.logits(seqs);
            }
            int[] best = SequenceClassifier.argmax(logits);
            Object[][] out = new Object[logits.length][];
            for (int i = 0; i < out.length; i++) {
                float p = SequenceClassifier.probabilities(logits[i])[best[i]];
                out[i] = new Object[] {model.labels().get(best[i]), p, logits[i]};
            }
            return out;
        }

        @Override
        public void close() {
            model.close();
        }
    }

    static final class Generate extends Scorer {
        private final LanguageModel model;

        Generate(LanguageModel model) {
            this.model = model;
        }

        @Override
        Task task() {
            return Task.GENERATE;
        }

        @Override
        int inputSize() {
            return 0;
        }

        @Override
        Object[][] score(List<Object> inputs, ScoreSpec spec) {
            int[][] prompts = new int[inputs.size()][];
            for (int i = 0; i < prompts.length; i++) {
                int[] chars = encode(model.vocabulary(), i, (String) inputs.get(i), true); // an empty prompt is <bos> alone
                prompts[i] = new int[chars.length + 1];
                prompts[i][0] = model.bos(); // as LanguageModel.prompt, without encoding the text again
                System.arraycopy(chars, 0, prompts[i], 1, chars.length);
            }
            int[][] gen = model.generate(prompts, Decoding.greedy(), maxTokens(spec, model.config().maxOutputLength()));
            Object[][] out = new Object[gen.length][];
            for (int i = 0; i < out.length; i++) out[i] = new Object[] {inputs.get(i) + model.vocabulary().decode(gen[i])};
            return out;
        }

        @Override
        public void close() {
            model.close();
        }
    }

    static final class Translate extends Scorer {
        private final Seq2Seq model;

        Translate(Seq2Seq model) {
            this.model = model;
        }

        @Override
        Task task() {
            return Task.TRANSLATE;
        }

        @Override
        int inputSize() {
            return 0;
        }

        @Override
        Object[][] score(List<Object> inputs, ScoreSpec spec) {
            int[][] src = new int[inputs.size()][];
            for (int i = 0; i < src.length; i++) src[i] = encode(model.sourceVocabulary(), i, (String) inputs.get(i), false);
            int n = maxTokens(spec, model.maxOutputLength());
            int[][] res;
            if (spec.beam() == 1) {
                res = model.greedy(src, n);
            } else {
                res = new int[src.length][];
                for (int i = 0; i < src.length; i++) res[i] = model.beamSearch(src[i], spec.beam(), n).tokens();
            }
            Object[][] out = new Object[res.length][];
            for (int i = 0; i < out.length; i++) out[i] = new Object[] {model.targetVocabulary().decode(res[i])};
            return out;
        }

        @Override
        public void close() {
            model.close();
        }
    }

    static final class Forward extends Scorer {
        private final RecurrentLayer layer;

        Forward(RecurrentLayer layer) {
            this.layer = layer;
        }

        @Override
        Task task() {
            return Task.FORWARD;
        }

        @Override
        int inputSize() {
            return layer.spec().inputSize();
        }

        /** The batch as one (T, B, I) tensor, each row's sequence to its own length; the steps past it are not read. */
        @Override
        Object[][] score(List<Object> inputs, ScoreSpec spec) {
            LayerSpec s = layer.spec();
            int B = inputs.size(), I = s.inputSize(), T = 0;
            int[] lengths = new int[B];
            for (int b = 0; b < B; b++) T = Math.max(T, lengths[b] = ((float[][]) inputs.get(b)).length);
            try (Arena a = Arena.ofConfined()) {
                float[] x = new float[T * B * I];
                for (int b = 0; b < B; b++) {
                    float[][] seq = (float[][]) inputs.get(b);
                    for (int t = 0; t < seq.length; t++) System.arraycopy(seq[t], 0, x, (t * B + b) * I, I);
                }
                RecurrentLayer.Result r = layer.forward(a, Tensor.of(a, x, T, B, I), null, null, lengths);
                float[] y = r.output().toArray(), h = r.hN().toArray(), c = r.cN() == null ? null : r.cN().toArray();
                int O = s.directions() * s.outputSize(), LD = s.numLayers() * s.directions();
                Object[][] out = new Object[B][];
                for (int b = 0; b < B; b++) {
                    float[][] ob = new float[lengths[b]][O];
                    for (int t = 0; t < lengths[b]; t++) System.arraycopy(y, (t * B + b) * O, ob[t], 0, O);
                    out[b] = new Object[] {ob, state(h, LD, B, b, s.outputSize()), c == null ? null : state(c, LD, B, b, s.hiddenSize())};
                }
                return out;
            }
        }

        private static float[][] state(float[] v, int LD, int B, int b, int H) {
            float[][] o = new float[LD][H];
            for (int l = 0; l < LD; l++) System.arraycopy(v, (l * B + b) * H, o[l], 0, H);
            return o;
        }

        @Override
        public void close() {
            layer.close();
        }
    }
}
