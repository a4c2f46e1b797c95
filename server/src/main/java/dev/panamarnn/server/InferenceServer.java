package dev.panamarnn.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panamarnn.Backend;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The inference server: the application models and layers of {@link ModelSpec}s over HTTP/1.1 with JSON
 * bodies (safetensors for a layer's tensors), on Helidon SE's web server. Requests are read on virtual
 * threads; the models compute on platform threads of their own ({@link ServedModel}), so that
 * {@code /health} and {@code /metrics} answer while every core computes.
 *
 * <ul>
 *   <li>{@code POST /v1/models/{name}/{classify|generate|translate|forward}}: 200 with the result; 400 with
 *       one line naming the field; 404 for an unknown model or operation; 413 for a body over the limit;
 *       503 with {@code Retry-After} when the model's batch and queue are full or the server is draining;
 *       504 when the deadline ({@code X-Deadline-Ms}, else the default) passes first. The request then
 *       leaves the batch at its next time step (a queued one never runs); the others are not affected.</li>
 *   <li>{@code GET /health} (alive), {@code GET /ready} (503 while draining), {@code GET /metrics}
 *       (Prometheus text), {@code GET /v1/models}.</li>
 *   <li>An access log: one JSON line per request.</li>
 *   <li>{@link #shutdown()}: not ready, new requests refused, requests in flight finished (up to the drain
 *       time), then the listener and the models closed.</li>
 * </ul>
 */
public final class InferenceServer implements AutoCloseable {
    /** The header that carries a request's deadline, in milliseconds from its arrival. */
    public static final String DEADLINE_HEADER = "X-Deadline-Ms";

    /**
     * How the server listens and limits.
     *
     * @param host            the address to bind (127.0.0.1 for loopback only)
     * @param port            the port, 0 for a free one
     * @param maxBodyBytes    the largest request body; larger ones get 413
     * @param defaultDeadline a request's deadline when it sends no {@link #DEADLINE_HEADER}
     * @param drain           how long {@link #shutdown()} waits for requests in flight
     * @param backend         the kernels, null for the default
     * @param accessLog       where the access log's JSON lines go, or null for none
     * @param warmUp          per model, how long {@link #start} runs synthetic requests through it (1, 2, 4 … max batch
     *                        at once) before returning, so the JIT has compiled what traffic runs; zero for none
     */
    public record Settings(String host, int port, long maxBodyBytes, Duration defaultDeadline, Duration drain, Backend backend, PrintStream accessLog,
                           Duration warmUp) {
        /** Checks the fields. */
        public Settings {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            if (maxBodyBytes < 1024 || maxBodyBytes > (1L << 30)) throw new IllegalArgumentException("max body must be in 1 KiB..1 GiB, got " + maxBodyBytes);
            if (defaultDeadline.isNegative() || defaultDeadline.isZero()) throw new IllegalArgumentException("the default deadline must be positive");
            if (drain.isNegative()) throw new IllegalArgumentException("the drain time must not be negative");
            if (warmUp.isNegative() || warmUp.compareTo(Duration.ofMinutes(10)) > 0) throw new IllegalArgumentException("the warm-up must be in 0..600 s, got " + warmUp);
        }

        /**
         * These settings with another warm-up.
         *
         * @param warmUp per model, zero for none
         * @return the settings
         */
        public Settings withWarmUp(Duration warmUp) {
            return new Settings(host, port, maxBodyBytes, defaultDeadline, drain, backend, accessLog, warmUp);
        }

        /**
         * Loopback on {@code port}, 16 MiB bodies, a 30 s deadline, 30 s of drain, the default backend, the
         * access log on standard output, 2 s of warm-up per model.
         *
         * @param port the port, 0 for a free one
         * @return the settings
         */
        public static Settings defaults(int port) {
            return new Settings("127.0.0.1", port, 16L << 20, Duration.ofSeconds(30), Duration.ofSeconds(30), null, System.out, Duration.ofSeconds(2));
        }
    }

    private final Settings settings;
    private final Map<String, ServedModel> models;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicBoolean draining = new AtomicBoolean();
    private volatile boolean warming = true;
    private final List<String> warmedUp = new ArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Object drained = new Object();
    private WebServer server;
    private volatile boolean closed;

    private InferenceServer(Settings settings, List<ModelSpec> specs, List<CustomModel> customs) throws IOException {
        this.settings = settings;
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        Map<String, ServedModel> loaded = new LinkedHashMap<>();
        try {
            Backend backend = settings.backend() == null ? Backend.defaultBackend() : settings.backend();
            for (ModelSpec s : specs) {
                if (loaded.containsKey(s.name())) throw new IllegalArgumentException("two models are named " + s.name() + "; name one of them with NAME=DIR");
                DistributionSummary rows = DistributionSummary.builder("panama_step_batch_rows")
                        .description("Samples in each batched time step (per layer and direction)").tag("model", s.name())
                        .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(1024.0).register(registry);
                ServedModel m = ServedModel.load(s, backend, (n, calls, nanos) -> rows.record(n));
                loaded.put(s.name(), m);
                gauges(m);
            }
            for (CustomModel c : customs) {
                if (loaded.containsKey(c.name())) throw new IllegalArgumentException("two models are named " + c.name());
                ServedModel m = new ServedModel(c);
                loaded.put(c.name(), m);
                gauges(m);
            }
        } catch (Throwable e) {
            for (ServedModel m : loaded.values()) m.close(Duration.ZERO);
            throw e;
        }
        this.models = loaded;
        listen();
        try {
            warmUp();
        } catch (Throwable e) {
            close();
            throw e;
        }
    }

    /**
     * What {@link #start} warmed up: each model's name, synthetic requests and seconds.
     *
     * @return one entry per model warmed, empty when the warm-up was zero
     */
    public List<String> warmedUp() {
        return List.copyOf(warmedUp);
    }

    /** Each model's warm-up ({@link Settings#warmUp}); {@code /ready} says WARMING meanwhile. */
    private void warmUp() {
        try {
            for (ServedModel m : models.values()) {
                long t0 = System.nanoTime();
                int n = m.warmUp(settings.warmUp());
                if (n > 0) warmedUp.add(String.format(java.util.Locale.ROOT, "%s (%d requests, %.1f s)", m.name, n, (System.nanoTime() - t0) / 1e9));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while warming up", e);
        } finally {
            warming = false;
        }
    }

    private void gauges(ServedModel m) {
        Gauge.builder("panama_queue_depth", m.queued, AtomicInteger::get).description("Requests admitted and waiting for a compute thread")
                .tag("model", m.name).register(registry);
        Gauge.builder("panama_in_flight", m.inFlight, AtomicInteger::get).description("Requests admitted and not finished")
                .tag("model", m.name).register(registry);
    }

    /** Starts the listener; on failure frees the models. */
    private void listen() throws IOException {
        Map<String, ServedModel> loaded = models;
        DirectHandler direct = (req, type, status, headers, message) -> {
            String body = error(message == null || message.isBlank() ? status.reasonPhrase() : message);
            log(req.path(), req.method(), status.code(), body.length(), 0, null, null);
            return DirectHandler.TransportResponse.builder().status(status).headers(headers)
                    .header(HeaderNames.CONTENT_TYPE, "application/json").entity(body).build();
        };
        WebServer ws;
        try {
            ws = WebServer.builder()
                    .host(settings.host()).port(settings.port())
                    .maxPayloadSize(settings.maxBodyBytes())
                    .shutdownHook(false) // shutdown() drains first
                    .shutdownGracePeriod(Duration.ofSeconds(5))
                    .directHandlers(DirectHandlers.builder()
                            .addHandler(DirectHandler.EventType.BAD_REQUEST, direct)
                            .addHandler(DirectHandler.EventType.PAYLOAD_TOO_LARGE, direct)
                            .addHandler(DirectHandler.EventType.OTHER, direct).build())
                    .routing(r -> routes(r))
                    .build().start();
        } catch (Throwable e) {
            for (ServedModel m : loaded.values()) m.close(Duration.ZERO);
            throw e;
        }
        if (!ws.isRunning() || ws.port() < 0) {
            for (ServedModel m : loaded.values()) m.close(Duration.ZERO);
            throw new IOException("could not listen on " + settings.host() + ":" + settings.port() + " (in use, or not an address of this machine)");
        }
        this.server = ws;
    }

    /**
     * Loads the models, starts listening and warms each model up ({@link Settings#warmUp}) before returning.
     *
     * @param settings where to listen and the limits
     * @param models   what to serve (at least one)
     * @return the running server, to {@link #shutdown()}
     * @throws IOException if a model cannot be read, or the port cannot be bound
     * @throws IllegalArgumentException if a model does not fit its config, or two share a name
     */
    public static InferenceServer start(Settings settings, List<ModelSpec> models) throws IOException {
        if (models.isEmpty()) throw new IllegalArgumentException("nothing to serve: give at least one --model or --layer");
        return new InferenceServer(settings, List.copyOf(models), List.of());
    }

    /**
     * Loads the models, adds the custom ones, starts listening and warms the library's models up
     * ({@link Settings#warmUp}) before returning. The server closes the custom models
     * when it stops (or when this call fails).
     *
     * @param settings where to listen and the limits
     * @param models   the library's models to serve
     * @param custom   other models to serve
     * @return the running server, to {@link #shutdown()}
     * @throws IOException if a model cannot be read, or the port cannot be bound
     * @throws IllegalArgumentException if a model does not fit its config, or two share a name
     */
    public static InferenceServer start(Settings settings, List<ModelSpec> models, List<CustomModel> custom) throws IOException {
        if (models.isEmpty() && custom.isEmpty()) throw new IllegalArgumentException("nothing to serve: give at least one --model or --layer");
        return new InferenceServer(settings, List.copyOf(models), List.copyOf(custom));
    }

    /**
     * The port listened on (the one chosen when the settings said 0).
     *
     * @return the port
     */
    public int port() {
        return server.port();
    }

    /**
     * The metrics, as {@code /metrics} shows them.
     *
     * @return the registry
     */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private void routes(HttpRules r) {
        r.get("/health", (req, res) -> json(res, Status.OK_200, "{\"status\":\"UP\"}"))
                .get("/ready", (req, res) -> {
                    if (draining.get()) json(res, Status.SERVICE_UNAVAILABLE_503, "{\"status\":\"DRAINING\"}");
                    else if (warming) json(res, Status.SERVICE_UNAVAILABLE_503, "{\"status\":\"WARMING\"}");
                    else json(res, Status.OK_200, "{\"status\":\"READY\"}");
                })
                .get("/metrics", (req, res) -> res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8").send(registry.scrape()))
                .get("/v1/models", (req, res) -> {
                    ObjectNode o = Json.MAPPER.createObjectNode();
                    ArrayNode a = o.putArray("models");
                    for (ServedModel m : models.values()) a.add(m.describe());
                    json(res, Status.OK_200, o.toString());
                })
                .post("/v1/models/{name}/{op}", this::infer);
    }

    private void infer(ServerRequest req, ServerResponse res) {
        long t0 = System.nanoTime();
        String name = req.path().pathParameters().get("name"), op = req.path().pathParameters().get("op");
        Status status = Status.INTERNAL_SERVER_ERROR_500;
        int bytes = 0;
        try {
            ServedModel m = models.get(name);
            if (m == null) {
                status = Status.NOT_FOUND_404;
                bytes = json(res, status, error("no model " + dev.panamarnn.Text.quote(name) + " (serving " + String.join(", ", models.keySet()) + ")"));
                return;
            }
            Result r = run(m, op, req, res, t0);
            status = r.status;
            if (r.body == null) { // streamed
                bytes = r.streamed;
                return;
            }
            if (r.retryAfter) res.header(HeaderNames.RETRY_AFTER, "1");
            res.header(HeaderNames.CONTENT_TYPE, r.contentType).status(status);
            res.send(r.body);
            bytes = r.body.length;
        } finally {
            long nanos = System.nanoTime() - t0;
            String model = models.containsKey(name) ? name : "unknown";
            Counter.builder("panama_requests_total").description("Inference requests by outcome").tag("model", model).tag("op", op)
                    .tag("status", Integer.toString(status.code())).register(registry).increment();
            Timer.builder("panama_request_seconds").description("Inference request latency, arrival to response").tag("model", model).tag("op", op)
                    .publishPercentileHistogram().register(registry).record(nanos, TimeUnit.NANOSECONDS);
            log(req.path().rawPath(), "POST", status.code(), bytes, nanos, name, req.remotePeer().host());
        }
    }

    /** A response to send, or (body null) one already streamed: {@code streamed} bytes. */
    private record Result(Status status, String contentType, byte[] body, boolean retryAfter, int streamed) {
        Result(Status status, String contentType, byte[] body, boolean retryAfter) {
            this(status, contentType, body, retryAfter, 0);
        }

        static Result error(Status s, String message, boolean retryAfter) {
            return new Result(s, "application/json", InferenceServer.error(message).getBytes(StandardCharsets.UTF_8), retryAfter);
        }
    }

    /** Reads, checks, admits, computes within the deadline. */
    private Result run(ServedModel m, String op, ServerRequest req, ServerResponse res, long t0) {
        long budgetMs;
        var dh = req.headers().first(HeaderNames.create(DEADLINE_HEADER));
        if (dh.isPresent()) {
            try {
                budgetMs = Long.parseLong(dh.get().strip());
            } catch (NumberFormatException e) {
                budgetMs = -1;
            }
            if (budgetMs < 1 || budgetMs > 3_600_000) return Result.error(Status.BAD_REQUEST_400, DEADLINE_HEADER + ": expected milliseconds in 1..3600000, got " + Json.quote(Json.shorten(dh.get())), false);
        } else {
            budgetMs = settings.defaultDeadline().toMillis();
        }
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(budgetMs);
        ServedModel.Job job;
        try {
            byte[] body = req.content().inputStream().readAllBytes();
            String ct = req.headers().contentType().map(h -> h.text()).orElse(null);
            job = m.prepare(op, body, ct);
        } catch (ServedModel.UnknownOperation e) {
            return Result.error(Status.NOT_FOUND_404, e.getMessage(), false);
        } catch (BadRequest e) {
            return Result.error(Status.BAD_REQUEST_400, e.getMessage(), false);
        } catch (IOException e) {
            return Result.error(Status.BAD_REQUEST_400, "body: " + Json.firstLine(String.valueOf(e.getMessage())), false);
        }
        if (draining.get()) {
            count("panama_rejected_total", m, "draining");
            return Result.error(Status.SERVICE_UNAVAILABLE_503, "the server is shutting down", true);
        }
        if (!m.tryAdmit()) {
            count("panama_rejected_total", m, "full");
            return Result.error(Status.SERVICE_UNAVAILABLE_503, m.name + ": " + m.maxBatch + " requests computing and " + m.maxQueue + " waiting; retry later", true);
        }
        inFlight.incrementAndGet();
        m.inFlight.incrementAndGet();
        try {
            Future<byte[]> f = m.submit(job);
            if (job.stream() != null) return stream(m, job, f, res, deadline, budgetMs);
            try {
                byte[] out = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                return new Result(Status.OK_200, job.contentType(), out, false);
            } catch (TimeoutException e) {
                f.cancel(true); // queued: never runs; running: its thread is interrupted and leaves the batch at the next step
                count("panama_timed_out_total", m, null);
                return Result.error(Status.GATEWAY_TIMEOUT_504, m.name + ": not done within " + budgetMs + " ms", false);
            } catch (InterruptedException e) {
                f.cancel(true);
                Thread.currentThread().interrupt();
                return Result.error(Status.SERVICE_UNAVAILABLE_503, "interrupted", true);
            } catch (ExecutionException e) {
                return failure(m, e.getCause());
            }
        } finally {
            m.inFlight.decrementAndGet();
            m.release();
            if (inFlight.decrementAndGet() == 0 && draining.get()) {
                synchronized (drained) {
                    drained.notifyAll();
                }
            }
        }
    }

    /** The answer to a computation that failed with {@code c}: 400 for a bad request found late, 504 if cancelled, else 500. */
    private static Result failure(ServedModel m, Throwable c) {
        if (c instanceof BadRequest || c instanceof IllegalArgumentException) return Result.error(Status.BAD_REQUEST_400, Json.firstLine(c.getMessage()), false);
        if (c instanceof CancellationException) return Result.error(Status.GATEWAY_TIMEOUT_504, m.name + ": cancelled", false);
        return Result.error(Status.INTERNAL_SERVER_ERROR_500, m.name + ": " + c.getClass().getSimpleName() + ": " + Json.firstLine(String.valueOf(c.getMessage())), false);
    }

    /**
     * Writes a streaming job's lines as they come. Before the first line the deadline gives 504; after it,
     * the stream ends with an error line. A client that goes away shows as a failed write: the job is
     * cancelled and leaves the batch at its next step.
     */
    private Result stream(ServedModel m, ServedModel.Job job, Future<byte[]> f, ServerResponse res, long deadline, long budgetMs) {
        java.util.concurrent.BlockingQueue<Object> q = job.stream();
        Object item;
        try {
            item = q.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            return Result.error(Status.SERVICE_UNAVAILABLE_503, "interrupted", true);
        }
        if (item == null) {
            f.cancel(true);
            count("panama_timed_out_total", m, null);
            return Result.error(Status.GATEWAY_TIMEOUT_504, m.name + ": not done within " + budgetMs + " ms", false);
        }
        if (item instanceof Throwable t) return failure(m, t);
        int written = 0;
        res.status(Status.OK_200).header(HeaderNames.CONTENT_TYPE, job.contentType());
        try (java.io.OutputStream out = res.outputStream()) {
            while (true) {
                String line;
                boolean last = false;
                if (item instanceof ServedModel.Done d) {
                    line = d.line();
                    last = true;
                } else if (item instanceof Throwable t) {
                    line = error(t.getClass().getSimpleName() + ": " + Json.firstLine(String.valueOf(t.getMessage())));
                    last = true;
                } else if (item == null) {
                    f.cancel(true);
                    count("panama_timed_out_total", m, null);
                    line = error(m.name + ": not done within " + budgetMs + " ms");
                    last = true;
                } else {
                    line = (String) item;
                }
                byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
                out.write(b);
                out.flush();
                written += b.length;
                if (last) break;
                item = q.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
        } catch (RuntimeException | IOException e) {
            // The client went away (Helidon reports a failed write as ServerConnectionException, unchecked).
            f.cancel(true);
            count("panama_client_disconnects_total", m, null);
        }
        return new Result(Status.OK_200, job.contentType(), null, false, written);
    }

    private void count(String metric, ServedModel m, String reason) {
        Counter.Builder b = Counter.builder(metric).tag("model", m.name);
        if (reason != null) b.tag("reason", reason);
        b.register(registry).increment();
    }

    private static int json(ServerResponse res, Status status, String body) {
        res.status(status).header(HeaderNames.CONTENT_TYPE, "application/json").send(body);
        return body.length();
    }

    static String error(String message) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("error", message);
        return o.toString();
    }

    private void log(String path, String method, int status, long bytes, long nanos, String model, String remote) {
        PrintStream out = settings.accessLog();
        if (out == null) return;
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("ts", Instant.now().toString());
        if (remote != null) o.put("remote", remote);
        o.put("method", method);
        o.put("path", path);
        if (model != null) o.put("model", model);
        o.put("status", status);
        o.put("bytes", bytes);
        o.put("ms", Math.round(nanos / 1e4) / 100.0);
        out.println(o);
    }

    /**
     * Graceful stop: {@code /ready} answers 503 and new inference requests get 503 with
     * {@code Retry-After}; requests in flight finish (up to the settings' drain time); then the listener
     * closes and the models are freed. Idempotent.
     */
    public void shutdown() {
        if (!draining.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        long end = System.nanoTime() + settings.drain().toNanos();
        synchronized (drained) {
            while (inFlight.get() > 0 && System.nanoTime() < end) {
                try {
                    drained.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        server.stop();
        List<ServedModel> ms = new ArrayList<>(models.values());
        for (ServedModel m : ms) m.close(Duration.ofSeconds(1));
        registry.close();
        synchronized (this) {
            closed = true;
            notifyAll();
        }
    }

    private synchronized void awaitClosed() {
        while (!closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Requests in flight now, across models. */
    int inFlight() {
        return inFlight.get();
    }

    /** As {@link #shutdown()}. */
    @Override
    public void close() {
        shutdown();
    }
}
