package dev.panamarnn.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM: each loaded once, by the first task thread that needs it, and shared by all of
 * them; closed when the JVM exits. Static, so a model never travels in a task's closure. Keyed by where
 * the model was read from, its layer mode and its backend.
 */
final class ModelCache {
    private static final Map<String, Scorer> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    static {
        Thread hook = new Thread(ModelCache::closeAll, "panama-rnn-spark-models");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private ModelCache() {}

    /**
     * The model {@code spec} names, loading it on first use in this JVM.
     *
     * @param spec    the job's spec
     * @param shipped the model's files when the job ships them, else null (the spec's path is read)
     * @param loaded  called once when this call loaded the model (the job counts loads)
     * @return the scorer
     */
    static Scorer get(ScoreSpec spec, ShippedModel shipped, Runnable loaded) {
        String where = shipped != null ? "shipped:" + shipped.digest() : Path.of(spec.model()).toAbsolutePath().normalize().toString();
        String key = where + "|" + spec.layerMode() + "|" + spec.backend();
        return MODELS.computeIfAbsent(key, k -> {
            Path path = shipped != null ? shipped.materialize() : Path.of(spec.model());
            try {
                Scorer s = Scorer.load(spec, path);
                LOADS.incrementAndGet();
                loaded.run();
                return s;
            } catch (IOException e) {
                throw new UncheckedIOException(path + ": " + e.getMessage(), e);
            }
        });
    }

    /** @return the loads in this JVM so far */
    static int loads() {
        return LOADS.get();
    }

    private static void closeAll() {
        MODELS.values().forEach(Scorer::close);
        MODELS.clear();
    }
}
