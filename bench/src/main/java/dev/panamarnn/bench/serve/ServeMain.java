package dev.panamarnn.bench.serve;

import dev.panamarnn.server.CustomModel;
import dev.panamarnn.server.InferenceServer;
import dev.panamarnn.server.ModelSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The load test's and the server soak's servers ({@code scripts/bench serve}, {@code scripts/bench serve-soak}):
 * {@code ours} (the seq2seq, charlm and classifier demo models, continuous batching), {@code alone} (the same,
 * each request alone on its thread) or {@code ort} (the seq2seq and charlm models on ONNX Runtime:
 * {@link OrtSeq2Seq}, {@link OrtCharLm}), all behind the same {@link InferenceServer}. Prints
 * {@code machine …}, {@code pid N} and {@code port N}, and runs until killed.
 *
 * <p>Arguments: {@code SYSTEM ROOT PORT MAX_BATCH MAX_QUEUE}. The charlm graphs of {@code ort} are read from
 * {@code ROOT/bench/models/charlm-ort} (written by {@code scripts/python/make_charlm_ort.py}), or from the
 * directory of {@code -Dpanama.rnn.bench.charlm.onnx}.
 */
public final class ServeMain {
    private ServeMain() {}

    /**
     * Starts the server.
     *
     * @param args system, repository root, port, max batch, max queue
     * @throws Exception if it cannot start
     */
    public static void main(String[] args) throws Exception {
        String system = args[0];
        Path root = Path.of(args[1]);
        int port = Integer.parseInt(args[2]), maxBatch = Integer.parseInt(args[3]), maxQueue = Integer.parseInt(args[4]);
        InferenceServer.Settings s = new InferenceServer.Settings("127.0.0.1", port, 1 << 20, Duration.ofSeconds(30), Duration.ofSeconds(5), null, null,
                Duration.ofSeconds(2)); // as `serve` does by default; the ONNX Runtime peers are custom models, not warmed here
        InferenceServer server = switch (system) {
            case "ours", "alone" -> InferenceServer.start(s, List.of(
                    ModelSpec.model(root.resolve("models/seq2seq").toString(), maxBatch, maxQueue).withBatching(system.equals("ours")),
                    ModelSpec.model(root.resolve("models/charlm").toString(), maxBatch, maxQueue).withBatching(system.equals("ours")),
                    ModelSpec.model(root.resolve("models/classifier").toString(), maxBatch, maxQueue).withBatching(system.equals("ours"))));
            case "ort" -> InferenceServer.start(s, List.of(), List.<CustomModel>of(
                    new OrtSeq2Seq("seq2seq", root.resolve("onnx/src/test/resources/onnx/demo/seq2seq"), maxBatch, maxQueue),
                    new OrtCharLm("charlm", Path.of(System.getProperty("panama.rnn.bench.charlm.onnx",
                            root.resolve("bench/models/charlm-ort").toString())), maxBatch, maxQueue)));
            default -> throw new IllegalArgumentException("system: ours | alone | ort, got " + system);
        };
        System.out.println("machine " + dev.panamarnn.Platform.summary() + "; backend " + dev.panamarnn.Backend.defaultBackend().name());
        System.out.println("pid " + ProcessHandle.current().pid());
        System.out.println("port " + server.port());
        System.out.flush();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            done.countDown();
        }));
        done.await();
    }
}
