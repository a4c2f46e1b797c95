package dev.panamarnn.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.CaseFile;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelCases;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server end to end over loopback HTTP: every endpoint, results equal to the library's, concurrent
 * requests sharing steps, bad requests, limits (413, 503), deadlines (504), graceful shutdown.
 */
class InferenceServerTest {
    @TempDir
    static Path tmp;
    static Path small, slow;
    static InferenceServer server;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    /** An LSTM layer's weights with PyTorch's names, random. */
    static Path lstm(String name, int I, int H, long seed) throws IOException {
        Random r = new Random(seed);
        float s = (float) (1 / Math.sqrt(H));
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.add("weight_ih_l0", rand(r, 4 * H * I, s), 4 * H, I).add("weight_hh_l0", rand(r, 4 * H * H, s), 4 * H, H)
                .add("bias_ih_l0", rand(r, 4 * H, s), 4 * H).add("bias_hh_l0", rand(r, 4 * H, s), 4 * H);
        Path p = tmp.resolve(name + ".safetensors");
        w.write(p);
        return p;
    }

    static float[] rand(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (r.nextFloat() * 2 - 1) * scale;
        return v;
    }

    @BeforeAll
    static void start() throws IOException {
        small = lstm("small", 3, 20, 1);
        slow = lstm("slow", 1, 256, 2);
        Path m = ModelCases.modelsDir();
        server = InferenceServer.start(settings(1 << 20, new PrintStream(LOG, true, StandardCharsets.UTF_8)).withWarmUp(Duration.ofMillis(400)), List.of(
                ModelSpec.model(m.resolve("classifier").toString(), 8, 64),
                ModelSpec.model(m.resolve("charlm").toString(), 8, 64),
                ModelSpec.model("dates=" + m.resolve("seq2seq"), 8, 64),
                ModelSpec.layer(small.toString(), 4, 16)));
    }

    static InferenceServer.Settings settings(long maxBody, PrintStream log) {
        return new InferenceServer.Settings("127.0.0.1", 0, maxBody, Duration.ofSeconds(30), Duration.ofSeconds(30), null, log, Duration.ZERO);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.shutdown();
    }

    static HttpResponse<String> post(InferenceServer s, String path, String body, String... headers) throws Exception {
        return postAsync(s, path, body, headers).get();
    }

    static CompletableFuture<HttpResponse<String>> postAsync(InferenceServer s, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return HTTP.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(InferenceServer s, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void warmUpRunsEveryKindThroughItsOwnPathBeforeStartReturns() throws Exception {
        List<String> warmed = server.warmedUp();
        assertEquals(4, warmed.size(), "warmed: " + warmed);
        String[] names = {"classifier", "charlm", "dates", "small"};
        for (int i = 0; i < 4; i++) {
            assertTrue(warmed.get(i).matches(names[i] + " \\(\\d+ requests, [0-9.]+ s\\)"), warmed.get(i));
            // at least one round at each of 1, 2, 4, 8 at once (the layer: 1, 2, 4)
            assertTrue(Integer.parseInt(warmed.get(i).replaceAll(".*\\((\\d+) requests.*", "$1")) >= (i == 3 ? 7 : 15), warmed.get(i));
        }
        // Synthetic requests are not client requests: none counted, none left in flight.
        String metrics = get(server, "/metrics").body();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("panama_in_flight{") || line.startsWith("panama_queue_depth{")) assertTrue(line.endsWith(" 0.0"), line);
        }
    }

    @Test
    void readySaysWarmingUntilTheWarmUpEnds() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        InferenceServer.Settings s = new InferenceServer.Settings("127.0.0.1", port, 1 << 20, Duration.ofSeconds(30), Duration.ofSeconds(5), null, null,
                Duration.ofMillis(1500));
        java.util.concurrent.CompletableFuture<InferenceServer> started = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return InferenceServer.start(s, List.of(ModelSpec.model(ModelCases.modelsDir().resolve("charlm").toString(), 4, 16)));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        HttpClient c = HttpClient.newHttpClient();
        String seen = null;
        long end = System.nanoTime() + 20_000_000_000L;
        while (seen == null && !started.isDone() && System.nanoTime() < end) {
            try {
                HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 503) seen = json(r).get("status").asText();
            } catch (java.net.ConnectException notYet) {
                Thread.sleep(20);
            }
        }
        InferenceServer w = started.get(60, java.util.concurrent.TimeUnit.SECONDS);
        try {
            assertEquals("WARMING", seen, "/ready during the warm-up");
            assertEquals(200, get(w, "/ready").statusCode());
            assertEquals(1, w.warmedUp().size());
        } finally {
            w.shutdown();
        }
    }

    @Test
    void operationsEndpoints() throws Exception {
        assertEquals(200, get(server, "/health").statusCode());
        HttpResponse<String> ready = get(server, "/ready");
        assertEquals(200, ready.statusCode());
        assertEquals("READY", json(ready).get("status").asText());
        JsonNode models = json(get(server, "/v1/models")).get("models");
        List<String> names = new ArrayList<>();
        models.forEach(n -> names.add(n.get("name").asText()));
        assertEquals(List.of("classifier", "charlm", "dates", "small"), names);
        post(server, "/v1/models/dates/translate", "{\"text\":\"3 March 2021\"}");
        String metrics = get(server, "/metrics").body();
        for (String m : new String[] {"panama_requests_total{", "panama_request_seconds_bucket{", "panama_step_batch_rows_bucket{", "panama_queue_depth{",
                "panama_in_flight{", "jvm_memory_used_bytes"}) {
            assertTrue(metrics.contains(m), "/metrics has " + m);
        }
        // The access log: one JSON line per request.
        String[] lines = LOG.toString(StandardCharsets.UTF_8).strip().split("\n");
        JsonNode last = Json.MAPPER.readTree(lines[lines.length - 1]);
        assertTrue(last.has("ts") && last.has("status") && last.has("ms") && last.has("path"), "access log line: " + lines[lines.length - 1]);
    }

    @Test
    void resultsEqualTheLibrary() throws Exception {
        Backend backend = Backend.defaultBackend();
        // classify: the PyTorch cases' sequences.
        CaseFile c = ModelCases.cases("classifier");
        float[][][] seqs = Arrays.copyOf(c.sequences("inputs", "lengths"), 5);
        try (SequenceClassifier m = SequenceClassifier.load(ModelCases.model("classifier"), backend)) {
            float[][] want = m.logits(seqs);
            JsonNode got = json(post(server, "/v1/models/classifier/classify", Json.MAPPER.writeValueAsString(java.util.Map.of("inputs", seqs))));
            for (int i = 0; i < seqs.length; i++) {
                JsonNode p = got.get("predictions").get(i);
                assertEquals(m.labels().get(SequenceClassifier.argmax(want)[i]), p.get("label").asText());
                for (int k = 0; k < want[i].length; k++) assertEquals(want[i][k], p.get("logits").get(k).floatValue(), 1e-4f, "logit " + k + " of " + i);
            }
        }
        try (LanguageModel lm = LanguageModel.load(ModelCases.model("charlm"), backend)) {
            String want = lm.generate("the ", Decoding.greedy(), 30);
            HttpResponse<String> r = post(server, "/v1/models/charlm/generate", "{\"prompt\":\"the \",\"max_new\":30}");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(want, json(r).get("text").asText());
        }
        assertEquals("2021-03-03", json(post(server, "/v1/models/dates/translate", "{\"text\":\"3 March 2021\"}")).get("translation").asText());
        JsonNode many = json(post(server, "/v1/models/dates/translate", "{\"texts\":[\"17 June 1999\",\"1.1.2000\"],\"beam\":3}")).get("translations");
        assertEquals("1999-06-17", many.get(0).asText());
        assertEquals("2000-01-01", many.get(1).asText());
    }

    @Test
    void forwardEqualsTheLayer() throws Exception {
        float[][][] x = new float[5][2][3];
        Random r = new Random(3);
        for (float[][] a : x) for (float[] b : a) for (int k = 0; k < 3; k++) b[k] = r.nextFloat() - 0.5f;
        try (Arena a = Arena.ofConfined(); RecurrentLayer layer = RecurrentLayer.load(small)) {
            float[] flat = new float[30];
            for (int t = 0; t < 5; t++) for (int b = 0; b < 2; b++) System.arraycopy(x[t][b], 0, flat, (t * 2 + b) * 3, 3);
            RecurrentLayer.Result want = layer.forward(a, Tensor.of(a, flat, 5, 2, 3), null, null, new int[] {5, 3});
            HttpResponse<String> res = post(server, "/v1/models/small/forward", Json.MAPPER.writeValueAsString(java.util.Map.of("input", x, "lengths", new int[] {5, 3})));
            assertEquals(200, res.statusCode(), res.body());
            JsonNode got = json(res);
            for (int t = 0; t < 5; t++) for (int b = 0; b < 2; b++) for (int k = 0; k < 20; k++) {
                assertEquals(want.output().get(t * 2 + b, k), got.get("output").get(t).get(b).get(k).floatValue(), 1e-5f, "output " + t + "," + b + "," + k);
            }
            for (int b = 0; b < 2; b++) for (int k = 0; k < 20; k++) {
                assertEquals(want.cN().get(b, k), got.get("c_n").get(0).get(b).get(k).floatValue(), 1e-5f);
            }
            // The same as safetensors in and out.
            Path in = tmp.resolve("in.safetensors");
            new SafeTensorsWriter().add("input", flat, 5, 2, 3).add("lengths", new long[] {5, 3}, 2).write(in);
            HttpResponse<byte[]> sr = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/models/small/forward"))
                    .header("Content-Type", "application/x-safetensors").POST(HttpRequest.BodyPublishers.ofFile(in)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, sr.statusCode());
            Path out = tmp.resolve("out.safetensors");
            Files.write(out, sr.body());
            try (SafeTensors st = SafeTensors.open(out)) {
                float[] h = st.toFloatArray("h_n");
                for (int b = 0; b < 2; b++) for (int k = 0; k < 20; k++) assertEquals(want.hN().get(b, k), h[b * 20 + k], 1e-5f);
            }
        }
    }

    @Test
    void concurrentRequestsShareSteps() throws Exception {
        String[] dates = {"3 March 2021", "17 June 1999", "1 January 2000", "29 February 2024", "12/12/1950", "Mar 3, 2021", "3.3.2021", "5 May 1955"};
        String[] want = {"2021-03-03", "1999-06-17", "2000-01-01", "2024-02-29", "1950-12-12", "2021-03-03", "2021-03-03", "1955-05-05"};
        for (int round = 0; round < 10 && (round < 3 || server.registry().get("panama_step_batch_rows").tag("model", "dates").summary().max() < 2); round++) {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < 32; i++) fs.add(postAsync(server, "/v1/models/dates/translate", "{\"text\":\"" + dates[i % 8] + "\"}"));
            for (int i = 0; i < fs.size(); i++) {
                HttpResponse<String> r = fs.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(want[i % 8], json(r).get("translation").asText(), dates[i % 8]);
            }
        }
        double max = server.registry().get("panama_step_batch_rows").tag("model", "dates").summary().max();
        assertTrue(max > 1, "concurrent requests shared a step (largest batch " + max + ")");
    }

    @Test
    void withoutBatchingEachRequestComputesAlone() throws Exception {
        Path m = ModelCases.modelsDir();
        try (InferenceServer s = InferenceServer.start(settings(1 << 20, null), List.of(ModelSpec.model(m.resolve("seq2seq").toString(), 4, 16).withBatching(false),
                ModelSpec.layer(small.toString(), 2, 2).withBatching(false)))) {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(postAsync(s, "/v1/models/seq2seq/translate", "{\"text\":\"3 March 2021\"}"));
            for (var f : fs) assertEquals("{\"translation\":\"2021-03-03\"}", f.get().body());
            assertEquals(200, post(s, "/v1/models/small/forward", "{\"input\":[[[1,2,3]]]}").statusCode());
            assertEquals(0, s.registry().get("panama_step_batch_rows").tag("model", "seq2seq").summary().count(), "no batched step");
            assertTrue(!json(get(s, "/v1/models")).get("models").get(0).get("batching").asBoolean());
        }
    }

    @Test
    void badRequestsGetOneLineNamingTheField() throws Exception {
        String[][] cases = {
            {"/v1/models/dates/translate", "{\"text\":", "body: not JSON"},
            {"/v1/models/dates/translate", "[1,2]", "body: expected a JSON object"},
            {"/v1/models/dates/translate", "{\"txt\":\"x\"}", "body: unknown field 'txt'"},
            {"/v1/models/dates/translate", "{\"text\":\"3 March 2021\",\"beam\":99}", "beam: expected an integer in 1..16"},
            {"/v1/models/dates/translate", "{\"text\":\"3 March 2021 \\u00e9\"}", "text: "},
            {"/v1/models/dates/translate", "{\"text\":\"\"}", "text: empty"},
            {"/v1/models/classifier/classify", "{\"inputs\":[[[1],[2,3]]]}", "inputs[0][1]: expected 1 numbers, got 2"},
            {"/v1/models/classifier/classify", "{\"inputs\":[[[1],[\"a\"]]]}", "inputs[0][1][0]: expected a number"},
            {"/v1/models/classifier/classify", "{\"texts\":[\"abc\"]}", "texts: this model reads feature sequences"},
            {"/v1/models/charlm/generate", "{\"prompt\":\"the\",\"max_new\":-1}", "max_new: expected an integer"},
            {"/v1/models/charlm/generate", "{\"prompt\":\"THE\"}", "prompt: "},
            {"/v1/models/small/forward", "{\"input\":[[[1,2,3]]],\"lengths\":[2]}", "lengths[0]: expected an integer in 1..1"},
            {"/v1/models/small/forward", "{\"input\":[[[1,2]]]}", "input[0][0]: expected 3 numbers, got 2"},
            {"/v1/models/small/forward", "{\"input\":[[[1,2,3]]],\"h0\":[[[1]]]}", "h0[0][0]: expected 20 numbers, got 1"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = post(server, c[0], c[1]);
            assertEquals(400, r.statusCode(), c[1] + " -> " + r.body());
            String msg = json(r).get("error").asText();
            assertTrue(msg.startsWith(c[2]), c[1] + ": " + msg);
            assertTrue(!msg.contains("\n"), "one line: " + msg);
        }
        assertEquals(400, post(server, "/v1/models/dates/translate", "{\"text\":\"1.1.2000\"}", InferenceServer.DEADLINE_HEADER, "soon").statusCode());
        assertEquals(404, post(server, "/v1/models/nope/translate", "{}").statusCode());
        HttpResponse<String> wrongOp = post(server, "/v1/models/dates/classify", "{}");
        assertEquals(404, wrongOp.statusCode());
        assertTrue(json(wrongOp).get("error").asText().contains("serves translate"), wrongOp.body());
        // The process and the other clients are unaffected.
        assertEquals("2021-03-03", json(post(server, "/v1/models/dates/translate", "{\"text\":\"3 March 2021\"}")).get("translation").asText());
    }

    @Test
    void oversizeBodiesGet413() throws Exception {
        try (InferenceServer s = InferenceServer.start(settings(4096, null), List.of(ModelSpec.model(ModelCases.modelsDir().resolve("seq2seq").toString(), 2, 2)))) {
            String big = "{\"text\":\"" + "1".repeat(10_000) + "\"}";
            assertEquals(413, post(s, "/v1/models/seq2seq/translate", big).statusCode());
            assertEquals(200, post(s, "/v1/models/seq2seq/translate", "{\"text\":\"3 March 2021\"}").statusCode());
        }
    }

    /** A forward of the slow layer: 20000 steps of an LSTM with 256 units, about a second. */
    static String slowBody() {
        StringBuilder b = new StringBuilder("{\"input\":[");
        for (int t = 0; t < 20_000; t++) b.append(t == 0 ? "" : ",").append("[[0.25]]");
        return b.append("]}").toString();
    }

    static void awaitInFlight(InferenceServer s, int n) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        while (s.inFlight() < n && System.nanoTime() < end) Thread.sleep(5);
        assertTrue(s.inFlight() >= n, "requests in flight: " + s.inFlight());
    }

    @Test
    void fullModelsGet503AndLateRequests504() throws Exception {
        try (InferenceServer s = InferenceServer.start(settings(1 << 20, null), List.of(ModelSpec.layer(slow.toString(), 1, 1),
                ModelSpec.model(ModelCases.modelsDir().resolve("seq2seq").toString(), 2, 2)))) {
            String body = slowBody();
            CompletableFuture<HttpResponse<String>> running = postAsync(s, "/v1/models/slow/forward", body);
            awaitInFlight(s, 1);
            // Queued behind it with a deadline shorter than its run: 504, on time.
            long t0 = System.nanoTime();
            CompletableFuture<HttpResponse<String>> late = postAsync(s, "/v1/models/slow/forward", body, InferenceServer.DEADLINE_HEADER, "150");
            awaitInFlight(s, 2);
            // Batch (1) and queue (1) full: 503 with Retry-After.
            HttpResponse<String> full = post(s, "/v1/models/slow/forward", body);
            assertEquals(503, full.statusCode(), full.body());
            assertEquals("1", full.headers().firstValue("Retry-After").orElse(null));
            HttpResponse<String> l = late.get();
            double ms = (System.nanoTime() - t0) / 1e6;
            assertEquals(504, l.statusCode(), l.body());
            assertTrue(ms < 2_000, "the 504 came after " + ms + " ms");
            // Another model is not affected, nor is the running request.
            assertEquals(200, post(s, "/v1/models/seq2seq/translate", "{\"text\":\"3 March 2021\"}").statusCode());
            HttpResponse<String> r = running.get();
            assertEquals(200, r.statusCode());
            assertEquals(20_000, json(r).get("output").size());
            double rejected = s.registry().get("panama_rejected_total").tag("model", "slow").counter().count();
            double timedOut = s.registry().get("panama_timed_out_total").tag("model", "slow").counter().count();
            assertEquals(1, rejected);
            assertEquals(1, timedOut);
        }
    }

    /** A request past its deadline while computing leaves the batch: its thread is free again long before its sequence would end. */
    @Test
    void aRunningRequestPastItsDeadlineLeaves() throws Exception {
        try (InferenceServer s = InferenceServer.start(settings(1 << 20, null), List.of(ModelSpec.layer(slow.toString(), 1, 0)))) {
            String body = slowBody();
            long t0 = System.nanoTime();
            assertEquals(200, post(s, "/v1/models/slow/forward", body).statusCode());
            double full = (System.nanoTime() - t0) / 1e6;
            long t1 = System.nanoTime();
            HttpResponse<String> late = post(s, "/v1/models/slow/forward", body, InferenceServer.DEADLINE_HEADER, "100");
            assertEquals(504, late.statusCode(), late.body());
            // Batch 1, queue 0: a request is admitted only once the cancelled one has left.
            int status = 503;
            while (status == 503 && (System.nanoTime() - t1) / 1e6 < full) {
                status = post(s, "/v1/models/slow/forward", "{\"input\":[[[1]]]}").statusCode();
            }
            double freed = (System.nanoTime() - t1) / 1e6;
            assertEquals(200, status);
            assertTrue(freed < 0.7 * full, "the late request left after " + freed + " ms; a whole run takes " + full + " ms");
        }
    }

    /** The demo LM with its end token's logit pushed far down: it generates until max_new. */
    static Path endlessLm() throws IOException {
        Path dir = tmp.resolve("endless");
        if (Files.exists(dir.resolve("model.json"))) return dir;
        Files.createDirectories(dir);
        Path src = ModelCases.model("charlm");
        Files.copy(src.resolve("model.json"), dir.resolve("model.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensors st = SafeTensors.open(src.resolve("weights.safetensors"))) {
            for (String n : st.names()) {
                float[] v = st.toFloatArray(n);
                if (n.equals("fc.bias")) v[2] = -1000f; // <eos>
                w.add(n, v, st.info(n).shape());
            }
        }
        w.write(dir.resolve("weights.safetensors"));
        return dir;
    }

    @Test
    void streamingGenerationAndDisconnects() throws Exception {
        try (InferenceServer s = InferenceServer.start(settings(1 << 20, null), List.of(ModelSpec.model("lm=" + endlessLm(), 2, 2)))) {
            // A short stream: one line per token, then the whole text.
            HttpResponse<String> r = post(s, "/v1/models/lm/generate", "{\"prompt\":\"the \",\"max_new\":12,\"stream\":true}");
            assertEquals(200, r.statusCode(), r.body());
            List<String> lines = r.body().lines().toList();
            assertEquals(13, lines.size(), r.body());
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 12; i++) text.append(Json.MAPPER.readTree(lines.get(i)).get("token").asText());
            JsonNode done = Json.MAPPER.readTree(lines.get(12));
            assertTrue(done.get("done").asBoolean());
            assertEquals(text.toString(), done.get("text").asText());
            assertEquals(done.get("text").asText(), json(post(s, "/v1/models/lm/generate", "{\"prompt\":\"the \",\"max_new\":12}")).get("text").asText());

            // A client that reads a little of a long stream and hangs up: the generation stops early.
            long t0 = System.nanoTime();
            String body = "{\"prompt\":\"the \",\"max_new\":65536,\"stream\":true}";
            try (java.net.Socket sock = new java.net.Socket("127.0.0.1", s.port())) {
                sock.getOutputStream().write(("POST /v1/models/lm/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                        + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                java.io.InputStream in = sock.getInputStream();
                int newlines = 0;
                while (newlines < 20) {
                    int c = in.read();
                    if (c < 0) break;
                    if (c == '\n') newlines++;
                }
                assertEquals(20, newlines, "read the start of the stream");
                awaitInFlight(s, 1);
            }
            long end = System.nanoTime() + 30_000_000_000L;
            while (s.inFlight() > 0 && System.nanoTime() < end) Thread.sleep(5);
            double ms = (System.nanoTime() - t0) / 1e6;
            assertEquals(0, s.inFlight(), "the request left after the client did");
            assertEquals(1, s.registry().get("panama_client_disconnects_total").tag("model", "lm").counter().count());
            // The whole generation (65536 tokens) would take far longer than it ran.
            long t1 = System.nanoTime();
            post(s, "/v1/models/lm/generate", "{\"prompt\":\"the \",\"max_new\":4096}");
            double per4096 = (System.nanoTime() - t1) / 1e6;
            assertTrue(ms < 8 * per4096, "left after " + ms + " ms; 4096 tokens take " + per4096 + " ms, 65536 about " + 16 * per4096);
        }
    }

    @Test
    void shutdownDrainsRequestsInFlight() throws Exception {
        InferenceServer s = InferenceServer.start(settings(1 << 20, null), List.of(ModelSpec.layer(slow.toString(), 2, 2)));
        int port = s.port();
        CompletableFuture<HttpResponse<String>> running = postAsync(s, "/v1/models/slow/forward", slowBody());
        awaitInFlight(s, 1);
        Thread stopper = Thread.ofPlatform().start(s::shutdown);
        long end = System.nanoTime() + 10_000_000_000L;
        int ready = 200;
        while (ready == 200 && System.nanoTime() < end) {
            ready = get(s, "/ready").statusCode();
        }
        assertEquals(503, ready, "/ready while draining");
        HttpResponse<String> refused = post(s, "/v1/models/slow/forward", "{\"input\":[[[1]]]}");
        assertEquals(503, refused.statusCode());
        assertTrue(refused.headers().firstValue("Retry-After").isPresent());
        assertEquals(200, running.get().statusCode(), "the request in flight finished");
        stopper.join(30_000);
        assertTrue(!stopper.isAlive(), "shutdown returned");
        assertThrows(ConnectException.class, () -> HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString()));
    }
}
