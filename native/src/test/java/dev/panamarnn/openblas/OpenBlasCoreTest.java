package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** OpenBLAS' CPU kernels chosen before it loads ({@link OpenBlasCore}), and checked after. */
class OpenBlasCoreTest {

    @Test
    void theDecision() {
        // The known-wrong detection: an AMD CPU with AVX-512 gets SkylakeX, set by us.
        OpenBlasCore.Choice amd = OpenBlasCore.decide("auto", null, "AuthenticAMD", true);
        assertEquals("SkylakeX", amd.core());
        assertTrue(amd.set());
        // Intel with AVX-512, or any CPU without it: OpenBLAS' own detection.
        assertNull(OpenBlasCore.decide("auto", null, "GenuineIntel", true).core());
        assertNull(OpenBlasCore.decide("auto", null, "AuthenticAMD", false).core());
        // The environment wins, and is left as it is.
        OpenBlasCore.Choice env = OpenBlasCore.decide("Haswell", "Zen", "AuthenticAMD", true);
        assertEquals("Zen", env.core());
        assertFalse(env.set());
        // An explicit setting, or the library's own detection on request.
        assertEquals("Haswell", OpenBlasCore.decide("Haswell", null, "GenuineIntel", true).core());
        assertNull(OpenBlasCore.decide("library", null, "AuthenticAMD", true).core());
    }

    @Test
    void theCheckSaysWhenTheCoreIsNotTheOneAskedForOrWastesAvx512() {
        OpenBlasCore.Choice asked = new OpenBlasCore.Choice("SkylakeX", "test", true);
        assertFalse(OpenBlasCore.check(asked, "SkylakeX", true).contains("WARNING"));
        assertTrue(OpenBlasCore.check(asked, "Haswell", true).contains("WARNING: SkylakeX was asked for but OpenBLAS runs Haswell"));
        OpenBlasCore.Choice own = new OpenBlasCore.Choice(null, "own", false);
        assertTrue(OpenBlasCore.check(own, "Zen", true).contains("WARNING: AVX2 kernels on a CPU with AVX-512"));
        assertFalse(OpenBlasCore.check(own, "Zen", false).contains("WARNING"));
    }

    /** A forced core is the one OpenBLAS reports ({@code openblas_get_corename}), in a JVM of its own (the choice is made once, before loading). */
    @Test
    void aForcedCoreTakes() throws Exception {
        assumeTrue(OpenBlas.isAvailable(), "OpenBLAS is not installed");
        assumeTrue(System.getenv(OpenBlasCore.ENV) == null, "OPENBLAS_CORETYPE is set here");
        assertEquals("Haswell", run("-Dpanama.rnn.openblas.core=Haswell").strip().lines().reduce((a, b) -> b).orElse(""));
        String own = run("-Dpanama.rnn.openblas.core=library").strip().lines().reduce((a, b) -> b).orElse("");
        assertFalse(own.isEmpty());
    }

    /** The core name a fresh JVM's OpenBLAS reports, last line of its output. */
    private static String run(String flag) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), flag,
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), CoreName.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove(OpenBlasCore.ENV);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Prints the core OpenBLAS runs. */
    static final class CoreName {
        public static void main(String[] args) {
            System.out.println(OpenBlas.describe());
            System.out.println(OpenBlas.coreName());
        }
    }
}
