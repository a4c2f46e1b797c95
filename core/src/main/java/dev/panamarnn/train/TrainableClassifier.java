package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.StateDict;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * N-vs-1 being trained: the recurrent layer over each sample's own length, the head on the last layer's final
 * state ({@code cat(h_n[-2], h_n[-1])} when bidirectional), cross-entropy on the labels; the same model
 * {@link dev.panamarnn.app.SequenceClassifier} runs. Inputs are feature vectors (models without embedding).
 */
public final class TrainableClassifier extends TrainableModel {
    private final TrainablePart part;
    private final int dirs, hidden, layers;

    private TrainableClassifier(ModelConfig cfg, long seed, StateDict weights, Backend backend) {
        super(cfg);
        if (cfg.structure() != ModelConfig.Structure.N_VS_1) throw new IllegalArgumentException("a classifier needs structure n_vs_1, got " + cfg.structure());
        ModelConfig.Part p = cfg.main();
        if (p.embedding() != null) throw new IllegalArgumentException("training a classifier with an embedding is not supported; its inputs are feature vectors");
        this.dirs = p.bidirectional() ? 2 : 1;
        this.hidden = p.hiddenSize();
        this.layers = p.numLayers();
        this.part = new TrainablePart(p, 0, dirs * hidden, cfg.labels().size(), seed, weights, backend);
    }

    /**
     * A classifier as {@code cfg} describes, initialised as PyTorch initialises its modules, from {@code seed}.
     *
     * @param cfg     the configuration (structure {@code n_vs_1})
     * @param seed    the random seed
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableClassifier create(ModelConfig cfg, long seed, Backend backend) {
        return new TrainableClassifier(cfg, seed, null, backend);
    }

    /**
     * A classifier as {@code cfg} describes, starting from {@code weights} (PyTorch's names).
     *
     * @param cfg     the configuration
     * @param weights the weights
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableClassifier of(ModelConfig cfg, StateDict weights, Backend backend) {
        return new TrainableClassifier(cfg, 0, weights, backend);
    }

    @Override
    public List<Trainable> modules() {
        return part.modules();
    }

    /**
     * Forward and backward of one batch: adds the gradients of the mean cross-entropy to every parameter.
     *
     * @param inputs  batch-first {@code (B, T, I)}, zero-padded after each length
     * @param lengths each sample's length, {@code 1..T}
     * @param labels  each sample's class
     * @param loss    the loss (its reduction and ignored label)
     * @return the loss
     */
    public float lossAndGradients(Tensor inputs, int[] lengths, int[] labels, CrossEntropyLoss loss) {
        int b = inputs.dim(0);
        if (labels.length != b) throw new IllegalArgumentException("labels: expected " + b + " (one per sample), got " + labels.length);
        TrainableRecurrent.Result r = part.rnn.forward(inputs, null, null, lengths);
        // the head's input: the last layer's final state of each direction, side by side
        Tensor feat = buffers.get("feat", b, dirs * hidden);
        MemorySegment hn = r.hN().segment(), fs = feat.segment();
        for (int d = 0; d < dirs; d++) {
            int s = (layers - 1) * dirs + d;
            for (int i = 0; i < b; i++) MemorySegment.copy(hn, ((long) s * b + i) * hidden * 4, fs, ((long) i * dirs * hidden + (long) d * hidden) * 4, (long) hidden * 4);
        }
        Tensor logits = part.head.forward(feat);
        Tensor dLogits = buffers.get("dlogits", b, logits.cols());
        float value = loss.forwardBackward(logits, labels, dLogits);
        lastCorrect = loss.correct(logits, labels);
        lastCounted = 0;
        for (int l : labels) if (l != loss.ignoreIndex()) lastCounted++;
        Tensor dFeat = part.head.backward(dLogits);
        Tensor dHN = buffers.zeros("dhn", layers * dirs * b, hidden);
        for (int d = 0; d < dirs; d++) {
            int s = (layers - 1) * dirs + d;
            for (int i = 0; i < b; i++) MemorySegment.copy(dFeat.segment(), ((long) i * dirs * hidden + (long) d * hidden) * 4, dHN.segment(), ((long) s * b + i) * hidden * 4, (long) hidden * 4);
        }
        part.rnn.backward(null, dHN.reshape(layers * dirs, b, hidden), null);
        return value;
    }
}
