package dev.panamarnn.kernel.simd;

import dev.panamarnn.kernel.CellMath;
import dev.panamarnn.kernel.FusedSteps;
import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.MatrixProducts;
import java.util.Optional;

/**
 * The Vector API backend: {@code SimdProducts} and {@code SimdCells}. This class must not touch
 * {@code jdk.incubator.vector}: it checks that the module is in the boot layer first and only then loads
 * those classes by name, so a JVM started without {@code --add-modules jdk.incubator.vector} gets a clear
 * reason instead of a linkage error.
 */
public final class SimdKernelProvider implements KernelProvider {
    private static final String PRODUCTS = "dev.panamarnn.kernel.simd.SimdProducts", CELLS = "dev.panamarnn.kernel.simd.SimdCells",
            FUSED = "dev.panamarnn.kernel.simd.SimdFusedSteps";

    /** Creates the provider; loads nothing. */
    public SimdKernelProvider() {}

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
            Class.forName(PRODUCTS, true, SimdKernelProvider.class.getClassLoader());
            Class.forName(CELLS, true, SimdKernelProvider.class.getClassLoader());
            return Availability.yes("Vector API, " + VectorInfo.describe());
        } catch (ReflectiveOperationException | LinkageError e) {
            return Availability.no("Vector API kernels failed to load: " + e);
        }
    }

    @Override
    public MatrixProducts products() {
        return (MatrixProducts) create(PRODUCTS);
    }

    @Override
    public Optional<CellMath> cellMath() {
        return Optional.of((CellMath) create(CELLS));
    }

    @Override
    public Optional<FusedSteps> fusedSteps() {
        return Optional.of((FusedSteps) create(FUSED));
    }

    private static Object create(String impl) {
        try {
            return Class.forName(impl, true, SimdKernelProvider.class.getClassLoader()).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create " + impl, e);
        }
    }
}
