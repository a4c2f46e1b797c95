package dev.panamarnn.kernel.simd;

import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;

/**
 * The Vector API backend. This class must not touch {@code jdk.incubator.vector}: it checks that the
 * module is in the boot layer first and only then loads {@code SimdKernels} by name, so a JVM started
 * without {@code --add-modules jdk.incubator.vector} gets a clear reason instead of a linkage error.
 */
public final class SimdKernelProvider implements KernelProvider {
    private static final String IMPL = "dev.panamarnn.kernel.simd.SimdKernels";

    @Override
    public String name() {
        return "simd";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public Availability availability() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return Availability.no("the JVM was started without --add-modules jdk.incubator.vector");
        }
        try {
            Class.forName(IMPL, true, SimdKernelProvider.class.getClassLoader());
            return Availability.yes("Vector API, " + VectorInfo.describe());
        } catch (ReflectiveOperationException | LinkageError e) {
            return Availability.no("Vector API kernels failed to load: " + e);
        }
    }

    @Override
    public Kernels create() {
        try {
            return (Kernels) Class.forName(IMPL, true, SimdKernelProvider.class.getClassLoader())
                    .getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + IMPL, e);
        }
    }
}
