package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamarnn.Backend;
import dev.panamarnn.io.DType;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The committed ONNX fixtures (onnx/src/test/resources/onnx, made by scripts/make-onnx-fixtures) and comparisons;
 * public for bench's ONNX Runtime oracle test (the onnx test-jar).
 */
public final class Fixtures {
    private Fixtures() {}

    /**
     * The tolerance against a reference's float32 outputs: |ours − theirs| ≤ ATOL + RTOL·|theirs|. Float32 rounding
     * over sums of up to a few hundred products and the activations' own rounding stay near 1e-6 at these sizes;
     * 1e-5 leaves a margin of ten and still catches any wrong gate, order or state (those move outputs by 1e-2 and more).
     */
    public static final double ATOL = 1e-5, RTOL = 1e-5;

    static Path root(String folder) {
        try {
            return Path.of(Fixtures.class.getResource("/onnx/" + folder).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The case directories under a fixture folder, sorted. */
    static List<Path> cases(String folder) throws IOException {
        try (Stream<Path> s = Files.list(root(folder))) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    /** Every tensor of a safetensors file as an OnnxTensor, in file order. */
    public static Map<String, OnnxTensor> read(Path file) throws IOException {
        Map<String, OnnxTensor> m = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String name : st.names()) {
                SafeTensors.Info i = st.info(name);
                int[] shape = i.shape();
                m.put(name, switch (i.dtype()) {
                    case F32 -> OnnxTensor.ofFloats(st.toFloatArray(name), shape);
                    case I64 -> OnnxTensor.ofLongs(st.toLongArray(name), shape);
                    case I32 -> OnnxTensor.ofIntegers(OnnxTensor.Type.INT32, st.toLongArray(name), shape);
                    default -> throw new IllegalStateException(file + ": tensor " + name + " of " + i.dtype());
                });
            }
        }
        return m;
    }

    /** The available backends. */
    static List<Backend> backends() {
        List<Backend> r = new ArrayList<>();
        for (Backend.Status s : Backend.list()) if (s.available()) r.add(Backend.get(s.name()));
        return r;
    }

    public static void assertClose(String what, OnnxTensor expected, OnnxTensor actual) {
        assertEquals(expected.type(), actual.type(), what + ": type");
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + expected.shapeString() + " against " + actual.shapeString());
        if (expected.type() != OnnxTensor.Type.FLOAT) {
            assertArrayEquals(expected.longs(), actual.longs(), what);
            return;
        }
        float[] e = expected.floats(), a = actual.floats();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs((double) e[i] - a[i]), allowed = ATOL + RTOL * Math.abs(e[i]);
            if (!(d <= allowed) && (at < 0 || d > worst)) {
                worst = d;
                at = i;
            }
        }
        if (at >= 0) throw new AssertionError(what + ": element " + at + " is " + a[at] + ", expected " + e[at] + " (|diff| " + Math.abs(e[at] - a[at]) + ")");
    }
}
