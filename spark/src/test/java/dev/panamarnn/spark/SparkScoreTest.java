package dev.panamarnn.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.Backend;
import dev.panamarnn.FixtureFiles;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark in local mode (two task threads, one JVM: the driver is the executor): every task and input form,
 * compared row by row with the library's own batch call (what the CLI runs) and with PyTorch's outputs in the
 * model directories' cases; the model loaded once per JVM; the command; and the errors.
 *
 * <p>Tolerances: texts and labels must be equal. Logits and layer outputs are float32 computed in batches
 * of a different size than the single call (a row's GEMM sums can run in another order), so they are
 * compared within 1e-5 × (1 + |value|) of the library's and of PyTorch's.
 */
class SparkScoreTest {
    static final Path MODELS = Path.of("..", "models").toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();
    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("panama-rnn spark test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static JsonNode cases(String model) throws IOException {
        return JSON.readTree(MODELS.resolve(model).resolve("cases.json").toFile());
    }

    static Dataset<Row> texts(String column, List<String> texts, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create((long) i, texts.get(i)));
        StructType schema = new StructType().add("id", DataTypes.LongType, false).add(column, DataTypes.StringType, true);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    /** The scored rows by id. */
    static Map<Long, Row> byId(Dataset<Row> scored) {
        Map<Long, Row> m = new HashMap<>();
        for (Row r : scored.collectAsList()) m.put(r.getLong(r.fieldIndex("id")), r);
        return m;
    }

    @Test
    void translatesLikeTheLibraryAndPyTorchLoadingTheModelOncePerJvm() throws IOException {
        JsonNode c = cases("seq2seq");
        List<String> src = new ArrayList<>(), want = new ArrayList<>();
        c.get("sources").forEach(n -> src.add(n.asText()));
        c.get("greedy").forEach(n -> want.add(n.asText()));
        String[] library;
        try (Seq2Seq m = Seq2Seq.load(MODELS.resolve("seq2seq"), Backend.get("scalar"))) {
            int[][] ids = new int[src.size()][];
            for (int i = 0; i < ids.length; i++) ids[i] = m.sourceVocabulary().encode(src.get(i));
            int[][] out = m.greedy(ids, m.maxOutputLength()); // the CLI's call: every text in one batch
            library = new String[out.length];
            for (int i = 0; i < out.length; i++) library[i] = m.targetVocabulary().decode(out[i]);
        }
        // a backend no other test uses, so that this JVM has not loaded this model yet
        ScoreSpec spec = ScoreSpec.model(MODELS.resolve("seq2seq").toString()).withBackend("scalar").withBatchSize(48);
        Scoring.Counters counters = Scoring.Counters.register(spark);
        Dataset<Row> in = texts("text", src, 5);
        Map<Long, Row> got = byId(Scoring.score(in, spec, counters));
        assertEquals(src.size(), got.size());
        for (int i = 0; i < src.size(); i++) {
            Row r = got.get((long) i);
            assertEquals(src.get(i), r.getString(1));
            assertEquals(library[i], r.getString(2), "row " + i + " vs the library");
            assertEquals(want.get(i), r.getString(2), "row " + i + " vs PyTorch");
        }
        assertEquals(src.size(), counters.rows().value());
        assertEquals(1, counters.loads().value(), "5 partitions on 2 task threads, one load");
        Scoring.Counters again = Scoring.Counters.register(spark);
        Scoring.score(in, spec, again).count();
        assertEquals(0, again.loads().value(), "the second job reuses this JVM's model");
    }

    @Test
    void classifiesFeatureSequencesLikeTheLibraryAndPyTorch() throws IOException {
        float[] x, expected;
        long[] len;
        int T;
        try (SafeTensors st = SafeTensors.open(MODELS.resolve("classifier/cases.safetensors"))) {
            x = st.toFloatArray("inputs");
            len = st.toLongArray("lengths");
            expected = st.toFloatArray("expected_logits");
            T = st.info("inputs").shape()[1];
        }
        int n = 200, K = 4;
        float[][][] seqs = new float[n][][];
        List<Row> rows = new ArrayList<>(), series = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            seqs[i] = new float[(int) len[i]][1];
            float[][] boxed = new float[(int) len[i]][1];
            double[] flat = new double[(int) len[i]];
            for (int t = 0; t < len[i]; t++) {
                seqs[i][t][0] = boxed[t][0] = x[i * T + t];
                flat[t] = x[i * T + t];
            }
            List<float[]> steps = List.of(boxed);
            rows.add(RowFactory.create((long) i, steps));
            series.add(RowFactory.create((long) i, flat));
        }
        float[][] library;
        List<String> labels;
        try (SequenceClassifier c = SequenceClassifier.load(MODELS.resolve("classifier"), Backend.defaultBackend())) {
            library = c.logits(seqs);
            labels = c.labels();
        }
        StructType nested = new StructType().add("id", DataTypes.LongType).add("features",
                DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        StructType flat = new StructType().add("id", DataTypes.LongType).add("values", DataTypes.createArrayType(DataTypes.DoubleType));
        ScoreSpec spec = ScoreSpec.model(MODELS.resolve("classifier").toString()).withBatchSize(32);
        Map<Long, Row> a = byId(Scoring.score(spark.createDataFrame(rows, nested).repartition(3), spec));
        // one feature per step: a plain array of doubles is read as the sequence
        Map<Long, Row> b = byId(Scoring.score(spark.createDataFrame(series, flat).repartition(2), spec.withColumn("values")));
        int[] best = SequenceClassifier.argmax(library);
        for (Map<Long, Row> got : List.of(a, b)) {
            assertEquals(n, got.size());
            for (int i = 0; i < n; i++) {
                Row r = got.get((long) i);
                assertEquals(labels.get(best[i]), r.getString(2), "row " + i);
                assertEquals(SequenceClassifier.probabilities(library[i])[best[i]], r.getFloat(3), 1e-5f, "row " + i);
                List<Float> logits = r.getList(4);
                for (int k = 0; k < K; k++) {
                    close(library[i][k], logits.get(k), "row " + i + " logit " + k + " vs the library");
                    close(expected[i * K + k], logits.get(k), "row " + i + " logit " + k + " vs PyTorch");
                }
            }
        }
    }

    @Test
    void generatesLikeTheLibraryAndPyTorch() throws IOException {
        JsonNode c = cases("charlm");
        List<String> prompts = new ArrayList<>(), want = new ArrayList<>();
        c.get("gen_prompts").forEach(p -> prompts.add(p.asText()));
        c.get("gen_texts").forEach(p -> want.add(p.asText()));
        List<String> library = new ArrayList<>();
        try (LanguageModel lm = LanguageModel.load(MODELS.resolve("charlm"), Backend.defaultBackend())) {
            int[][] p = new int[prompts.size()][];
            for (int i = 0; i < p.length; i++) p[i] = lm.prompt(prompts.get(i));
            int[][] g = lm.generate(p, Decoding.greedy(), lm.config().maxOutputLength());
            for (int i = 0; i < p.length; i++) library.add(prompts.get(i) + lm.vocabulary().decode(g[i]));
        }
        // PyTorch's cases run to 60 new tokens (the file's gen_max_tokens); the library's call above to the model's max
        int max = 60;
        Map<Long, Row> got = byId(Scoring.score(texts("prompt", prompts, 3),
                ScoreSpec.model(MODELS.resolve("charlm").toString()).withBatchSize(3).withMaxTokens(max)));
        for (int i = 0; i < prompts.size(); i++) assertEquals(want.get(i), got.get((long) i).getString(2), "prompt " + i + " vs PyTorch");
        Map<Long, Row> byModelMax = byId(Scoring.score(texts("prompt", prompts, 2), ScoreSpec.model(MODELS.resolve("charlm").toString())));
        for (int i = 0; i < prompts.size(); i++) assertEquals(library.get(i), byModelMax.get((long) i).getString(2), "prompt " + i + " vs the library");
    }

    @Test
    void forwardsALayerLikePyTorchWithEachRowsLength() throws IOException {
        Path fixture = FixtureFiles.file("/fixtures/layers/", "layer_lstm_l1_bi_len_i5h7t9b4.safetensors");
        Path f = weightsOnly(fixture);
        float[] x, y, hn, cn;
        long[] len;
        int T, B, I, O, H, LD;
        try (SafeTensors st = SafeTensors.open(fixture)) {
            int[] s = st.info("input").shape();
            T = s[0];
            B = s[1];
            I = s[2];
            x = st.toFloatArray("input");
            len = st.toLongArray("lengths");
            y = st.toFloatArray("expected_output");
            O = st.info("expected_output").shape()[2];
            hn = st.toFloatArray("expected_h_n");
            cn = st.toFloatArray("expected_c_n");
            LD = st.info("expected_h_n").shape()[0];
            H = st.info("expected_h_n").shape()[2];
        }
        List<Row> rows = new ArrayList<>();
        for (int b = 0; b < B; b++) {
            List<float[]> steps = new ArrayList<>();
            for (int t = 0; t < len[b]; t++) {
                float[] v = new float[I];
                System.arraycopy(x, (t * B + b) * I, v, 0, I);
                steps.add(v);
            }
            rows.add(RowFactory.create((long) b, steps));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("input",
                DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        Map<Long, Row> got = byId(Scoring.score(spark.createDataFrame(rows, schema).repartition(2),
                ScoreSpec.layer(f.toString(), "lstm").withBatchSize(3)));
        for (int b = 0; b < B; b++) {
            Row r = got.get((long) b);
            List<?> out = r.getList(2), h = r.getList(3), c = r.getList(4);
            assertEquals(len[b], out.size(), "row " + b + ": one output per valid step");
            for (int t = 0; t < len[b]; t++) {
                List<Float> step = scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Float>) out.get(t));
                for (int k = 0; k < O; k++) close(y[(t * B + b) * O + k], step.get(k), "output[" + t + "][" + b + "][" + k + "]");
            }
            for (int l = 0; l < LD; l++) {
                List<Float> hl = scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Float>) h.get(l));
                List<Float> cl = scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Float>) c.get(l));
                for (int k = 0; k < H; k++) {
                    close(hn[(l * B + b) * H + k], hl.get(k), "h_n[" + l + "][" + b + "][" + k + "]");
                    close(cn[(l * B + b) * H + k], cl.get(k), "c_n[" + l + "][" + b + "][" + k + "]");
                }
            }
        }
        try (RecurrentLayer layer = RecurrentLayer.load(f)) {
            assertTrue(layer.spec().bidirectional());
        }
    }

    @Test
    void theCommandReadsTextLinesAndWritesJsonLinesEqualToTheLibrary() throws Exception {
        JsonNode c = cases("seq2seq");
        List<String> src = new ArrayList<>();
        c.get("sources").forEach(n -> src.add(n.asText()));
        List<String> lines = src.subList(0, 120);
        Path in = tmp.resolve("dates.txt"), out = tmp.resolve("out.jsonl");
        Files.write(in, lines, StandardCharsets.UTF_8);
        String[] args = {"--model", MODELS.resolve("seq2seq").toString(), "--input", in.toString(), "--output", out.toString(), "--partitions", "3", "--ship"};
        Run r = run(args);
        assertEquals(0, r.status, r.err);
        assertTrue(r.out.startsWith("scored 120 rows in "), r.out);
        List<String> got = new ArrayList<>();
        Map<String, String> translation = new HashMap<>();
        try (var parts = Files.list(out)) {
            for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                for (String line : Files.readAllLines(p)) {
                    JsonNode j = JSON.readTree(line);
                    got.add(j.get("text").asText());
                    translation.put(j.get("text").asText(), j.get("translation").asText());
                }
            }
        }
        assertEquals(lines, got, "3 partitions, written in the input's order");
        try (Seq2Seq m = Seq2Seq.load(MODELS.resolve("seq2seq"), Backend.defaultBackend())) {
            for (String s : lines) assertEquals(m.translate(s, 1), translation.get(s), s);
        }
        Run again = run(args);
        assertEquals(1, again.status);
        assertTrue(again.err.contains("exists; --overwrite replaces it"), again.err);
    }

    @Test
    void badInputIsOneLineNamingTheColumnOrTheRow() throws Exception {
        Path in = tmp.resolve("bad.txt");
        Files.write(in, List.of("3 March 2021", "3 März 2021", "4 May 1999"), StandardCharsets.UTF_8);
        Run r = run("--model", MODELS.resolve("seq2seq").toString(), "--input", in.toString(), "--output", tmp.resolve("o").toString(), "--partitions", "1");
        assertEquals(1, r.status);
        assertTrue(r.err.matches("(?s)spark-score: partition 0, row 1, column 'text': character 'ä' at position 3 .*not in the vocabulary.*"), r.err);
        assertEquals(1, r.err.strip().lines().filter(l -> l.startsWith("spark-score:")).count(), r.err);

        Dataset<Row> dates = texts("text", List.of("3 March 2021"), 1);
        ScoreSpec s2s = ScoreSpec.model(MODELS.resolve("seq2seq").toString());
        assertEquals("input has no column 'source' (columns: id, text)",
                assertThrows(IllegalArgumentException.class, () -> Scoring.score(dates, s2s.withColumn("source"))).getMessage());
        assertEquals("column 'id': expected string (the model reads text), got bigint",
                assertThrows(IllegalArgumentException.class, () -> Scoring.score(dates, s2s.withColumn("id"))).getMessage());
        Dataset<Row> clash = dates.withColumn("translation", dates.col("text"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Scoring.score(clash, s2s)).getMessage()
                .startsWith("input already has a column 'translation'"));
        ScoreSpec cls = ScoreSpec.model(MODELS.resolve("classifier").toString());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Scoring.score(dates, cls.withColumn("text"))).getMessage()
                .startsWith("column 'text': expected array<array<number>> (steps × 1 features) or array<number>"));
        // a null sequence, and a step of the wrong width, in a task
        List<Row> rows = List.of(RowFactory.create(0L, List.of(new float[] {1f})), RowFactory.create(1L, List.of(new float[] {1f, 2f})));
        StructType nested = new StructType().add("id", DataTypes.LongType).add("features", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        Exception e = assertThrows(Exception.class, () -> Scoring.score(spark.createDataFrame(rows, nested).coalesce(1), cls).collectAsList());
        assertEquals("partition 0, row 1, column 'features': step 0 has 2 features, the model reads 1", SparkScore.reason(e));

        assertEquals(1, run("--model", tmp.resolve("missing").toString(), "--input", in.toString(), "--output", tmp.resolve("o2").toString()).status);
        assertEquals(2, run("--input", in.toString(), "--output", tmp.resolve("o3").toString()).status, "--model or --layer is required");
        Run layerText = run("--layer", weightsOnly(FixtureFiles.file("/fixtures/layers/", "layer_lstm_l1_bi_len_i5h7t9b4.safetensors")).toString(),
                "--input", in.toString(), "--output", tmp.resolve("o4").toString());
        assertEquals(1, layerText.status);
        assertTrue(layerText.err.contains("text lines hold text, and a layer reads numbers"), layerText.err);
    }

    /** The fixture's state_dict alone (the file also holds the inputs and PyTorch's outputs). */
    Path weightsOnly(Path fixture) throws IOException {
        Path out = tmp.resolve("layer.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensors st = SafeTensors.open(fixture)) {
            for (String n : st.names()) {
                if (n.startsWith("weight_") || n.startsWith("bias_")) w.add(n, st.toFloatArray(n), st.info(n).shape());
            }
        }
        w.write(out);
        return out;
    }

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        PrintStream o = System.out, e = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = SparkScore.run(args);
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    static void close(float want, float got, String what) {
        assertEquals(want, got, 1e-5f * (1 + Math.abs(want)), what);
    }

    @Test
    void specRejectsOutOfRangeOptions() {
        assertThrows(IllegalArgumentException.class, () -> ScoreSpec.model("m").withBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> ScoreSpec.model("m").withBeam(0));
        assertArrayEquals(new Object[] {"m", 64}, new Object[] {ScoreSpec.model("m").model(), ScoreSpec.model("m").batchSize()});
    }
}
