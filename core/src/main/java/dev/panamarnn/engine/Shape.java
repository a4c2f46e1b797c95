package dev.panamarnn.engine;

/**
 * A recurrent layer's structure as the engine needs it: the public {@code LayerSpec} without its checks
 * (it made them) and names.
 *
 * @param cell       the cell type
 * @param inputSize  features per input step of layer 0
 * @param hidden     hidden size H
 * @param layers     stacked layers
 * @param directions 1, or 2 for bidirectional
 * @param bias       whether the layer has biases
 * @param batchFirst whether inputs and outputs are {@code (B, T, ·)}
 * @param proj       LSTM projection size, 0 for none
 */
public record Shape(Cell cell, int inputSize, int hidden, int layers, int directions, boolean bias, boolean batchFirst, int proj) {
    /** Gate blocks G. */
    int gates() {
        return cell.gates;
    }

    /** P: the size of h, {@code proj} when there is a projection, else H. */
    int output() {
        return proj > 0 ? proj : hidden;
    }

    /** Features per input row of layer {@code l}. */
    int layerInput(int l) {
        return l == 0 ? inputSize : directions * output();
    }
}
