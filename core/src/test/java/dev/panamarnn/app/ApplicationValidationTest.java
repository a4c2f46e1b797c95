package dev.panamarnn.app;

import static dev.panamarnn.HeapCounter.heapAllocatedBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each application structure rejects bad arguments with a message naming them, and leaves caller state intact. */
class ApplicationValidationTest {
    static LanguageModel lm;
    static Seq2Seq s2s;
    static SequenceClassifier cls;

    @BeforeAll
    static void load() throws IOException {
        Backend b = Backend.get("simd");
        lm = LanguageModel.load(ModelCases.model("charlm"), b);
        s2s = Seq2Seq.load(ModelCases.model("seq2seq"), b);
        cls = SequenceClassifier.load(ModelCases.model("classifier"), b);
    }

    @AfterAll
    static void close() {
        lm.close();
        s2s.close();
        cls.close();
    }

    private static void assertMessage(Class<? extends Throwable> type, Runnable r, String... fragments) {
        Throwable t = assertThrows(type, r::run);
        for (String f : fragments) assertTrue(t.getMessage().contains(f), "'" + f + "' in: " + t.getMessage());
    }

    @Test
    void languageModelArguments() {
        assertMessage(IllegalArgumentException.class, () -> lm.logits(new int[][] {{1, 2, 31}}), "tokens[0][2] = 31", "0..30");
        assertMessage(IllegalArgumentException.class, () -> lm.logits(new int[][] {{1}, {}}), "tokens[1] is empty");
        assertMessage(IllegalArgumentException.class, () -> lm.generate(new int[][] {{1}}, Decoding.greedy(), -1), "maxNew");
        assertMessage(IllegalArgumentException.class, () -> Decoding.temperature(Double.NaN, 1), "temperature");
        assertMessage(IllegalArgumentException.class, () -> lm.newState(0), "batch");
        assertMessage(IllegalArgumentException.class, () -> lm.generate("Thé", Decoding.greedy(), 5), "'T'", "position 0");
    }

    @Test
    void generationTakesMemoryForWhatItMakesAndRefusesHugeRequestsByName() throws IOException {
        // On the scalar backend: the Vector API boxes its vectors on the heap until the JIT has compiled the kernels.
        try (LanguageModel lm = LanguageModel.load(ModelCases.model("charlm"), Backend.get("scalar"));
             Seq2Seq s2s = Seq2Seq.load(ModelCases.model("seq2seq"), Backend.get("scalar"))) {
            generationTakesMemoryForWhatItMakes(lm, s2s);
        }
    }

    private static void generationTakesMemoryForWhatItMakes(LanguageModel lm, Seq2Seq s2s) {
        int[][] many = new int[10_000][];
        java.util.Arrays.fill(many, lm.prompt("the"));
        // generate --samples 10000 --max 65536 asked the heap for 2.6 GB before the first step.
        long refused = heapAllocatedBy(() -> assertMessage(IllegalArgumentException.class, () -> lm.generate(many, Decoding.greedy(), 65536),
                "generate: prompts (10000) × maxNew (65536) = 655360000 tokens is more than one call may generate (16777216",
                "batches of at most 256 prompts"));
        assertTrue(refused < (16 << 20), "refusing took " + refused + " bytes of heap");
        // At the limit, 256 × 65536 tokens may come; these stop at <eos> and take a fraction of the 64 MiB.
        int[][] batch = java.util.Arrays.copyOf(many, 256);
        int[][][] out = new int[1][][];
        long used = heapAllocatedBy(() -> out[0] = lm.generate(batch, Decoding.greedy(), 65536));
        assertEquals(" bird is loud.", lm.vocabulary().decode(out[0][255]));
        assertTrue(used < (16 << 20), "generating 256 short sentences allocated " + used + " bytes of heap");

        int[][] sources = new int[300][];
        java.util.Arrays.fill(sources, new int[] {7});
        assertMessage(IllegalArgumentException.class, () -> s2s.greedy(sources, 65536), "greedy: sources (300) × maxLength (65536) = 19660800 tokens");
        long beams = heapAllocatedBy(() -> s2s.beamSearch(new int[] {7, 8, 9}, 16, 65536));
        assertTrue(beams < (4 << 20), "a beam search of width 16 allocated " + beams + " bytes of heap");
    }

    @Test
    void outOfVocabularyErrorsShowTheTextEscapedAndCut() {
        String prompt = "the bird is loud. ".repeat(7000) + "\u001b[2J!"; // 126,005 characters
        var e = assertThrows(IllegalArgumentException.class, () -> lm.prompt(prompt));
        assertTrue(e.getMessage().startsWith("character '\\u001b' at position 126000 of 'the bird is loud. the bird"), e.getMessage());
        assertTrue(e.getMessage().contains("…(125885 more)' is not in the vocabulary ("), e.getMessage());
        assertTrue(e.getMessage().length() < 400, e.getMessage().length() + " characters");
        assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20), e.getMessage());
    }

    @Test
    void aRejectedFeedLeavesTheStateUnchanged() {
        try (LanguageModel.State st = lm.newState(2)) {
            lm.feed(st, new int[][] {{1, 5}, {1, 6}});
            float[] before = st.hidden();
            assertMessage(IllegalArgumentException.class, () -> lm.feed(st, new int[][] {{5, 6}, {7}}), "same length", "tokens[1] has 1");
            assertMessage(IllegalArgumentException.class, () -> lm.feed(st, new int[][] {{5}}), "1 sequences, the state 2");
            assertMessage(IllegalArgumentException.class, () -> lm.feed(st, new int[][] {{5}, {99}}), "tokens[1][0] = 99");
            assertArrayEquals(before, st.hidden());
        }
    }

    @Test
    void statesBelongToTheirModelAndCloseCleanly() throws IOException {
        try (LanguageModel other = LanguageModel.load(ModelCases.model("charlm"), Backend.get("simd"));
             LanguageModel.State st = other.newState(1)) {
            assertMessage(IllegalArgumentException.class, () -> lm.feed(st, new int[][] {{1}}), "another language model");
        }
        LanguageModel.State st = lm.newState(1);
        st.close();
        assertMessage(IllegalStateException.class, () -> lm.feed(st, new int[][] {{1}}), "closed");
    }

    @Test
    void closedModelsThrow() throws IOException {
        Seq2Seq m = Seq2Seq.load(ModelCases.model("seq2seq"), Backend.get("simd"));
        m.close();
        assertThrows(IllegalStateException.class, () -> m.greedy(new int[][] {{7}}, 5));
        LanguageModel l = LanguageModel.load(ModelCases.model("charlm"), Backend.get("simd"));
        l.close();
        assertThrows(IllegalStateException.class, () -> l.logits(new int[][] {{1}}));
        l.close(); // idempotent
    }

    @Test
    void seq2seqArguments() {
        assertMessage(IllegalArgumentException.class, () -> s2s.greedy(new int[][] {{7, 43}}, 5), "sources[0][1] = 43");
        assertMessage(IllegalArgumentException.class, () -> s2s.greedy(new int[][] {{7}}, 0), "maxLength");
        assertMessage(IllegalArgumentException.class, () -> s2s.beamSearch(new int[] {7}, 0, 5), "beam width");
        assertMessage(IllegalArgumentException.class, () -> s2s.beamSearch(new int[] {}, 2, 5), "empty");
        assertMessage(IllegalArgumentException.class, () -> s2s.decoderLogits(new int[][] {{7}}, new int[][] {{1}, {1}}), "decoderInputs has 2");
        assertEquals(0, s2s.greedy(new int[0][], 5).length);
    }

    @Test
    void classifierArguments() {
        assertMessage(IllegalArgumentException.class, () -> cls.logits(new float[][][] {{{1f, 2f}}}), "sequence 0 step 0 must have 1 features, got 2");
        assertMessage(IllegalArgumentException.class, () -> cls.logits(new float[][][] {{}}), "sequence 0 is empty");
        assertMessage(IllegalArgumentException.class, () -> cls.logits(new int[][] {{1}}), "feature vectors, not token ids");
    }

    @Test
    void configsThatDisagreeWithTheirWeights(@TempDir Path dir) throws IOException {
        Path m = dir.resolve("m");
        Files.createDirectories(m);
        Files.copy(ModelCases.model("classifier").resolve("weights.safetensors"), m.resolve("weights.safetensors"));
        String json = Files.readString(ModelCases.model("classifier").resolve("model.json"));
        Files.writeString(m.resolve("model.json"), json.replace("\"random_walk\"", "\"random_walk\", \"fifth\""));
        assertMessage(IllegalArgumentException.class, () -> load(m), "\"labels\" has 5 entries", "gives 4 logits");
        Files.writeString(m.resolve("model.json"), json.replace("\"bidirectional\": true", "\"bidirectional\": false"));
        assertMessage(IllegalArgumentException.class, () -> load(m), "bidirectional says false");
        Files.writeString(m.resolve("model.json"), json.replace("\"mode\": \"gru\"", "\"mode\": \"lstm\""));
        assertMessage(IllegalArgumentException.class, () -> load(m), "model.json", "mode LSTM", "GRU");
        Files.writeString(m.resolve("model.json"), json.replace("\"structure\": \"n_vs_1\"", "\"structure\": \"lm\""));
        IOException e = assertThrows(IOException.class, () -> SequenceClassifier.load(m, null));
        assertTrue(e.getMessage().contains("vocab"), e.getMessage());
        assertTrue(List.of(cls.labels().toArray()).contains("sine"));
    }

    private static void load(Path m) {
        try {
            SequenceClassifier.load(m, Backend.get("simd")).close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
