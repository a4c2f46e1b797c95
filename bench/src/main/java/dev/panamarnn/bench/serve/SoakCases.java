package dev.panamarnn.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panamarnn.app.CaseFile;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The server soak's requests, each with the answer computed beforehand in this process by the library on the
 * same model directories (plain models, greedy, the default backend): what the server must answer, whatever
 * requests it batches a request with. Five kinds: a translation, a translation of three texts, a greedy
 * generation, the same streamed (NDJSON), a classification of one or three sequences.
 */
final class SoakCases {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Classify logits may differ from the plain model's by this much (as InferenceServerTest allows). */
    static final double LOGIT_TOLERANCE = 1e-4;
    private static final String[] MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August", "September",
            "October", "November", "December"};

    /** The kinds, in the report's order. */
    static final List<String> KINDS = List.of("translate", "translate×3", "generate", "generate stream", "classify");

    /**
     * One request and its expected answer: {@code expected} is the whole JSON response (or, streamed, the final
     * {@code done} line).
     */
    record Case(String kind, String path, byte[] body, JsonNode expected) {}

    final List<List<Case>> byKind = new ArrayList<>();

    private SoakCases() {}

    /** Computes the cases from the models of {@code root/models}. */
    static SoakCases build(Path root, long seed) throws IOException {
        SoakCases c = new SoakCases();
        for (int i = 0; i < KINDS.size(); i++) c.byKind.add(new ArrayList<>());
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Seq2Seq s2s = Seq2Seq.load(root.resolve("models/seq2seq"), null)) {
            List<String> dates = new ArrayList<>();
            for (String d : List.of("3 March 2021", "17 June 1999", "1 January 2000", "29 February 2024", "12/12/1950", "Mar 3, 2021", "3.3.2021", "5 May 1955")) dates.add(d);
            while (dates.size() < 200) dates.add(date(rnd));
            for (String d : dates) {
                ObjectNode e = JSON.createObjectNode().put("translation", s2s.translate(d, 1));
                c.add("translate", "/v1/models/seq2seq/translate", JSON.createObjectNode().put("text", d), e);
            }
            for (int i = 0; i < 100; i++) {
                ObjectNode body = JSON.createObjectNode(), e = JSON.createObjectNode();
                ArrayNode texts = body.putArray("texts"), out = e.putArray("translations");
                for (int k = 0; k < 3; k++) {
                    String d = dates.get(rnd.nextInt(dates.size()));
                    texts.add(d);
                    out.add(s2s.translate(d, 1));
                }
                c.add("translate×3", "/v1/models/seq2seq/translate", body, e);
            }
        }
        try (LanguageModel lm = LanguageModel.load(root.resolve("models/charlm"), null)) {
            Set<String> prompts = new LinkedHashSet<>(List.of("the ", "a ", "my ", "this ", "her ", "one ", "our ", "that ", ""));
            JsonNode cases = JSON.readTree(root.resolve("models/charlm/cases.json").toFile());
            for (String field : List.of("gen_texts", "nn_texts")) {
                for (JsonNode s : cases.get(field)) for (int i = 1; i <= s.asText().length(); i += 3) prompts.add(s.asText().substring(0, i));
            }
            for (String p : prompts) {
                for (int maxNew : new int[] {-1, 12}) {
                    ObjectNode body = JSON.createObjectNode().put("prompt", p);
                    if (maxNew > 0) body.put("max_new", maxNew);
                    String text = lm.generate(p, Decoding.greedy(), maxNew > 0 ? maxNew : lm.config().maxOutputLength());
                    c.add("generate", "/v1/models/charlm/generate", body, JSON.createObjectNode().put("text", text));
                    c.add("generate stream", "/v1/models/charlm/generate", body.deepCopy().put("stream", true),
                            JSON.createObjectNode().put("done", true).put("text", text));
                }
            }
        }
        try (SequenceClassifier cls = SequenceClassifier.load(root.resolve("models/classifier"), null)) {
            float[][][] seqs = CaseFile.read(root.resolve("models/classifier/cases.safetensors")).sequences("inputs", "lengths");
            for (int i = 0; i < 300; i++) {
                int n = i % 2 == 0 ? 1 : 3;
                float[][][] batch = new float[n][][];
                for (int k = 0; k < n; k++) batch[k] = seqs[rnd.nextInt(seqs.length)];
                float[][] logits = cls.logits(batch);
                int[] best = SequenceClassifier.argmax(logits);
                // A label is only checked exactly where no logit within the tolerance could change it.
                boolean clear = true;
                for (float[] l : logits) clear &= margin(l) > 10 * LOGIT_TOLERANCE;
                if (!clear) continue;
                ObjectNode body = JSON.createObjectNode(), e = JSON.createObjectNode();
                ArrayNode in = body.putArray("inputs"), preds = e.putArray("predictions");
                for (int k = 0; k < n; k++) {
                    ArrayNode s = in.addArray();
                    for (float[] step : batch[k]) s.addArray().add(step[0]);
                    ObjectNode p = preds.addObject().put("label", cls.labels().get(best[k]))
                            .put("probability", SequenceClassifier.probabilities(logits[k])[best[k]]);
                    ArrayNode l = p.putArray("logits");
                    for (float v : logits[k]) l.add(v);
                }
                c.add("classify", "/v1/models/classifier/classify", body, e);
            }
        }
        return c;
    }

    private void add(String kind, String path, ObjectNode body, JsonNode expected) throws IOException {
        byKind.get(KINDS.indexOf(kind)).add(new Case(kind, path, JSON.writeValueAsBytes(body), expected));
    }

    /** A date in one of the formats the model was trained on (model.json's description), years 1950..2049. */
    private static String date(SplittableRandom r) {
        int y = 1950 + r.nextInt(100), m = 1 + r.nextInt(12);
        int days = m == 2 ? (y % 4 == 0 ? 29 : 28) : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
        int d = 1 + r.nextInt(days);
        String month = MONTHS[m - 1], mon = month.substring(0, 3);
        return switch (r.nextInt(6)) {
            case 0 -> d + " " + month + " " + y;
            case 1 -> String.format(Locale.ROOT, "%02d/%02d/%d", d, m, y);
            case 2 -> month + " " + d + ", " + y;
            case 3 -> d + " " + mon + " " + y;
            case 4 -> mon + " " + d + ", " + y;
            default -> d + "." + m + "." + y;
        };
    }

    private static double margin(float[] l) {
        double a = Double.NEGATIVE_INFINITY, b = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            if (v > a) {
                b = a;
                a = v;
            } else if (v > b) {
                b = v;
            }
        }
        return a - b;
    }

    /**
     * Whether a response body is the expected answer: for text, the same JSON (exact strings); for
     * classify, the same labels and logits and probabilities within {@link #LOGIT_TOLERANCE}; for a stream,
     * every line a token, the last {@code done} with the expected text, the tokens adding up to it.
     *
     * @return null when right, else what is wrong (one line)
     */
    static String check(Case c, String body) {
        try {
            if (c.kind().equals("generate stream")) {
                String[] lines = body.strip().split("\n");
                StringBuilder tokens = new StringBuilder();
                for (int i = 0; i < lines.length - 1; i++) {
                    JsonNode t = JSON.readTree(lines[i]);
                    if (t.size() != 1 || !t.has("token")) return "line " + (i + 1) + " is not a token: " + lines[i];
                    tokens.append(t.get("token").asText());
                }
                JsonNode done = JSON.readTree(lines[lines.length - 1]);
                if (!done.equals(c.expected())) return "last line " + lines[lines.length - 1] + ", expected " + c.expected();
                if (!tokens.toString().equals(c.expected().get("text").asText())) return "tokens add up to '" + tokens + "', expected " + c.expected();
                return null;
            }
            JsonNode got = JSON.readTree(body);
            if (!c.kind().equals("classify")) return got.equals(c.expected()) ? null : "got " + body + ", expected " + c.expected();
            JsonNode gp = got.get("predictions"), ep = c.expected().get("predictions");
            if (got.size() != 1 || gp == null || gp.size() != ep.size()) return "got " + body + ", expected " + c.expected();
            for (int k = 0; k < ep.size(); k++) {
                JsonNode g = gp.get(k), e = ep.get(k);
                if (!g.path("label").equals(e.get("label"))) return "prediction " + k + ": label " + g.path("label") + ", expected " + e.get("label");
                if (Math.abs(g.path("probability").asDouble() - e.get("probability").asDouble()) > LOGIT_TOLERANCE) return "prediction " + k + ": probability " + g.path("probability");
                if (g.path("logits").size() != e.get("logits").size()) return "prediction " + k + ": logits " + g.path("logits");
                for (int j = 0; j < e.get("logits").size(); j++) {
                    if (Math.abs(g.get("logits").get(j).asDouble() - e.get("logits").get(j).asDouble()) > LOGIT_TOLERANCE) {
                        return "prediction " + k + ": logits " + g.get("logits") + ", expected " + e.get("logits");
                    }
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "unreadable body (" + e + "): " + body;
        }
    }
}
