package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamarnn.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The named-options style as a quick start shows it, compiled and run on a PyTorch fixture (an nn.LSTM saved under "encoder.rnn."). */
class QuickStartTest {
    @Test
    void quickStart() throws IOException {
        Path weights = PyTorchFixtureTest.file("layer_lstm_l2_bi_h0_len_i7h13t5b3_prefixed.safetensors");
        int seqLen = 5, batch = 3;
        // --- as in the quick start ---
        try (RecurrentLayer lstm = RecurrentLayer.loader().prefix("encoder.rnn.").load(weights)) {
            float[] x = new float[seqLen * batch * lstm.spec().inputSize()];   // (seq_len, batch, input_size), row-major
            float[] out = lstm.forward(x, seqLen, batch);                      // (seq_len, batch, 2·hidden_size)
            RecurrentLayer.ArrayResult r = lstm.forward(x, seqLen, batch, null, null);
            r = lstm.forward(x, seqLen, batch, r.hN(), r.cN());                // carry the state on
            // ---
            assertEquals(seqLen * batch * 2 * 13, out.length);
            assertEquals(2 * 2 * batch * 13, r.hN().length);

            // The hot loop: tensors you own, one request reused, nothing allocated per call once warm.
            try (Arena arena = Arena.ofConfined(); Workspace ws = new Workspace()) {
                Tensor input = Tensor.of(arena, x, seqLen, batch, 7);
                Tensor output = Tensor.allocate(arena, seqLen, batch, 26);
                Tensor h = Tensor.allocate(arena, 4, batch, 13), c = Tensor.allocate(arena, 4, batch, 13);
                Forward request = new Forward();
                for (int i = 0; i < 3; i++) lstm.forward(input, request.clear().h0(h).c0(c).into(output, h, c).workspace(ws));
                LayerLoaderTest.sameBits("h_n after 3 calls", threeCalls(lstm, x, seqLen, batch), h.toArray(), "quick start");
            }
        }
    }

    private static float[] threeCalls(RecurrentLayer layer, float[] x, int seqLen, int batch) {
        RecurrentLayer.ArrayResult r = layer.forward(x, seqLen, batch, null, null);
        for (int i = 1; i < 3; i++) r = layer.forward(x, seqLen, batch, r.hN(), r.cN());
        return r.hN();
    }
}
