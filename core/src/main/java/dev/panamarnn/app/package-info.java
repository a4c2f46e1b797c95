/**
 * Whole models from a directory ({@code model.json} and {@code weights.safetensors}, see
 * {@link dev.panamarnn.app.ModelConfig}): {@link dev.panamarnn.app.SequenceClassifier} (N-vs-1),
 * {@link dev.panamarnn.app.LanguageModel} (N-vs-N and 1-vs-N) and {@link dev.panamarnn.app.Seq2Seq}
 * (encoder-decoder with greedy and beam search).
 */
package dev.panamarnn.app;
