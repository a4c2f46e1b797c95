package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.app.ModelCases;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code panama-rnn serve} as a process: it prints its port, answers, writes the access log, and on SIGTERM
 * drains and exits (143, as a JVM does after SIGTERM); a bad option is one error line.
 */
class ServeCommandTest {
    @TempDir
    Path dir;

    private Process start(Path err, Path out, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dpanama.rnn.tuning=off",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    @Test
    void servesAndStopsOnSigterm() throws Exception {
        Path err = dir.resolve("err"), out = dir.resolve("out");
        Process p = start(err, out, "--model", ModelCases.model("seq2seq").toString(), "--port", "0", "--max-batch", "4");
        try {
            Matcher m = null;
            long end = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() < end && p.isAlive()) {
                m = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+)").matcher(Files.readString(err));
                if (m.find()) break;
                Thread.sleep(100);
            }
            assertTrue(m != null && m.find(0), "the port is printed: " + Files.readString(err));
            int port = Integer.parseInt(m.group(1));
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models/seq2seq/translate"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"3 March 2021\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("{\"translation\":\"2021-03-03\"}", r.body());
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after SIGTERM");
            assertEquals(143, p.exitValue(), "a JVM stopped by SIGTERM exits 128 + 15 after its shutdown hooks: " + Files.readString(err));
            String e = Files.readString(err, StandardCharsets.UTF_8);
            assertTrue(e.contains("panama-rnn: draining") && e.contains("panama-rnn: stopped"), e);
            assertTrue(Files.readString(out).contains("\"path\":\"/v1/models/seq2seq/translate\""), "access log: " + Files.readString(out));
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badOptionsAreOneLine() throws Exception {
        Path err = dir.resolve("err2"), out = dir.resolve("out2");
        Process p = start(err, out, "--model", ModelCases.model("seq2seq").toString(), "--max-batch", "0");
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        List<String> lines = Files.readString(err).lines().filter(l -> !l.startsWith("WARNING: Using incubator")).toList();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("panama-rnn: error: ") && lines.get(0).contains("max batch must be in 1..1024"), lines.get(0));
        Process q = start(dir.resolve("err3"), dir.resolve("out3"));
        assertTrue(q.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, q.exitValue());
        assertTrue(Files.readString(dir.resolve("err3")).contains("nothing to serve"), Files.readString(dir.resolve("err3")));
    }
}
