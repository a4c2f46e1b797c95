package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.openblas.OpenBlas;
import picocli.CommandLine.Option;

/** {@code --backend} and {@code --threads}, shared by the model commands. */
final class BackendOptions {
    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "OpenBLAS threads.")
    Integer threads;

    Backend resolve() {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
            if (!OpenBlas.isAvailable()) throw new IllegalArgumentException("--threads sets OpenBLAS threads, but OpenBLAS is not available");
            OpenBlas.setThreads(threads);
        }
        return backend == null ? Backend.defaultBackend() : Backend.get(backend);
    }
}
