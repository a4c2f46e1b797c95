package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.io.InMemorySafeTensors;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.Embedding;
import dev.panamarnn.nn.Linear;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Coverage-guided fuzzing of weight loading: hostile but well-formed safetensors files (every tensor's
 * bytes match its shape; the names, shapes and dtypes are what the fuzzer controls) loaded as PyTorch
 * state dicts by {@link RecurrentLayer#load}, {@link Embedding#load}, {@link Linear#load} and the three
 * application models against small fixed configs.
 *
 * <p>The input is a {@link WeightsRecipe} (text: one tensor per line, {@code name dtype d0,d1,…}, plus
 * optional {@code mode}, {@code prefix}, {@code batch_first} and {@code model} lines), so the fuzzer
 * mutates names and shapes instead of breaking the file's framing, which {@code
 * dev.panamarnn.io.SafeTensorsFuzzTest} covers. The recipe becomes a real file's bytes, validated by the
 * same parser as {@link SafeTensors#open}.
 *
 * <p>The contract: every loader either refuses with an {@link IllegalArgumentException} (exactly that
 * class) with a message, or gives an object that runs a tiny forward pass without any exception.
 */
class WeightsFuzzTest {
    private static final Backend BACKEND = Backend.get("scalar");

    @FuzzTest(maxDuration = "10s")
    void load(byte[] input) throws IOException {
        WeightsRecipe r = WeightsRecipe.parse(new String(input, StandardCharsets.UTF_8));
        // A well-formed file by construction: the reader must accept it.
        try (SafeTensors st = InMemorySafeTensors.parse("weights.safetensors", r.safetensors())) {
            StateDict sd = st.asStateDict();
            loadLayer(sd, r);
            if (r.hasPrefix("embed.")) clear(() -> { try (Embedding e = Embedding.load(sd, "embed.")) { lookup(e); } });
            if (r.hasPrefix("fc.")) clear(() -> { try (Linear l = Linear.load(sd, "fc.", BACKEND)) { forward(l); } });
            if (r.model() != null) loadModel(sd, r.model());
        }
    }

    private static void loadLayer(StateDict sd, WeightsRecipe r) {
        clear(() -> {
            try (RecurrentLayer layer = RecurrentLayer.load(sd, r.prefix(), r.mode(), r.batchFirst(), BACKEND);
                 Arena a = Arena.ofConfined()) {
                int in = layer.spec().inputSize();
                Tensor x = Tensor.allocate(a, 2, 1, in);
                x.fill(0.5f);
                RecurrentLayer.Result res = layer.forward(a, x);
                assertEquals(layer.spec().directions() * layer.spec().outputSize(), res.output().dim(2));
            }
        });
    }

    private static void lookup(Embedding e) {
        try (Arena a = Arena.ofConfined()) {
            e.lookup(new int[] {0, e.size() - 1}, Tensor.allocate(a, 2, e.dim()));
        }
    }

    private static void forward(Linear l) {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(a, 1, l.inFeatures());
            x.fill(1f);
            l.forward(a, x);
        }
    }

    /** Small configs whose names and sizes the recipes can match, or miss. */
    static final Map<String, String> CONFIGS = Map.of(
            "classifier", """
                    {"name":"c","structure":"n_vs_1","input_size":2,"labels":["a","b","c"],
                     "rnn":{"prefix":"rnn.","mode":"gru","input_size":2,"hidden_size":3,"num_layers":1,"bidirectional":true},
                     "head":"fc."}""",
            "lm", """
                    {"name":"l","structure":"lm","vocab":["<bos>","<eos>","a","b"],"bos":0,"eos":1,"embedding":"embed.",
                     "rnn":{"prefix":"rnn.","mode":"lstm","input_size":2,"hidden_size":3,"num_layers":1},"head":"fc.",
                     "max_output_length":4}""",
            "seq2seq", """
                    {"name":"s","structure":"seq2seq","input_vocab":["a","b","c"],"output_vocab":["<bos>","<eos>","x"],
                     "bos":0,"eos":1,"max_output_length":4,
                     "encoder":{"embedding":"encoder.embed.","rnn":{"prefix":"encoder.rnn.","mode":"gru","input_size":2,"hidden_size":3,"num_layers":1}},
                     "decoder":{"embedding":"decoder.embed.","rnn":{"prefix":"decoder.rnn.","mode":"gru","input_size":2,"hidden_size":3,"num_layers":1},
                                "head":"decoder.out."}}""");

    private static void loadModel(StateDict sd, String which) throws IOException {
        ModelConfig cfg = ModelConfig.parse(Path.of(which, "model.json"), CONFIGS.get(which).getBytes(StandardCharsets.UTF_8));
        clear(() -> {
            switch (cfg.structure()) {
                case N_VS_1 -> {
                    try (SequenceClassifier c = SequenceClassifier.load(cfg, sd, BACKEND)) {
                        assertEquals(1, c.logits(new float[][][] {{{1f, 0f}, {0f, 1f}}}).length);
                    }
                }
                case LM -> {
                    try (LanguageModel m = LanguageModel.load(cfg, sd, BACKEND)) {
                        assertEquals(1, m.logits(new int[][] {{0, 2}}).length);
                    }
                }
                case SEQ2SEQ -> {
                    try (Seq2Seq m = Seq2Seq.load(cfg, sd, BACKEND)) {
                        assertEquals(1, m.greedy(new int[][] {{0, 1, 2}}, 3).length);
                    }
                }
            }
        });
    }

    /** Runs a load-and-use step: it may refuse with a plain IllegalArgumentException with a message, nothing else. */
    private static void clear(Runnable step) {
        try {
            step.run();
        } catch (IllegalArgumentException e) {
            assertEquals(IllegalArgumentException.class, e.getClass(), () -> "not a plain IllegalArgumentException: " + e);
            assertTrue(e.getMessage() != null && e.getMessage().length() > 10, () -> "unclear message: " + e.getMessage());
        }
    }

}
