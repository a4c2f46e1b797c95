package dev.panamarnn.cli;

import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The files {@code forward} takes, made from a PyTorch layer fixture: weights and input, in {@code dir}. */
record LayerFiles(Path weights, Path input) {
    /** An Elman RNN (tanh, batch-first, with h0): run with {@code --mode rnn_tanh --batch-first}. */
    static LayerFiles rnnTanh(Path dir) throws Exception {
        Path[] f = split(dir, "layer_rnn_tanh_l1_bf_h0_i3h17t5b3.safetensors");
        Files.delete(f[0]);
        return new LayerFiles(f[1], f[2]);
    }

    /**
     * The fixture copied into {@code dir} and split into weights ({@code w.safetensors}) and inputs
     * ({@code in.safetensors}: input, h0, c0, lengths); the expected outputs are left out.
     *
     * @return the fixture's copy, the weights file and the input file
     */
    static Path[] split(Path dir, String fixture) throws Exception {
        Path src = dir.resolve("fixture-" + fixture);
        try (InputStream in = LayerFiles.class.getResourceAsStream("/fixtures/layers/" + fixture)) {
            Files.copy(in, src);
        }
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("in.safetensors");
        try (SafeTensors st = SafeTensors.open(src)) {
            SafeTensorsWriter ww = new SafeTensorsWriter(), xw = new SafeTensorsWriter();
            for (String n : st.names()) {
                if (n.startsWith("expected_")) continue;
                SafeTensorsWriter target = List.of("input", "h0", "c0", "lengths").contains(n) ? xw : ww;
                int[] shape = st.info(n).shape();
                if (n.equals("lengths")) target.add(n, st.toLongArray(n), shape);
                else target.add(n, st.toFloatArray(n), shape);
            }
            ww.write(w);
            xw.write(x);
        }
        return new Path[] {src, w, x};
    }

    /** The arguments of {@code forward} on these files, writing {@code output}. */
    String[] forward(Path output) {
        return new String[] {"forward", "--weights", weights.toString(), "--input", input.toString(), "--output", output.toString(),
                "--mode", "rnn_tanh", "--batch-first"};
    }
}
