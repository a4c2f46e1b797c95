/**
 * The OpenBLAS backend ({@code openblas}), found through {@link java.util.ServiceLoader} when this jar is on
 * the class path and chosen first when the library loads: {@link dev.panamarnn.openblas.OpenBlasLibrary}
 * finds {@code libopenblas.so.0}, {@link dev.panamarnn.openblas.OpenBlas} reports on it and sets its threads.
 * Needs {@code --enable-native-access=ALL-UNNAMED}.
 */
package dev.panamarnn.openblas;
