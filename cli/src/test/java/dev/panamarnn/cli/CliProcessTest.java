package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.app.ModelCases;
import dev.panamarnn.io.SafeTensorsWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line in its own JVM, as a user runs it: failures that happen before or outside any command
 * (the JVM's own options, class initialisation, running out of heap) still end as one line and an exit
 * code, never a stack trace or a hang.
 */
class CliProcessTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
        /** stderr without the JVM's notice about incubator modules. */
        List<String> errLines() {
            return err.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
        }
    }

    private Result run(List<String> jvm, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dpanama.rnn.tuning=off"));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("stdout"), err = dir.resolve("stderr");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("no exit within 120 s: " + cmd.subList(3, cmd.size()) + "\n" + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static void assertOneErrorLine(Result r, String... fragments) {
        assertEquals(1, r.code(), r.out() + r.err());
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("panama-rnn: error: "), r.err());
        for (String f : fragments) assertTrue(lines.get(0).contains(f), "'" + f + "' in: " + lines.get(0));
        assertFalse(r.err().contains("Exception in thread") || r.err().contains("\tat "), r.err());
    }

    @Test
    void aBadLogLevelIsAWarning() throws Exception {
        Result r = run(List.of("-Dpanama.rnn.log=BOGUS"), "--version");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("panama-rnn: warning: -Dpanama.rnn.log='BOGUS' is not a log level (expected OFF, SEVERE, WARNING, INFO, CONFIG, "
                + "FINE, FINER, FINEST or ALL); using WARNING"), r.errLines());
        assertTrue(r.out().startsWith("panama-rnn "), r.out());
    }

    @Test
    void aBadLibraryPropertyIsOneLineNotAHang() throws Exception {
        // The library reads -Dpanama.rnn.threads in a static initialiser; failing there in the middle of a
        // forward call used to leave a lock held, and the command hung when it closed the model.
        Result r = run(List.of("-Dpanama.rnn.threads=abc"), "generate", "--model", ModelCases.model("charlm").toString(), "the");
        assertOneErrorLine(r, "-Dpanama.rnn.threads must be 1 or 2, got 'abc'");
    }

    @Test
    void runningOutOfHeapIsOneLine() throws Exception {
        // A valid request larger than a small heap: the output of an Elman RNN over 2000 × 200 steps is held
        // on the heap before it is written (2000 × 200 × 17 floats, 27 MB, in a 16 MB heap).
        LayerFiles layer = LayerFiles.rnnTanh(dir);
        Path in = dir.resolve("big.safetensors");
        int t = 2000, b = 200, i = 3;
        float[] x = new float[t * b * i];
        for (int k = 0; k < x.length; k++) x[k] = (k % 7) * 0.1f;
        new SafeTensorsWriter().add("input", x, b, t, i).write(in);
        String[] args = layer.forward(dir.resolve("out.safetensors"));
        args[4] = in.toString();
        Result r = run(List.of("-Xmx16m"), args);
        assertOneErrorLine(r, "out of memory", "-Xmx");
        assertFalse(Files.exists(dir.resolve("out.safetensors")));
    }

    /** Prepares the output file args[0] as the commands do, says so, then waits to be terminated. */
    static final class PreparedThenKilled {
        public static void main(String[] args) throws Exception {
            dev.panamarnn.io.OutputFile.prepare("--output", Path.of(args[0])).deleteTemporaryOnExit();
            System.out.println("prepared");
            System.out.flush();
            Thread.sleep(120_000);
        }
    }

    @Test
    void aTerminatedCommandLeavesNoTemporaryFile() throws Exception {
        // The output's temporary file exists while the work runs; SIGTERM (as Ctrl-C) must not leave it behind.
        Path out = dir.resolve("out.safetensors");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                PreparedThenKilled.class.getName(), out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("prepared", r.readLine());
            try (var s = Files.list(dir)) {
                assertEquals(1, s.filter(f -> f.getFileName().toString().startsWith(".out.safetensors.")).count(), "the temporary file exists");
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        try (var s = Files.list(dir)) {
            assertEquals(List.of(), s.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(".out")).toList());
        }
    }
}
