package dev.panamarnn.kernel;

/**
 * The order of gates in weight matrices and pre-activation rows: written down here once, PyTorch's.
 *
 * <p>A layer with G gates and hidden size H has {@code weight_ih} of {@code [G·H × I]}, {@code weight_hh}
 * of {@code [G·H × H]} and biases of {@code [G·H]}; gate {@code g} occupies rows (or columns of a
 * pre-activation row) {@code [g·H, (g+1)·H)}.
 */
public final class GateLayout {
    /** LSTM: input gate, forget gate, cell candidate, output gate. */
    public static final int LSTM_I = 0, LSTM_F = 1, LSTM_G = 2, LSTM_O = 3;
    /** LSTM: the number of gates. */
    public static final int LSTM_GATES = 4;

    /** GRU: reset gate, update gate, new-state candidate. */
    public static final int GRU_R = 0, GRU_Z = 1, GRU_N = 2;
    /** GRU: the number of gates. */
    public static final int GRU_GATES = 3;

    /** Elman RNN: a single pre-activation. */
    public static final int RNN_GATES = 1;

    private GateLayout() {}
}
