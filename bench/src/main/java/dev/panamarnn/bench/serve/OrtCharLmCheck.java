package dev.panamarnn.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that ONNX Runtime's character LM ({@link OrtCharLm}) answers what ours does before the load test
 * compares their speed: for a few hundred prompts (the load test's, the model's test prompts, every single
 * character, every prefix of the test sentences) and several {@code max_new}, ours
 * ({@code LanguageModel.generate}, greedy, the default backend) and the peer's response body must give the
 * same text; for the prompts of {@code greedy.json} PyTorch's own greedy text must match too. Prints the counts
 * and every difference; exit status 1 on any difference. {@code scripts/bench serve} runs it first.
 *
 * <p>Arguments: {@code ROOT ORT_DIR} (the checkout, and the directory of {@code make_charlm_ort.py}'s files).
 */
public final class OrtCharLmCheck {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OrtCharLmCheck() {}

    /**
     * Runs the check.
     *
     * @param args repository root, the ONNX directory
     * @throws Exception if a model cannot be loaded
     */
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]), dir = Path.of(args[1]);
        JsonNode greedy = JSON.readTree(dir.resolve("greedy.json").toFile());
        JsonNode cases = JSON.readTree(root.resolve("models/charlm/cases.json").toFile());
        int checked = 0, torchChecked = 0;
        List<String> diffs = new ArrayList<>();
        try (LanguageModel lm = LanguageModel.load(root.resolve("models/charlm"), null);
             OrtCharLm ort = new OrtCharLm("charlm", dir, 1, 1)) {
            Set<String> prompts = new LinkedHashSet<>();
            for (JsonNode c : greedy.get("cases")) prompts.add(c.get("prompt").asText());
            for (JsonNode p : cases.get("gen_prompts")) prompts.add(p.asText());
            for (String t : lm.vocabulary().tokens()) if (t.codePointCount(0, t.length()) == 1) prompts.add(t);
            for (String field : List.of("gen_texts", "nn_texts")) {
                for (JsonNode s : cases.get(field)) for (int i = 1; i <= s.asText().length(); i++) prompts.add(s.asText().substring(0, i));
            }
            int defaultMax = lm.config().maxOutputLength();
            for (String p : prompts) {
                for (int maxNew : new int[] {defaultMax, 0, 1, 7, 200}) {
                    if (maxNew != defaultMax && p.length() > 3) continue; // the other lengths on the short prompts
                    String ours = lm.generate(p, Decoding.greedy(), maxNew);
                    String body = "{\"prompt\":" + JSON.writeValueAsString(p) + (maxNew == defaultMax ? "" : ",\"max_new\":" + maxNew) + "}";
                    String theirs = JSON.readTree(ort.prepare(body.getBytes(StandardCharsets.UTF_8)).call()).get("text").asText();
                    checked++;
                    if (!ours.equals(theirs)) diffs.add("prompt " + JSON.writeValueAsString(p) + " max_new " + maxNew + ": ours " + JSON.writeValueAsString(ours)
                            + ", ONNX Runtime " + JSON.writeValueAsString(theirs));
                }
            }
            for (JsonNode c : greedy.get("cases")) {
                String p = c.get("prompt").asText(), torch = c.get("text").asText();
                String ours = lm.generate(p, Decoding.greedy(), greedy.get("max_new").asInt());
                torchChecked++;
                if (!ours.equals(torch)) diffs.add("prompt " + JSON.writeValueAsString(p) + ": ours " + JSON.writeValueAsString(ours) + ", PyTorch "
                        + JSON.writeValueAsString(torch) + " (PyTorch's smallest top-2 margin " + c.get("min_top2_margin").asDouble() + ")");
            }
        }
        diffs.forEach(d -> System.out.println("DIFFERENT " + d));
        System.out.printf("charlm greedy: %d generations, ours = ONNX Runtime in %d; %d prompts, ours = PyTorch in %d%n", checked,
                checked - diffs.stream().filter(d -> d.contains("ONNX Runtime")).count(), torchChecked,
                torchChecked - diffs.stream().filter(d -> d.contains("PyTorch")).count());
        System.exit(diffs.isEmpty() ? 0 : 1);
    }
}
