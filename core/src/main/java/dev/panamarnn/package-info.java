/**
 * panama-rnn's foundations: {@link dev.panamarnn.Tensor} (float32 over native memory, row-major, with a
 * leading dimension), {@link dev.panamarnn.Backend} (the kernels a model runs on: OpenBLAS, the Vector API
 * or plain Java, chosen automatically or by name) and process-wide settings such as
 * {@link dev.panamarnn.Parallelism}.
 *
 * <p>Every JVM that runs the library needs {@code --add-modules jdk.incubator.vector}, and
 * {@code --enable-native-access=ALL-UNNAMED} for the OpenBLAS backend ({@code =dev.panamarnn.openblas} when the
 * jars are on the module path).
 */
package dev.panamarnn;
