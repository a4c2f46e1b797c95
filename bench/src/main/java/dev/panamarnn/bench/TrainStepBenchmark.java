package dev.panamarnn.bench;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.train.Adam;
import dev.panamarnn.train.CrossEntropyLoss;
import dev.panamarnn.train.GradClip;
import dev.panamarnn.train.Optimizer;
import dev.panamarnn.train.TrainableClassifier;
import dev.panamarnn.train.TrainableLanguageModel;
import dev.panamarnn.train.TrainableModel;
import dev.panamarnn.train.TrainableRecurrent;
import dev.panamarnn.train.TrainableSeq2Seq;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One training step (forward, backward, Adam) of {@code dev.panamarnn.train}, beside PyTorch's on the same
 * shapes and threads ({@code scripts/python/bench_train.py}, run by {@code scripts/bench train}).
 *
 * <p>{@code model}: the standard configurations G1 and L2 as layers alone ({@code (T, B, I)}, zero state; the
 * loss is {@code Σ output·R} for a fixed random R, so backward starts from {@code dOutput = R}), and the three demo
 * models at their training batch (classifier 128 sequences of length {@code 20 + 37i mod 41}, charlm 64
 * sentences of {@code 20 + 29i mod 38} tokens, seq2seq 128 sources of {@code 8 + 7i mod 11} characters and
 * targets of 11; token ids {@code 3 + 13i+7t mod (V-3)}; the same formulas in the Python peer) with cross-entropy
 * and {@code clip_grad_norm_(1.0)}. {@code phase}: {@code step} (zero_grad, forward, backward, clip, Adam),
 * {@code forward} (the forward pass keeping what backward needs; layers only), {@code forward+backward}; the
 * differences say where the time goes. {@code threads}: OpenBLAS's threads (the training code itself runs on the caller's).
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TrainStepBenchmark {
    @Param({"G1", "L2", "classifier", "charlm", "seq2seq"})
    public String model;

    @Param({"openblas"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    @Param({"step", "forward", "forward+backward"})
    public String phase;

    private Arena arena;
    private TrainableRecurrent layer;
    private TrainableModel app;
    private Optimizer opt;
    private Tensor input, dOutput;
    private int[] lengths, labels;
    private int[][] seqs, targets;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Backend be = BenchSupport.backend(backend, threads);
        arena = Arena.ofShared();
        switch (model) {
            case "G1", "L2" -> {
                StudyConfig c = StudyConfig.valueOf(model);
                layer = TrainableRecurrent.create(c.spec(), "", 1, be);
                input = Tensor.wrap(BenchSupport.random(arena, (long) c.steps * c.batch * c.inputSize, 2, 1f), 0, c.inputSize, c.steps, c.batch, c.inputSize);
                int out = c.directions() * c.hiddenSize;
                dOutput = Tensor.wrap(BenchSupport.random(arena, (long) c.steps * c.batch * out, 3, 1e-3f), 0, out, c.steps, c.batch, out);
                opt = Adam.of(layer.parameters(), 1e-3);
            }
            case "classifier" -> {
                ModelConfig cfg = ModelConfig.read(demo("classifier"), ModelConfig.Structure.N_VS_1);
                app = TrainableClassifier.create(cfg, 1, be);
                int b = 128, t = 60;
                lengths = new int[b];
                labels = new int[b];
                for (int i = 0; i < b; i++) {
                    lengths[i] = 20 + (37 * i) % 41;
                    labels[i] = i % 4;
                }
                input = Tensor.wrap(BenchSupport.random(arena, (long) b * t, 4, 1f), 0, 1, b, t, 1);
            }
            case "charlm" -> {
                ModelConfig cfg = ModelConfig.read(demo("charlm"), ModelConfig.Structure.LM);
                app = TrainableLanguageModel.create(cfg, 1, be);
                seqs = tokens(64, i -> 20 + (29 * i) % 38, cfg.vocab().size());
            }
            case "seq2seq" -> {
                ModelConfig cfg = ModelConfig.read(demo("seq2seq"), ModelConfig.Structure.SEQ2SEQ);
                app = TrainableSeq2Seq.create(cfg, 1, be);
                seqs = tokens(128, i -> 8 + (7 * i) % 11, cfg.vocab().size());
                targets = tokens(128, i -> 11, cfg.outputVocab().size());
            }
            default -> throw new IllegalArgumentException("model must be G1, L2, classifier, charlm or seq2seq, got " + model);
        }
        if (app != null) {
            if (phase.equals("forward")) throw new IllegalArgumentException("phase forward is measured on the layers (G1, L2) only: the application models' step is one call");
            opt = Adam.of(app.parameters(), 1e-3);
        }
        System.out.println("# train " + model + " on " + be.name() + ", " + threads + " OpenBLAS thread(s), phase " + phase);
    }

    private static Path demo(String name) {
        return Path.of(System.getProperty("panama.rnn.demo.models", "models")).resolve(name);
    }

    private static int[][] tokens(int n, java.util.function.IntUnaryOperator length, int vocab) {
        int[][] s = new int[n][];
        for (int i = 0; i < n; i++) {
            s[i] = new int[length.applyAsInt(i)];
            for (int t = 0; t < s[i].length; t++) s[i][t] = 3 + (13 * i + 7 * t) % (vocab - 3);
        }
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (layer != null) layer.close();
        if (app != null) app.close();
        arena.close();
    }

    @Benchmark
    public float run() {
        boolean backward = !phase.equals("forward"), step = phase.equals("step");
        float loss = 0;
        if (layer != null) {
            if (step) layer.zeroGrad();
            TrainableRecurrent.Result r = layer.forward(input, null, null, null);
            if (backward) layer.backward(dOutput, null, null);
            loss = r.output().get(0, 0);
            if (step) opt.step();
            return loss;
        }
        if (step) app.zeroGrad();
        loss = lossAndGradients(new CrossEntropyLoss(0, true));
        if (step) {
            GradClip.clipGradNorm(app.parameters(), 1.0);
            opt.step();
        }
        return loss;
    }

    private float lossAndGradients(CrossEntropyLoss ce) {
        return switch (app) {
            case TrainableClassifier c -> c.lossAndGradients(input, lengths, labels, new CrossEntropyLoss());
            case TrainableLanguageModel l -> l.lossAndGradients(seqs, ce);
            case TrainableSeq2Seq s -> s.lossAndGradients(seqs, targets, ce);
        };
    }
}
