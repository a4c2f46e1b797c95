package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The settings are read from the properties in one place (a layer's own settings: {@code LayerLoaderTest}). */
class ConfigTest {

    @Test
    void propertiesAreReadAndCheckedInOnePlace() {
        Map<String, String> saved = new HashMap<>();
        for (String p : new String[] {Config.BACKEND, Config.THREADS, Config.WEIGHTS, Config.STEP_PANELS, Config.OPENBLAS_THREADS, Config.OPENBLAS_CORE, Config.TUNING, Config.FUSED_STEPS}) {
            saved.put(p, System.getProperty(p));
            System.clearProperty(p);
        }
        try {
            assertEquals(new Config("auto", 1, "f32", true, 0, "auto", Config.fromSystemProperties().tuning(), "auto"), Config.fromSystemProperties());
            assertTrue(Config.fromSystemProperties().tuning().endsWith("/panama-rnn/tuning.properties"), Config.fromSystemProperties().tuning());
            System.setProperty(Config.THREADS, "2");
            System.setProperty(Config.WEIGHTS, "BF16");
            System.setProperty(Config.STEP_PANELS, "false");
            System.setProperty(Config.OPENBLAS_THREADS, "3");
            System.setProperty(Config.BACKEND, "simd");
            System.setProperty(Config.OPENBLAS_CORE, "SkylakeX");
            System.setProperty(Config.TUNING, "off");
            System.setProperty(Config.FUSED_STEPS, "OFF");
            assertEquals(new Config("simd", 2, "bf16", false, 3, "SkylakeX", "off", "off"), Config.fromSystemProperties());
            System.setProperty(Config.WEIGHTS, "bf16-if-faster");
            assertEquals("bf16-if-faster", Config.fromSystemProperties().weights());
            System.setProperty(Config.WEIGHTS, "bf16");
            for (String[] bad : new String[][] {{Config.THREADS, "3"}, {Config.WEIGHTS, "f16"}, {Config.STEP_PANELS, "yes"}, {Config.OPENBLAS_THREADS, "0"},
                    {Config.OPENBLAS_THREADS, "x\u001b[2J"}, {Config.OPENBLAS_CORE, "Sky lake"}, {Config.FUSED_STEPS, "yes"}}) {
                String before = System.getProperty(bad[0]);
                System.setProperty(bad[0], bad[1]);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Config::fromSystemProperties);
                assertTrue(e.getMessage().startsWith("-D" + bad[0] + " must be"), e.getMessage());
                assertFalse(e.getMessage().contains("\u001b"), "control characters escaped: " + e.getMessage());
                System.setProperty(bad[0], before);
            }
        } finally {
            saved.forEach((p, v) -> {
                if (v == null) System.clearProperty(p);
                else System.setProperty(p, v);
            });
            Parallelism.forgetForTests();
        }
        assertThrows(IllegalArgumentException.class, () -> Config.defaults().withThreadsPerCall(3));
        assertThrows(IllegalArgumentException.class, () -> Config.defaults().withWeights("fp16"));
        assertEquals("bf16-if-faster", Config.defaults().withWeights("bf16-if-faster").weights());
    }
}
