package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.StateDict;
import java.util.ArrayList;
import java.util.List;

/**
 * A model part being trained, as {@link ModelConfig.Part} describes one: an embedding (or none), a recurrent
 * layer (batch-first) and a linear head (or none), under the config's prefixes.
 */
final class TrainablePart implements AutoCloseable {
    final TrainableEmbedding embedding;
    final TrainableRecurrent rnn;
    final TrainableLinear head;
    final LayerSpec spec;

    /**
     * @param vocab    the embedding's size (ignored without one)
     * @param headOut  the head's outputs (ignored without one)
     * @param headIn   the head's inputs
     * @param seed     the seed of the initial weights (each module a stream of its own, split from it)
     * @param weights  weights to start from, or null for PyTorch's initialisation
     */
    TrainablePart(ModelConfig.Part part, int vocab, int headIn, int headOut, long seed, StateDict weights, Backend backend) {
        this.spec = new LayerSpec(part.mode(), part.inputSize(), part.hiddenSize(), part.numLayers(), part.bidirectional(), true, true, 0);
        List<Trainable> made = new ArrayList<>();
        java.util.SplittableRandom streams = new java.util.SplittableRandom(seed);
        long embeddingSeed = streams.nextLong(), rnnSeed = streams.nextLong(), headSeed = streams.nextLong();
        try {
            embedding = part.embedding() == null ? null : add(made, TrainableEmbedding.create(vocab, part.inputSize(), part.embedding(), embeddingSeed, backend));
            rnn = add(made, TrainableRecurrent.create(spec, part.rnnPrefix(), rnnSeed, backend));
            head = part.head() == null ? null : add(made, TrainableLinear.create(headIn, headOut, true, part.head(), headSeed, backend));
            if (weights != null) for (Trainable t : made) t.load(weights);
        } catch (RuntimeException e) {
            for (Trainable t : made) t.close();
            throw e;
        }
    }

    private static <T extends Trainable> T add(List<Trainable> made, T t) {
        made.add(t);
        return t;
    }

    List<Trainable> modules() {
        List<Trainable> m = new ArrayList<>();
        if (embedding != null) m.add(embedding);
        m.add(rnn);
        if (head != null) m.add(head);
        return m;
    }

    @Override
    public void close() {
        for (Trainable t : modules()) t.close();
    }
}
