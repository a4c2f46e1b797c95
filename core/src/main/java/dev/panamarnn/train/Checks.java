package dev.panamarnn.train;

/** Argument checks of the training package. */
final class Checks {
    private Checks() {}

    static void rate(String name, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException(name + " must be finite and >= 0, got " + v);
    }
}
