package dev.panamarnn.examples;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Loads a recurrent layer (PyTorch's {@code nn.GRU} here) from a safetensors file and runs one forward pass
 * over the input stored in the same file, then prints the output's shape and a checksum.
 *
 * <p>The file is one of panama-rnn's PyTorch test fixtures: the layer's weights under the prefix
 * {@code encoder.rnn.} (as in a model's state_dict), an {@code input} of shape (batch, steps, input_size),
 * and PyTorch's own {@code expected_output}. Run with:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp target/classes:$(cat target/classpath.txt) dev.panamarnn.examples.LayerForward data/gru_layer.safetensors
 * </pre>
 */
public final class LayerForward {
    private LayerForward() {}

    /** What one run gives: the backend it ran on, the output's shape and its values (row-major). */
    public record Run(String backend, int[] shape, float[] output) {
        /** The sum of the output's values: a quick check that two runs agree. */
        public double checksum() {
            double s = 0;
            for (float v : output) s += v;
            return s;
        }
    }

    /**
     * Loads the layer in {@code file} and runs it on the file's {@code input}.
     *
     * @param file    a safetensors file with the layer's weights under the metadata's {@code prefix} and an {@code input}
     * @param backend the kernels to run on; null for the library's default (OpenBLAS, else the Vector API)
     * @return the backend's name, the output's shape and values
     * @throws IOException if the file cannot be read
     */
    public static Run run(Path file, Backend backend) throws IOException {
        try (SafeTensors st = SafeTensors.open(file); Arena arena = Arena.ofConfined()) {
            String prefix = st.metadata().getOrDefault("prefix", "");
            boolean batchFirst = Boolean.parseBoolean(st.metadata().getOrDefault("batch_first", "false"));
            // The structure (GRU, 1 layer, sizes, bias) is read from the weights' names and shapes. The file's
            // other tensors (input, expected_*) lie outside the prefix, so a strict load does not see them.
            try (RecurrentLayer layer = RecurrentLayer.load(st.asStateDict(), prefix, null, batchFirst, backend)) {
                Tensor input = st.toTensor("input", arena);
                RecurrentLayer.Result r = layer.forward(arena, input);
                return new Run(layer.backend().name(), r.output().shape(), r.output().toArray());
            }
        }
    }

    /**
     * Runs the layer in the file named by the first argument (default {@code data/gru_layer.safetensors}).
     *
     * @param args the file, optionally
     * @throws IOException if the file cannot be read
     */
    public static void main(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "data/gru_layer.safetensors");
        Run r = run(file, null);
        System.out.println("backend:  " + r.backend());
        System.out.println("output:   " + Arrays.toString(r.shape()));
        System.out.printf("checksum: %.6f%n", r.checksum());
    }
}
