package dev.panamarnn.internal;

import dev.panamarnn.Backend;
import dev.panamarnn.kernel.Kernels;

/**
 * The unchecked kernels behind a {@link Backend}, for the model layer and the benchmarks only. Not API:
 * this package is not exported, so an application on the module path cannot reach them (kernels check
 * nothing, and native code handed a bad leading dimension may crash the JVM; {@code Backend}'s own
 * methods check first). {@code Backend} grants the access when its class initialises, the JDK's
 * {@code SharedSecrets} pattern: it keeps its constructor and field to itself.
 */
public final class KernelAccess {
    /** What {@code Backend} grants. */
    public interface Grant {
        /**
         * The backend's kernels.
         *
         * @param backend a backend
         * @return its kernels
         */
        Kernels kernels(Backend backend);
    }

    private static volatile Grant grant;

    private KernelAccess() {}

    /**
     * Called once, by {@code Backend}'s static initialiser.
     *
     * @param g the access
     * @throws IllegalStateException if it was granted already
     */
    public static void grant(Grant g) {
        if (grant != null) throw new IllegalStateException("kernel access granted twice");
        grant = g;
    }

    /**
     * The backend's unchecked kernels. Any {@code Backend} instance exists after its class initialised,
     * so the access is there.
     *
     * @param backend a backend
     * @return its kernels
     */
    public static Kernels of(Backend backend) {
        return grant.kernels(backend);
    }
}
