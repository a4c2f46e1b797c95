package dev.panamarnn.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;

/**
 * One partition's rows through the model, {@code batchSize} rows at a time: the rows keep their columns and
 * gain the task's. Lazy: a partition is never held whole. The model comes from {@link ModelCache} (once per
 * executor JVM); this object (the closure) holds only the spec, where the input is and, for a shipped
 * model, the broadcast that carries its files.
 */
final class ScorePartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final ScoreSpec spec;
    private final Broadcast<ShippedModel> shipped;
    private final int column;
    private final String columnName;
    private final Input input;
    private final int inputSize;
    private final LongAccumulator rows, loads;

    /** How the input column's values are read. */
    enum Input {
        /** a string */
        TEXT,
        /** an array of arrays of numbers: (steps, features) */
        SEQUENCE,
        /** an array of numbers: one feature per step */
        SERIES
    }

    ScorePartition(ScoreSpec spec, Broadcast<ShippedModel> shipped, int column, String columnName, Input input, int inputSize, LongAccumulator rows, LongAccumulator loads) {
        this.spec = spec;
        this.shipped = shipped;
        this.column = column;
        this.columnName = columnName;
        this.input = input;
        this.inputSize = inputSize;
        this.rows = rows;
        this.loads = loads;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> in) {
        Scorer scorer = ModelCache.get(spec, shipped == null ? null : shipped.value(), () -> loads.add(1));
        int partition = TaskContext.get() == null ? -1 : TaskContext.getPartitionId();
        return new Iterator<>() {
            private final List<Row> batch = new ArrayList<>(spec.batchSize());
            private final List<Object> inputs = new ArrayList<>(spec.batchSize());
            private Object[][] out;
            private int next;
            private long seen; // rows of this partition read so far

            @Override
            public boolean hasNext() {
                if (out != null && next < out.length) return true;
                batch.clear();
                inputs.clear();
                while (batch.size() < spec.batchSize() && in.hasNext()) {
                    Row r = in.next();
                    try {
                        inputs.add(value(r));
                    } catch (IllegalArgumentException e) {
                        throw failure(seen + batch.size(), e.getMessage(), e);
                    }
                    batch.add(r);
                }
                if (batch.isEmpty()) {
                    out = null;
                    return false;
                }
                try {
                    out = scorer.score(inputs, spec);
                } catch (Scorer.RowError e) {
                    throw failure(seen + e.row, e.getMessage(), e);
                }
                seen += batch.size();
                rows.add(batch.size());
                next = 0;
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                Row r = batch.get(next);
                Object[] add = out[next++];
                Object[] v = new Object[r.length() + add.length];
                for (int i = 0; i < r.length(); i++) v[i] = r.get(i);
                System.arraycopy(add, 0, v, r.length(), add.length);
                return RowFactory.create(v);
            }

            private IllegalArgumentException failure(long row, String message, Exception cause) {
                return new IllegalArgumentException("partition " + partition + ", row " + row + ", column '" + columnName + "': " + message, cause);
            }
        };
    }

    /** The row's input: a String, or a float[steps][features] sequence, checked against the model. */
    private Object value(Row r) {
        if (r.isNullAt(column)) throw new IllegalArgumentException("null");
        if (input == Input.TEXT) return r.getString(column);
        List<Object> steps = r.getList(column);
        if (steps.isEmpty()) throw new IllegalArgumentException("an empty sequence (at least one step is needed)");
        float[][] seq = new float[steps.size()][];
        for (int t = 0; t < seq.length; t++) {
            Object step = steps.get(t);
            if (step == null) throw new IllegalArgumentException("step " + t + " is null");
            if (input == Input.SERIES) {
                seq[t] = new float[] {((Number) step).floatValue()};
                continue;
            }
            List<?> f = scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<?>) step);
            if (f.size() != inputSize) {
                throw new IllegalArgumentException("step " + t + " has " + f.size() + " features, the model reads " + inputSize);
            }
            seq[t] = new float[inputSize];
            for (int k = 0; k < inputSize; k++) {
                Object x = f.get(k);
                if (x == null) throw new IllegalArgumentException("step " + t + ", feature " + k + " is null");
                seq[t][k] = ((Number) x).floatValue();
            }
        }
        return seq;
    }
}
