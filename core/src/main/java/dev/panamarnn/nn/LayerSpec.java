package dev.panamarnn.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The hyper-parameters of a recurrent sequence layer, PyTorch's constructor arguments of
 * {@code nn.LSTM}/{@code nn.GRU}/{@code nn.RNN}. Dropout is a training setting and has no place here:
 * at inference it does nothing.
 *
 * @param mode          LSTM, GRU, or an Elman RNN with tanh or ReLU
 * @param inputSize     features per input step ({@code input_size}), ≥ 1
 * @param hiddenSize    features of the hidden state ({@code hidden_size}), ≥ 1
 * @param numLayers     stacked layers ({@code num_layers}), ≥ 1
 * @param bidirectional whether each layer also runs backwards ({@code bidirectional})
 * @param bias          whether the layer has {@code bias_ih} and {@code bias_hh}
 * @param batchFirst    whether input and output are {@code (B, T, …)} ({@code batch_first})
 * @param projSize LSTM projection size ({@code proj_size}), 0 for none; must be below {@code hiddenSize}
 */
public record LayerSpec(Mode mode, int inputSize, int hiddenSize, int numLayers, boolean bidirectional,
                        boolean bias, boolean batchFirst, int projSize) {

    /**
     * Checks the sizes.
     *
     * @throws IllegalArgumentException if a size is out of range, or {@code projSize} is given for a mode other than LSTM
     */
    public LayerSpec {
        Objects.requireNonNull(mode, "mode");
        if (inputSize < 1) throw new IllegalArgumentException("inputSize must be >= 1, got " + inputSize);
        if (hiddenSize < 1) throw new IllegalArgumentException("hiddenSize must be >= 1, got " + hiddenSize);
        if (numLayers < 1) throw new IllegalArgumentException("numLayers must be >= 1, got " + numLayers);
        if (projSize < 0) throw new IllegalArgumentException("projSize must be >= 0, got " + projSize);
        if (projSize > 0 && mode != Mode.LSTM) throw new IllegalArgumentException("projSize is only supported by LSTM, mode is " + mode);
        if (projSize >= hiddenSize && projSize > 0) {
            throw new IllegalArgumentException("projSize must be smaller than hiddenSize (" + hiddenSize + "), got " + projSize);
        }
        long g = (long) mode.gates() * hiddenSize * Math.max(inputSize, hiddenSize) * (bidirectional ? 2 : 1);
        if (g > Integer.MAX_VALUE) throw new IllegalArgumentException("layer too large: a weight matrix would exceed 2^31-1 elements");
    }

    /**
     * A single-layer, unidirectional layer with bias, time-major, no projection.
     *
     * @param mode       the cell type
     * @param inputSize  features per input step
     * @param hiddenSize features of the hidden state
     * @return the spec
     */
    public static LayerSpec of(Mode mode, int inputSize, int hiddenSize) {
        return new LayerSpec(mode, inputSize, hiddenSize, 1, false, true, false, 0);
    }

    /**
     * This spec with {@code numLayers = n}.
     *
     * @param n the number of layers
     * @return the new spec
     */
    public LayerSpec withLayers(int n) {
        return new LayerSpec(mode, inputSize, hiddenSize, n, bidirectional, bias, batchFirst, projSize);
    }

    /**
     * This spec with {@code bidirectional = b}.
     *
     * @param b whether bidirectional
     * @return the new spec
     */
    public LayerSpec withBidirectional(boolean b) {
        return new LayerSpec(mode, inputSize, hiddenSize, numLayers, b, bias, batchFirst, projSize);
    }

    /**
     * This spec with {@code bias = b}.
     *
     * @param b whether with bias
     * @return the new spec
     */
    public LayerSpec withBias(boolean b) {
        return new LayerSpec(mode, inputSize, hiddenSize, numLayers, bidirectional, b, batchFirst, projSize);
    }

    /**
     * This spec with {@code batchFirst = b}.
     *
     * @param b whether batch-first
     * @return the new spec
     */
    public LayerSpec withBatchFirst(boolean b) {
        return new LayerSpec(mode, inputSize, hiddenSize, numLayers, bidirectional, bias, b, projSize);
    }

    /**
     * This spec with {@code projSize = p}.
     *
     * @param p the projection size, 0 for none
     * @return the new spec
     */
    public LayerSpec withProjSize(int p) {
        return new LayerSpec(mode, inputSize, hiddenSize, numLayers, bidirectional, bias, batchFirst, p);
    }

    /**
     * Directions per layer: D in the shapes.
     *
     * @return 2 if bidirectional, else 1
     */
    public int directions() {
        return bidirectional ? 2 : 1;
    }

    /**
     * Size of h (and of each direction's output): {@code projSize} if set, else {@code hiddenSize}.
     *
     * @return P in the shapes
     */
    public int outputSize() {
        return projSize > 0 ? projSize : hiddenSize;
    }

    /**
     * Input size of layer {@code l}: {@code inputSize} for the first, {@code directions·outputSize} above.
     *
     * @param l the layer, from 0
     * @return its input features
     */
    public int layerInputSize(int l) {
        return l == 0 ? inputSize : directions() * outputSize();
    }

    /**
     * The tensors of such a layer in PyTorch's {@code state_dict}, each name prefixed with {@code prefix}, in
     * PyTorch's order (per layer, forward direction then {@code _reverse}: {@code weight_ih}, {@code weight_hh},
     * {@code bias_ih}, {@code bias_hh}, {@code weight_hr}), each with its shape. Exactly what loading reads.
     *
     * @param prefix prepended to every name; {@code ""} for none
     * @return name to shape, unmodifiable
     */
    public Map<String, int[]> stateDictShapes(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        int G = mode.gates(), H = hiddenSize, P = outputSize();
        Map<String, int[]> m = new LinkedHashMap<>();
        for (int l = 0; l < numLayers; l++) {
            for (int d = 0; d < directions(); d++) {
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                m.put(prefix + "weight_ih" + sfx, new int[] {G * H, layerInputSize(l)});
                m.put(prefix + "weight_hh" + sfx, new int[] {G * H, P});
                if (bias) {
                    m.put(prefix + "bias_ih" + sfx, new int[] {G * H});
                    m.put(prefix + "bias_hh" + sfx, new int[] {G * H});
                }
                if (projSize > 0) m.put(prefix + "weight_hr" + sfx, new int[] {P, H});
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * FLOPs of one forward pass over T steps and B samples (docs/performance.md's count, plus W_hr's product).
     *
     * @param steps T, the sequence length
     * @param batch B, the samples
     * @return the floating-point operations
     */
    public double flops(int steps, int batch) {
        double f = 0;
        for (int l = 0; l < numLayers; l++) {
            f += 2.0 * steps * batch * (layerInputSize(l) + outputSize()) * mode.gates() * hiddenSize * directions();
            if (projSize > 0) f += 2.0 * steps * batch * hiddenSize * projSize * directions();
        }
        return f;
    }
}
