package dev.panamarnn.cli.tasks;

import dev.panamarnn.app.Vocabulary;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The test sets stored in the demo models' {@code cases.safetensors} (never used for training): the classifier's
 * 500 sequences, the language model's 300 sentences, the seq2seq model's 500 dates.
 */
public final class HeldOut {
    private HeldOut() {}

    /**
     * Token sequences of a language model's test set.
     *
     * @param tokens each sentence's tokens, {@code <bos>} chars {@code <eos>}, unpadded
     */
    public record Sentences(int[][] tokens) {}

    /**
     * Source and target tokens of a seq2seq test set.
     *
     * @param sources each source's tokens (characters, no {@code <bos>}/{@code <eos>}), unpadded
     * @param targets each target's tokens (characters, then {@code <eos>}), unpadded
     */
    public record Pairs(int[][] sources, int[][] targets) {
        /**
         * The targets as text (the ISO dates).
         *
         * @param outputVocab models/seq2seq/model.json {@code output_vocab}
         * @return one string per target, specials left out
         */
        public List<String> targetTexts(List<String> outputVocab) {
            Vocabulary v = new Vocabulary(outputVocab);
            return Arrays.stream(targets).map(v::decode).toList();
        }
    }

    /**
     * The classifier's test set: {@code inputs} (N, T, 1) cut to {@code lengths}, and {@code labels}.
     *
     * @param modelDir the model directory (models/classifier)
     * @return the sequences and their labels
     * @throws IOException if the file cannot be read or its tensors have other shapes
     */
    public static ClassifierData.Samples classifier(Path modelDir) throws IOException {
        Path file = modelDir.resolve("cases.safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            int[] s = shape(st, file, "inputs", 3);
            if (s[2] != 1) throw new IOException(file + ": inputs has shape " + Arrays.toString(s) + ", expected (N, T, 1)");
            int n = s[0], t = s[1];
            int[] lengths = ints(st, file, "lengths", n, 0, t);
            int[] labels = ints(st, file, "labels", n, 0, ClassifierData.LABELS.size() - 1);
            float[] in = st.toFloatArray("inputs");
            float[][] x = new float[n][];
            for (int i = 0; i < n; i++) x[i] = Arrays.copyOfRange(in, i * t, i * t + lengths[i]);
            return new ClassifierData.Samples(x, labels);
        }
    }

    /**
     * The language model's test set: {@code test_tokens} (N, T), -1 padded, cut to {@code test_lengths}.
     *
     * @param modelDir the model directory (models/charlm)
     * @return the sentences' tokens
     * @throws IOException if the file cannot be read or its tensors have other shapes
     */
    public static Sentences charlm(Path modelDir) throws IOException {
        Path file = modelDir.resolve("cases.safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            int[] s = shape(st, file, "test_tokens", 2);
            return new Sentences(rows(st, file, "test_tokens", s, ints(st, file, "test_lengths", s[0], 1, s[1])));
        }
    }

    /**
     * The seq2seq test set: {@code src_tokens} (N, S) cut to {@code src_lengths}, {@code target_tokens} (N, M)
     * cut at the first -1.
     *
     * @param modelDir the model directory (models/seq2seq)
     * @return the sources' and targets' tokens
     * @throws IOException if the file cannot be read or its tensors have other shapes
     */
    public static Pairs seq2seq(Path modelDir) throws IOException {
        Path file = modelDir.resolve("cases.safetensors");
        try (SafeTensors st = SafeTensors.open(file)) {
            int[] s = shape(st, file, "src_tokens", 2);
            int[][] sources = rows(st, file, "src_tokens", s, ints(st, file, "src_lengths", s[0], 1, s[1]));
            int[] m = shape(st, file, "target_tokens", 2);
            if (m[0] != s[0]) throw new IOException(file + ": target_tokens has " + m[0] + " rows, src_tokens " + s[0]);
            long[] tgt = st.toLongArray("target_tokens");
            int[] lengths = new int[m[0]];
            for (int i = 0; i < m[0]; i++) while (lengths[i] < m[1] && tgt[i * m[1] + lengths[i]] >= 0) lengths[i]++;
            return new Pairs(sources, rows(st, file, "target_tokens", m, lengths));
        }
    }

    private static int[] shape(SafeTensors st, Path file, String name, int rank) throws IOException {
        if (!st.contains(name)) throw new IOException(file + ": no tensor " + name);
        int[] s = st.info(name).shape();
        if (s.length != rank) throw new IOException(file + ": " + name + " has shape " + Arrays.toString(s) + ", expected rank " + rank);
        return s;
    }

    /** A 1-D integer tensor of {@code n} values in {@code min..max}. */
    private static int[] ints(SafeTensors st, Path file, String name, int n, int min, int max) throws IOException {
        int[] s = shape(st, file, name, 1);
        if (s[0] != n) throw new IOException(file + ": " + name + " has " + s[0] + " values, expected " + n);
        long[] v = st.toLongArray(name);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            if (v[i] < min || v[i] > max) throw new IOException(file + ": " + name + "[" + i + "] = " + v[i] + " is not in " + min + ".." + max);
            out[i] = (int) v[i];
        }
        return out;
    }

    /** The rows of a 2-D integer tensor of {@code shape}, row i cut to {@code lengths[i]}; the kept tokens must be ids (≥ 0). */
    private static int[][] rows(SafeTensors st, Path file, String name, int[] shape, int[] lengths) throws IOException {
        long[] v = st.toLongArray(name);
        int[][] out = new int[shape[0]][];
        for (int i = 0; i < shape[0]; i++) {
            out[i] = new int[lengths[i]];
            for (int j = 0; j < lengths[i]; j++) {
                long id = v[i * shape[1] + j];
                if (id < 0 || id > Integer.MAX_VALUE) throw new IOException(file + ": " + name + "[" + i + ", " + j + "] = " + id + " is not a token id");
                out[i][j] = (int) id;
            }
        }
        return out;
    }
}
