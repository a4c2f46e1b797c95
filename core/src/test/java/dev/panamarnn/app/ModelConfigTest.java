package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model.json is read strictly: each malformed value is a plain IOException naming the file and the key. */
class ModelConfigTest {
    private static final Path FILE = Path.of("m", "model.json");
    private static final String LM = """
            {"name":"l","structure":"lm","vocab":["<bos>","<eos>","a"],"bos":0,"eos":1,"embedding":"e.",
             "rnn":{"prefix":"r.","mode":"gru","input_size":2,"hidden_size":3,"num_layers":1,"bidirectional":false},"head":"h."}""";

    private static ModelConfig parse(String json) throws IOException {
        return ModelConfig.parse(FILE, json.getBytes(StandardCharsets.UTF_8));
    }

    private static void rejects(byte[] json, String fragment) {
        IOException e = assertThrows(IOException.class, () -> ModelConfig.parse(FILE, json));
        assertEquals(IOException.class, e.getClass(), e.toString());
        assertTrue(e.getMessage().startsWith(FILE + ": ") && e.getMessage().contains(fragment), e.getMessage());
    }

    private static void rejects(String json, String fragment) {
        rejects(json.getBytes(StandardCharsets.UTF_8), fragment);
    }

    @Test
    void acceptsAMinimalLanguageModel() throws IOException {
        ModelConfig c = parse(LM);
        assertEquals(ModelConfig.Structure.LM, c.structure());
        assertEquals("", c.description());
        assertEquals(200, c.maxOutputLength());
        byte[] bom = ("\uFEFF" + LM).getBytes(StandardCharsets.UTF_8);
        assertEquals(c.vocab(), ModelConfig.parse(FILE, bom).vocab());
    }

    @Test
    void typesAreChecked() {
        rejects(LM.replace("\"bidirectional\":false", "\"bidirectional\":\"false\""), "\"bidirectional\" must be true or false");
        rejects(LM.replace("\"bidirectional\":false", "\"bidirectional\":0"), "\"bidirectional\" must be true or false");
        rejects(LM.replace("\"name\":\"l\"", "\"name\":\"l\",\"description\":{}"), "\"description\" must be a string or null");
        rejects(LM.replace("\"hidden_size\":3", "\"hidden_size\":3.5"), "\"hidden_size\" must be an integer");
    }

    @Test
    void vocabulariesMustBeUsable() {
        // Found by ModelConfigFuzzTest: these passed the reader and failed later, in the model's constructor.
        rejects(LM.replace("\"a\"]", "\"a\",\"a\"]"), "\"vocab\": vocabulary: token 'a' appears twice (ids 2 and 3)");
    }

    @Test
    void encodingIsUtf8() {
        // Found by ModelConfigFuzzTest: Jackson took these bytes for UTF-32 and threw CharConversionException.
        rejects(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, ' ', 't', ' ', 't', 'o'}, "not valid JSON");
        rejects(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc3, '"', '}'}, "not valid UTF-8 at byte 6");
        rejects(LM.getBytes(StandardCharsets.UTF_16), "not valid UTF-8 at byte 0");
    }

    @Test
    void readErrorsNameTheFileAndTheOperation(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("model.json");
        var e = assertThrows(java.nio.file.NoSuchFileException.class, () -> ModelConfig.read(missing));
        assertEquals(missing + ": cannot read model config: no such file", e.getMessage());
        Path sub = java.nio.file.Files.createDirectory(dir.resolve("sub.json"));
        var d = assertThrows(IOException.class, () -> ModelConfig.read(sub));
        assertEquals(sub + ": cannot read model config: is a directory", d.getMessage());
    }

    @Test
    void notUtf8NamesTheByteAndTheLine() {
        rejects(new byte[] {'{', '\n', '"', 'a', '"', ':', '\n', '"', (byte) 0xff, '"', '}'}, "not valid UTF-8 at byte 8 (line 3); a config is UTF-8 JSON");
    }

    @Test
    void valuesFromTheFileAreEscapedInMessages() {
        String esc = "\\u001b[2J\\r\\nfake: line";
        for (String json : new String[] {LM.replace("\"lm\"", "\"" + esc + "\""), LM.replace("\"gru\"", "\"" + esc + "\""),
                LM.replace("\"a\"]", "\"\\u001b\",\"\\u001b\"]")}) { // a duplicate ESC token
            IOException e = assertThrows(IOException.class, () -> parse(json));
            assertTrue(e.getMessage().contains("'\\u001b"), e.getMessage());
            assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20), e.getMessage());
        }
    }

    @Test
    void textFilesNameTheFileByteAndLineOfBadUtf8(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("dates.txt");
        java.nio.file.Files.write(f, new byte[] {'1', ' ', 'M', 'a', 'y', '\n', 'J', (byte) 0xe4, 'n', '\n'});
        IOException e = assertThrows(IOException.class, () -> TextFiles.readLines(f, "input file", 1 << 20));
        assertEquals(f + ": not valid UTF-8 at byte 7 (line 2); input file is UTF-8 text", e.getMessage());
        java.nio.file.Files.writeString(f, "\uFEFF1 May\r\n\nJän\n");
        assertEquals(java.util.List.of("1 May", "", "Jän"), TextFiles.readLines(f, "input file", 1 << 20));
        e = assertThrows(IOException.class, () -> TextFiles.readLines(f, "input file", 4));
        assertEquals(f + ": input file is 16 bytes; at most 4 expected", e.getMessage());
        e = assertThrows(java.nio.file.NoSuchFileException.class, () -> TextFiles.readLines(dir.resolve("nope"), "input file", 4));
        assertEquals(dir.resolve("nope") + ": cannot read input file: no such file", e.getMessage());
    }
}
