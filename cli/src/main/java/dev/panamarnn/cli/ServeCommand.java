package dev.panamarnn.cli;

import dev.panamarnn.server.InferenceServer;
import dev.panamarnn.server.ModelSpec;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panama-rnn serve}: the inference server ({@link InferenceServer}) until SIGTERM or Ctrl-C, then a graceful drain. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve model directories (classify, generate, translate) and layers (forward) over HTTP: POST /v1/models/NAME/OP with a JSON "
                + "body; GET /health, /ready, /metrics, /v1/models. Concurrent requests to a model share each time step (continuous batching). "
                + "Runs until SIGTERM or Ctrl-C, then stops taking requests and finishes those in flight.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "[NAME=]DIR", description = "A model directory to serve (repeatable); NAME defaults to the directory's name. " + Apps.MODEL_DIR)
    List<String> models;

    @Option(names = "--layer", paramLabel = "[NAME=]FILE[:MODE]",
            description = "A layer to serve at /v1/models/NAME/forward (repeatable): PyTorch weights in safetensors; MODE rnn_tanh or rnn_relu for an Elman RNN.")
    List<String> layers;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}: this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0 for a free one, printed).")
    int port;

    @Option(names = "--max-batch", defaultValue = "32", paramLabel = "N",
            description = "Per model: requests computing at once, sharing each time step (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "256", paramLabel = "N",
            description = "Per model: requests waiting beyond those; more get 503 with Retry-After (default ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--deadline-ms", defaultValue = "30000", paramLabel = "MS",
            description = "A request's deadline when it sends no X-Deadline-Ms header; later: 504 (default ${DEFAULT-VALUE}).")
    long deadlineMs;

    @Option(names = "--max-body", defaultValue = "16777216", paramLabel = "BYTES", description = "Largest request body; larger: 413 (default 16 MiB).")
    long maxBody;

    @Option(names = "--drain-seconds", defaultValue = "30", paramLabel = "S", description = "On shutdown, how long requests in flight may finish (default ${DEFAULT-VALUE}).")
    int drainSeconds;

    @Option(names = "--warm-up-seconds", defaultValue = "2", paramLabel = "S",
            description = "Per model, synthetic requests (1, 2, 4 … max batch at once) before serving, so the JIT has compiled what traffic runs; 0: none (default ${DEFAULT-VALUE}).")
    double warmUpSeconds;

    @Option(names = "--no-batching", description = "Each request computes alone on its thread instead of sharing time steps (for comparison).")
    boolean noBatching;

    @Option(names = "--no-access-log", description = "No access log (by default one JSON line per request on standard output).")
    boolean noAccessLog;

    @Mixin
    BackendOptions backend;

    @Override
    public Integer call() throws Exception {
        List<ModelSpec> specs = new ArrayList<>();
        if (models != null) for (String m : models) specs.add(ModelSpec.model(m, maxBatch, maxQueue).withBatching(!noBatching));
        if (layers != null) for (String l : layers) specs.add(ModelSpec.layer(l, maxBatch, maxQueue).withBatching(!noBatching));
        if (deadlineMs < 1) throw new IllegalArgumentException("--deadline-ms must be at least 1, got " + deadlineMs);
        if (drainSeconds < 0) throw new IllegalArgumentException("--drain-seconds must not be negative, got " + drainSeconds);
        if (!(warmUpSeconds >= 0 && warmUpSeconds <= 600)) throw new IllegalArgumentException("--warm-up-seconds must be in 0..600, got " + warmUpSeconds);
        InferenceServer.Settings settings = new InferenceServer.Settings(host, port, maxBody, Duration.ofMillis(deadlineMs), Duration.ofSeconds(drainSeconds),
                backend.resolve(), noAccessLog ? null : System.out, Duration.ofMillis(Math.round(warmUpSeconds * 1000)));
        InferenceServer server = InferenceServer.start(settings, specs);
        PrintWriter err = spec.commandLine().getErr();
        if (!server.warmedUp().isEmpty()) err.println("panama-rnn: warmed up " + String.join(", ", server.warmedUp()));
        err.printf("panama-rnn: serving %s on http://%s:%d (max batch %d, queue %d per model)%n", String.join(", ", specs.stream().map(ModelSpec::name).toList()),
                host, server.port(), maxBatch, maxQueue);
        err.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("panama-rnn: draining (up to " + drainSeconds + " s), then stopping");
            try {
                server.shutdown();
                System.err.println("panama-rnn: stopped");
            } catch (Throwable e) {
                System.err.println("panama-rnn: error while stopping: " + e);
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "panama-rnn-shutdown"));
        stopped.await();
        return 0;
    }
}
