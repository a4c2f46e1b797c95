/**
 * The OpenBLAS backend of panama-rnn: {@code dev.panamarnn.openblas.OpenBlas} (the library's threads and
 * description) and a {@code KernelProvider} found through {@link java.util.ServiceLoader}. Needs
 * {@code --enable-native-access=dev.panamarnn.openblas} on the module path ({@code ALL-UNNAMED} on the class
 * path).
 */
module dev.panamarnn.openblas {
    requires dev.panamarnn.core;

    exports dev.panamarnn.openblas;

    provides dev.panamarnn.kernel.KernelProvider with dev.panamarnn.openblas.OpenBlasKernelProvider;
}
