package dev.panamarnn.kernel.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * The simd-widths executions of core/pom.xml (-XX:MaxVectorSize=16, 32) run at the width they are named
 * for: each sets {@code -Dpanama.simd.expectBits}, and a JVM that ignored or capped the flag (a width
 * above the CPU's, an argLine replaced on the command line) would rerun the default width unnoticed.
 */
class VectorWidthTest {
    @Test
    void preferredSpeciesHasTheWidthTheExecutionAskedFor() {
        String want = System.getProperty("panama.simd.expectBits");
        assumeTrue(want != null, "not a width execution: " + VectorInfo.describe());
        assertEquals(Integer.parseInt(want), SimdMath.S.vectorBitSize(), VectorInfo.describe());
    }
}
