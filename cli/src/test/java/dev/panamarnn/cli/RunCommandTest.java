package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code panama-rnn run} and {@code info --model} on the ONNX fixtures (onnx/src/test/resources/onnx), and their errors. */
class RunCommandTest {
    static final Path TORCH = Path.of("..", "onnx", "src", "test", "resources", "onnx", "torch");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"lstm_2layer_bidirectional", "gru", "rnn_relu_2layer", "lstm_batch_first_h0", "classifier"})
    void givesPyTorchsOutputs(String name) throws Exception {
        Path c = TORCH.resolve(name), out = dir.resolve("out.safetensors");
        CliRun r = CliRun.of("run", "--model", c.resolve("model.onnx").toString(), "--input", c.resolve("inputs.safetensors").toString(),
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote"), r.out());
        try (SafeTensors exp = SafeTensors.open(c.resolve("outputs.safetensors")); SafeTensors got = SafeTensors.open(out)) {
            assertEquals(exp.names(), got.names());
            for (String n : exp.names()) {
                float[] e = exp.toFloatArray(n), g = got.toFloatArray(n);
                assertEquals(e.length, g.length, n);
                for (int i = 0; i < e.length; i++) {
                    if (Math.abs(e[i] - g[i]) > 1e-5 + 1e-5 * Math.abs(e[i])) fail(name + " " + n + "[" + i + "]: " + e[i] + " vs " + g[i]);
                }
            }
        }
    }

    /** The application commands on model directories whose weights are the demo models' ONNX exports. */
    @Test
    void theApplicationCommandsTakeOnnxModelDirectories() throws Exception {
        Path demo = TORCH.resolveSibling("demo");
        CliRun t = CliRun.of("translate", "--model", demo.resolve("seq2seq").toString(), "3 March 2021", "Dec 25, 1999");
        assertEquals(0, t.code(), t.err());
        assertEquals("3 March 2021\t2021-03-03\nDec 25, 1999\t1999-12-25", t.out().strip());
        CliRun g = CliRun.of("generate", "--model", demo.resolve("charlm").toString(), "--max", "40", "the ");
        CliRun gs = CliRun.of("generate", "--model", Path.of("..", "models", "charlm").toString(), "--max", "40", "the ");
        assertEquals(0, g.code(), g.err());
        assertEquals(gs.out(), g.out());
        Path seq = dir.resolve("seq.safetensors");
        try (SafeTensors cases = SafeTensors.open(Path.of("..", "models", "classifier", "cases.safetensors"))) {
            int[] shape = cases.info("inputs").shape();
            new SafeTensorsWriter().add("input", cases.toFloatArray("inputs"), shape).add("lengths", cases.toLongArray("lengths"), shape[0]).write(seq);
        }
        CliRun c = CliRun.of("classify", "--model", demo.resolve("classifier").toString(), "--input", seq.toString());
        CliRun cs = CliRun.of("classify", "--model", Path.of("..", "models", "classifier").toString(), "--input", seq.toString());
        assertEquals(0, c.code(), c.err());
        assertEquals(cs.out(), c.out());
    }

    @Test
    void infoListsWhatTheModelHolds() {
        CliRun r = CliRun.of("info", "--model", TORCH.resolve("classifier").resolve("model.onnx").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("inputs: [input: INT64[seq_len, batch]]"), r.out());
        assertTrue(r.out().contains("LSTM forward: runs on the layers"), r.out());
    }

    @Test
    void anInputNamedForNoGraphInputIsOneLine() throws Exception {
        Path in = dir.resolve("in.safetensors");
        new SafeTensorsWriter().add("x", new float[6], 1, 2, 3).write(in);
        CliRun r = CliRun.of("run", "--model", TORCH.resolve("gru").resolve("model.onnx").toString(), "--input", in.toString(),
                "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("'x' feeds no graph input"), r.err());
        assertTrue(Files.notExists(dir.resolve("o.safetensors")));
    }

    @Test
    void aWrongShapeNamesTheInput() throws Exception {
        Path in = dir.resolve("in.safetensors");
        new SafeTensorsWriter().add("input", new float[6], 1, 2, 3).write(in);
        CliRun r = CliRun.of("run", "--model", TORCH.resolve("gru").resolve("model.onnx").toString(), "--input", in.toString(),
                "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("graph input 'input' must be [seq_len, batch, 5], got [1, 2, 3]"), r.err());
    }

    @Test
    void aFileThatIsNotOnnxIsOneLine() throws Exception {
        Path bad = dir.resolve("bad.onnx");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        CliRun r = CliRun.of("info", "--model", bad.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("is not a valid ONNX model"), r.err());
    }
}
