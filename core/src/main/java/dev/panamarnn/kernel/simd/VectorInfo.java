package dev.panamarnn.kernel.simd;

/**
 * Describes the preferred float species without loading it from code that may run without the
 * incubator module: {@link #describe()} is only called once the module is known to be present.
 */
public final class VectorInfo {
    private VectorInfo() {}

    /** For example {@code "FloatVector.SPECIES_PREFERRED = 256 bits (8 floats)"}. */
    public static String describe() {
        var s = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        return "FloatVector.SPECIES_PREFERRED = " + s.vectorBitSize() + " bits (" + s.length() + " floats)";
    }
}
