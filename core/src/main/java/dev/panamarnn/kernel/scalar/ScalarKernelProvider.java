package dev.panamarnn.kernel.scalar;

import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;

/** The reference backend: always available, never chosen automatically over a faster one. */
public final class ScalarKernelProvider implements KernelProvider {
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
    public Kernels create() {
        return new ScalarKernels();
    }
}
