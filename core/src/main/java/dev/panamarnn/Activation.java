package dev.panamarnn;

/** The nonlinearity of an Elman RNN, as PyTorch's {@code nonlinearity='tanh' | 'relu'}. */
public enum Activation {
    /** {@code tanh}, PyTorch's default. */
    TANH,
    /** {@code max(x, 0)}. */
    RELU;

    /**
     * Parses PyTorch's spelling ({@code tanh}, {@code relu}), case-insensitively.
     *
     * @param s {@code tanh} or {@code relu}
     * @return the activation
     * @throws IllegalArgumentException for any other name
     */
    public static Activation parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "tanh" -> TANH;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException("activation must be 'tanh' or 'relu', got '" + s + "'");
        };
    }
}
