/**
 * Training: backpropagation through time for PyTorch's recurrent layers and cells, {@code Linear},
 * {@code Embedding} and cross-entropy, with PyTorch's optimisers (SGD, Adam, AdamW), gradient clipping and
 * learning-rate schedules. Modules hold their parameters under PyTorch's names; {@link
 * dev.panamarnn.train.Checkpoint} saves them as safetensors that PyTorch and this library's inference layers load.
 */
package dev.panamarnn.train;
