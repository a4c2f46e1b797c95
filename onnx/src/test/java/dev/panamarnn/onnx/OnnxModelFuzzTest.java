package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panamarnn.Text;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Coverage-guided fuzzing of the ONNX loader: the input is a whole {@code .onnx} file, written to a
 * temporary directory and loaded with {@link OnnxModel#load} (protobuf decoding, the operator set, the
 * graph's order, every node's operator and attributes, the initializers, external data, the nodes computed
 * at load); when it loads, it is run once on small inputs made from its declared input ports.
 *
 * <p>The contract checked, for any byte sequence:
 * <ul>
 *   <li>loading fails with an {@link OnnxException} (exactly that class) of one line that starts with the
 *       file's name and says something past it;</li>
 *   <li>or it loads, and then a run on small inputs of the declared types and shapes (unknown and symbolic
 *       dimensions 1 to 4, one size per symbol; static ones as declared, the run skipped when one is over
 *       {@value #MAX_DIM} or an input over {@value #MAX_ELEMENTS} elements) either returns a tensor for every
 *       declared output or fails with an {@link IllegalArgumentException} (exactly that class: what
 *       {@link OnnxModel#run} promises for inputs a node cannot compute on) of one line.</li>
 * </ul>
 * Anything else (another exception type, an {@link Error} such as {@link OutOfMemoryError} or
 * {@link StackOverflowError}, a hang past libFuzzer's per-input timeout) is a finding.
 *
 * <p>The directory also holds {@code weights.bin} (4 KiB of small floats), so that a model whose
 * initializers point there as external data loads; the seed {@code seed-lstm-external} does.
 *
 * <p>Seeds: {@code src/test/resources/dev/panamarnn/onnx/OnnxModelFuzzTestInputs/load/}, copies of fixtures in
 * {@code src/test/resources/onnx/} (each recurrent operator; bidirectional, layout 1, sequence_lens,
 * peepholes, activations with alpha and beta; ONNX node tests whose weights are graph inputs; PyTorch exports
 * with their plumbing and head); and models written with the generated protobuf builders:
 * {@code seed-lstm-external} (attrs/lstm_default with W and R in weights.bin), {@code seed-plumbing} (every
 * operator of {@link Ops#SUPPORTED} once, initializers in raw_data, float_data, int32_data and int64_data) and
 * {@code seed-regression-*}, graphs of {@link OnnxHostileFilesTest} that crashed or hung the loader before
 * its fixes (Slice's step 2^63-1, ConstantOfShape of 2^31-1, MatMul and LSTM over empty tensors of large
 * dimensions, Concat and Softmax of those). Every {@code mvn test} runs them and then fuzzes for 10 s;
 * {@code scripts/fuzz OnnxModelFuzzTest} fuzzes for longer.
 */
class OnnxModelFuzzTest {
    private static final Path DIR, FILE;
    /**
     * The largest static dimension and input a run is made with. The seeds' own (T 5, H 6, 4·H 28 when W is
     * a graph input) fit, so that they run; the symbolic and unknown dimensions are 1 to 4.
     */
    private static final int MAX_DIM = 64, MAX_ELEMENTS = 4096;

    static {
        try {
            DIR = Files.createTempDirectory("onnx-fuzz");
            FILE = DIR.resolve("fuzz.onnx");
            ByteBuffer w = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; w.hasRemaining(); i++) w.putFloat((float) Math.sin(i) * 0.5f);
            Files.write(DIR.resolve("weights.bin"), w.array());
            DIR.toFile().deleteOnExit();
            DIR.resolve("weights.bin").toFile().deleteOnExit();
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void load(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        OnnxModel m;
        try {
            m = OnnxModel.load(FILE);
        } catch (OnnxException e) {
            assertEquals(OnnxException.class, e.getClass());
            String prefix = Text.quote(FILE.toString());
            assertTrue(e.getMessage() != null && e.getMessage().startsWith(prefix) && e.getMessage().length() > prefix.length() + 8,
                    () -> "unclear message: " + e.getMessage());
            assertOneLine(e.getMessage());
            return;
        }
        try (m) {
            assertOneLine(m.toString());
            assertNotNull(m.explain());
            Map<String, OnnxTensor> feeds = feeds(m.inputs());
            if (feeds == null) return;
            Map<String, OnnxTensor> out;
            try {
                out = m.run(feeds);
            } catch (IllegalArgumentException e) {
                assertEquals(IllegalArgumentException.class, e.getClass(), () -> "run threw " + e);
                assertOneLine(e.getMessage());
                return;
            }
            for (OnnxModel.Port p : m.outputs()) assertNotNull(out.get(p.name()), () -> "no tensor for output " + p);
        }
    }

    private static void assertOneLine(String msg) {
        assertTrue(msg != null && !msg.isBlank() && msg.lines().count() == 1 && msg.indexOf('\u2028') < 0 && msg.indexOf('\u2029') < 0,
                () -> "not one line: " + msg);
    }

    /** An input for every port, or null when a declared size is over {@link #MAX_DIM} or an input over {@link #MAX_ELEMENTS} elements. */
    private static Map<String, OnnxTensor> feeds(List<OnnxModel.Port> ports) {
        Map<String, Integer> symbols = new HashMap<>();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (OnnxModel.Port p : ports) {
            List<String> dims = p.dims() == null ? List.of("?", "?", "?") : p.dims();
            if (dims.size() > 6) return null;
            int[] shape = new int[dims.size()];
            int n = 1;
            for (int d = 0; d < shape.length; d++) {
                String s = dims.get(d);
                if (s.isEmpty() || s.equals("?")) shape[d] = 2;
                else if (s.chars().allMatch(Character::isDigit) && s.length() <= 2) shape[d] = Integer.parseInt(s);
                else if (Character.isDigit(s.charAt(0))) return null; // a static size of 3 digits or more
                else shape[d] = symbols.computeIfAbsent(s, k -> 1 + symbols.size() % 4);
                if (shape[d] > MAX_DIM) return null;
                n *= shape[d];
                if (n > MAX_ELEMENTS) return null;
            }
            feeds.put(p.name(), switch (p.type()) {
                case FLOAT -> {
                    float[] f = new float[n];
                    for (int i = 0; i < n; i++) f[i] = (float) Math.cos(i) * 0.5f;
                    yield OnnxTensor.ofFloats(f, shape);
                }
                // 1: a valid sequence length, token id, index or size whatever the dimensions
                default -> {
                    long[] l = new long[n];
                    Arrays.fill(l, 1);
                    yield OnnxTensor.ofIntegers(p.type(), l, shape);
                }
            });
        }
        return feeds;
    }
}
