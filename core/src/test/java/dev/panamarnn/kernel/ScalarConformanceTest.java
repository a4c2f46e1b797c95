package dev.panamarnn.kernel;

import dev.panamarnn.kernel.scalar.ScalarKernelProvider;

/** The reference against itself: proves the harness runs every path (and that in-place calls agree). */
class ScalarConformanceTest extends KernelConformance {
    @Override
    protected KernelProvider provider() {
        return new ScalarKernelProvider();
    }
}
