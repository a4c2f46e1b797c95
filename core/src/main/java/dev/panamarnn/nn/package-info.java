/**
 * Layers with PyTorch's semantics, loaded from a {@link dev.panamarnn.nn.StateDict} by PyTorch's tensor names:
 * {@link dev.panamarnn.nn.RecurrentLayer} ({@code nn.LSTM}, {@code nn.GRU}, {@code nn.RNN}),
 * {@link dev.panamarnn.nn.RecurrentCell}, {@link dev.panamarnn.nn.Linear}, {@link dev.panamarnn.nn.Embedding},
 * and {@link dev.panamarnn.nn.BatchingExecutor}, which batches the steps of concurrent callers.
 */
package dev.panamarnn.nn;
