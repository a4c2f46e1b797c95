package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the {@code model.json} reader through {@link ModelConfig#parse} (the in-memory
 * seam of {@link ModelConfig#read}).
 *
 * <p>The contract checked, for any byte sequence: either the read fails with a plain {@link IOException}
 * (exactly that class, no parser exception leaking through) whose message starts with the file's name
 * and says what is wrong, or it returns a config that the models can use as it stands: every part
 * present that its structure needs, vocabularies that build a {@link Vocabulary}, token ids inside them,
 * a bounded generation length. Anything else is a finding.
 *
 * <p>Seeds: {@code src/test/resources/dev/panamarnn/app/ModelConfigFuzzTestInputs/parse/} (the three real
 * configs under {@code models/} and hostile variants of them), made by
 * {@code scripts/python/make_fuzz_seeds.py}.
 */
class ModelConfigFuzzTest {
    static final Path FILE = Path.of("fuzz", "model.json");

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] json) {
        ModelConfig cfg;
        try {
            cfg = ModelConfig.parse(FILE, json);
        } catch (IOException e) {
            assertEquals(IOException.class, e.getClass(), () -> "not a plain IOException: " + e);
            String m = e.getMessage();
            assertTrue(m != null && m.startsWith(FILE + ": ") && m.length() > FILE.toString().length() + 10, () -> "unclear message: " + m);
            return;
        }
        usable(cfg);
    }

    /** What the three model classes take for granted of a config once it is read. */
    static void usable(ModelConfig cfg) {
        assertNotNull(cfg.name());
        assertNotNull(cfg.description());
        switch (cfg.structure()) {
            case N_VS_1 -> {
                part(cfg.main());
                assertTrue(cfg.main().head() != null && !cfg.labels().isEmpty());
                if (cfg.main().embedding() != null) new Vocabulary(cfg.vocab());
                else assertTrue(cfg.inputSize() >= 1);
            }
            case LM -> {
                part(cfg.main());
                tokens(cfg, cfg.vocab());
            }
            case SEQ2SEQ -> {
                part(cfg.encoder());
                part(cfg.decoder());
                assertNotNull(cfg.decoder().head());
                new Vocabulary(cfg.vocab());
                tokens(cfg, cfg.outputVocab());
            }
        }
    }

    private static void part(ModelConfig.Part p) {
        assertNotNull(p);
        assertNotNull(p.rnnPrefix());
        assertNotNull(p.mode());
    }

    private static void tokens(ModelConfig cfg, java.util.List<String> vocab) {
        Vocabulary v = new Vocabulary(vocab);
        v.token(cfg.bos());
        v.token(cfg.eos());
        assertTrue(cfg.maxOutputLength() >= 1 && cfg.maxOutputLength() <= ModelConfig.MAX_OUTPUT_LENGTH);
    }
}
