package dev.panamarnn.bench;

import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;

/**
 * The standard configurations of {@code docs/performance.md} (and the server scenario's model S1): float32,
 * forward only, input {@code (T, B, I)}, zero initial state. The same table is in
 * {@code scripts/python/bench_models.py}, which writes each one's weights, input and expected output to
 * {@code bench/models/}; {@link StudyFiles} checks the files' metadata against this table.
 */
enum StudyConfig {
    L1(Mode.LSTM, 256, 256, 64, 1, 1, false),
    L2(Mode.LSTM, 512, 512, 100, 64, 1, false),
    L3(Mode.LSTM, 1024, 1024, 32, 256, 1, false),
    G1(Mode.GRU, 128, 256, 128, 32, 2, true),
    R1(Mode.RNN_TANH, 256, 512, 128, 32, 1, false),
    S1(Mode.LSTM, 512, 512, 100, 1, 1, false);

    final Mode mode;
    final int inputSize, hiddenSize, steps, batch, layers;
    final boolean bidirectional;

    StudyConfig(Mode mode, int inputSize, int hiddenSize, int steps, int batch, int layers, boolean bidirectional) {
        this.mode = mode;
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.steps = steps;
        this.batch = batch;
        this.layers = layers;
        this.bidirectional = bidirectional;
    }

    LayerSpec spec() {
        return LayerSpec.of(mode, inputSize, hiddenSize).withLayers(layers).withBidirectional(bidirectional);
    }

    int directions() {
        return bidirectional ? 2 : 1;
    }

    /** FLOPs of one forward pass: sum over layers and directions of {@code 2·T·B·(I_layer + H)·G·H}. */
    double flops() {
        return spec().flops(steps, batch);
    }

    /** FLOPs of the input projections alone: sum over layers and directions of {@code 2·T·B·I_layer·G·H}. */
    double projectionFlops() {
        double f = 0;
        for (int l = 0; l < layers; l++) {
            int in = l == 0 ? inputSize : directions() * hiddenSize;
            f += 2.0 * steps * batch * in * mode.gates() * hiddenSize * directions();
        }
        return f;
    }

    /** Step products of one forward pass: T per layer and direction. */
    int stepCount() {
        return steps * layers * directions();
    }

    /** The per-step recurrent GEMM {@code h·W_hhᵀ}: {@code B × G·H × H}, W_hh stored {@code [G·H × H]}. */
    String stepShape() {
        return batch + "x" + mode.gates() * hiddenSize + "x" + hiddenSize + ":NT";
    }

    /** Output shape {@code (T, B, D·H)}, h_n {@code (layers·D, B, H)}. */
    int[] outputShape() {
        return new int[] {steps, batch, directions() * hiddenSize};
    }

    int[] stateShape() {
        return new int[] {layers * directions(), batch, hiddenSize};
    }

    String describe() {
        return mode + " I=" + inputSize + " H=" + hiddenSize + " T=" + steps + " B=" + batch
                + (layers > 1 ? " layers=" + layers : "") + (bidirectional ? " bidirectional" : "");
    }
}
