package dev.panamarnn.engine;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.GateLayout;

/** The cell types the engine runs (the public API's {@code Mode}, by the same names). */
public enum Cell {
    /** Gates i, f, g, o, and a cell state. */
    LSTM(GateLayout.LSTM_GATES),
    /** Gates r, z, n; {@code b_hn} stays with the hidden part. */
    GRU(GateLayout.GRU_GATES),
    /** Elman, tanh. */
    RNN_TANH(GateLayout.RNN_GATES),
    /** Elman, ReLU. */
    RNN_RELU(GateLayout.RNN_GATES);

    final int gates;

    Cell(int gates) {
        this.gates = gates;
    }

    /** The Elman activation (RNN_TANH and RNN_RELU only). */
    Activation activation() {
        return this == RNN_RELU ? Activation.RELU : Activation.TANH;
    }
}
