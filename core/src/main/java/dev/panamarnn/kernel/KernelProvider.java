package dev.panamarnn.kernel;

/**
 * How a backend makes itself known. Providers in other modules (the OpenBLAS one) register through
 * {@link java.util.ServiceLoader} ({@code META-INF/services/dev.panamarnn.kernel.KernelProvider});
 * {@code scalar} and {@code simd} are built in.
 *
 * <p>{@link #availability()} must be cheap to call more than once, must not throw, and must not load any
 * class that fails to link when the backend's requirements (a JDK module, a native library) are missing.
 */
public interface KernelProvider {

    /** The backend's name, as used by {@code -Dpanama.rnn.backend=NAME}. */
    String name();

    /** Preference in automatic selection: the available provider with the highest priority wins. */
    int priority();

    /** Whether this backend can run here, and why (or why not). */
    Availability availability();

    /** Creates the kernels. Called only when {@link #availability()} says available. */
    Kernels create();

    /** Describes the backend for {@code info}: library versions, CPU features, thread counts. Never throws. */
    default String describe() {
        return availability().reason();
    }

    /** Whether a backend can run, with a human-readable reason either way. */
    record Availability(boolean available, String reason) {
        public static Availability yes(String reason) { return new Availability(true, reason); }
        public static Availability no(String reason) { return new Availability(false, reason); }
    }
}
