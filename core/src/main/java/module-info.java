/**
 * panama-rnn's core: the public API ({@code dev.panamarnn}, {@code dev.panamarnn.nn},
 * {@code dev.panamarnn.app}, {@code dev.panamarnn.io}), the model layer, and the scalar and Vector API
 * kernels. The kernel SPI ({@code dev.panamarnn.kernel}) is exported to the OpenBLAS module only; the
 * kernels themselves, the engine ({@code dev.panamarnn.engine}) and {@code dev.panamarnn.internal} are not
 * exported.
 *
 * <p>The Vector API is optional at run time: without {@code --add-modules jdk.incubator.vector} the library
 * runs on the scalar kernels and says so once, as a warning. Backends in other modules register as
 * {@code provides dev.panamarnn.kernel.KernelProvider}.
 */
@SuppressWarnings("module") // the qualified export names a module that is not there when core compiles
module dev.panamarnn.core {
    requires static jdk.incubator.vector;
    requires com.fasterxml.jackson.core;
    requires jdk.management;

    exports dev.panamarnn;
    exports dev.panamarnn.app;
    exports dev.panamarnn.io;
    exports dev.panamarnn.nn;
    exports dev.panamarnn.train;
    exports dev.panamarnn.kernel to dev.panamarnn.openblas;

    uses dev.panamarnn.kernel.KernelProvider;
}
