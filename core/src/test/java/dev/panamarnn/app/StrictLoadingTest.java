package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.io.InMemorySafeTensors;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import dev.panamarnn.nn.Embedding;
import dev.panamarnn.nn.Linear;
import dev.panamarnn.nn.LoadOptions;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import dev.panamarnn.nn.WeightFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, "nothing is silently ignored": a tensor a loader would read, or one named like a layer's, that
 * is not floating-point is an error naming it, never a tensor the loader behaves as if it had not seen.
 */
class StrictLoadingTest {
    static final Backend B = Backend.get("scalar");

    /** A 2-layer LSTM (input 2, hidden 3) under {@code rnn.}, its layer-1 tensors of type {@code l1}. */
    static String lstm2(String l1) {
        return """
                rnn.weight_ih_l0 F32 12,2
                rnn.weight_hh_l0 F32 12,3
                rnn.bias_ih_l0 F32 12
                rnn.bias_hh_l0 F32 12
                rnn.weight_ih_l1 %1$s 12,3
                rnn.weight_hh_l1 %1$s 12,3
                rnn.bias_ih_l1 %1$s 12
                rnn.bias_hh_l1 %1$s 12
                """.formatted(l1);
    }

    static SafeTensors file(String recipe) throws IOException {
        return InMemorySafeTensors.parse("w.safetensors", WeightsRecipe.parse(recipe).safetensors());
    }

    static IllegalArgumentException refuses(Executable load, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, load);
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void int8SecondLayerIsAnErrorNotAOneLayerLstm() throws IOException {
        try (SafeTensors st = file(lstm2("I8"))) {
            refuses(() -> RecurrentLayer.load(st.asStateDict(), "rnn.", null, false, B).close(),
                    "tensor 'rnn.weight_ih_l1' is I8, expected a floating-point type");
        }
        try (SafeTensors st = file(lstm2("F16")); RecurrentLayer l = RecurrentLayer.load(st.asStateDict(), "rnn.", null, false, B)) {
            assertEquals(2, l.spec().numLayers()); // the same file with float16 layer-1 tensors loads whole
        }
        // Beyond the layers a file has, a layer's name is an error whatever its type.
        try (SafeTensors st = file(lstm2("F32") + "rnn.weight_hh_l3 I8 12,3\n")) {
            refuses(() -> RecurrentLayer.load(st.asStateDict(), "rnn.", null, false, B).close(), "does not use: 'rnn.weight_hh_l3'");
        }
    }

    @Test
    void int32BiasesAreErrorsNotDropped() throws IOException {
        String gru = "weight_ih_l0 F32 9,2\nweight_hh_l0 F32 9,3\nbias_ih_l0 I32 9\nbias_hh_l0 I32 9\n";
        try (SafeTensors st = file(gru)) {
            refuses(() -> RecurrentLayer.load(st.asStateDict(), "", null, false, B).close(), "tensor 'bias_ih_l0' is I32");
        }
        try (SafeTensors st = file("fc.weight F32 4,3\nfc.bias I32 4\n")) {
            refuses(() -> Linear.load(st.asStateDict(), "fc.", B).close(), "tensor 'fc.bias' is I32");
        }
        try (SafeTensors st = file("embed.weight I64 4,3\n")) {
            refuses(() -> Embedding.load(st.asStateDict(), "embed.").close(), "tensor 'embed.weight' is I64");
        }
        try (SafeTensors st = file("cell.weight_ih F32 9,2\ncell.weight_hh F32 9,3\ncell.bias_ih U8 9\ncell.bias_hh F32 9\n")) {
            refuses(() -> dev.panamarnn.nn.RecurrentCell.load(st.asStateDict(), "cell.", null, B).close(), "tensor 'cell.bias_ih' is U8");
        }
    }

    @Test
    void int8LayerOfAnApplicationModelIsAnError() throws IOException {
        // The fuzz test's lm config (1-layer LSTM) over a file whose extra layer is int8: before, the model loaded
        // and the int8 tensors were never looked at.
        String lm = lstm2("F32").lines().limit(4).reduce("", (a, b) -> a + b + "\n")
                + "rnn.weight_ih_l1 I8 12,3\nrnn.weight_hh_l1 I8 12,3\nembed.weight F32 4,2\nfc.weight F32 4,3\nfc.bias F32 4\n";
        ModelConfig cfg = ModelConfig.parse(Path.of("lm", "model.json"), WeightsFuzzTest.CONFIGS.get("lm").getBytes(StandardCharsets.UTF_8));
        try (SafeTensors st = file(lm)) {
            StateDict sd = st.asStateDict();
            refuses(() -> LanguageModel.load(cfg, sd, B).close(), "lm/model.json", "'rnn.weight_ih_l1' is I8");
        }
        try (SafeTensors st = file(lm.replace(" I8 ", " F32 "))) { // as float32, a second layer without its biases
            refuses(() -> LanguageModel.load(cfg, st.asStateDict(), B).close(), "missing tensor 'rnn.bias_ih_l1' of shape [12]");
        }
        try (SafeTensors st = file(lm.lines().filter(l -> !l.contains("_l1")).reduce("", (a, b) -> a + b + "\n"));
             LanguageModel m = LanguageModel.load(cfg, st.asStateDict(), B)) {
            assertEquals(1, m.logits(new int[][] {{0, 2}}).length);
        }
    }

    @Test
    void unexpectedKeysUnderAPrefixAreErrorsAndLenientLoadingListsThem() throws IOException {
        String recipe = """
                embed.weight F32 4,2
                embed.weight_orig F32 4,2
                fc.weight F32 4,3
                fc.bias F32 4
                fc.scale I64 1
                rnn.weight_ih_l0 F32 9,2
                rnn.weight_hh_l0 F32 9,3
                rnn.num_batches_tracked I64 -
                rnn.encoder.weight F32 3
                decoder.fc.weight F32 2,2
                """;
        try (SafeTensors st = file(recipe)) {
            StateDict sd = st.asStateDict();
            // Strict (the default): named, whatever their type; tensors outside the prefix are someone else's.
            refuses(() -> Embedding.load(sd, "embed.").close(), "nn.Embedding under the prefix 'embed.' does not use this tensor: 'embed.weight_orig'");
            refuses(() -> Linear.load(sd, "fc.", B).close(), "nn.Linear under the prefix 'fc.' does not use this tensor: 'fc.scale'");
            refuses(() -> RecurrentLayer.load(sd, "rnn.", null, false, B).close(),
                    "does not use these 2 tensors: 'rnn.encoder.weight', 'rnn.num_batches_tracked' (unexpected keys");
            // Lenient: loaded, and the skipped names reported, sorted.
            List<List<String>> ignored = new ArrayList<>();
            LoadOptions lenient = LoadOptions.lenient(ignored::add);
            try (Embedding e = Embedding.load(sd, "embed.", lenient); Linear l = Linear.load(sd, "fc.", B, lenient);
                 RecurrentLayer r = RecurrentLayer.load(sd, "rnn.", null, false, B, WeightFormat.F32, lenient)) {
                assertEquals(2, e.dim());
                assertTrue(l.hasBias());
                assertEquals(Mode.GRU, r.spec().mode());
            }
            assertEquals(List.of(List.of("embed.weight_orig"), List.of("fc.scale"), List.of("rnn.encoder.weight", "rnn.num_batches_tracked")), ignored);
        }
    }

    @Test
    void longListsOfUnexpectedKeysAreCut() throws IOException {
        StringBuilder r = new StringBuilder("weight F32 2,2\n");
        for (int k = 0; k < 40; k++) r.append("extra.").append(k).append("\u001b[2J F32 1\n");
        try (SafeTensors st = file(r.toString())) {
            var e = refuses(() -> Linear.load(st.asStateDict(), "", B).close(), "does not use these 40 tensors: 'extra.0\\u001b[2J', ", ", … (30 more)");
            assertTrue(e.getMessage().length() < 600, e.getMessage());
            assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20), e.getMessage());
        }
    }

    /**
     * A copy of model {@code name} in {@code dir}: its model.json, and its weights without {@code drop}, with
     * {@code asInt32} rounded to I32, plus whatever {@code extra} adds.
     */
    static Path copyModel(String name, Path dir, Set<String> drop, Set<String> asInt32, Consumer<SafeTensorsWriter> extra) throws IOException {
        Path m = Files.createDirectories(dir.resolve(name));
        Files.copy(ModelCases.model(name).resolve("model.json"), m.resolve("model.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensors st = SafeTensors.open(ModelCases.model(name).resolve("weights.safetensors"))) {
            for (String n : st.names()) {
                if (drop.contains(n)) continue;
                float[] v = st.toFloatArray(n);
                if (asInt32.contains(n)) {
                    int[] iv = new int[v.length];
                    for (int k = 0; k < v.length; k++) iv[k] = Math.round(v[k]);
                    w.add(n, iv, st.info(n).shape());
                } else {
                    w.add(n, v, st.info(n).shape());
                }
            }
        }
        extra.accept(w);
        w.write(m.resolve("weights.safetensors"));
        return m;
    }

    @Test
    void applicationModelsUseEveryTensorOfTheirFileOrSayWhatTheyIgnored(@TempDir Path dir) throws IOException {
        Path lm = copyModel("charlm", dir, Set.of(), Set.of(),
                w -> w.add("rnn.weight_ih_l0_orig", new float[4], 2, 2).add("optimizer.step", new long[] {7}));
        refuses(() -> LanguageModel.load(lm, B).close(), lm.resolve("model.json") + ": the language model (embedding 'embed.', rnn 'rnn.', head 'fc.')"
                + " does not use these 2 tensors: 'optimizer.step', 'rnn.weight_ih_l0_orig' (unexpected keys");
        List<List<String>> ignored = new ArrayList<>();
        try (LanguageModel lenient = LanguageModel.load(lm, B, LoadOptions.lenient(ignored::add));
             LanguageModel original = LanguageModel.load(ModelCases.model("charlm"), B)) {
            assertEquals(List.of(List.of("optimizer.step", "rnn.weight_ih_l0_orig")), ignored);
            assertEquals(original.generate("the", Decoding.greedy(), 30), lenient.generate("the", Decoding.greedy(), 30));
        }

        Path s2s = copyModel("seq2seq", dir, Set.of(), Set.of(), w -> w.add("decoder.attention.weight", new float[4], 2, 2));
        refuses(() -> Seq2Seq.load(s2s, B).close(), "the seq2seq model (encoder embedding 'encoder.embed.', encoder rnn 'encoder.rnn.', "
                + "decoder embedding 'decoder.embed.', decoder rnn 'decoder.rnn.', decoder head 'decoder.out.') does not use this tensor: 'decoder.attention.weight'");
        ignored.clear();
        Seq2Seq.load(s2s, B, LoadOptions.lenient(ignored::add)).close();
        assertEquals(List.of(List.of("decoder.attention.weight")), ignored);

        Path cls = copyModel("classifier", dir, Set.of(), Set.of(), w -> w.add("rnn.weight_ih_l0_reverse_orig", new float[1], 1));
        refuses(() -> SequenceClassifier.load(cls, B).close(), "the classifier (rnn 'rnn.', head 'fc.') does not use this tensor: 'rnn.weight_ih_l0_reverse_orig'");
    }

    @Test
    void aModelWithAnInt32BiasOrAMissingTensorIsRefusedByName(@TempDir Path dir) throws IOException {
        Path cls = copyModel("classifier", dir.resolve("a"), Set.of(), Set.of("fc.bias"), w -> {});
        refuses(() -> SequenceClassifier.load(cls, B).close(), cls.resolve("model.json") + ": classifier \"head\": tensor 'fc.bias' is I32, expected a floating-point type");
        Path lm = copyModel("charlm", dir.resolve("b"), Set.of(), Set.of("rnn.bias_hh_l1"), w -> {});
        refuses(() -> LanguageModel.load(lm, B).close(), "language model \"rnn\" (prefix 'rnn.'): tensor 'rnn.bias_hh_l1' is I32");
        Path missing = copyModel("charlm", dir.resolve("c"), Set.of("rnn.bias_hh_l1"), Set.of(), w -> {});
        refuses(() -> LanguageModel.load(missing, B).close(), "language model \"rnn\" (prefix 'rnn.'): missing tensor 'rnn.bias_hh_l1' of shape [512]");
    }
}
