/**
 * The kernel SPI: {@link dev.panamarnn.kernel.Kernels} (GEMM, GEMV, the fused cell steps) and
 * {@link dev.panamarnn.kernel.KernelProvider}, through which a backend registers with
 * {@link java.util.ServiceLoader}. Kernels check nothing; {@link dev.panamarnn.Backend} is the checked facade.
 */
package dev.panamarnn.kernel;
