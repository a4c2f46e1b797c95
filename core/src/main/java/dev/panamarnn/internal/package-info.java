/**
 * Internal to panama-rnn, not exported: {@link dev.panamarnn.internal.KernelAccess}, the unchecked kernels
 * of a backend for the model layer and the benchmarks.
 */
package dev.panamarnn.internal;
