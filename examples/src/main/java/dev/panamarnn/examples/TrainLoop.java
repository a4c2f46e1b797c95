package dev.panamarnn.examples;

import dev.panamarnn.Tensor;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.train.Adam;
import dev.panamarnn.train.Checkpoint;
import dev.panamarnn.train.CrossEntropyLoss;
import dev.panamarnn.train.GradClip;
import dev.panamarnn.train.Optimizer;
import dev.panamarnn.train.Param;
import dev.panamarnn.train.TrainableLinear;
import dev.panamarnn.train.TrainableRecurrent;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A training loop written with {@code dev.panamarnn.train}: a GRU reads a sequence of numbers (lengths 5..20)
 * and a linear head on its last state says whether their sum is positive (N-vs-1). Trained with Adam and
 * gradient clipping, saved as safetensors under PyTorch's names, then loaded as an inference layer.
 * Run with (from {@code examples/}, after {@code mvn verify}):
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp target/classes:$(cat target/classpath.txt) dev.panamarnn.examples.TrainLoop model.safetensors
 * </pre>
 */
public final class TrainLoop {
    private TrainLoop() {}

    /** A batch: inputs (B, T, 1) batch-first, zero after each length; lengths; labels (1 = positive sum). */
    record Batch(Tensor x, int[] lengths, int[] labels) {}

    static Batch batch(Arena arena, SplittableRandom rng, int b) {
        int t = 20;
        float[] x = new float[b * t];
        int[] lengths = new int[b], labels = new int[b];
        for (int i = 0; i < b; i++) {
            lengths[i] = 5 + rng.nextInt(16);
            double sum = 0;
            for (int s = 0; s < lengths[i]; s++) sum += x[i * t + s] = (float) rng.nextGaussian();
            labels[i] = sum > 0 ? 1 : 0;
        }
        return new Batch(Tensor.of(arena, x, b, t, 1), lengths, labels);
    }

    /**
     * Trains for {@code steps} steps, writes the weights to {@code out}, and returns the accuracy on 1000 new
     * sequences.
     *
     * @param steps the training steps (batches of 64)
     * @param out   the safetensors file to write
     * @return the held-out accuracy
     * @throws IOException if the file cannot be written
     */
    public static double train(int steps, Path out) throws IOException {
        SplittableRandom rng = new SplittableRandom(42);
        LayerSpec spec = new LayerSpec(Mode.GRU, 1, 32, 1, false, true, true, 0);           // batch-first GRU 1→32
        try (Arena arena = Arena.ofConfined();
             TrainableRecurrent rnn = TrainableRecurrent.create(spec, "rnn.", 1, null);
             TrainableLinear fc = TrainableLinear.create(32, 2, true, "fc.", 2, null)) {
            List<Param> params = new ArrayList<>(rnn.parameters());
            params.addAll(fc.parameters());
            Optimizer adam = Adam.of(params, 1e-2);
            CrossEntropyLoss loss = new CrossEntropyLoss();
            Tensor dLogits = Tensor.allocate(arena, 64, 2);
            for (int step = 0; step < steps; step++) {
                Batch b = batch(arena, rng, 64);
                rnn.zeroGrad();
                fc.zeroGrad();
                Tensor h = rnn.forward(b.x(), null, null, b.lengths()).hN();                  // (1, 64, 32): last valid states
                loss.forwardBackward(fc.forward(h.reshape(64, 32)), b.labels(), dLogits);
                rnn.backward(null, fc.backward(dLogits).reshape(1, 64, 32), null);            // BPTT from h_n
                GradClip.clipGradNorm(params, 1.0);
                adam.step();
            }
            Checkpoint.save(out, Map.of("format", "pt"), List.of(rnn, fc));
            // inference: the immutable, thread-safe layer from the same weights
            try (RecurrentLayer layer = RecurrentLayer.create(spec, rnn.stateDict(), "rnn.", null)) {
                Batch test = batch(arena, rng, 1000);
                float[] hN = layer.forward(arena, test.x(), null, null, test.lengths()).hN().toArray();
                float[] w = fc.parameters().get(0).value().toArray(), bias = fc.parameters().get(1).value().toArray();
                int ok = 0;
                for (int i = 0; i < 1000; i++) {
                    double[] z = {bias[0], bias[1]};
                    for (int k = 0; k < 2; k++) for (int j = 0; j < 32; j++) z[k] += w[k * 32 + j] * hN[i * 32 + j];
                    if ((z[1] > z[0] ? 1 : 0) == test.labels()[i]) ok++;
                }
                return ok / 1000.0;
            }
        }
    }

    /**
     * Trains 300 steps and prints the held-out accuracy.
     *
     * @param args the output file (default {@code model.safetensors})
     * @throws IOException if the file cannot be written
     */
    public static void main(String[] args) throws IOException {
        double acc = train(300, Path.of(args.length > 0 ? args[0] : "model.safetensors"));
        System.out.printf("held-out accuracy: %.3f%n", acc);
    }
}
