package dev.panamarnn.openblas;

import dev.panamarnn.kernel.KernelConformance;
import dev.panamarnn.kernel.KernelProvider;

/** OpenBLAS against the scalar reference; skipped, with the loader's reason, when the library is absent. */
class OpenBlasConformanceTest extends KernelConformance {
    @Override
    protected KernelProvider provider() {
        return new OpenBlasKernelProvider();
    }
}
