package dev.panamarnn.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * What a Spark job scores with: a model directory or a layer's safetensors file, the input column, the
 * rows per batch inside a partition, and the decoding options. Serializable: it travels in the closure to
 * the executors, which load the model from it once per JVM.
 *
 * @param model     a model directory (model.json + weights.safetensors or ONNX graphs), or a layer's file
 * @param layer     whether {@code model} is a layer's safetensors file (PyTorch state_dict names)
 * @param layerMode a layer's mode ({@code lstm}, {@code gru}, {@code rnn_tanh}, {@code rnn_relu}), or null to infer it
 * @param column    the input column, or null for the task's default ({@link Task#defaultColumn})
 * @param batchSize rows computed together inside a partition, 1..4096
 * @param backend   the backend's name, or null for the library's default on each executor
 * @param beam      a seq2seq model's beam width (1 = greedy)
 * @param maxTokens the most tokens generated or translated per row, or 0 for the model's max_output_length
 * @param shipped   whether the driver ships {@code model}'s files with the job (a broadcast variable; each
 *                  executor JVM writes them to a temporary directory once); otherwise every executor reads
 *                  {@code model} itself, so it must be on a path they all can read
 */
public record ScoreSpec(String model, boolean layer, String layerMode, String column, int batchSize, String backend,
                        int beam, int maxTokens, boolean shipped) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The most rows in one batch. */
    public static final int MAX_BATCH = 4096;

    /** The widest beam. */
    public static final int MAX_BEAM = 64;

    /** Rows per batch unless set: enough for GEMM to pay, small enough to keep a partition's memory low. */
    public static final int DEFAULT_BATCH = 64;

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public ScoreSpec {
        Objects.requireNonNull(model, "model");
        if (model.isBlank()) throw new IllegalArgumentException("model: empty path");
        if (batchSize < 1 || batchSize > MAX_BATCH) throw new IllegalArgumentException("batch size must be in 1.." + MAX_BATCH + ", got " + batchSize);
        if (beam < 1 || beam > MAX_BEAM) throw new IllegalArgumentException("beam width must be in 1.." + MAX_BEAM + ", got " + beam);
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be ≥ 0 (0 = the model's max_output_length), got " + maxTokens);
        if (layerMode != null && !layer) throw new IllegalArgumentException("a layer mode is only for a layer's file, not a model directory");
    }

    /**
     * Scoring with an application model.
     *
     * @param dir the model directory (a path every executor can read, or shipped: {@link #shippedToExecutors})
     * @return the spec, with the defaults
     */
    public static ScoreSpec model(String dir) {
        return new ScoreSpec(dir, false, null, null, DEFAULT_BATCH, null, 1, 0, false);
    }

    /**
     * Scoring with a recurrent layer: each row's sequence through {@code forward}.
     *
     * @param file the layer's safetensors file
     * @param mode its mode, or null to infer it from the weights
     * @return the spec, with the defaults
     */
    public static ScoreSpec layer(String file, String mode) {
        return new ScoreSpec(file, true, mode, null, DEFAULT_BATCH, null, 1, 0, false);
    }

    /**
     * @param c the input column
     * @return a copy reading column {@code c}
     */
    public ScoreSpec withColumn(String c) {
        return new ScoreSpec(model, layer, layerMode, c, batchSize, backend, beam, maxTokens, shipped);
    }

    /**
     * @param n rows per batch
     * @return a copy computing {@code n} rows together
     */
    public ScoreSpec withBatchSize(int n) {
        return new ScoreSpec(model, layer, layerMode, column, n, backend, beam, maxTokens, shipped);
    }

    /**
     * @param name the backend's name ({@code scalar}, {@code simd}, {@code openblas}), or null for the default
     * @return a copy on that backend
     */
    public ScoreSpec withBackend(String name) {
        return new ScoreSpec(model, layer, layerMode, column, batchSize, name, beam, maxTokens, shipped);
    }

    /**
     * @param width the beam width (seq2seq)
     * @return a copy translating with that beam
     */
    public ScoreSpec withBeam(int width) {
        return new ScoreSpec(model, layer, layerMode, column, batchSize, backend, width, maxTokens, shipped);
    }

    /**
     * @param n the most tokens per row (0 = the model's max_output_length)
     * @return a copy with that limit
     */
    public ScoreSpec withMaxTokens(int n) {
        return new ScoreSpec(model, layer, layerMode, column, batchSize, backend, beam, n, shipped);
    }

    /**
     * @return a copy whose model the driver ships to the executors with the job
     */
    public ScoreSpec shippedToExecutors() {
        return new ScoreSpec(model, layer, layerMode, column, batchSize, backend, beam, maxTokens, true);
    }
}
