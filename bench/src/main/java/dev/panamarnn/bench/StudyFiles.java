package dev.panamarnn.bench;

import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where the layer study's files live, shared by the benchmarks (in JMH's forks) and {@link StudyReport}.
 * Paths are relative to the working directory ({@code scripts/bench} runs from the repository root) unless
 * the system properties say otherwise; JMH passes the host JVM's {@code -D} options on to its forks.
 * <ul>
 *   <li>{@code panama.rnn.bench.models} (default {@code bench/models}): what {@code bench_models.py} wrote;</li>
 *   <li>{@code panama.rnn.bench.diffs} (default {@code bench/results/tmp}): one small file per measured
 *       system, {@code diff-<config>-<system>-t<threads>.txt}, holding the max abs difference of its
 *       {@code output} from PyTorch's, written once in each benchmark's set-up.</li>
 * </ul>
 */
final class StudyFiles {
    private StudyFiles() {}

    static Path models() {
        return Path.of(System.getProperty("panama.rnn.bench.models", "bench/models"));
    }

    static Path diffs() {
        return Path.of(System.getProperty("panama.rnn.bench.diffs", "bench/results/tmp"));
    }

    static Path weights(StudyConfig c) {
        return models().resolve(c.name() + ".safetensors");
    }

    static Path onnx(StudyConfig c) {
        return models().resolve(c.name() + ".onnx");
    }

    /** Opens a safetensors file of the study; failures are unchecked (JMH set-up). */
    static SafeTensors open(Path p) {
        try {
            return SafeTensors.open(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(p + ": " + e.getMessage() + " (regenerate: scripts/bench layers)", e);
        }
    }

    /** The input and PyTorch's outputs ({@code input}, {@code output}, {@code h_n}, {@code c_n}), checked against {@code c}. */
    static SafeTensors io(StudyConfig c) {
        SafeTensors io = open(models().resolve(c.name() + "-io.safetensors"));
        Map<String, String> m = io.metadata();
        String want = c.mode + " " + c.inputSize + " " + c.hiddenSize + " " + c.steps + " " + c.batch + " " + c.layers + " " + c.bidirectional;
        String got = m.get("mode") + " " + m.get("input_size") + " " + m.get("hidden_size") + " " + m.get("seq_len") + " "
                + m.get("batch") + " " + m.get("num_layers") + " " + m.get("bidirectional");
        if (!want.equals(got)) {
            io.close();
            throw new IllegalStateException(c + ": bench/models holds '" + got + "', expected '" + want
                    + "'; regenerate with scripts/python/bench_models.py generate --force");
        }
        return io;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= m)) m = d; // NaN sticks
        }
        return m;
    }

    /** Records the difference for the report, prints it, and fails the trial when it is above {@code tolerance}. */
    static void recordDiff(StudyConfig c, String system, int threads, double diff, double tolerance) {
        String line = String.format(Locale.ROOT, "%.3e", diff);
        System.out.println("# maxdiff " + c + " " + system + " threads=" + threads + ": " + line + " (max |output - PyTorch output|)");
        try {
            Files.createDirectories(diffs());
            Files.writeString(diffs().resolve("diff-" + c + "-" + system + "-t" + threads + ".txt"), line + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!(diff <= tolerance)) {
            throw new IllegalStateException(c + " on " + system + " differs from PyTorch by " + line + " (tolerance " + tolerance + ")");
        }
    }
}
