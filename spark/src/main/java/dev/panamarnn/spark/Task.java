package dev.panamarnn.spark;

import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/** What a job computes per row, by the model's structure: its input column and the columns it adds. */
public enum Task {
    /** An {@code n_vs_1} classifier: text (a model with an embedding) or a feature sequence in; label, probability, logits out. */
    CLASSIFY(List.of(field("label", DataTypes.StringType, false), field("probability", DataTypes.FloatType, false),
            field("logits", DataTypes.createArrayType(DataTypes.FloatType, false), false))),
    /** An {@code lm}: a prompt in; the prompt followed by its greedy continuation out (what {@code panama-rnn generate} prints). */
    GENERATE(List.of(field("text", DataTypes.StringType, false))),
    /** A {@code seq2seq} model: text in, its translation out. */
    TRANSLATE(List.of(field("translation", DataTypes.StringType, false))),
    /** A recurrent layer: a sequence in; its output at each step, h_n and (LSTM) c_n out. */
    FORWARD(List.of(field("output", matrix(), false), field("h_n", matrix(), false), field("c_n", matrix(), true)));

    private final List<StructField> outputs;

    Task(List<StructField> outputs) {
        this.outputs = outputs;
    }

    /** @return the columns this task adds to each row, in order */
    public List<StructField> outputs() {
        return outputs;
    }

    /**
     * The input column read unless the job names another.
     *
     * @param takesTokens whether a classifier reads text (it has an embedding) rather than feature sequences
     * @return the column's name
     */
    public String defaultColumn(boolean takesTokens) {
        return switch (this) {
            case CLASSIFY -> takesTokens ? "text" : "features";
            case GENERATE -> "prompt";
            case TRANSLATE -> "text";
            case FORWARD -> "input";
        };
    }

    /**
     * The task of a model directory's structure.
     *
     * @param structure the model.json structure
     * @return classify, generate or translate
     */
    public static Task of(dev.panamarnn.app.ModelConfig.Structure structure) {
        return switch (structure) {
            case N_VS_1 -> CLASSIFY;
            case LM -> GENERATE;
            case SEQ2SEQ -> TRANSLATE;
        };
    }

    /** @return whether the task reads text (a string column) rather than numbers */
    boolean readsText(boolean takesTokens) {
        return this == GENERATE || this == TRANSLATE || (this == CLASSIFY && takesTokens);
    }

    private static DataType matrix() {
        return DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false);
    }

    private static StructField field(String name, DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }
}
