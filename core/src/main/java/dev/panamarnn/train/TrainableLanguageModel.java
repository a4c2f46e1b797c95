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
     * @return the loss (the targets it counted: {@link #lastCounted()})
     */
    public float lossAndGradients(int[][] sequences, CrossEntropyLoss loss) {
        int b = sequences.length, t = 0;
        for (int[] s : sequences) {
            if (s.length < 2) throw new IllegalArgumentException("every sequence needs at least 2 tokens");
            t = Math.max(t, s.length - 1);
        }
        int[] ids = new int[b * t], targets = new int[b * t];
        slice(sequences, 0, t, ids, targets);
        return chunk(ids, targets, b, t, null, null, loss);
    }

    /**
     * Truncated backpropagation through time over long sequences: each chunk of {@code chunk} steps runs from the
     * state the previous chunk ended in (carried as a value: no gradient flows into the previous chunk), then
     * its gradients (zeroed first) are clipped to {@code clipNorm} (if &gt; 0) and {@code optimizer} steps. Sequences shorter than
     * the longest are padded with the pad id (ignored by the loss).
     *
     * @param sequences the token sequences, each at least 2 long
     * @param chunk     steps per chunk, ≥ 1
     * @param loss      the loss (its ignore index should be the pad id)
     * @param optimizer the optimiser over {@link #parameters()}
     * @param clipNorm  the gradient norm to clip each chunk's gradients to, or 0 for none
     * @return the mean loss over the counted targets of all chunks
     */
    public float trainTruncated(int[][] sequences, int chunk, CrossEntropyLoss loss, Optimizer optimizer, double clipNorm) {
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        int b = sequences.length, t = 0;
        for (int[] s : sequences) {
            if (s.length < 2) throw new IllegalArgumentException("every sequence needs at least 2 tokens");
            t = Math.max(t, s.length - 1);
        }
        int states = part.spec.numLayers() * (part.spec.bidirectional() ? 2 : 1);
        boolean lstm = part.spec.mode() == dev.panamarnn.nn.Mode.LSTM;
        Tensor h = buffers.zeros("carryH", states * b, part.spec.hiddenSize()).reshape(states, b, part.spec.hiddenSize());
        Tensor c = lstm ? buffers.zeros("carryC", states * b, part.spec.hiddenSize()).reshape(states, b, part.spec.hiddenSize()) : null;
        double total = 0;
        long count = 0;
        int correct = 0;
        for (int from = 0; from < t; from += chunk) {
            int len = Math.min(chunk, t - from);
            int[] ids = new int[b * len], targets = new int[b * len];
            slice(sequences, from, len, ids, targets);
            zeroGrad();
            float value = chunk(ids, targets, b, len, from == 0 ? null : h, from == 0 ? null : c, loss);
            if (lastCounted > 0) {
                total += (double) value * (loss.mean() ? lastCounted : 1);
                count += lastCounted;
                correct += lastCorrect;
            }
            // carry the state: this chunk's h_n (and c_n) are the next chunk's initial state
            h.copyFrom(lastState.hN());
            if (c != null) c.copyFrom(lastState.cN());
            if (clipNorm > 0) GradClip.clipGradNorm(parameters(), clipNorm);
            optimizer.step();
        }
        lastCounted = (int) count;
        lastCorrect = correct;
        return (float) (loss.mean() ? total / Math.max(1, count) : total);
    }

    /** Inputs {@code s[from..from+len)} and targets one further, padded with the pad id, row-major {@code (B, len)}. */
    private void slice(int[][] sequences, int from, int len, int[] ids, int[] targets) {
        int pad = config.pad();
        for (int i = 0; i < sequences.length; i++) {
            int[] s = sequences[i];
            for (int j = 0; j < len; j++) {
                int p = from + j;
                ids[i * len + j] = p < s.length - 1 ? s[p] : pad;
                targets[i * len + j] = p + 1 < s.length ? s[p + 1] : pad;
            }
        }
    }

    private TrainableRecurrent.Result lastState;

    private float chunk(int[] ids, int[] targets, int b, int t, Tensor h0, Tensor c0, CrossEntropyLoss loss) {
        lastCounted = 0;
        for (int target : targets) if (target != loss.ignoreIndex()) lastCounted++;
        Tensor x = part.embedding.forward(ids);
        TrainableRecurrent.Result r = part.rnn.forward(x.reshape(b, t, x.cols()), h0, c0, null);
        lastState = r;
        Tensor y = r.output();
        Tensor logits = part.head.forward(y.reshape(b * t, y.dim(2)));
        Tensor dLogits = buffers.get("dlogits", b * t, logits.cols());
        float value = loss.forwardBackward(logits, targets, dLogits);
        lastCorrect = loss.correct(logits, targets);
        Tensor dy = part.head.backward(dLogits);
        TrainableRecurrent.Grads g = part.rnn.backward(dy.reshape(b, t, dy.cols()), null, null);
        part.embedding.backward(g.dInput().reshape(b * t, x.cols()));
        return value;
    }

}
