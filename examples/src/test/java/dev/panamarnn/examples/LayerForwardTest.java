package dev.panamarnn.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.io.SafeTensors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LayerForwardTest {
    private static final Path FILE = Path.of("data/gru_layer.safetensors");

    @Test
    void outputMatchesPyTorchAndTheScalarReference() throws Exception {
        LayerForward.Run r = LayerForward.run(FILE, null);
        assertArrayEquals(new int[] {2, 5, 7}, r.shape(), "batch-first (batch, steps, hidden)");

        float[] pytorch;
        try (SafeTensors st = SafeTensors.open(FILE)) {
            pytorch = st.toFloatArray("expected_output");
        }
        assertClose(pytorch, r.output(), "PyTorch's output on " + r.backend());

        // The library's reference: the plain-Java scalar kernels.
        LayerForward.Run reference = LayerForward.run(FILE, Backend.get("scalar"));
        assertClose(reference.output(), r.output(), r.backend() + " against scalar");
        assertEquals(reference.checksum(), r.checksum(), 1e-4);
    }

    @Test
    void mainPrintsShapeAndChecksum() throws Exception {
        var out = new java.io.ByteArrayOutputStream();
        var old = System.out;
        System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            LayerForward.main(new String[] {FILE.toString()});
        } finally {
            System.setOut(old);
        }
        String printed = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(printed.contains("output:   [2, 5, 7]"), printed);
        assertTrue(printed.matches("(?s).*checksum: -?\\d+\\.\\d{6}.*"), printed);
    }

    /** Both compute in float32 with different summation orders: a few ulps apart. */
    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            float tol = Math.max(1e-5f, 1e-5f * Math.abs(expected[i]));
            assertEquals(expected[i], actual[i], tol, what + " [" + i + "]");
        }
    }
}
