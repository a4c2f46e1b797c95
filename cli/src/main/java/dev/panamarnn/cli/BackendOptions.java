package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.openblas.OpenBlas;
import picocli.CommandLine.Option;

/**
 * {@code --backend}, {@code --threads} and {@code --openblas-threads}, shared by the model commands. The
 * names mean what the library's settings mean: {@code --threads} is the threads one forward call computes
 * on ({@code -Dpanama.rnn.threads}, 1 or 2), {@code --openblas-threads} OpenBLAS' own pool
 * ({@code -Dpanama.rnn.openblas.threads}).
 */
final class BackendOptions {
    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "Threads per forward call: 1 (default) or 2 (the calling thread and a helper).")
    Integer callThreads;

    @Option(names = "--openblas-threads", paramLabel = "N", description = "OpenBLAS' own threads (1.. 4 × the processors, at most 256; default 1).")
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
        if (callThreads != null) {
            if (callThreads < 1 || callThreads > 2) {
                throw new IllegalArgumentException("--threads (threads per forward call) must be 1 or 2, got " + callThreads
                        + (callThreads > 2 ? "; for OpenBLAS' own threads use --openblas-threads" : ""));
            }
            dev.panamarnn.Parallelism.setThreads(callThreads);
        }
        if (threads != null) {
            int max = maxThreads();
            if (threads < 1 || threads > max) {
                throw new IllegalArgumentException("--openblas-threads must be in 1.." + max + " (4 × the " + Runtime.getRuntime().availableProcessors()
                        + " processors this JVM may use, at most 256; more threads than cores only slow OpenBLAS down), got " + threads);
            }
            if (!OpenBlas.isAvailable()) throw new IllegalArgumentException("--openblas-threads sets OpenBLAS threads, but OpenBLAS is not available");
            OpenBlas.setThreads(threads);
        }
        return backend == null ? Backend.defaultBackend() : Backend.get(backend);
    }
}
