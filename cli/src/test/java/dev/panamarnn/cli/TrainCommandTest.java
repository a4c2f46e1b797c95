package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelCases;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} end to end in short runs (one epoch of two batches: the accuracy targets are reached by the full
 * runs {@code scripts/test} makes after the unit tests): the model directory it writes loads in the application
 * commands and the demo, the same seed gives the same bytes, bad options get one-line errors.
 */
class TrainCommandTest {
    @TempDir
    Path dir;

    private CliRun train(String task, Path out, long seed) {
        return CliRun.of("train", "--task", task, "--out", out.toString(), "--epochs", "1", "--batches-per-epoch", "2", "--seed", Long.toString(seed),
                "--backend", "simd", "--no-progress", "--models", ModelCases.modelsDir().toString());
    }

    @Test
    void everyTaskWritesAModelDirectoryTheOtherCommandsLoad() throws Exception {
        for (String task : List.of("classifier", "charlm", "seq2seq")) {
            Path out = dir.resolve("trained").resolve(task);
            CliRun r = train(task, out, 7);
            assertEquals(0, r.code(), r.out() + r.err());
            String[] lines = r.out().strip().split("\n");
            assertTrue(lines[lines.length - 1].matches("accuracy: [01]\\.\\d{4}"), lines[lines.length - 1]);
            for (String f : List.of("weights.safetensors", "model.json", "loss.png", "cases.safetensors")) assertTrue(Files.isRegularFile(out.resolve(f)), f);
            byte[] png = Files.readAllBytes(out.resolve("loss.png"));
            assertEquals((byte) 0x89, png[0]);
            assertEquals("PNG", new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
            String json = Files.readString(out.resolve("model.json"));
            assertTrue(json.contains("\"training\"") && json.contains("\"test_accuracy\""), json);
            assertFalse(json.contains("\"pytorch\""), json);
            try (SafeTensors st = SafeTensors.open(out.resolve("weights.safetensors"))) {
                assertEquals("pt", st.metadata().get("format"));
                assertTrue(st.names().stream().allMatch(n -> n.contains("weight") || n.contains("bias")), st.names().toString());
            }
            Backend simd = Backend.get("simd");
            switch (task) {
                case "classifier" -> SequenceClassifier.load(out, simd).close();
                case "charlm" -> LanguageModel.load(out, simd).close();
                default -> Seq2Seq.load(out, simd).close();
            }
        }
        CliRun demo = CliRun.of("demo", "--models", dir.resolve("trained").toString(), "--backends", "simd", "--no-progress");
        assertEquals(0, demo.code(), demo.out() + demo.err());
        assertTrue(demo.out().contains("trained in Java"), demo.out());
        assertTrue(demo.out().lines().anyMatch(l -> l.startsWith("  accuracies as train recorded") && l.strip().endsWith("yes")), demo.out());
        CliRun translate = CliRun.of("translate", "--model", dir.resolve("trained/seq2seq").toString(), "--backend", "simd", "3 March 2021");
        assertEquals(0, translate.code(), translate.err());
    }

    @Test
    void theSameSeedGivesTheSameBytes() throws Exception {
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        assertEquals(0, train("classifier", a, 3).code());
        assertEquals(0, train("classifier", b, 3).code());
        assertEquals(0, train("classifier", c, 4).code());
        byte[] wa = Files.readAllBytes(a.resolve("weights.safetensors"));
        assertArrayEquals(wa, Files.readAllBytes(b.resolve("weights.safetensors")));
        assertFalse(java.util.Arrays.equals(wa, Files.readAllBytes(c.resolve("weights.safetensors"))));
    }

    @Test
    void badOptionsGetOneLineErrors() {
        CliRun r = CliRun.of("train", "--task", "poetry", "--out", dir.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("poetry"), r.err());
        r = CliRun.of("train", "--task", "classifier", "--out", dir.resolve("x").toString(), "--backend", "simd", "--threads", "2",
                "--models", ModelCases.modelsDir().toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().strip().startsWith("panama-rnn: error: --threads 2"), r.err());
        assertFalse(Files.exists(dir.resolve("x")));
        for (String[] bad : new String[][] {{"--epochs", "0"}, {"--patience", "0"}, {"--bptt", "4"}}) {
            r = CliRun.of("train", "--task", "classifier", "--out", dir.resolve("x").toString(), bad[0], bad[1], "--models", ModelCases.modelsDir().toString());
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().strip().startsWith("panama-rnn: error: " + bad[0]), r.err());
        }
        assertFalse(Files.exists(dir.resolve("x")));
    }
}
