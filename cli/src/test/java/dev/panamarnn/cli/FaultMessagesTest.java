package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.app.ModelCases;
import dev.panamarnn.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors a user meets, each one line that names the path and the operation, with text from files and
 * from the command line escaped and cut; options out of range are refused up front.
 */
class FaultMessagesTest {
    @TempDir
    Path dir;

    private static String model(String name) {
        return ModelCases.model(name).toString();
    }

    /** Exit {@code code}, and the first line of stderr is the error, holding every fragment; no stack trace, no raw control character. */
    private static String assertError(int code, CliRun r, String... fragments) {
        assertEquals(code, r.code(), r.out() + r.err());
        List<String> lines = r.err().lines().toList();
        assertFalse(lines.isEmpty(), "an error line");
        String line = lines.get(0);
        assertTrue(line.startsWith("panama-rnn: error: "), r.err());
        for (String f : fragments) assertTrue(line.contains(f), "'" + f + "' in: " + line);
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        for (char c : r.err().toCharArray()) {
            assertFalse(c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c < 0xa0, "raw control character " + (int) c + " in: " + r.err());
        }
        return line;
    }

    private static String assertError(CliRun r, String... fragments) {
        String line = assertError(1, r, fragments);
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        return line;
    }

    @Test
    void aTensorNameWithControlCharactersIsEscaped() throws Exception {
        LayerFiles layer = LayerFiles.rnnTanh(dir);
        Path in = dir.resolve("forged.safetensors");
        new SafeTensorsWriter().add("input", new float[2 * 5 * 3], 2, 5, 3).add("x\u001b[2J\r\npanama-rnn: all good", new float[] {1}, 1).write(in);
        String[] args = layer.forward(dir.resolve("out.safetensors"));
        args[4] = in.toString();
        assertError(CliRun.of(args), in + ": unexpected tensor 'x\\u001b[2J\\r\\npanama-rnn: all good'");
    }

    @Test
    void aMissingTextFileNamesThePathAndTheOperation() {
        Path missing = dir.resolve("missing.txt");
        assertError(CliRun.of("translate", "--model", model("seq2seq"), "--file", missing.toString()),
                "--file " + missing + ": cannot read: no such file");
        assertError(CliRun.of("translate", "--model", model("seq2seq"), "--file", dir.toString()),
                "--file " + dir + ": cannot read: it is a directory");
    }

    @Test
    void badUtf8InATextFileNamesThePathAndWhere() throws Exception {
        Path f = dir.resolve("latin1.txt");
        Files.write(f, new byte[] {'1', ' ', 'J', 'a', 'n', '\n', '3', ' ', 'M', (byte) 0xe4, 'r', 'z', '\n'});
        assertError(CliRun.of("translate", "--model", model("seq2seq"), "--file", f.toString()),
                "--file " + f + ": cannot read: not valid UTF-8 at byte 9 (line 2)");
    }

    @Test
    void anEndlessTextFileIsCutAtItsLimit() {
        Path zero = Path.of("/dev/zero");
        assumeTrue(Files.isReadable(zero));
        CliRun r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> CliRun.of("translate", "--model", model("seq2seq"), "--file", zero.toString()));
        assertError(r, "--file /dev/zero: more than 16777216 bytes");
    }

    @Test
    void aLongPromptIsCutInTheMessage() {
        String prompt = "a".repeat(120_000) + "\u00e4";
        String line = assertError(CliRun.of("generate", "--model", model("charlm"), prompt), "prompt 1 'aaa", "more)", "'ä' (U+00E4)",
                "is not in the vocabulary");
        assertTrue(line.length() < 1000, line.length() + " characters");
        line = assertError(CliRun.of("translate", "--model", model("seq2seq"), "3 March 2021", prompt), "input 2 'aaa", "more)", "'ä'");
        assertTrue(line.length() < 1000, line.length() + " characters");
    }

    @Test
    void controlCharactersInAnyMessageAreEscaped() {
        // picocli's own message repeats the argument.
        String line = assertError(2, CliRun.of("forward", "--\u001b[31mred\rforged"), "\\u001b[31mred\\rforged");
        assertTrue(line.contains("Unknown option"), line);
        // A prompt from the command line, in a library message.
        assertError(CliRun.of("generate", "--model", model("charlm"), "line\nnext\u0007"), "'line\\nnext\\u0007'");
    }

    @Test
    void tooManyThreadsAreRefused() {
        int max = Math.min(256, 4 * Runtime.getRuntime().availableProcessors());
        assertError(CliRun.of("generate", "--model", model("charlm"), "--openblas-threads", "1000", "the"), "--openblas-threads must be in 1.." + max, "got 1000");
        assertError(CliRun.of("generate", "--model", model("charlm"), "--openblas-threads", "0", "the"), "--openblas-threads must be in 1.." + max, "got 0");
        // --threads is the library's threads per call (1 or 2); a count past it points to the OpenBLAS option.
        assertError(CliRun.of("generate", "--model", model("charlm"), "--threads", "8", "the"), "--threads (threads per forward call) must be 1 or 2",
                "use --openblas-threads");
    }

    @Test
    void aMisspelledOptionIsUnknownWithTheClosestMatch() {
        LayerFiles none = new LayerFiles(dir.resolve("w"), dir.resolve("x"));
        String[] args = none.forward(dir.resolve("o"));
        args[1] = "--wieghts";
        assertError(2, CliRun.of(args), "Unknown option: '--wieghts'", "Did you mean: --weights?");
        assertError(2, CliRun.of("generate", "--model", model("charlm"), "--sampels", "3"), "Unknown option: '--sampels'", "Did you mean: --samples?");
        assertError(2, CliRun.of("translate", "--modle", model("seq2seq"), "x"), "Unknown option: '--modle'", "Did you mean: --model?");
    }

    @Test
    void hugeGenerationRequestsAreRefusedUpFront() {
        assertError(CliRun.of("generate", "--model", model("charlm"), "--temperature", "1", "--samples", "10000", "--max", "65536"),
                "--samples", "--max 65536", "at most 16777216");
        assertError(CliRun.of("generate", "--model", model("charlm"), "--max", "100000"), "--max must be in 1..65536, got 100000");
        assertError(CliRun.of("translate", "--model", model("seq2seq"), "--beam", "1024", "--max", "65536", "3 March 2021"), "--beam 1024", "--max 65536");
        assertError(CliRun.of("translate", "--model", model("seq2seq"), "--beam", "5000", "3 March 2021"), "--beam must be in 1..1024");
    }

    @Test
    void aBadLogLevelIsAWarningNotACrash() {
        String old = System.getProperty("panama.rnn.log");
        System.setProperty("panama.rnn.log", "LOUD\u001b");
        try {
            CliRun r = CliRun.of("--version");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().startsWith("panama-rnn: warning: -Dpanama.rnn.log='LOUD\\u001b' is not a log level"), r.err());
            assertTrue(r.err().contains("using WARNING"), r.err());
        } finally {
            if (old == null) System.clearProperty("panama.rnn.log");
            else System.setProperty("panama.rnn.log", old);
        }
    }
}
