package dev.panamarnn.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.io.SafeTensors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainLoopTest {
    @TempDir
    Path dir;

    @Test
    void learnsTheSignOfASumAndSavesPyTorchNames() throws Exception {
        Path out = dir.resolve("model.safetensors");
        double acc = TrainLoop.train(300, out);
        assertTrue(acc >= 0.9, "held-out accuracy " + acc);
        try (SafeTensors st = SafeTensors.open(out)) {
            assertTrue(st.names().containsAll(java.util.List.of("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias")),
                    st.names().toString());
        }
    }
}
