package dev.panamarnn.nn;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.GateLayout;
import java.util.Locale;

/** The recurrent cell type, as PyTorch's {@code mode} of {@code nn.RNNBase}. */
public enum Mode {
    /** Long short-term memory: {@code nn.LSTM}, gates i, f, g, o. */
    LSTM(GateLayout.LSTM_GATES),
    /** Gated recurrent unit: {@code nn.GRU}, gates r, z, n. */
    GRU(GateLayout.GRU_GATES),
    /** Elman RNN with tanh: {@code nn.RNN(nonlinearity='tanh')}. */
    RNN_TANH(GateLayout.RNN_GATES),
    /** Elman RNN with ReLU: {@code nn.RNN(nonlinearity='relu')}. */
    RNN_RELU(GateLayout.RNN_GATES);

    private final int gates;

    Mode(int gates) {
        this.gates = gates;
    }

    /**
     * Gate blocks per weight matrix: 4 for LSTM, 3 for GRU, 1 for an Elman RNN.
     *
     * @return the gate count
     */
    public int gates() {
        return gates;
    }

    /**
     * The Elman activation; only for {@link #RNN_TANH} and {@link #RNN_RELU}.
     *
     * @return tanh or ReLU
     * @throws IllegalStateException for LSTM and GRU
     */
    public Activation activation() {
        return switch (this) {
            case RNN_TANH -> Activation.TANH;
            case RNN_RELU -> Activation.RELU;
            default -> throw new IllegalStateException(this + " has no single activation");
        };
    }

    /**
     * Accepts {@code lstm}, {@code gru}, {@code rnn_tanh}, {@code rnn_relu} (any case; {@code rnn} means tanh, as in PyTorch).
     *
     * @param s the name
     * @return the mode
     * @throws IllegalArgumentException for any other name
     */
    public static Mode parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "lstm" -> LSTM;
            case "gru" -> GRU;
            case "rnn_tanh", "rnn", "tanh" -> RNN_TANH;
            case "rnn_relu", "relu" -> RNN_RELU;
            default -> throw new IllegalArgumentException("mode must be one of lstm, gru, rnn_tanh, rnn_relu; got " + dev.panamarnn.Text.quote(s));
        };
    }
}
