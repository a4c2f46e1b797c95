package dev.panamarnn.openblas;

import dev.panamarnn.openblas.generated.CBlas;
import java.lang.foreign.MemorySegment;

/**
 * What OpenBLAS says about itself, and its thread count. Every method first makes sure the library is
 * loaded and throws {@link IllegalStateException} with the reason when it is not.
 *
 * <p>Threads: OpenBLAS's thread count is one process-wide setting. When the backend is first created it
 * is set to {@code -Dpanama.rnn.openblas.threads=N} if given, else left to OpenBLAS when
 * {@code OPENBLAS_NUM_THREADS} or {@code OMP_NUM_THREADS} is set, else 1: a server calls from many Java
 * threads at once, each caller thread computes, and OpenBLAS' own threads would only make the callers
 * wait for each other (see {@link OpenBlasKernelProvider}).
 */
public final class OpenBlas {
    /** The system property that sets OpenBLAS's thread count when the backend is first created: {@value} (read by {@link dev.panamarnn.Config}). */
    public static final String THREADS_PROPERTY = dev.panamarnn.Config.OPENBLAS_THREADS;

    private OpenBlas() {}

    /**
     * Whether OpenBLAS was found and loaded (see {@link OpenBlasLibrary}). Never throws.
     *
     * @return whether the library is loaded
     */
    public static boolean isAvailable() {
        return OpenBlasLibrary.status().loaded();
    }

    /**
     * The CPU kernel family OpenBLAS chose at start-up, e.g. {@code Zen}, {@code Cooperlake}, {@code Haswell}.
     *
     * @return the kernel family's name
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static String coreName() {
        ensureLoaded();
        return string(CBlas.openblas_get_corename());
    }

    /**
     * The build configuration string, e.g. {@code OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64}.
     *
     * @return the configuration string
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static String config() {
        ensureLoaded();
        return string(CBlas.openblas_get_config());
    }

    /**
     * OpenBLAS's process-wide thread count.
     *
     * @return the thread count
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static int threads() {
        ensureLoaded();
        return CBlas.openblas_get_num_threads();
    }

    /** Set once a thread count was chosen (by a caller or by the backend's default); the default then stays out. */
    static volatile boolean threadsChosen;

    /**
     * Sets OpenBLAS's process-wide thread count; {@code n ≥ 1}. An explicit call wins over the backend's default.
     *
     * @param n the thread count
     * @throws IllegalArgumentException if {@code n < 1}
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("OpenBLAS thread count must be >= 1, got " + n);
        ensureLoaded();
        CBlas.openblas_set_num_threads(n);
        threadsChosen = true;
    }

    /**
     * 0 = sequential build, 1 = pthreads, 2 = OpenMP.
     *
     * @return 0, 1 or 2
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static int parallelMode() {
        ensureLoaded();
        return CBlas.openblas_get_parallel();
    }

    /**
     * {@link #parallelMode()} in words.
     *
     * @return {@code sequential}, {@code pthreads} or {@code OpenMP}
     * @throws IllegalStateException if OpenBLAS is not available
     */
    public static String parallelModeName() {
        return switch (parallelMode()) {
            case 0 -> "sequential";
            case 1 -> "pthreads";
            case 2 -> "OpenMP";
            default -> "unknown (" + parallelMode() + ")";
        };
    }

    /**
     * One line for {@code info}: library, core, threads, config.
     *
     * @return the description, or why OpenBLAS is not available
     */
    public static String describe() {
        OpenBlasLibrary.Status s = OpenBlasLibrary.status();
        if (!s.loaded()) return s.reason();
        return OpenBlasCore.check(OpenBlasLibrary.coreChoice(), coreName(), dev.panamarnn.Platform.hasAvx512()) + ", " + threads() + " thread(s), "
                + parallelModeName() + "; " + config() + "; " + s.path();
    }

    /** Throws unless the library the bindings bind to is loaded; call before touching {@link CBlas}. */
    static void ensureLoaded() {
        OpenBlasLibrary.Status s = OpenBlasLibrary.status();
        if (!s.loaded()) throw new IllegalStateException("OpenBLAS is not available: " + s.reason());
    }

    private static String string(MemorySegment cString) {
        if (cString.equals(MemorySegment.NULL)) return "";
        return cString.reinterpret(4096).getString(0);
    }
}
