package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.nn.StateDict;
import java.util.ArrayList;
import java.util.List;

/**
 * N-vs-M being trained with teacher forcing, as {@link dev.panamarnn.app.Seq2Seq} runs it: the encoder over
 * each source's own length, its final state the decoder's initial state, the decoder fed {@code <bos> y1 … yn}
 * to predict {@code y1 … yn <eos>}, cross-entropy ignoring the padding id; the decoder's gradient of its
 * initial state flows back into the encoder.
 */
public final class TrainableSeq2Seq extends TrainableModel {
    private final TrainablePart encoder, decoder;

    private TrainableSeq2Seq(ModelConfig cfg, long seed, StateDict weights, Backend backend) {
        super(cfg);
        if (cfg.structure() != ModelConfig.Structure.SEQ2SEQ) throw new IllegalArgumentException("a seq2seq model needs structure seq2seq, got " + cfg.structure());
        ModelConfig.Part e = cfg.encoder(), d = cfg.decoder();
        if (e.embedding() == null || d.embedding() == null || d.head() == null) throw new IllegalArgumentException("a seq2seq model needs both embeddings and a decoder head");
        if (e.bidirectional() || d.bidirectional()) throw new IllegalArgumentException("training supports unidirectional encoder and decoder (the decoder starts from the encoder's h_n)");
        int out = vocabSize(cfg.outputVocab());
        java.util.SplittableRandom streams = new java.util.SplittableRandom(seed);
        long encSeed = streams.nextLong(), decSeed = streams.nextLong();
        TrainablePart enc = new TrainablePart(e, vocabSize(cfg.vocab()), 0, 0, encSeed, weights, backend);
        try {
            this.decoder = new TrainablePart(d, out, d.hiddenSize(), out, decSeed, weights, backend);
        } catch (RuntimeException ex) {
            enc.close();
            throw ex;
        }
        this.encoder = enc;
    }

    /**
     * A seq2seq model as {@code cfg} describes, initialised as PyTorch's modules, from {@code seed}.
     *
     * @param cfg     the configuration (structure {@code seq2seq})
     * @param seed    the random seed
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableSeq2Seq create(ModelConfig cfg, long seed, Backend backend) {
        return new TrainableSeq2Seq(cfg, seed, null, backend);
    }

    /**
     * A seq2seq model as {@code cfg} describes, starting from {@code weights} (PyTorch's names).
     *
     * @param cfg     the configuration
     * @param weights the weights
     * @param backend the backend ({@code null}: the default)
     * @return the model, to close
     */
    public static TrainableSeq2Seq of(ModelConfig cfg, StateDict weights, Backend backend) {
        return new TrainableSeq2Seq(cfg, 0, weights, backend);
    }

    @Override
    public List<Trainable> modules() {
        List<Trainable> m = new ArrayList<>(encoder.modules());
        m.addAll(decoder.modules());
        return m;
    }

    /**
     * Forward and backward of one batch with teacher forcing.
     *
     * @param sources the source token sequences (no {@code <bos>}/{@code <eos>}), each at least 1 long
     * @param targets the target token sequences, ending with {@code <eos>} ({@code <bos>} is prepended here)
     * @param loss    the loss (its ignore index should be the pad id)
     * @return the loss
     */
    public float lossAndGradients(int[][] sources, int[][] targets, CrossEntropyLoss loss) {
        int b = sources.length;
        if (targets.length != b) throw new IllegalArgumentException("targets: expected " + b + " sequences (one per source), got " + targets.length);
        int ts = 0, tt = 0;
        for (int i = 0; i < b; i++) {
            if (sources[i].length < 1 || targets[i].length < 1) throw new IllegalArgumentException("sequence " + i + " is empty");
            ts = Math.max(ts, sources[i].length);
            tt = Math.max(tt, targets[i].length);
        }
        int pad = config.pad();
        int[] src = new int[b * ts], lengths = new int[b], decIn = new int[b * tt], decOut = new int[b * tt];
        for (int i = 0; i < b; i++) {
            lengths[i] = sources[i].length;
            for (int j = 0; j < ts; j++) src[i * ts + j] = j < sources[i].length ? sources[i][j] : pad;
            for (int j = 0; j < tt; j++) {
                decIn[i * tt + j] = j == 0 ? config.bos() : j - 1 < targets[i].length - 1 ? targets[i][j - 1] : pad;
                decOut[i * tt + j] = j < targets[i].length ? targets[i][j] : pad;
            }
        }
        Tensor xe = encoder.embedding.forward(src);
        TrainableRecurrent.Result enc = encoder.rnn.forward(xe.reshape(b, ts, xe.cols()), null, null, lengths);
        Tensor xd = decoder.embedding.forward(decIn);
        TrainableRecurrent.Result dec = decoder.rnn.forward(xd.reshape(b, tt, xd.cols()), enc.hN(), null, null);
        Tensor y = dec.output();
        Tensor logits = decoder.head.forward(y.reshape(b * tt, y.dim(2)));
        Tensor dLogits = buffers.get("dlogits", b * tt, logits.cols());
        float value = loss.forwardBackward(logits, decOut, dLogits);
        lastCorrect = loss.correct(logits, decOut);
        lastCounted = 0;
        for (int l : decOut) if (l != loss.ignoreIndex()) lastCounted++;
        Tensor dy = decoder.head.backward(dLogits);
        TrainableRecurrent.Grads gd = decoder.rnn.backward(dy.reshape(b, tt, dy.cols()), null, null);
        decoder.embedding.backward(gd.dInput().reshape(b * tt, xd.cols()));
        TrainableRecurrent.Grads ge = encoder.rnn.backward(null, gd.dH0(), null);
        encoder.embedding.backward(ge.dInput().reshape(b * ts, xe.cols()));
        return value;
    }
}
