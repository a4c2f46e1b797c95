package dev.panamarnn.openblas;

import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.kernel.simd.SimdKernelProvider;

/** Registers the OpenBLAS backend with {@link java.util.ServiceLoader}; preferred when the library loads. */
public final class OpenBlasKernelProvider implements KernelProvider {
    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public int priority() {
        return 20;
    }

    @Override
    public Availability availability() {
        OpenBlasLibrary.Status s = OpenBlasLibrary.status();
        return s.loaded() ? Availability.yes("OpenBLAS " + s.reason()) : Availability.no(s.reason());
    }

    @Override
    public String describe() {
        return OpenBlas.describe() + "; gate math: " + gateProvider().name();
    }

    @Override
    public Kernels create() {
        OpenBlas.ensureLoaded();
        String threads = System.getProperty(OpenBlas.THREADS_PROPERTY);
        if (threads != null && !threads.isBlank()) {
            try {
                OpenBlas.setThreads(Integer.parseInt(threads.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-D" + OpenBlas.THREADS_PROPERTY + " must be a whole number >= 1, got '" + threads + "'");
            }
        }
        return new OpenBlasKernels(gateProvider().create());
    }

    /** Gate math runs on the Vector API when the JVM has it, else on the scalar reference. */
    private static KernelProvider gateProvider() {
        KernelProvider simd = new SimdKernelProvider();
        return simd.availability().available() ? simd : new ScalarKernelProvider();
    }
}
