package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.StateDict;
import java.util.List;

/**
 * N-vs-N being trained, as PyTorch trains a language model: embedding, recurrent layer from a zero state, head
 * at every step; the logits at step t predict token t+1; cross-entropy ignoring the padding id. The same model
 * {@link dev.panamarnn.app.LanguageModel} runs.
 */
public final class TrainableLanguageModel extends TrainableModel {
    private final TrainablePart part;

    private TrainableLanguageModel(ModelConfig cfg, long seed, StateDict weights, Backend backend) {
        super(cfg);
        if (cfg.structure() != ModelConfig.Structure.LM) throw new IllegalArgumentException("a language model needs structure lm, got " + cfg.structure());
        ModelConfig.Part p = cfg.main();
        if (p.embedding() == null || p.head() == null) throw new IllegalArgumentException("a language model needs an embedding and a head");
        int v = vocabSize(cfg.vocab());
        this.part = new TrainablePart(p, v, (p.bidirectional() ? 2 : 1) * p.hiddenSize(), v, seed, weights, backend);
    }

    /**
     * A language model as {@code cfg} describes, initialised as PyTorch's modules, from {@code seed}.
     *
     * @param cfg     the configuration (structure {@code lm})
     * @param seed    the random seed
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableLanguageModel create(ModelConfig cfg, long seed, Backend backend) {
        return new TrainableLanguageModel(cfg, seed, null, backend);
    }

    /**
     * A language model as {@code cfg} describes, starting from {@code weights} (PyTorch's names).
     *
     * @param cfg     the configuration
     * @param weights the weights
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableLanguageModel of(ModelConfig cfg, StateDict weights, Backend backend) {
        return new TrainableLanguageModel(cfg, 0, weights, backend);
    }

    @Override
    public List<Trainable> modules() {
        return part.modules();
    }

    /**
     * Forward and backward of one batch of whole sequences (each {@code <bos> … <eos>}): inputs are every token
     * but the last, targets every token but the first, padded with the config's {@code pad} (ignored by the loss).
     *
     * @param sequences the token sequences, each at least 2 long
     * @param loss      the loss (its ignore index should be the pad id)
     * @return the loss (the number of targets it counted is {@link #lastTargets()})
     */
    public float lossAndGradients(int[][] sequences, CrossEntropyLoss loss) {
        int b = sequences.length, t = 0;
        for (int[] s : sequences) {
            if (s.length < 2) throw new IllegalArgumentException("every sequence needs at least 2 tokens");
            t = Math.max(t, s.length - 1);
        }
        int pad = config.pad();
        int[] ids = new int[b * t], targets = new int[b * t];
        counted = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = j < sequences[i].length - 1 ? sequences[i][j] : pad;
                targets[i * t + j] = j + 1 < sequences[i].length ? sequences[i][j + 1] : pad;
                if (targets[i * t + j] != loss.ignoreIndex()) counted++;
            }
        }
        Tensor x = part.embedding.forward(ids);
        TrainableRecurrent.Result r = part.rnn.forward(x.reshape(b, t, x.cols()), null, null, null);
        Tensor y = r.output();
        Tensor logits = part.head.forward(y.reshape(b * t, y.dim(2)));
        Tensor dLogits = buffers.get("dlogits", b * t, logits.cols());
        float value = loss.forwardBackward(logits, targets, dLogits);
        Tensor dy = part.head.backward(dLogits);
        TrainableRecurrent.Grads g = part.rnn.backward(dy.reshape(b, t, dy.cols()), null, null);
        part.embedding.backward(g.dInput().reshape(b * t, x.cols()));
        return value;
    }

    private int counted;

    /**
     * How many targets the last {@link #lossAndGradients} counted (not padding).
     *
     * @return how many targets the last {@link #lossAndGradients} counted (not padding)
     */
    public int lastTargets() {
        return counted;
    }
}
