package dev.panamarnn.kernel.scalar;

import dev.panamarnn.kernel.CellMath;
import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.MatrixProducts;
import java.util.Optional;

/** The reference backend: always available, never chosen automatically over a faster one. */
public final class ScalarKernelProvider implements KernelProvider {
    /** Creates the provider. */
    public ScalarKernelProvider() {}

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability availability() {
        return Availability.yes("plain Java loops, always available (the reference implementation)");
    }

    @Override
    public MatrixProducts products() {
        return new ScalarProducts();
    }

    @Override
    public Optional<CellMath> cellMath() {
        return Optional.of(new ScalarCellMath());
    }
}
