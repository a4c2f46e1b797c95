package dev.panamarnn.kernel;

import java.util.Optional;

/**
 * How a backend makes itself known, and what it supplies: {@link MatrixProducts} always, {@link CellMath}
 * when it has its own; {@link Kernels#of} completes the rest with the core's. Providers in other modules
 * (the OpenBLAS one) register through {@link java.util.ServiceLoader} ({@code provides} in their module
 * descriptor, or {@code META-INF/services/dev.panamarnn.kernel.KernelProvider} on the class path);
 * {@code scalar} and {@code simd} are built in.
 *
 * <p>{@link #availability()} must be cheap to call more than once, must not throw, and must not load any
 * class that fails to link when the backend's requirements (a JDK module, a native library) are missing.
 */
public interface KernelProvider {

    /**
     * The backend's name, as used by {@code -Dpanama.rnn.backend=NAME}.
     *
     * @return the name, for example {@code simd}
     */
    String name();

    /**
     * Preference in automatic selection: the available provider with the highest priority wins.
     *
     * @return the priority; higher wins
     */
    int priority();

    /**
     * Whether this backend can run here, and why (or why not).
     *
     * @return whether it can run, with the reason
     */
    Availability availability();

    /**
     * Creates the backend's matrix products. Called only when {@link #availability()} says available.
     *
     * @return the products, stateless and thread-safe
     */
    MatrixProducts products();

    /**
     * Creates the backend's cell math, if it has its own. Called only when {@link #availability()} says
     * available. The default has none: the core's serves (see {@link Kernels}).
     *
     * @return the cell math, stateless and thread-safe, or empty
     */
    default Optional<CellMath> cellMath() {
        return Optional.empty();
    }

    /**
     * The backend's fused recurrent step, when it has one. The default has none: the core's serves when it
     * has one (see {@link Kernels}).
     *
     * @return the fused step, or empty
     */
    default Optional<FusedSteps> fusedSteps() {
        return Optional.empty();
    }

    /**
     * Describes the backend for {@code info}: library versions, CPU features, thread counts. Never throws.
     *
     * @return a one-line description
     */
    default String describe() {
        return availability().reason();
    }

    /**
     * Whether a backend can run, with a human-readable reason either way.
     *
     * @param available whether the backend can run here
     * @param reason    why it can or cannot, for people
     */
    record Availability(boolean available, String reason) {
        /**
         * A backend that can run.
         *
         * @param reason why it can
         * @return the availability
         */
        public static Availability yes(String reason) { return new Availability(true, reason); }
        /**
         * A backend that cannot run.
         *
         * @param reason why it cannot
         * @return the availability
         */
        public static Availability no(String reason) { return new Availability(false, reason); }
    }
}
