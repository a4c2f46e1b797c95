package dev.panamarnn.openblas;

import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.MatrixProducts;

/**
 * Registers the OpenBLAS backend with {@link java.util.ServiceLoader}; preferred when the library loads. It
 * supplies matrix products only ({@link OpenBlasProducts}); the cell math is the core's.
 */
public final class OpenBlasKernelProvider implements KernelProvider {
    /** Creates the provider; {@link java.util.ServiceLoader} does. Loads nothing. */
    public OpenBlasKernelProvider() {}

    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public int priority() {
        return 20;
    }

    @Override
    public Availability availability() {
        OpenBlasLibrary.Status s = OpenBlasLibrary.status();
        return s.loaded() ? Availability.yes("OpenBLAS " + s.reason()) : Availability.no(s.reason());
    }

    @Override
    public String describe() {
        if (OpenBlas.isAvailable()) chooseThreads();
        return OpenBlas.describe();
    }

    @Override
    public MatrixProducts products() {
        OpenBlas.ensureLoaded();
        chooseThreads();
        return new OpenBlasProducts();
    }

    /**
     * Once per process, unless {@link OpenBlas#setThreads} was called first:
     * {@code -Dpanama.rnn.openblas.threads=N} when given; else OpenBLAS' own choice when
     * {@code OPENBLAS_NUM_THREADS} or {@code OMP_NUM_THREADS} is set; else 1. One, because a library inside
     * a server is called from many threads at once, and OpenBLAS' pthreads pool then serialises them
     * and spins: in the concurrency test, 8 callers made 96 calls in 11.5 s with OpenBLAS at 2 threads
     * against 512 calls in 0.7 s at 1 thread. A single caller with large GEMMs asks for more.
     */
    private static synchronized void chooseThreads() {
        if (OpenBlas.threadsChosen) return; // an explicit OpenBlas.setThreads came first
        int threads = dev.panamarnn.Config.defaults().openblasThreads();
        if (threads > 0) {
            OpenBlas.setThreads(threads);
        } else if (System.getenv("OPENBLAS_NUM_THREADS") == null && System.getenv("OMP_NUM_THREADS") == null) {
            OpenBlas.setThreads(1);
        }
        OpenBlas.threadsChosen = true;
    }
}
