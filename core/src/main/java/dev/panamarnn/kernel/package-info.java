/**
 * The kernel SPI, by concern: {@link dev.panamarnn.kernel.MatrixProducts} (GEMM, GEMV; optionally
 * {@link dev.panamarnn.kernel.Bf16Products} and {@link dev.panamarnn.kernel.PreparedProducts}) apart from
 * {@link dev.panamarnn.kernel.CellMath} (activations, fused cell updates). A backend registers a
 * {@link dev.panamarnn.kernel.KernelProvider} with {@link java.util.ServiceLoader} and supplies products
 * and, if it has its own, cell math; {@link dev.panamarnn.kernel.Kernels} composes them, with the core's
 * for what a backend lacks, into what the engine calls. Kernels check nothing; {@code dev.panamarnn.Backend}
 * is the checked facade.
 */
package dev.panamarnn.kernel;
