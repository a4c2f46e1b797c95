package dev.panamarnn.spark;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code panama-rnn spark-score}: scores a file of sequences on Spark and writes the rows with the model's
 * columns added. The main class of the application jar for {@code spark-submit} too.
 */
@Command(name = "spark-score", sortOptions = false,
        description = {"Score sequences with a model directory (classify, generate, translate) or a layer (forward) on Apache Spark: "
                + "the model loaded once per executor JVM, rows computed in batches inside each partition. "
                + "The output has the input's columns and the model's (label, probability, logits | text | translation | output, h_n, c_n)."},
        footer = {"", "Input: Parquet (a file or directory), JSON lines (.json, .jsonl) or text lines (.txt, one row per line). "
                + "Output: Parquet, or JSON lines when the path ends in .json or .jsonl.",
                "On a cluster: spark-submit --class dev.panamarnn.spark.SparkScore spark/target/panama-rnn-spark-*-job.jar --model DIR --input IN --output OUT (see docs/spark.md)."})
public final class SparkScore implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "A model directory: model.json and weights.safetensors (or ONNX graphs). Every executor must be able to read it, unless --ship.")
        String model;

        @Option(names = "--layer", paramLabel = "FILE[:MODE]", description = "A recurrent layer's safetensors file (PyTorch state_dict names); MODE = lstm | gru | rnn_tanh | rnn_relu (default: from the weights).")
        String layer;
    }

    @Option(names = "--input", required = true, paramLabel = "IN", description = "The rows to score.")
    String input;

    @Option(names = "--output", required = true, paramLabel = "OUT", description = "Where the scored rows go (a directory of part files).")
    String output;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local[*]).")
    String master;

    @Option(names = "--column", paramLabel = "NAME", description = "The input column (default: text for a text classifier and seq2seq, features for a feature classifier, prompt for an lm, input for a layer; text lines are read into it).")
    String column;

    @Option(names = "--batch", defaultValue = "" + ScoreSpec.DEFAULT_BATCH, paramLabel = "N", description = "Rows computed together inside a partition (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--partitions", paramLabel = "N", description = "Split the input into N partitions first, keeping its order (default: as read, or the task slots when fewer).")
    Integer partitions;

    @Option(names = "--beam", defaultValue = "1", paramLabel = "W", description = "seq2seq: beam width (1 = greedy, the default).")
    int beam;

    @Option(names = "--max", defaultValue = "0", paramLabel = "N", description = "Most tokens generated or translated per row (default: the model's max_output_length).")
    int max;

    @Option(names = "--backend", paramLabel = "NAME", description = "scalar | simd | openblas (default: the best available on each executor).")
    String backend;

    @Option(names = "--ship", description = "Ship the model to the executors with the job (a broadcast) instead of having each read it from a shared path.")
    boolean ship;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /**
     * Runs the command.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command without exiting: 0 done, 1 failed (one line on standard error), 2 bad arguments.
     *
     * @param args the arguments
     * @return the exit status
     */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new SparkScore());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("spark-score: " + reason(e));
            line.getErr().flush();
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ScoreSpec s;
        if (source.model != null) {
            s = ScoreSpec.model(source.model);
        } else {
            int colon = source.layer.lastIndexOf(':');
            boolean hasMode = colon > 0 && !Files.exists(Path.of(source.layer));
            s = ScoreSpec.layer(hasMode ? source.layer.substring(0, colon) : source.layer, hasMode ? source.layer.substring(colon + 1) : null);
        }
        s = s.withColumn(column).withBatchSize(batch).withBackend(backend).withBeam(beam).withMaxTokens(max);
        if (ship) s = s.shippedToExecutors();
        if (partitions != null && (partitions < 1 || partitions > 100_000)) throw new IllegalArgumentException("--partitions must be in 1..100000, got " + partitions);
        if (!Files.exists(Path.of(s.model()))) throw new IllegalArgumentException((source.model != null ? "--model " : "--layer ") + s.model() + ": no such file or directory");
        Path localOut = localPath(output);
        if (localOut != null && Files.exists(localOut) && !overwrite) throw new IllegalArgumentException("--output " + output + " exists; --overwrite replaces it");
        Path localIn = localPath(input);
        if (localIn != null && !Files.exists(localIn)) throw new IllegalArgumentException("--input " + input + ": no such file or directory");

        long t0 = System.nanoTime();
        boolean existing = SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined();
        SparkSession spark = session();
        double started = (System.nanoTime() - t0) / 1e9;
        try {
            long t1 = System.nanoTime();
            Dataset<Row> in = read(spark, s);
            int parallelism = spark.sparkContext().defaultParallelism();
            if (partitions != null) in = inOrder(in, partitions);
            else if (in.rdd().getNumPartitions() < parallelism) in = inOrder(in, parallelism); // a small file is one partition: use every task slot
            int parts = in.rdd().getNumPartitions();
            Scoring.Counters counters = Scoring.Counters.register(spark);
            Dataset<Row> scored = Scoring.score(in, s, counters);
            var writer = scored.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists);
            if (isJson(output)) writer.json(output);
            else writer.parquet(output);
            double secs = (System.nanoTime() - t1) / 1e9;
            long rows = counters.rows().value();
            out.printf(Locale.ROOT, "scored %d rows in %.2f s (%.0f rows/s): %s on Spark %s (%s, %d partitions, batch %d; the model loaded by %d executor JVM%s); session started in %.1f s%n",
                    rows, secs, rows / secs, s.model(), spark.version(), spark.sparkContext().master(), parts, s.batchSize(),
                    counters.loads().value(), counters.loads().value() == 1 ? "" : "s", started);
            out.println("wrote " + output);
            out.flush();
            return 0;
        } finally {
            if (!existing) spark.stop();
        }
    }

    /**
     * The rows in {@code n} partitions, in their order: partition 0 holds the first rows, and the output
     * files keep the input's order (a plain repartition would deal the rows out round-robin).
     */
    static Dataset<Row> inOrder(Dataset<Row> in, int n) {
        String row = "__panama_rnn_row";
        Column id = org.apache.spark.sql.functions.col(row);
        return in.withColumn(row, org.apache.spark.sql.functions.monotonically_increasing_id())
                .repartitionByRange(n, id).sortWithinPartitions(id).drop(row);
    }

    private SparkSession session() {
        SparkConf conf = new SparkConf(true); // spark-submit's settings (spark.* system properties)
        String m = master != null ? master : conf.contains("spark.master") ? conf.get("spark.master") : "local[*]";
        SparkSession.Builder b = SparkSession.builder().appName("panama-rnn spark-score").master(m);
        if (m.startsWith("local")) {
            // one machine: keep Spark on loopback and without its web UI
            b.config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
        }
        return b.getOrCreate();
    }

    private Dataset<Row> read(SparkSession spark, ScoreSpec s) {
        DataFrameReader r = spark.read();
        String lower = input.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".txt")) {
            Dataset<Row> lines = r.text(input);
            // the text reader's one column is 'value': give it the name the model reads
            String to = column != null ? column : s.layer() ? null : textColumn(s);
            if (to == null) throw new IllegalArgumentException("--input " + input + ": text lines hold text, and a layer reads numbers");
            return lines.withColumnRenamed("value", to);
        }
        if (isJson(input)) return r.json(input);
        return r.parquet(input);
    }

    /** The column text lines are read into: the default input column of the model's task. */
    private static String textColumn(ScoreSpec s) {
        try {
            return Task.of(dev.panamarnn.app.ModelConfig.read(Path.of(s.model()).resolve("model.json")).structure()).defaultColumn(true);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isJson(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        return p.endsWith(".json") || p.endsWith(".jsonl");
    }

    /** The path on this machine, or null for another file system (hdfs:, s3a:, ...). */
    private static Path localPath(String p) {
        if (p.startsWith("file:")) return Path.of(URI.create(p));
        return p.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") ? null : Path.of(p);
    }

    /**
     * The message to show for a failure: ours (a bad row, a bad column, a bad file) from deep inside
     * Spark's wrapping (the outermost of ours), else the outermost message's first line.
     */
    static String reason(Throwable e) {
        Throwable ours = null;
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (ours == null && (t instanceof IllegalArgumentException || t instanceof UncheckedIOException || t instanceof java.io.IOException)) ours = t;
        }
        Throwable shown = ours != null ? ours : e;
        String m = shown.getMessage() == null ? shown.toString() : shown.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
