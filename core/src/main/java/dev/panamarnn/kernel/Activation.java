package dev.panamarnn.kernel;

/** The nonlinearity of an Elman RNN, as PyTorch's {@code nonlinearity='tanh' | 'relu'}. */
public enum Activation {
    TANH,
    RELU;

    /** Parses PyTorch's spelling ({@code tanh}, {@code relu}), case-insensitively. */
    public static Activation parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "tanh" -> TANH;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException("activation must be 'tanh' or 'relu', got '" + s + "'");
        };
    }
}
