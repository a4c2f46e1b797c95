package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.app.CaseFile;
import dev.panamarnn.app.ModelCases;
import dev.panamarnn.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code demo}, {@code classify}, {@code generate}, {@code translate} end to end on the example models, and their errors. */
class ModelCommandsTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private static String model(String name) {
        return ModelCases.model(name).toString();
    }

    private static void assertOneLineError(CliRun r, String... fragments) {
        assertEquals(1, r.code(), r.out() + r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("panama-rnn: error: "), r.err());
        for (String f : fragments) assertTrue(lines[0].contains(f), "'" + f + "' in: " + lines[0]);
    }

    @Test
    void demoShowsEveryStructureEqualToPyTorch() {
        CliRun r = run("demo", "--models", ModelCases.modelsDir().toString(), "--backends", "simd", "--no-progress");
        assertEquals(0, r.code(), r.err());
        for (String s : List.of("N-vs-1", "N-vs-N", "1-vs-N", "N-vs-M")) assertTrue(r.out().contains(s), s);
        assertEquals(4, r.out().split("= equal", -1).length - 1, r.out());
        assertFalse(r.out().contains("DIFFERENT"), r.out());
        assertTrue(r.out().contains("8/8 continuations identical"), r.out());
        assertTrue(r.out().contains("\"3 March 2021\"   → \"2021-03-03\""), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("  accuracies equal PyTorch's") && l.strip().endsWith("yes")), r.out());
    }

    @Test
    void classifyFeatureSequencesFromAFile() throws Exception {
        CaseFile c = ModelCases.cases("classifier");
        int[] s = c.shape("inputs");
        int n = 6;
        float[] x = Arrays.copyOf(c.floats("inputs"), n * s[1] * s[2]);
        long[] len = Arrays.copyOf(c.longs("lengths"), n);
        Path in = dir.resolve("in.safetensors"), out = dir.resolve("out.safetensors");
        new SafeTensorsWriter().add("inputs", x, new int[] {n, s[1], s[2]}).add("lengths", len, new int[] {n}).write(in);
        CliRun r = run("classify", "--model", model("classifier"), "--input", in.toString(), "--output", out.toString(), "--backend", "simd");
        assertEquals(0, r.code(), r.err());
        List<String> labels = List.of("sine", "square", "sawtooth", "random_walk");
        float[] want = c.floats("expected_logits");
        List<String> lines = r.out().lines().filter(l -> l.contains("\t")).toList();
        assertEquals(n, lines.size(), r.out());
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < 4; k++) if (want[i * 4 + k] > want[i * 4 + best]) best = k;
            assertEquals(i + "\t" + labels.get(best), lines.get(i).substring(0, lines.get(i).lastIndexOf('\t')));
        }
        assertTrue(Files.size(out) > 0);
    }

    /** classify reads 'input', as forward does (and 'inputs', the case files' name): same output either way; both at once is an error. */
    @Test
    void classifyReadsInputAsForwardDoes() throws Exception {
        CaseFile c = ModelCases.cases("classifier");
        int[] s = c.shape("inputs");
        int n = 3;
        float[] x = Arrays.copyOf(c.floats("inputs"), n * s[1] * s[2]);
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors"), both = dir.resolve("both.safetensors");
        new SafeTensorsWriter().add("input", x, new int[] {n, s[1], s[2]}).write(a);
        new SafeTensorsWriter().add("inputs", x, new int[] {n, s[1], s[2]}).write(b);
        new SafeTensorsWriter().add("input", x, new int[] {n, s[1], s[2]}).add("inputs", x, new int[] {n, s[1], s[2]}).write(both);
        CliRun ra = run("classify", "--model", model("classifier"), "--input", a.toString(), "--backend", "simd");
        CliRun rb = run("classify", "--model", model("classifier"), "--input", b.toString(), "--backend", "simd");
        assertEquals(0, ra.code(), ra.err());
        assertEquals(rb.out(), ra.out());
        CliRun r2 = run("classify", "--model", model("classifier"), "--input", both.toString());
        assertEquals(1, r2.code());
        assertTrue(r2.err().contains("both 'input' and 'inputs'"), r2.err());
    }

    @Test
    void generateGreedyAndSeeded() {
        CliRun r = run("generate", "--model", model("charlm"), "the", "my ");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("the bird is loud.", "my bird is loud."), r.out().lines().toList());
        CliRun a = run("generate", "--model", model("charlm"), "--temperature", "1", "--seed", "5", "--samples", "3", "a");
        CliRun b = run("generate", "--model", model("charlm"), "--temperature", "1", "--seed", "5", "--samples", "3", "a");
        assertEquals(0, a.code(), a.err());
        assertEquals(3, a.out().lines().count());
        assertEquals(a.out(), b.out());
    }

    @Test
    void translateGreedyBeamAndFile() throws Exception {
        CliRun r = run("translate", "--model", model("seq2seq"), "3 March 2021", "Mar 3, 2021");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("3 March 2021\t2021-03-03", "Mar 3, 2021\t2021-03-03"), r.out().lines().toList());
        Path f = dir.resolve("dates.txt");
        Files.writeString(f, "17/11/1987\n\n1 Jan 2000\n");
        CliRun b = run("translate", "--model", model("seq2seq"), "--beam", "3", "--file", f.toString());
        assertEquals(0, b.code(), b.err());
        assertEquals(List.of("17/11/1987\t1987-11-17", "1 Jan 2000\t2000-01-01"), b.out().lines().toList());
    }

    @Test
    void errorsAreOneClearLine() throws Exception {
        assertOneLineError(run("translate", "--model", dir.toString(), "x"), "no model.json");
        assertOneLineError(run("generate", "--model", model("seq2seq")), "\"structure\" is seq2seq", "needs lm");
        assertOneLineError(run("translate", "--model", model("seq2seq"), "3 März 2021"), "'ä'", "not in the vocabulary");
        assertOneLineError(run("generate", "--model", model("charlm"), "--temperature", "-1"), "temperature");
        assertOneLineError(run("translate", "--model", model("seq2seq"), "--beam", "0", "x"), "--beam");
        assertOneLineError(run("classify", "--model", model("classifier")), "--input is required");
        assertOneLineError(run("classify", "--model", model("classifier"), "some text"), "feature sequences");

        // A model directory with a broken config, then with weights that do not fit it.
        Path m = dir.resolve("m");
        Files.createDirectories(m);
        Files.copy(ModelCases.model("charlm").resolve("weights.safetensors"), m.resolve("weights.safetensors"));
        Files.writeString(m.resolve("model.json"), "{\"structure\": \"lm\", ");
        assertOneLineError(run("generate", "--model", m.toString()), "model.json", "not valid JSON");
        String json = Files.readString(ModelCases.model("charlm").resolve("model.json"));
        Files.writeString(m.resolve("model.json"), json.replace("\"hidden_size\": 128", "\"hidden_size\": 64"));
        assertOneLineError(run("generate", "--model", m.toString()), "hidden_size is 64, the weights say 128");
        Files.writeString(m.resolve("model.json"), json.replace("\"prefix\": \"rnn.\"", "\"prefix\": \"lstm.\""));
        assertOneLineError(run("generate", "--model", m.toString()), "lstm.");
        Files.writeString(m.resolve("model.json"), json.replace("\"eos\": 2", "\"eos\": 99"));
        assertOneLineError(run("generate", "--model", m.toString()), "\"eos\"", "99");
        Files.writeString(m.resolve("model.json"), json);
        Files.write(m.resolve("weights.safetensors"), new byte[] {1, 2, 3});
        assertOneLineError(run("generate", "--model", m.toString()), "weights.safetensors");
    }
}
