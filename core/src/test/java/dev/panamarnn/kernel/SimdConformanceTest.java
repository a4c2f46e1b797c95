package dev.panamarnn.kernel;

import dev.panamarnn.kernel.simd.SimdKernelProvider;

class SimdConformanceTest extends KernelConformance {
    @Override
    protected KernelProvider provider() {
        return new SimdKernelProvider();
    }
}
