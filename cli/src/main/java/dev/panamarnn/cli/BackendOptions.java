package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.openblas.OpenBlas;
import picocli.CommandLine.Option;

/** {@code --backend} and {@code --threads}, shared by the model commands. */
final class BackendOptions {
    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "OpenBLAS threads (1.. 4 × the processors, at most 256).")
    Integer threads;

    /**
     * The most OpenBLAS threads accepted: 4 × the processors this JVM may use, at most 256. GEMM is bound
     * by the cores, so threads beyond them only add switching and barrier waits; the factor 4 leaves room
     * for a container whose CPU quota understates the machine, and 256 is above OpenBLAS' own build limit
     * (64 in Debian's packages), past which it quietly uses fewer threads than asked.
     */
    static int maxThreads() {
        return Math.min(256, 4 * Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    Backend resolve() {
        if (threads != null) {
            int max = maxThreads();
            if (threads < 1 || threads > max) {
                throw new IllegalArgumentException("--threads must be in 1.." + max + " (4 × the " + Runtime.getRuntime().availableProcessors()
                        + " processors this JVM may use, at most 256; more threads than cores only slow OpenBLAS down), got " + threads);
            }
            if (!OpenBlas.isAvailable()) throw new IllegalArgumentException("--threads sets OpenBLAS threads, but OpenBLAS is not available");
            OpenBlas.setThreads(threads);
        }
        return backend == null ? Backend.defaultBackend() : Backend.get(backend);
    }
}
