package dev.panamarnn.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * Batch scoring of a DataFrame: each row's sequence (a string column, or an array of arrays of numbers) goes
 * through an application model or a layer, and the row comes out with the task's columns added
 * ({@link Task#outputs}). The model is loaded once per executor JVM and shared by its task threads;
 * inside a partition, rows are computed {@link ScoreSpec#batchSize} at a time.
 *
 * <pre>{@code
 * Dataset<Row> out = Scoring.score(spark.read().parquet("dates.parquet"), ScoreSpec.model("/models/seq2seq"));
 * out.write().parquet("translated.parquet");   // the input's columns + "translation"
 * }</pre>
 *
 * The driver loads the model once too, to check it and the input column before any task starts: a wrong
 * column or type is an error here, not in a task.
 */
public final class Scoring {
    private Scoring() {}

    /** What a scoring plan counts while it runs: rows scored, and models loaded by executor JVMs. */
    public record Counters(LongAccumulator rows, LongAccumulator loads) {
        /**
         * New counters registered with the session's context.
         *
         * @param spark the session
         * @return the counters
         */
        public static Counters register(SparkSession spark) {
            return new Counters(spark.sparkContext().longAccumulator("panama-rnn rows scored"),
                    spark.sparkContext().longAccumulator("panama-rnn model loads"));
        }
    }

    /**
     * The scored rows (lazy: nothing runs until an action such as a write).
     *
     * @param input the rows; the spec's column (or the task's default) holds the sequences
     * @param spec  the model and options
     * @return the input's columns followed by the task's
     * @throws IllegalArgumentException if the model cannot be loaded or the column is missing or of the wrong type
     */
    public static Dataset<Row> score(Dataset<Row> input, ScoreSpec spec) {
        return score(input, spec, Counters.register(input.sparkSession()));
    }

    /**
     * As {@link #score(Dataset, ScoreSpec)}, counting into {@code counters}.
     *
     * @param input    the rows
     * @param spec     the model and options
     * @param counters where rows and loads are counted
     * @return the input's columns followed by the task's
     */
    public static Dataset<Row> score(Dataset<Row> input, ScoreSpec spec, Counters counters) {
        Task task;
        boolean takesTokens;
        int inputSize;
        try (Scorer check = Scorer.load(spec, Path.of(spec.model()))) {
            task = check.task();
            takesTokens = check.takesTokens();
            inputSize = check.inputSize();
        } catch (IOException e) {
            throw new UncheckedIOException(spec.model() + ": " + e.getMessage(), e);
        }
        StructType in = input.schema();
        String column = spec.column() != null ? spec.column() : task.defaultColumn(takesTokens);
        int index = Arrays.asList(in.fieldNames()).indexOf(column);
        if (index < 0) {
            throw new IllegalArgumentException("input has no column '" + column + "' (columns: " + String.join(", ", in.fieldNames())
                    + ")" + (spec.column() == null ? "; name the one to read" : ""));
        }
        DataType type = in.fields()[index].dataType();
        ScorePartition.Input kind = inputKind(task, takesTokens, inputSize, column, type);
        StructType out = in;
        for (StructField f : task.outputs()) {
            if (Arrays.asList(in.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("input already has a column '" + f.name() + "', which scoring with a " + task.name().toLowerCase()
                        + " model adds; rename or drop it");
            }
            out = out.add(f);
        }
        Broadcast<ShippedModel> shipped = spec.shipped()
                ? JavaSparkContext.fromSparkContext(input.sparkSession().sparkContext()).broadcast(ShippedModel.read(Path.of(spec.model())))
                : null;
        return input.mapPartitions(new ScorePartition(spec, shipped, index, column, kind, inputSize, counters.rows(), counters.loads()), Encoders.row(out));
    }

    private static ScorePartition.Input inputKind(Task task, boolean takesTokens, int inputSize, String column, DataType type) {
        if (task.readsText(takesTokens)) {
            if (!type.equals(DataTypes.StringType)) throw new IllegalArgumentException("column '" + column + "': expected string (the model reads text), got " + type.simpleString());
            return ScorePartition.Input.TEXT;
        }
        String want = "array<array<number>> (steps × " + inputSize + " features)" + (inputSize == 1 ? " or array<number> (one feature per step)" : "");
        if (type instanceof ArrayType a) {
            if (a.elementType() instanceof ArrayType inner && numeric(inner.elementType())) return ScorePartition.Input.SEQUENCE;
            if (inputSize == 1 && numeric(a.elementType())) return ScorePartition.Input.SERIES;
        }
        throw new IllegalArgumentException("column '" + column + "': expected " + want + ", got " + type.simpleString());
    }

    private static boolean numeric(DataType t) {
        return t.equals(DataTypes.FloatType) || t.equals(DataTypes.DoubleType) || t.equals(DataTypes.IntegerType)
                || t.equals(DataTypes.LongType) || t.equals(DataTypes.ShortType) || t.equals(DataTypes.ByteType);
    }
}
