package dev.panamarnn.bench;

import dev.panamarnn.Tuning;

/**
 * Makes sure this machine's kernel choices are measured ({@link Tuning}) before the study times the default
 * backend ({@code backend=auto}), and prints them: the study's forks then all read the same choices.
 */
public final class EnsureTuned {
    private EnsureTuned() {}

    /**
     * Measures when not measured here yet; prints what the default backend will follow.
     *
     * @param args none
     * @throws Exception if the measurement cannot be kept
     */
    public static void main(String[] args) throws Exception {
        String[] why = new String[1];
        Tuning.Measured m = Tuning.load(why);
        if (m == null && Tuning.file() != null) {
            System.out.println("# tuning: " + why[0] + "; measuring now (5-10 s)");
            m = Tuning.measure();
        }
        System.out.println(m == null ? "# tuning: " + why[0] : "# tuning (" + m.file() + "): " + m.report());
    }
}
