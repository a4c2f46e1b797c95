package dev.panamarnn.app;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonFactory;
import dev.panamarnn.Text;
import dev.panamarnn.nn.Mode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model directory's {@code model.json}: which structure, the vocabulary or labels, and where each
 * part's weights sit in {@code weights.safetensors} (state_dict name prefixes). Read strictly: unknown
 * structures, missing keys, wrong types and inconsistent sizes are errors naming the file and the key.
 *
 * <p>{@code pytorch} holds the entries of the file's {@code "pytorch"} object (what training measured, e.g.
 * {@code test_accuracy}) as text: strings as they are, numbers as written, nested values as compact JSON;
 * empty when the file has none. Plain Java types only: no JSON library's types in this API.
 *
 * @param file            the {@code model.json} read, for messages
 * @param name            the model's name
 * @param structure       which application structure
 * @param description     a description, {@code ""} when none
 * @param vocab           the (input) vocabulary's tokens ({@code vocab} or {@code input_vocab}), or null for a classifier of feature vectors
 * @param outputVocab     the output vocabulary's tokens ({@code output_vocab}), else {@code vocab}
 * @param pad             the padding token's id ({@code pad}, default 0)
 * @param bos             the start token's id ({@code bos}), -1 when absent
 * @param eos             the end token's id ({@code eos}), -1 when absent
 * @param inputSize       features per step of a classifier without an embedding ({@code input_size}), else 0
 * @param labels          a classifier's class labels, else null
 * @param main            the parts of a classifier or language model, else null
 * @param encoder         a seq2seq model's encoder, else null
 * @param decoder         a seq2seq model's decoder, else null
 * @param maxOutputLength the most tokens to generate ({@code max_output_length}), 0 for a classifier
 * @param pytorch         the {@code pytorch} object's entries as text (what training recorded: accuracy, PyTorch version), empty when none
 */
public record ModelConfig(Path file, String name, Structure structure, String description, List<String> vocab,
                          List<String> outputVocab, int pad, int bos, int eos, int inputSize, List<String> labels,
                          Part main, Part encoder, Part decoder, int maxOutputLength, Map<String, String> pytorch) {

    /** The application structures. {@code lm} serves both N-vs-N (scoring) and 1-vs-N (generation). */
    public enum Structure {
        /** {@code n_vs_1}: a sequence classifier ({@link SequenceClassifier}). */
        N_VS_1,
        /** {@code lm}: a token language model ({@link LanguageModel}). */
        LM,
        /** {@code seq2seq}: an encoder-decoder ({@link Seq2Seq}). */
        SEQ2SEQ
    }

    /**
     * An embedding (or null), a recurrent layer and a linear head (or null), by state_dict prefix.
     *
     * @param embedding     the embedding's prefix, or null for none
     * @param rnnPrefix     the recurrent layer's prefix ({@code rnn.prefix})
     * @param mode          the recurrent layer's cell type ({@code rnn.mode})
     * @param inputSize     its input features ({@code rnn.input_size})
     * @param hiddenSize    its hidden size ({@code rnn.hidden_size})
     * @param numLayers     its layers ({@code rnn.num_layers})
     * @param bidirectional whether it is bidirectional ({@code rnn.bidirectional}, default false)
     * @param head          the linear head's prefix, or null for none
     */
    public record Part(String embedding, String rnnPrefix, Mode mode, int inputSize, int hiddenSize, int numLayers,
                       boolean bidirectional, String head) {}

    private static final long MAX_BYTES = 16 << 20;
    /** Generation lengths above this are refused (they would only be a mistake or an attack on memory). */
    public static final int MAX_OUTPUT_LENGTH = 1 << 16;
    /**
     * The most tokens one batched generation call may ask for: sequences × maximum length above this (2^24,
     * 64 MiB as ints) is refused, naming both, before anything is allocated ({@code LanguageModel.generate},
     * {@code Seq2Seq.greedy}); split such a batch. Results grow with the tokens actually generated, so a batch
     * that stops early takes less.
     */
    public static final long MAX_GENERATED_TOKENS = 1L << 24;

    /** Refuses, naming the parameters, a batch of {@code sequences} × {@code maxLength} past {@link #MAX_GENERATED_TOKENS}. */
    static void checkGeneratedTokens(String op, String sequences, int count, String maxName, int maxLength) {
        long n = (long) count * maxLength;
        if (n > MAX_GENERATED_TOKENS) {
            throw new IllegalArgumentException(op + ": " + sequences + " (" + count + ") × " + maxName + " (" + maxLength + ") = " + n
                    + " tokens is more than one call may generate (" + MAX_GENERATED_TOKENS + ", ModelConfig.MAX_GENERATED_TOKENS); split them into batches of at most "
                    + Math.max(1, MAX_GENERATED_TOKENS / Math.max(1, maxLength)) + " " + sequences);
        }
    }

    /** {@code a} with room for one more token, grown by doubling up to {@code max}: results take what generation produced. */
    static int[] roomForOne(int[] a, int used, int max) {
        return used < a.length ? a : Arrays.copyOf(a, (int) Math.min(max, Math.max(16L, 2L * a.length)));
    }

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(1 << 20).build())
            .build();

    /**
     * Reads and checks {@code file}.
     *
     * @param file the {@code model.json}
     * @return the config
     * @throws IOException if the file cannot be read ({@code <file>: cannot read model config: no such file},
     *     a {@link java.nio.file.NoSuchFileException} then), or (a plain {@code IOException} whose message
     *     starts with the file's name) if it is not a valid config: not UTF-8 (naming the byte and line), not
     *     JSON, a missing key, a wrong type, an inconsistent value
     */
    public static ModelConfig read(Path file) throws IOException {
        return parse(file, TextFiles.readBytes(file, "model config", MAX_BYTES));
    }

    /**
     * Reads and checks a model directory's {@code model.json}, which must describe structure {@code want}.
     *
     * @param dir  the model directory
     * @param want the structure the caller loads
     * @return the config
     * @throws IOException as {@link #read(Path)}; also when the directory has no {@code model.json} or it describes
     *     another structure (the message names the file and both structures)
     */
    public static ModelConfig read(Path dir, Structure want) throws IOException {
        Path json = dir.resolve("model.json");
        if (!java.nio.file.Files.isRegularFile(json)) throw new IOException(dir + ": no model.json (a model directory holds model.json and weights.safetensors)");
        ModelConfig cfg = read(json);
        if (cfg.structure() != want) {
            throw new IOException(json + ": \"structure\" is " + cfg.structure().name().toLowerCase() + ", this needs " + want.name().toLowerCase());
        }
        return cfg;
    }

    /**
     * Checks a config's bytes already in memory; {@code file} only names it in messages. Package-private: the
     * seam for fuzzing without the file system.
     */
    static ModelConfig parse(Path file, byte[] json) throws IOException {
        Object value;
        Map<String, String> pytorch = Map.of();
        try (JsonParser p = JSON.createParser(TextFiles.utf8(file, json, "; a config is UTF-8 JSON"))) {
            value = p.nextToken() == null ? null : JsonTree.read(p);
            if (p.nextToken() != null) throw new IOException(file + ": trailing content after the JSON object");
            if (value instanceof Map<?, ?> m && m.get("pytorch") instanceof Map<?, ?> pt) pytorch = JsonTree.texts(pt, JSON);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": not valid JSON: " + Text.escape(e.getOriginalMessage(), 4 * Text.MAX_SHOWN), e); // may quote the file
        }
        if (!(value instanceof Map<?, ?>)) throw new IOException(file + ": must hold a JSON object");
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) value;
        Reader r = new Reader(file, root);
        String s = r.str(root, "structure");
        Structure st = switch (s) {
            case "n_vs_1" -> Structure.N_VS_1;
            case "lm" -> Structure.LM;
            case "seq2seq" -> Structure.SEQ2SEQ;
            default -> throw new IOException(file + ": \"structure\" must be n_vs_1, lm or seq2seq, got " + Text.quote(s));
        };
        List<String> vocab = root.containsKey("vocab") ? r.strings(root, "vocab") : root.containsKey("input_vocab") ? r.strings(root, "input_vocab") : null;
        List<String> outVocab = root.containsKey("output_vocab") ? r.strings(root, "output_vocab") : vocab;
        int pad = root.containsKey("pad") ? r.integer(root, "pad") : 0;
        int bos = root.containsKey("bos") ? r.integer(root, "bos") : -1;
        int eos = root.containsKey("eos") ? r.integer(root, "eos") : -1;
        String d = r.optStr(root, "description");
        String description = d == null ? "" : d;
        ModelConfig cfg = switch (st) {
            case N_VS_1 -> new ModelConfig(file, r.str(root, "name"), st, description, vocab, outVocab, pad, bos, eos,
                    root.containsKey("input_size") ? r.integer(root, "input_size") : 0, r.strings(root, "labels"), r.part(root, false),
                    null, null, 0, pytorch);
            case LM -> new ModelConfig(file, r.str(root, "name"), st, description, r.strings(root, "vocab"), outVocab,
                    pad, bos, eos, 0, null, r.part(root, false), null, null, root.containsKey("max_output_length") ? r.integer(root, "max_output_length")
                            : root.containsKey("max_generate") ? r.integer(root, "max_generate") : 200,
                    pytorch);
            case SEQ2SEQ -> new ModelConfig(file, r.str(root, "name"), st, description, vocab, outVocab, pad, bos, eos, 0,
                    null, null, r.part(r.obj(root, "encoder"), false), r.part(r.obj(root, "decoder"), true),
                    r.integer(root, "max_output_length"), pytorch);
        };
        cfg.check();
        return cfg;
    }

    private void check() throws IOException {
        if (structure != Structure.N_VS_1 || main.embedding() != null) {
            if (vocab == null || vocab.isEmpty()) throw new IOException(file + ": a token model needs a non-empty \"vocab\"");
        }
        if (structure == Structure.N_VS_1) {
            if (labels.isEmpty()) throw new IOException(file + ": \"labels\" must not be empty");
            if (main.head() == null) throw new IOException(file + ": a classifier needs \"head\"");
            if (main.embedding() == null && inputSize < 1) throw new IOException(file + ": \"input_size\" must be >= 1 without an embedding");
        }
        checkVocabulary(structure == Structure.SEQ2SEQ && vocab != null ? "input_vocab" : "vocab", vocab);
        if (outputVocab != vocab) checkVocabulary("output_vocab", outputVocab);
        if (structure != Structure.N_VS_1) {
            List<String> out = structure == Structure.SEQ2SEQ ? outputVocab : vocab;
            checkToken("bos", bos, out);
            checkToken("eos", eos, out);
        }
        if (structure != Structure.N_VS_1 && (maxOutputLength < 1 || maxOutputLength > MAX_OUTPUT_LENGTH)) {
            throw new IOException(file + ": \"max_output_length\" must be in 1.." + MAX_OUTPUT_LENGTH + ", got " + maxOutputLength);
        }
    }

    /** A vocabulary the models can build (no character twice), checked here so that loading never fails on it later. */
    private void checkVocabulary(String key, List<String> v) throws IOException {
        if (v == null) return;
        try {
            new Vocabulary(v);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": \"" + key + "\": " + e.getMessage(), e);
        }
    }

    private void checkToken(String key, int id, List<String> v) throws IOException {
        if (id < 0 || v == null || id >= v.size()) {
            throw new IOException(file + ": \"" + key + "\" must be a token id in 0.." + (v == null ? -1 : v.size() - 1) + ", got " + id);
        }
    }

    /** Reads typed values, naming the file and key on error. */
    private record Reader(Path file, Map<String, Object> root) {
        @SuppressWarnings("unchecked")
        Map<String, Object> obj(Map<String, Object> n, String key) throws IOException {
            Object v = n.get(key);
            if (!(v instanceof Map<?, ?>)) throw new IOException(file + ": \"" + key + "\" must be an object");
            return (Map<String, Object>) v;
        }

        String str(Map<String, Object> n, String key) throws IOException {
            Object v = n.get(key);
            if (!(v instanceof String s)) throw new IOException(file + ": \"" + key + "\" must be a string");
            return s;
        }

        String optStr(Map<String, Object> n, String key) throws IOException {
            Object v = n.get(key);
            if (v == null || v == JsonTree.NULL) return null;
            if (!(v instanceof String s)) throw new IOException(file + ": \"" + key + "\" must be a string or null");
            return s;
        }

        int integer(Map<String, Object> n, String key) throws IOException {
            Object v = n.get(key);
            if (!(v instanceof JsonTree.Num num) || num.intValue() == null) throw new IOException(file + ": \"" + key + "\" must be an integer");
            return num.intValue();
        }

        boolean bool(Map<String, Object> n, String key, boolean absent) throws IOException {
            Object v = n.get(key);
            if (v == null) return absent;
            if (!(v instanceof Boolean b)) throw new IOException(file + ": \"" + key + "\" must be true or false");
            return b;
        }

        List<String> strings(Map<String, Object> n, String key) throws IOException {
            Object v = n.get(key);
            if (!(v instanceof List<?> l)) throw new IOException(file + ": \"" + key + "\" must be an array of strings");
            List<String> out = new ArrayList<>();
            for (Object e : l) {
                if (!(e instanceof String s)) throw new IOException(file + ": \"" + key + "\" must contain only strings");
                out.add(s);
            }
            return List.copyOf(out);
        }

        Part part(Map<String, Object> n, boolean needHead) throws IOException {
            Map<String, Object> rnn = obj(n, "rnn");
            Mode mode;
            try {
                mode = Mode.parse(str(rnn, "mode"));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": \"rnn.mode\": " + e.getMessage());
            }
            String head = optStr(n, "head");
            if (needHead && head == null) throw new IOException(file + ": the decoder needs \"head\"");
            return new Part(optStr(n, "embedding"), str(rnn, "prefix"), mode, integer(rnn, "input_size"), integer(rnn, "hidden_size"),
                    integer(rnn, "num_layers"), bool(rnn, "bidirectional", false), head);
        }
    }
}
