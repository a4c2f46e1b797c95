package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The application models loaded from the demo models' ONNX exports (fixtures {@code demo/}: model.json beside the
 * graphs) equal the same models loaded from {@code models/<name>/weights.safetensors}, bit for bit, on every
 * backend: the weights read out of the graph are PyTorch's exactly. Graphs that do not fit their model.json are
 * refused with a message naming what differs.
 */
class OnnxAppsTest {
    @TempDir
    Path tmp;

    private static Path demo(String name) {
        return Fixtures.root("demo").resolve(name);
    }

    private static Path models(String name) {
        Path p = Path.of("").toAbsolutePath();
        for (; p != null; p = p.getParent()) if (Files.isRegularFile(p.resolve("models/" + name + "/model.json"))) return p.resolve("models/" + name);
        throw new IllegalStateException("models/ not found");
    }

    @TestFactory
    Stream<DynamicTest> theOnnxModelsEqualTheSafetensorsModels() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Fixtures.backends()) {
            tests.add(DynamicTest.dynamicTest(b.name() + " classifier", () -> classifier(b)));
            tests.add(DynamicTest.dynamicTest(b.name() + " charlm", () -> languageModel(b)));
            tests.add(DynamicTest.dynamicTest(b.name() + " seq2seq", () -> seq2seq(b)));
        }
        return tests.stream();
    }

    private static void classifier(Backend b) throws Exception {
        assertTrue(OnnxApps.hasOnnxWeights(demo("classifier")));
        assertFalse(OnnxApps.hasOnnxWeights(models("classifier")));
        try (SequenceClassifier onnx = OnnxApps.classifier(demo("classifier"), b); SequenceClassifier st = SequenceClassifier.load(models("classifier"), b)) {
            SplittableRandom r = new SplittableRandom(5);
            float[][][] seq = new float[7][][];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = new float[20 + r.nextInt(41)][1];
                for (float[] step : seq[i]) step[0] = (float) r.nextDouble(-2, 2);
            }
            float[][] a = onnx.logits(seq), e = st.logits(seq);
            for (int i = 0; i < seq.length; i++) assertArrayEquals(e[i], a[i], "sample " + i);
            assertEquals(st.labels(), onnx.labels());
        }
    }

    private static void languageModel(Backend b) throws Exception {
        try (LanguageModel onnx = OnnxApps.languageModel(demo("charlm"), b); LanguageModel st = LanguageModel.load(models("charlm"), b)) {
            int[][] tokens = {onnx.prompt("the quick brown fox"), onnx.prompt("to be.")};
            float[][][] a = onnx.logits(tokens), e = st.logits(tokens);
            for (int i = 0; i < tokens.length; i++) for (int t = 0; t < tokens[i].length; t++) assertArrayEquals(e[i][t], a[i][t], "sequence " + i + " step " + t);
            assertEquals(st.generate("the ", Decoding.greedy(), 40), onnx.generate("the ", Decoding.greedy(), 40));
        }
    }

    private static void seq2seq(Backend b) throws Exception {
        try (Seq2Seq onnx = OnnxApps.seq2seq(demo("seq2seq"), b); Seq2Seq st = Seq2Seq.load(models("seq2seq"), b)) {
            for (String date : List.of("3 March 2021", "03/03/2021", "Dec 25, 1999", "1.1.1950")) {
                assertEquals(st.translate(date, 1), onnx.translate(date, 1), date);
                assertEquals(st.translate(date, 3), onnx.translate(date, 3), date);
            }
            assertEquals("2021-03-03", onnx.translate("3 March 2021", 1));
        }
    }

    private Path copy(String name) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        try (Stream<Path> s = Files.list(demo(name))) {
            for (Path f : s.toList()) Files.copy(f, d.resolve(f.getFileName()));
        }
        return d;
    }

    @Test
    void aLayerCountThatDiffersFromModelJsonIsRefused() throws Exception {
        Path d = copy("charlm");
        Path json = d.resolve("model.json");
        Files.writeString(json, Files.readString(json).replace("\"num_layers\": 2", "\"num_layers\": 1"));
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxApps.languageModel(d, null));
        assertTrue(e.getMessage().contains("model.json says 1 recurrent layer(s) (rnn.num_layers), the graph has 2"), e.getMessage());
    }

    @Test
    void aGraphWhosePlumbingDiffersFromModelJsonIsRefused() throws Exception {
        // The torch/classifier export: time-major token ids, the head on the last step's output, log-softmax.
        // Described as a batch-first n_vs_1 model on h_n, its weights load, but the probe finds other outputs.
        Path d = Files.createDirectories(tmp.resolve("tm"));
        Files.copy(Fixtures.root("torch").resolve("classifier/model.onnx"), d.resolve("model.onnx"));
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < 20; i++) vocab.append(i == 0 ? "" : ",").append("\"t").append(i).append('"');
        Files.writeString(d.resolve("model.json"), """
                {"name": "tm", "structure": "n_vs_1", "vocab": [%s], "labels": ["a", "b", "c"], "embedding": "embedding.",
                 "rnn": {"prefix": "lstm.", "mode": "lstm", "input_size": 5, "hidden_size": 8, "num_layers": 1}, "head": "linear."}
                """.formatted(vocab));
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxApps.classifier(d, null));
        assertTrue(e.getMessage().contains("does not compute what"), e.getMessage());
    }

    @Test
    void theWrongStructureIsRefused() throws Exception {
        var e = assertThrows(java.io.IOException.class, () -> OnnxApps.languageModel(demo("classifier"), null));
        assertTrue(e.getMessage().contains("this needs lm"), e.getMessage());
    }
}
