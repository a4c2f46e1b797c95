package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.openblas.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * This machine's measured choices ({@link Tuning}) with two fast backends (OpenBLAS and the Vector API): kept
 * in the file, read back under the same key, ignored under another; and products routed by rows
 * ({@link Kernels#routed}) give, for each bucket, the bits of the backend it routes to.
 */
class TuningTest {

    @Test
    void measuredKeptAndReadBack(@TempDir Path dir) throws Exception {
        assumeTrue(OpenBlas.isAvailable(), "OpenBLAS is not installed");
        String before = System.getProperty(Config.TUNING);
        Path file = dir.resolve("sub/tuning.properties");
        System.setProperty(Config.TUNING, file.toString());
        Config.forgetDefaults();
        try {
            String[] why = new String[1];
            assertNull(Tuning.load(why));
            assertTrue(why[0].contains("not measured on this machine yet"), why[0]);
            Tuning.Measured m = Tuning.measure();
            assertTrue(Files.isRegularFile(file));
            assertEquals(3, m.routes().size());
            Tuning.Measured back = Tuning.load(why);
            assertNotNull(back, why[0]);
            assertEquals(m.routes(), back.routes());
            assertEquals(m.prepared(), back.prepared());
            assertEquals(m.fused(), back.fused());
            assertTrue(back.report().contains("1 row:"), back.report());
            // Measured under another key (another CPU, JVM or library): ignored, with the reason.
            Files.writeString(file, Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1).replaceFirst("(?m)^key=", "key=another machine "), java.nio.charset.StandardCharsets.ISO_8859_1);
            assertNull(Tuning.load(why));
            assertTrue(why[0].contains("another CPU, JVM or library"), why[0]);
        } finally {
            if (before == null) System.clearProperty(Config.TUNING);
            else System.setProperty(Config.TUNING, before);
            Config.forgetDefaults();
        }
    }

    @Test
    void routedProductsTakeTheirBucketsBackend() {
        assumeTrue(OpenBlas.isAvailable(), "OpenBLAS is not installed");
        Kernels blas = KernelAccess.of(Backend.get("openblas")), simd = KernelAccess.of(Backend.get("simd"));
        Kernels routed = Kernels.routed("auto", new Kernels[] {blas, simd, blas}, new boolean[] {false, true, false});
        assertEquals("auto", routed.name());
        assertFalse(routed.prefersPreparedSteps(1));
        assertTrue(routed.prefersPreparedSteps(2) && routed.prefersPreparedSteps(32));
        assertFalse(routed.prefersPreparedSteps(33));
        int n = 96, k = 70;
        Random r = new Random(4);
        try (Arena arena = Arena.ofConfined()) {
            for (int m : new int[] {1, 2, 16, 32, 33, 100}) {
                MemorySegment a = random(arena, (long) m * k, r), w = random(arena, (long) n * k, r);
                float[] got = product(routed, m, n, k, a, w, arena), want = product(m >= 2 && m <= 32 ? simd : blas, m, n, k, a, w, arena);
                float[] other = product(m >= 2 && m <= 32 ? blas : simd, m, n, k, a, w, arena);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "m=" + m + " element " + i);
                }
                assertEquals(want.length, other.length); // the other backend ran too (its bits may or may not differ)
            }
        }
    }

    private static float[] product(Kernels k, int m, int n, int kk, MemorySegment a, MemorySegment w, Arena arena) {
        MemorySegment c = arena.allocate((long) m * n * Float.BYTES, 64);
        k.sgemm(false, true, m, n, kk, 1f, a, 0, kk, w, 0, kk, 0f, c, 0, n);
        return c.toArray(ValueLayout.JAVA_FLOAT);
    }

    private static MemorySegment random(Arena arena, long n, Random r) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, r.nextFloat() - 0.5f);
        return s;
    }
}
