package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.Platform;
import dev.panamarnn.app.CaseFile;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.openblas.OpenBlas;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panama-rnn demo}: the four application structures on the example models in {@code models/}
 * (trained in PyTorch by {@code scripts/train-models}): the classifier's test accuracy (N-vs-1), the
 * language model's next-character accuracy (N-vs-N) and generated text (1-vs-N), the date translator's
 * exact match, greedy and beam search (N-vs-M), each set beside what PyTorch recorded, then sequences
 * per second on every backend (where each backend recomputes the accuracies too).
 *
 * <p>Models trained in Java ({@code panama-rnn train}, whose {@code model.json} holds a {@code training} record
 * instead of {@code pytorch}) run the same way; their results are set beside what {@code train} recorded on
 * the same test sets, and PyTorch's outputs are not compared.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run every application structure (N-vs-1, N-vs-N, 1-vs-N, N-vs-M) on the example models trained in PyTorch: "
                + "accuracies beside PyTorch's, generated text, translations, sequences per second per backend.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--models", paramLabel = "DIR", description = "The example models (default: models/ of this checkout).")
    Path models;

    @Option(names = "--backends", split = ",", paramLabel = "NAME", description = "Backends to measure (default: every available one).")
    List<String> backends;

    @Option(names = "--temperature", defaultValue = "0.7", description = "Temperature of the sampled text (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--seed", defaultValue = "2026", description = "Seed of the sampled text (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--no-progress", description = "No progress bars (they show only on a terminal anyway).")
    boolean noProgress;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path dir = models != null ? models : defaultModels();
        for (String m : List.of("classifier", "charlm", "seq2seq")) {
            if (!Files.isRegularFile(dir.resolve(m).resolve("model.json"))) throw new IOException(dir + ": no " + m + "/model.json (see --models)");
        }
        List<Backend> bes = new ArrayList<>();
        if (backends == null) {
            for (Backend.Status s : Backend.list()) if (s.available()) bes.add(Backend.get(s.name()));
        } else {
            for (String b : backends) bes.add(Backend.get(b.trim()));
        }
        Backend main = Backend.defaultBackend();
        if (backends != null && !bes.isEmpty()) main = bes.get(0);

        TrainedBy by = TrainedBy.of(dir);
        out.println("panama-rnn demo: the four RNN application structures on models trained in " + by.describe() + " (" + dir + ")");
        out.println("  " + Platform.summary());
        if (OpenBlas.isAvailable()) out.println("  OpenBLAS: core " + OpenBlas.coreName() + ", " + OpenBlas.threads() + " thread(s)");
        out.println("  results below on backend " + main.name() + "; every backend recomputes them in the throughput table");
        out.println();

        CaseFile cls = CaseFile.read(dir.resolve("classifier/cases.safetensors"));
        CaseFile lm = CaseFile.read(dir.resolve("charlm/cases.safetensors"));
        CaseFile s2s = CaseFile.read(dir.resolve("seq2seq/cases.safetensors"));
        Workloads w = new Workloads(dir, cls, lm, s2s);

        List<Row> rows = new ArrayList<>();
        try (SequenceClassifier c = SequenceClassifier.load(dir.resolve("classifier"), main);
             LanguageModel l = LanguageModel.load(dir.resolve("charlm"), main);
             Seq2Seq s = Seq2Seq.load(dir.resolve("seq2seq"), main)) {
            // N-vs-1
            out.println("N-vs-1  classify a sequence from its final state: " + c.config().description().split("\\. ")[0] + ".");
            float[][] logits = c.logits(w.clsSeqs);
            int[] pred = SequenceClassifier.argmax(logits);
            double diff = 0;
            float[] want = cls.floats("expected_logits");
            for (int i = 0; i < logits.length; i++) for (int k = 0; k < logits[i].length; k++) diff = Math.max(diff, Math.abs(logits[i][k] - want[i * logits[i].length + k]));
            if (by.java()) {
                out.printf(Locale.ROOT, "        test accuracy %s on %d sequences (train recorded %s) %s%n",
                        fmt(w.clsAccuracy(pred)), pred.length, fmt(by.classifier()), near(w.clsAccuracy(pred), by.classifier(), pred.length));
            } else {
                out.printf(Locale.ROOT, "        test accuracy %s on %d sequences (PyTorch recorded %s) %s; logits max |diff| vs PyTorch %.1e%n",
                        fmt(w.clsAccuracy(pred)), pred.length, cls.metadata().get("accuracy"), same(w.clsAccuracy(pred), cls.metaNumber("accuracy")), diff);
            }
            for (int i = 0; i < 4; i++) {
                float[] p = SequenceClassifier.probabilities(logits[i]);
                out.printf(Locale.ROOT, "        sequence %d (%d steps): %-11s p=%.3f   true: %s%n", i, w.clsSeqs[i].length, c.labels().get(pred[i]), p[pred[i]],
                        c.labels().get((int) cls.longs("labels")[i]));
            }
            out.println();

            // N-vs-N
            out.println("N-vs-N  an output at every step: the character language model's next-character prediction, teacher forced");
            if (w.lmTest != null) {
                long[] r = l.nextTokenAccuracy(w.lmTest, 64);
                double expected = by.java() ? by.charlm() : lm.metaNumber("accuracy");
                out.printf(Locale.ROOT, "        next-character accuracy %s over %d predictions in %d test sentences (%s recorded %s) %s%n",
                        fmt(r[0] / (double) r[1]), r[1], w.lmTest.length, by.java() ? "train" : "PyTorch", fmt(expected),
                        by.java() ? near(r[0] / (double) r[1], expected, r[1]) : same(r[0] / (double) r[1], expected));
            }
            out.println();

            // 1-vs-N
            out.println("1-vs-N  from <bos> and a short prompt, generate; each token is fed back as the next input");
            int[][] gen = l.generate(w.lmPrompts, Decoding.greedy(), w.lmMax);
            int identical = 0;
            for (int i = 0; i < gen.length; i++) if (Arrays.equals(gen[i], w.lmGreedy[i])) identical++;
            if (by.java()) out.printf("        greedy:%n");
            else out.printf("        greedy, %d/%d continuations identical to PyTorch's:%n", identical, gen.length);
            for (int i = 0; i < Math.min(4, gen.length); i++) out.printf("          %-8s → %s%n", quote(l.vocabulary().decode(w.lmPrompts[i])), quote(text(l, w.lmPrompts[i], gen[i])));
            int[][] sampled = l.generate(w.lmPrompts, Decoding.temperature(temperature, seed), w.lmMax);
            out.printf(Locale.ROOT, "        sampled at temperature %.2f, seed %d (the same seed gives the same text):%n", temperature, seed);
            for (int i = 0; i < Math.min(4, sampled.length); i++) out.printf("          %-8s → %s%n", quote(l.vocabulary().decode(w.lmPrompts[i])), quote(text(l, w.lmPrompts[i], sampled[i])));
            out.println();

            // N-vs-M
            out.println("N-vs-M  encoder-decoder: dates in any of six formats → ISO 8601");
            int[][] g = s.greedy(w.s2sSrc, s.maxOutputLength());
            double em = w.s2sExact(g);
            int sameG = 0;
            for (int i = 0; i < g.length; i++) if (Arrays.equals(g[i], w.s2sGreedy[i])) sameG++;
            if (by.java()) {
                out.printf("        greedy, batched: exact match %s on %d (train recorded %s) %s%n", fmt(em), g.length, fmt(by.seq2seq()), near(em, by.seq2seq(), g.length));
            } else {
                out.printf("        greedy, batched: exact match %s on %d (PyTorch recorded %s) %s; %d/%d outputs identical to PyTorch's%n",
                        fmt(em), g.length, s2s.metadata().get("exact_match"), same(em, s2s.metaNumber("exact_match")), sameG, g.length);
            }
            int W = (int) s2s.metaNumber("beam_width");
            int[][] beams = new int[w.s2sSrc.length][];
            try (ProgressBar pb = bar("beam search, width " + W, w.s2sSrc.length)) {
                for (int i = 0; i < beams.length; i++) {
                    beams[i] = s.beamSearch(w.s2sSrc[i], W, s.maxOutputLength()).tokens();
                    pb.step();
                }
            }
            double bem = w.s2sExact(beams);
            if (by.java()) out.printf("        beam search, width %d: exact match %s%n", W, fmt(bem));
            else out.printf("        beam search, width %d: exact match %s (PyTorch recorded %s) %s%n", W, fmt(bem), s2s.metadata().get("beam3_exact_match"),
                    same(bem, s2s.metaNumber("beam3_exact_match")));
            for (String in : List.of("3 March 2021", "March 3, 2021", "17/11/1987", "1 Jan 2000")) {
                out.printf("          %-16s → %s%n", quote(in), quote(s.translate(in, 1)));
            }
            out.println();
        }

        // Throughput, every backend, same run.
        out.println("Sequences per second (same run, wall clock, median of " + TIMED_PASSES + " passes after " + WARM_UP_PASSES + " warm-up passes; scripts/bench gives JMH figures):");
        out.flush();
        for (Backend be : bes) rows.add(measure(dir, be, w, by));
        out.printf("  %-38s", "structure (work per pass)");
        for (Row r : rows) out.printf("%14s", r.backend);
        out.println();
        String[] names = {"N-vs-1 classify (500 seqs, batch 100)", "N-vs-N score (300 sentences, batch 64)", "1-vs-N generate (8 prompts, batched)",
                "N-vs-M greedy (500 dates, batch 100)", "N-vs-M beam 3 (100 dates)"};
        for (int k = 0; k < names.length; k++) {
            out.printf("  %-38s", names[k]);
            for (Row r : rows) out.printf(Locale.ROOT, "%14.0f", r.perSecond[k]);
            out.println();
        }
        out.printf("  %-38s", by.java() ? "accuracies as train recorded" : "accuracies equal PyTorch's");
        for (Row r : rows) out.printf("%14s", r.accurate ? "yes" : "NO");
        out.println();
        out.flush();
        for (Row r : rows) if (!r.accurate) return 1;
        return 0;
    }

    private record Row(String backend, double[] perSecond, boolean accurate) {}

    /**
     * Passes before the timed ones, and the timed ones (their median is shown). One warm-up pass was not
     * enough: with the backends measured one after another in one JVM, the first backend's type profiles
     * make HotSpot deoptimise and recompile the shared callers for the next, and on two cores its Vector API
     * kernels were still running interpreted in the pass after (simd classify 2.3k sequences/s there, 25k
     * two passes later, at every vector width).
     */
    private static final int WARM_UP_PASSES = 2, TIMED_PASSES = 3;

    private Row measure(Path dir, Backend be, Workloads w, TrainedBy by) throws IOException {
        double[][] timed = new double[5][TIMED_PASSES];
        double[] ps = new double[5];
        boolean ok = true;
        try (SequenceClassifier c = SequenceClassifier.load(dir.resolve("classifier"), be);
             LanguageModel l = LanguageModel.load(dir.resolve("charlm"), be);
             Seq2Seq s = Seq2Seq.load(dir.resolve("seq2seq"), be);
             ProgressBar pb = bar(be.name(), 5L * (WARM_UP_PASSES + TIMED_PASSES))) {
            for (int pass = 0; pass < WARM_UP_PASSES + TIMED_PASSES; pass++) {
                boolean check = pass >= WARM_UP_PASSES; // every timed pass must also give PyTorch's answers
                long t0 = System.nanoTime();
                int[] pred = new int[w.clsSeqs.length];
                for (int i = 0; i < w.clsSeqs.length; i += 100) {
                    int[] p = SequenceClassifier.argmax(c.logits(Arrays.copyOfRange(w.clsSeqs, i, Math.min(i + 100, w.clsSeqs.length))));
                    System.arraycopy(p, 0, pred, i, p.length);
                }
                ps[0] = w.clsSeqs.length / secs(t0);
                pb.step();
                if (check) ok &= by.java() ? within(w.clsAccuracy(pred), by.classifier(), pred.length) : w.clsAccuracy(pred) == cls(w);

                t0 = System.nanoTime();
                if (w.lmTest != null) {
                    long[] r = l.nextTokenAccuracy(w.lmTest, 64);
                    ps[1] = w.lmTest.length / secs(t0);
                    if (check) ok &= by.java() ? within(r[0] / (double) r[1], by.charlm(), r[1]) : r[0] / (double) r[1] == w.lm.metaNumber("accuracy");
                }
                pb.step();

                t0 = System.nanoTime();
                int[][] gen = l.generate(w.lmPrompts, Decoding.greedy(), w.lmMax);
                ps[2] = gen.length / secs(t0);
                if (check && !by.java()) for (int i = 0; i < gen.length; i++) ok &= Arrays.equals(gen[i], w.lmGreedy[i]);
                pb.step();

                t0 = System.nanoTime();
                int[][] g = new int[w.s2sSrc.length][];
                for (int i = 0; i < g.length; i += 100) {
                    int[][] part = s.greedy(Arrays.copyOfRange(w.s2sSrc, i, Math.min(i + 100, g.length)), s.maxOutputLength());
                    System.arraycopy(part, 0, g, i, part.length);
                }
                ps[3] = g.length / secs(t0);
                if (check) ok &= by.java() ? within(w.s2sExact(g), by.seq2seq(), g.length) : w.s2sExact(g) == w.s2s.metaNumber("exact_match");
                pb.step();

                t0 = System.nanoTime();
                int n = 100, W = (int) w.s2s.metaNumber("beam_width");
                for (int i = 0; i < n; i++) {
                    int[] b = s.beamSearch(w.s2sSrc[i], W, s.maxOutputLength()).tokens();
                    if (check && !by.java()) ok &= Arrays.equals(b, w.s2sBeam[i]);
                }
                ps[4] = n / secs(t0);
                pb.step();
                if (check) for (int k = 0; k < 5; k++) timed[k][pass - WARM_UP_PASSES] = ps[k];
            }
        }
        for (int k = 0; k < 5; k++) {
            Arrays.sort(timed[k]);
            ps[k] = timed[k][TIMED_PASSES / 2];
        }
        return new Row(be.name(), ps, ok);
    }

    private static double cls(Workloads w) {
        return w.cls.metaNumber("accuracy");
    }

    private ProgressBar bar(String task, long steps) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200).continuousUpdate().setMaxRenderedLength(100);
        // Bars only on a terminal: in a log or a pipe, carriage-return animation is noise.
        boolean terminal = System.console() != null && System.console().isTerminal();
        if (noProgress || !terminal) b.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())));
        return b.build();
    }

    private static double secs(long t0) {
        return Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    /**
     * Within two test items of what {@code train} recorded: a model trained in Java carries no margin check, so a
     * prediction at a near-tie may flip between backends (their sums differ in the last bits).
     */
    private static boolean within(double ours, double recorded, long items) {
        return Math.abs(ours - recorded) <= 2.0 / items + 1e-12;
    }

    private static String near(double ours, double recorded, long items) {
        return ours == recorded ? "= equal" : within(ours, recorded, items) ? "≈ within 2 items" : "≠ DIFFERENT";
    }

    /**
     * Who trained the models of a demo directory: PyTorch ({@code scripts/train-models}; their cases hold
     * PyTorch's outputs) or {@code panama-rnn train} (its {@code training} record's held-out metrics).
     */
    record TrainedBy(boolean java, double classifier, double charlm, double seq2seq) {
        static TrainedBy of(Path dir) throws IOException {
            double[] v = new double[3];
            int java = 0;
            String[] names = {"classifier", "charlm", "seq2seq"};
            for (int i = 0; i < 3; i++) {
                v[i] = recorded(dir.resolve(names[i]).resolve("model.json"));
                if (!Double.isNaN(v[i])) java++;
            }
            if (java != 0 && java != 3) throw new IOException(dir + ": the demo needs three models trained alike (all by panama-rnn train, or all by scripts/train-models)");
            return new TrainedBy(java == 3, v[0], v[1], v[2]);
        }

        String describe() {
            return java ? "Java (panama-rnn train)" : "PyTorch";
        }

        /** model.json's {@code training.test_accuracy}, or NaN when it has no {@code training} record. */
        private static double recorded(Path modelJson) throws IOException {
            try (com.fasterxml.jackson.core.JsonParser p = new com.fasterxml.jackson.core.JsonFactory().createParser(modelJson.toFile())) {
                if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) return Double.NaN;
                while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    if (!name.equals("training")) {
                        p.skipChildren();
                        continue;
                    }
                    double v = Double.NaN;
                    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        p.nextToken();
                        if (k.equals("test_accuracy")) v = p.getDoubleValue();
                        else p.skipChildren();
                    }
                    return v;
                }
                return Double.NaN;
            }
        }
    }

    private static String same(double ours, double theirs) {
        return ours == theirs ? "= equal" : "≠ DIFFERENT";
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }

    private static String text(LanguageModel l, int[] prompt, int[] gen) {
        return l.vocabulary().decode(prompt) + l.vocabulary().decode(gen);
    }

    /** models/ of the checkout this program runs from: found from the working directory upwards. */
    static Path defaultModels() throws IOException {
        String env = System.getenv("PANAMA_RNN_ROOT");
        if (env != null && Files.isDirectory(Path.of(env, "models"))) return Path.of(env, "models");
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models/classifier/model.json"))) return p.resolve("models");
        }
        throw new IOException("cannot find the example models (models/ of the checkout); pass --models DIR");
    }

    /** The inputs and PyTorch's recorded results, from the cases files. */
    static final class Workloads {
        final CaseFile cls, lm, s2s;
        final float[][][] clsSeqs;
        final int[][] lmTest, lmPrompts, lmGreedy, s2sSrc, s2sGreedy, s2sTarget, s2sBeam;
        final int lmMax;

        Workloads(Path dir, CaseFile cls, CaseFile lm, CaseFile s2s) {
            this.cls = cls;
            this.lm = lm;
            this.s2s = s2s;
            clsSeqs = cls.sequences("inputs", "lengths");
            lmTest = lm.has("test_tokens") ? lm.rows("test_tokens", lm.longs("test_lengths")) : null;
            lmPrompts = lm.rows("gen_prompts", null);
            lmGreedy = lm.rows("gen_greedy", null);
            lmMax = (int) lm.metaNumber("gen_max_tokens");
            s2sSrc = s2s.rows("src_tokens", s2s.longs("src_lengths"));
            s2sGreedy = s2s.rows("greedy_tokens", null);
            s2sTarget = s2s.rows("target_tokens", null);
            s2sBeam = s2s.rows("beam3_tokens", null);
        }

        double clsAccuracy(int[] pred) {
            long[] labels = cls.longs("labels");
            int ok = 0;
            for (int i = 0; i < pred.length; i++) if (pred[i] == labels[i]) ok++;
            return ok / (double) pred.length;
        }

        double s2sExact(int[][] got) {
            int ok = 0;
            for (int i = 0; i < got.length; i++) if (Arrays.equals(got[i], s2sTarget[i])) ok++;
            return ok / (double) got.length;
        }
    }
}
