package dev.panamarnn.train;

import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.StateDict;
import java.util.ArrayList;
import java.util.List;

/**
 * An application model being trained ({@link TrainableClassifier}, {@link TrainableLanguageModel},
 * {@link TrainableSeq2Seq}): its modules under the {@code model.json}'s prefixes, their parameters in
 * PyTorch's order, and a {@code lossAndGradients} step of its own shape. Not thread-safe: one trainer
 * at a time.
 */
public abstract sealed class TrainableModel implements AutoCloseable permits TrainableClassifier, TrainableLanguageModel, TrainableSeq2Seq {
    final ModelConfig config;
    final Buffers buffers = new Buffers();
    private boolean closed;

    TrainableModel(ModelConfig config) {
        this.config = config;
    }

    /**
     * The configuration the model follows (what {@code model.json} says).
     *
     * @return the configuration the model follows (what {@code model.json} says)
     */
    public ModelConfig config() {
        return config;
    }

    /**
     * The modules, in {@code state_dict} order.
     *
     * @return the modules, in {@code state_dict} order
     */
    public abstract List<Trainable> modules();

    /**
     * Every parameter, in {@code state_dict} order.
     *
     * @return every parameter, in {@code state_dict} order
     */
    public List<Param> parameters() {
        List<Param> all = new ArrayList<>();
        for (Trainable t : modules()) all.addAll(t.parameters());
        return all;
    }

    /** Sets every gradient to zero. */
    public void zeroGrad() {
        for (Trainable t : modules()) t.zeroGrad();
    }

    /**
     * A copy of every parameter under PyTorch's names: what the application loaders
     * ({@link dev.panamarnn.app.SequenceClassifier#load(ModelConfig, StateDict, dev.panamarnn.Backend)} and the
     * others) take.
     *
     * @return the copy
     */
    public StateDict stateDict() {
        return Trainable.copyOf(parameters());
    }

    /**
     * Copies every parameter from {@code weights} (PyTorch's names and shapes): all are checked before any is
     * copied, so a refused state dict changes nothing.
     *
     * @param weights the weights
     * @throws IllegalArgumentException naming the tensor if one is missing or has another shape
     */
    public void load(StateDict weights) {
        for (Trainable t : modules()) t.check(weights);
        for (Trainable t : modules()) t.load(weights);
    }

    /** What the last training call counted: targets not ignored, and those the logits' argmax got right. */
    int lastCounted, lastCorrect;

    /**
     * The targets the last {@code lossAndGradients} (or truncated pass) counted: labels, or tokens that are not
     * padding.
     *
     * @return the count
     */
    public int lastCounted() {
        return lastCounted;
    }

    /**
     * How many of {@link #lastCounted()} the logits' argmax predicted, before the weights changed: the training
     * batch's accuracy is {@code lastCorrect() / lastCounted()}.
     *
     * @return the count
     */
    public int lastCorrect() {
        return lastCorrect;
    }

    static int vocabSize(List<String> vocab) {
        return vocab == null ? 0 : vocab.size();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Trainable t : modules()) t.close();
        buffers.close();
    }
}
