package dev.panamarnn.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.panamarnn.Backend;
import dev.panamarnn.Platform;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.cli.tasks.CharLmData;
import dev.panamarnn.cli.tasks.ClassifierData;
import dev.panamarnn.cli.tasks.DateData;
import dev.panamarnn.cli.tasks.HeldOut;
import dev.panamarnn.nn.StateDict;
import dev.panamarnn.openblas.OpenBlas;
import dev.panamarnn.train.Adam;
import dev.panamarnn.train.Batches;
import dev.panamarnn.train.EarlyStopping;
import dev.panamarnn.train.Checkpoint;
import dev.panamarnn.train.CrossEntropyLoss;
import dev.panamarnn.train.GradClip;
import dev.panamarnn.train.LrSchedule;
import dev.panamarnn.train.Optimizer;
import dev.panamarnn.train.TrainableClassifier;
import dev.panamarnn.train.TrainableLanguageModel;
import dev.panamarnn.train.TrainableModel;
import dev.panamarnn.train.TrainableSeq2Seq;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panama-rnn train}: trains one of the three demo tasks from scratch in Java, on data generated here (the
 * distributions of {@code scripts/train-models}), with the architecture of the demo model's {@code model.json},
 * and writes a model directory the other commands load. Held out: the demo's own test sets (never trained on);
 * early stopping on a validation set of its own.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a demo task from scratch in Java (backpropagation through time) and write a model directory: "
                + "weights.safetensors (PyTorch's names), model.json, loss.png. The last line is the held-out metric.")
final class TrainCommand implements Callable<Integer> {
    enum Task { classifier, charlm, seq2seq }

    @Spec
    CommandSpec spec;

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "classifier | charlm | seq2seq")
    Task task;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The model directory to write (created; files in it replaced).")
    Path out;

    @Option(names = "--epochs", paramLabel = "N", description = "Most epochs (default: classifier 20, charlm 15, seq2seq 40; seq2seq stops early at validation exact match ≥ 0.995).")
    Integer epochs;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Seed of data, initial weights and shuffling (default ${DEFAULT-VALUE}); the same seed gives the same bits on the same backend.")
    long seed;

    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", description = "Threads of the training products: OpenBLAS' threads (1 default; other backends run one thread).")
    Integer threads;

    @Option(names = "--models", paramLabel = "DIR", description = "The demo models whose model.json and test sets are used (default: models/ of this checkout).")
    Path models;

    @Option(names = "--bptt", paramLabel = "K", description = "charlm: truncated backpropagation through time, K steps per chunk (the state carried between chunks, an optimiser step after each); default: whole sentences.")
    Integer bptt;

    @Option(names = "--patience", defaultValue = "10", paramLabel = "N", description = "Stop after N epochs without a better validation metric (default ${DEFAULT-VALUE}); the best epoch's weights are kept.")
    int patience;

    @Option(names = "--batches-per-epoch", hidden = true, paramLabel = "N", description = "At most N batches per epoch (a quick run, for tests).")
    Integer batchesPerEpoch;

    @Option(names = "--no-progress", description = "No progress bar (it shows only on a terminal anyway).")
    boolean noProgress;

    private PrintWriter log;
    private double lastEpochAccuracy; // the running epoch's training accuracy (teacher forced, before each step)
    private final List<double[]> losses = new ArrayList<>();   // (step, loss)
    private final List<double[]> validation = new ArrayList<>(); // (step, metric)

    @Override
    public Integer call() throws Exception {
        log = spec.commandLine().getOut();
        Backend be = resolveBackend();
        Path src = (models != null ? models : DemoCommand.defaultModels()).resolve(task.name());
        ModelConfig cfg = ModelConfig.read(src, switch (task) {
            case classifier -> ModelConfig.Structure.N_VS_1;
            case charlm -> ModelConfig.Structure.LM;
            case seq2seq -> ModelConfig.Structure.SEQ2SEQ;
        });
        log.println("panama-rnn train --task " + task + ": " + cfg.name() + " (" + cfg.structure().name().toLowerCase(Locale.ROOT) + ") from scratch, seed " + seed
                + ", backend " + be.name() + (OpenBlas.isAvailable() && be.name().equals("openblas") ? " (OpenBLAS " + OpenBlas.coreName() + ", " + OpenBlas.threads() + " thread(s))" : ""));
        log.println("  " + Platform.summary());
        long t0 = System.nanoTime();
        Result r = switch (task) {
            case classifier -> classifier(cfg, src, be);
            case charlm -> charlm(cfg, src, be);
            case seq2seq -> seq2seq(cfg, src, be);
        };
        double seconds = (System.nanoTime() - t0) / 1e9;
        Files.createDirectories(out);
        Checkpoint.save(out.resolve("weights.safetensors"), Map.of("format", "pt", "model", cfg.name(), "trained_by", "panama-rnn"), r.model.modules());
        writeConfig(src.resolve("model.json"), out.resolve("model.json"), r, seconds, be);
        Files.copy(src.resolve("cases.safetensors"), out.resolve("cases.safetensors"), StandardCopyOption.REPLACE_EXISTING);
        if (Files.exists(src.resolve("cases.json"))) Files.copy(src.resolve("cases.json"), out.resolve("cases.json"), StandardCopyOption.REPLACE_EXISTING);
        chart(out.resolve("loss.png"), r.metricName);
        r.model.close();
        log.printf(Locale.ROOT, "  trained in %.1f s (%d steps); wrote %s (weights.safetensors, model.json, loss.png, the test cases)%n", seconds, losses.size(), out);
        log.printf(Locale.ROOT, "  held-out %s on %d test %s (the demo's test set; PyTorch's model: %s)%n", r.metricName, r.testCount, r.testUnit, r.pytorch);
        log.printf(Locale.ROOT, "accuracy: %.4f%n", r.metric);
        log.flush();
        return 0;
    }

    private Backend resolveBackend() {
        if (epochs != null && epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
        if (patience < 1) throw new IllegalArgumentException("--patience must be >= 1, got " + patience);
        if (batchesPerEpoch != null && batchesPerEpoch < 1) throw new IllegalArgumentException("--batches-per-epoch must be >= 1, got " + batchesPerEpoch);
        if (bptt != null && (bptt < 1 || task != Task.charlm)) throw new IllegalArgumentException("--bptt takes K >= 1 and applies to --task charlm, got " + bptt + " for " + task);
        Backend be = backend == null ? Backend.defaultBackend() : Backend.get(backend);
        if (threads != null) {
            int max = BackendOptions.maxThreads();
            if (threads < 1 || threads > max) throw new IllegalArgumentException("--threads must be in 1.." + max + ", got " + threads);
            if (threads > 1 && !be.name().equals("openblas")) {
                throw new IllegalArgumentException("--threads " + threads + ": training runs its products on OpenBLAS' threads, and backend " + be.name() + " has one");
            }
            if (be.name().equals("openblas")) OpenBlas.setThreads(threads);
        }
        return be;
    }

    /** What a task's training gives: the model (to save), the held-out metric. */
    private record Result(TrainableModel model, String metricName, double metric, int testCount, String testUnit, String pytorch) {}

    // ---- classifier: bidirectional GRU over 1-D sequences, Adam 5e-3, batch 128, clip 1, as scripts/train-models

    private Result classifier(ModelConfig cfg, Path src, Backend be) throws IOException {
        int maxEpochs = epochs != null ? epochs : 20, bs = 128;
        ClassifierData.Samples train = ClassifierData.generate(seed, 4000), val = ClassifierData.generate(seed + 1_000_003, 2000);
        ClassifierData.Samples test = HeldOut.classifier(src);
        float[][][] valSteps = steps(val); // converted once, validated every epoch
        TrainableClassifier m = TrainableClassifier.create(cfg, seed, be);
        Optimizer opt = Adam.of(m.parameters(), 5e-3);
        CrossEntropyLoss ce = new CrossEntropyLoss();
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int tMax = ClassifierData.MAX_LENGTH;
        EarlyStopping stop = new EarlyStopping(patience, 0, Double.POSITIVE_INFINITY);
        try (Arena arena = Arena.ofConfined()) {
            Tensor batch = Tensor.allocate(arena, bs * tMax);
            for (int epoch = 0; epoch < maxEpochs; epoch++) {
                int[][] batches = limit(Batches.shuffled(rng, train.labels().length, bs));
                try (ProgressBar pb = bar("epoch " + (epoch + 1) + "/" + maxEpochs, batches.length)) {
                    Meter meter = new Meter();
                    for (int[] idx : batches) {
                        int b = idx.length, t = 0;
                        for (int i : idx) t = Math.max(t, train.x()[i].length);
                        float[] x = new float[b * t];
                        int[] lengths = new int[b], labels = new int[b];
                        for (int i = 0; i < b; i++) {
                            float[] seq = train.x()[idx[i]];
                            System.arraycopy(seq, 0, x, i * t, seq.length);
                            lengths[i] = seq.length;
                            labels[i] = train.labels()[idx[i]];
                        }
                        Tensor in = Tensor.wrap(batch.segment(), 0, 1, b, t, 1);
                        in.copyFrom(x);
                        m.zeroGrad();
                        float loss = m.lossAndGradients(in, lengths, labels, ce);
                        GradClip.clipGradNorm(m.parameters(), 1.0);
                        opt.step();
                        step(pb, meter, loss, b, m);
                    }
                }
                double v = classifierAccuracy(cfg, m.stateDict(), valSteps, val.labels(), be);
                validation.add(new double[] {losses.size(), v});
                log.printf(Locale.ROOT, "  epoch %d: train loss %.4f, train accuracy %.4f, validation accuracy %.4f%n", epoch + 1, epochLoss(batches.length),
                        lastEpochAccuracy, v);
                if (stop.update(v, m::stateDict)) break;
            }
        }
        m.load(stop.bestWeights());
        double acc = classifierAccuracy(cfg, stop.bestWeights(), steps(test), test.labels(), be);
        return new Result(m, "accuracy", acc, test.labels().length, "sequences", cfg.pytorch().getOrDefault("test_accuracy", "?"));
    }

    /** The samples as the classifier's input, one float per step: {@code [sequence][step][1]}. */
    private static float[][][] steps(ClassifierData.Samples data) {
        float[][][] seqs = new float[data.x().length][][];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = new float[data.x()[i].length][1];
            for (int t = 0; t < data.x()[i].length; t++) seqs[i][t][0] = data.x()[i][t];
        }
        return seqs;
    }

    private static double classifierAccuracy(ModelConfig cfg, StateDict weights, float[][][] seqs, int[] labels, Backend be) {
        try (SequenceClassifier c = SequenceClassifier.load(cfg, weights, be)) {
            int ok = 0;
            for (int s = 0; s < seqs.length; s += 250) {
                int[] pred = SequenceClassifier.argmax(c.logits(Arrays.copyOfRange(seqs, s, Math.min(s + 250, seqs.length))));
                for (int i = 0; i < pred.length; i++) if (pred[i] == labels[s + i]) ok++;
            }
            return ok / (double) seqs.length;
        }
    }

    // ---- charlm: Embedding → 2-layer LSTM → Linear, Adam 4e-3 with a cosine schedule, batch 64, clip 1

    private Result charlm(ModelConfig cfg, Path src, Backend be) throws IOException {
        int maxEpochs = epochs != null ? epochs : 15, bs = 64;
        List<int[]> train = new ArrayList<>();
        for (String s : CharLmData.sentences(seed, 50_000)) train.add(CharLmData.encode(s, cfg.vocab()));
        List<int[]> valList = new ArrayList<>();
        for (String s : CharLmData.sentences(seed + 1_000_003, 9_000)) valList.add(CharLmData.encode(s, cfg.vocab()));
        int[][] val = valList.toArray(int[][]::new), test = HeldOut.charlm(src).tokens();
        TrainableLanguageModel m = TrainableLanguageModel.create(cfg, seed, be);
        Optimizer opt = Adam.of(m.parameters(), 4e-3);
        int perEpoch = (train.size() + bs - 1) / bs;
        LrSchedule lr = LrSchedule.cosine(4e-3, (long) maxEpochs * perEpoch, 0);
        CrossEntropyLoss ce = new CrossEntropyLoss(cfg.pad(), true);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        EarlyStopping stop = new EarlyStopping(patience, 0, Double.POSITIVE_INFINITY);
        long step = 0;
        for (int epoch = 0; epoch < maxEpochs; epoch++) {
            int[][] batches = limit(Batches.shuffled(rng, train.size(), bs));
            try (ProgressBar pb = bar("epoch " + (epoch + 1) + "/" + maxEpochs, batches.length)) {
                Meter meter = new Meter();
                for (int[] idx : batches) {
                    int b = idx.length;
                    int[][] batch = new int[b][];
                    for (int i = 0; i < b; i++) batch[i] = train.get(idx[i]);
                    opt.learningRate(lr.rate(step++));
                    float loss;
                    if (bptt != null) {
                        loss = m.trainTruncated(batch, bptt, ce, opt, 1.0);
                    } else {
                        m.zeroGrad();
                        loss = m.lossAndGradients(batch, ce);
                        GradClip.clipGradNorm(m.parameters(), 1.0);
                        opt.step();
                    }
                    step(pb, meter, loss, b, m);
                }
            }
            double v = lmAccuracy(cfg, m.stateDict(), val, be);
            validation.add(new double[] {losses.size(), v});
            log.printf(Locale.ROOT, "  epoch %d: train loss %.4f, train accuracy %.4f, validation next-character accuracy %.4f%n", epoch + 1,
                    epochLoss(batches.length), lastEpochAccuracy, v);
            if (stop.update(v, m::stateDict)) break;
        }
        m.load(stop.bestWeights());
        double acc = lmAccuracy(cfg, stop.bestWeights(), test, be);
        int predictions = 0;
        for (int[] s : test) predictions += s.length - 1;
        return new Result(m, "next-character accuracy", acc, predictions, "predictions in " + test.length + " sentences",
                cfg.pytorch().getOrDefault("test_accuracy", "?"));
    }

    private static double lmAccuracy(ModelConfig cfg, StateDict weights, int[][] sentences, Backend be) {
        try (LanguageModel l = LanguageModel.load(cfg, weights, be)) {
            long[] r = l.nextTokenAccuracy(sentences, 64);
            return r[0] / (double) r[1];
        }
    }

    // ---- seq2seq: GRU encoder-decoder, Adam 2e-3, 60 batches of 128 per epoch, clip 1, early stop at validation ≥ 0.995

    private Result seq2seq(ModelConfig cfg, Path src, Backend be) throws IOException {
        int maxEpochs = epochs != null ? epochs : 40, bs = 128, perEpoch = 60;
        HeldOut.Pairs test = HeldOut.seq2seq(src);
        Set<String> held = new HashSet<>(test.targetTexts(cfg.outputVocab()));
        DateData.Split split = DateData.split(seed, held, 500);
        int[][][] val = encode(cfg, split.validation());
        TrainableSeq2Seq m = TrainableSeq2Seq.create(cfg, seed, be);
        Optimizer opt = Adam.of(m.parameters(), 2e-3);
        CrossEntropyLoss ce = new CrossEntropyLoss(cfg.pad(), true);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        // PyTorch's run stopped at validation exact match >= 0.995 after at least 5 epochs
        EarlyStopping stop = new EarlyStopping(patience, 0, 0.995);
        if (batchesPerEpoch != null) perEpoch = Math.min(perEpoch, batchesPerEpoch);
        for (int epoch = 0; epoch < maxEpochs; epoch++) {
            try (ProgressBar pb = bar("epoch " + (epoch + 1) + "/" + maxEpochs, perEpoch)) {
                Meter meter = new Meter();
                for (int s = 0; s < perEpoch; s++) {
                    int[][][] batch = encode(cfg, split.sample(rng, bs));
                    m.zeroGrad();
                    float loss = m.lossAndGradients(batch[0], batch[1], ce);
                    GradClip.clipGradNorm(m.parameters(), 1.0);
                    opt.step();
                    step(pb, meter, loss, bs, m);
                }
            }
            double v = exactMatch(cfg, m.stateDict(), val[0], val[1], be);
            validation.add(new double[] {losses.size(), v});
            log.printf(Locale.ROOT, "  epoch %d: train loss %.4f, train token accuracy %.4f, validation exact match %.4f%n", epoch + 1,
                    epochLoss(perEpoch), lastEpochAccuracy, v);
            if (stop.update(v, m::stateDict) && epoch >= 4) break;
        }
        m.load(stop.bestWeights());
        double em = exactMatch(cfg, stop.bestWeights(), test.sources(), test.targets(), be);
        return new Result(m, "exact match", em, test.sources().length, "dates", cfg.pytorch().getOrDefault("exact_match", "?"));
    }

    private static int[][][] encode(ModelConfig cfg, List<DateData.Pair> pairs) {
        int[][] s = new int[pairs.size()][], t = new int[pairs.size()][];
        for (int i = 0; i < s.length; i++) {
            s[i] = DateData.encodeSource(pairs.get(i).source(), cfg.vocab());
            t[i] = DateData.encodeTarget(pairs.get(i).target(), cfg.outputVocab());
        }
        return new int[][][] {s, t};
    }

    private static double exactMatch(ModelConfig cfg, StateDict weights, int[][] sources, int[][] targets, Backend be) {
        try (Seq2Seq s = Seq2Seq.load(cfg, weights, be)) {
            int ok = 0;
            for (int from = 0; from < sources.length; from += 250) {
                int[][] g = s.greedy(Arrays.copyOfRange(sources, from, Math.min(from + 250, sources.length)), s.maxOutputLength());
                for (int i = 0; i < g.length; i++) if (Arrays.equals(g[i], targets[from + i])) ok++;
            }
            return ok / (double) sources.length;
        }
    }

    // ---- the loop's bookkeeping

    /** Sequences and time of the current epoch, for the progress bar's rate. */
    private static final class Meter {
        final long t0 = System.nanoTime();
        long sequences, correct, counted;
        double lossSum;
        int steps;
    }

    private void step(ProgressBar pb, Meter meter, float loss, int sequences, TrainableModel m) {
        if (!Float.isFinite(loss)) throw new IllegalStateException("the training loss is " + loss + " at step " + (losses.size() + 1) + " (diverged); try another --seed");
        losses.add(new double[] {losses.size() + 1, loss});
        meter.sequences += sequences;
        meter.lossSum += loss;
        meter.steps++;
        meter.correct += m.lastCorrect();
        meter.counted += m.lastCounted();
        lastEpochAccuracy = meter.correct / (double) Math.max(1, meter.counted);
        double secs = Math.max(1e-9, (System.nanoTime() - meter.t0) / 1e9);
        pb.setExtraMessage(String.format(Locale.ROOT, "loss %.4f  accuracy %.3f  %.0f seq/s", meter.lossSum / meter.steps,
                meter.correct / (double) Math.max(1, meter.counted), meter.sequences / secs));
        pb.step();
    }

    private double epochLoss(int steps) {
        double sum = 0;
        for (int i = losses.size() - steps; i < losses.size(); i++) sum += losses.get(i)[1];
        return sum / steps;
    }

    /** The first {@code --batches-per-epoch} batches (a test's short run), else all. */
    private int[][] limit(int[][] batches) {
        return batchesPerEpoch == null ? batches : Arrays.copyOf(batches, Math.min(batches.length, batchesPerEpoch));
    }

    private ProgressBar bar(String name, long steps) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(name).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200).continuousUpdate().setMaxRenderedLength(110);
        boolean terminal = System.console() != null && System.console().isTerminal();
        if (noProgress || !terminal) b.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(new java.io.PrintStream(OutputStream.nullOutputStream())));
        return b.build();
    }

    /** The loss per step and the validation metric per epoch, as a PNG. */
    private void chart(Path file, String metricName) throws IOException {
        XYChart c = new XYChartBuilder().width(900).height(500).title("panama-rnn train --task " + task + " --seed " + seed)
                .xAxisTitle("step").yAxisTitle("cross-entropy (nats) / validation " + metricName).build();
        c.getStyler().setMarkerSize(4);
        double[] xs = losses.stream().mapToDouble(p -> p[0]).toArray(), ys = losses.stream().mapToDouble(p -> p[1]).toArray();
        c.addSeries("training loss", xs, ys).setMarker(SeriesMarkers.NONE);
        if (!validation.isEmpty()) {
            c.addSeries("validation " + metricName, validation.stream().mapToDouble(p -> p[0]).toArray(), validation.stream().mapToDouble(p -> p[1]).toArray());
        }
        // XChart appends ".png" to the name it is given: write loss.tmp.png, then replace loss.png with it
        Path tmp = file.resolveSibling("loss.tmp.png");
        BitmapEncoder.saveBitmap(c, file.resolveSibling("loss.tmp").toString(), BitmapEncoder.BitmapFormat.PNG);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The demo's model.json with its {@code pytorch} record replaced by this training's. */
    private void writeConfig(Path from, Path to, Result r, double seconds, Backend be) throws IOException {
        JsonFactory f = new JsonFactory();
        Path tmp = to.resolveSibling("model.json.tmp");
        try (JsonParser p = f.createParser(from.toFile()); JsonGenerator g = f.createGenerator(tmp.toFile(), com.fasterxml.jackson.core.JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException(from + ": not a JSON object");
            g.writeStartObject();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("pytorch") || name.equals("training")) {
                    p.skipChildren();
                    continue;
                }
                g.writeFieldName(name);
                g.copyCurrentStructure(p);
            }
            g.writeObjectFieldStart("training");
            g.writeStringField("trained_by", "panama-rnn train --task " + task + " --seed " + seed);
            g.writeStringField("backend", be.name());
            g.writeNumberField("steps", losses.size());
            g.writeNumberField("epochs", validation.size());
            g.writeNumberField("seconds", Math.round(seconds * 10) / 10.0);
            g.writeStringField("test_metric", r.metricName);
            g.writeNumberField("test_accuracy", r.metric);
            g.writeNumberField("test_set_size", r.testCount);
            g.writeEndObject();
            g.writeEndObject();
        }
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
