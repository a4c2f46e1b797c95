package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * No Jackson type in core's public API (so that an application's own Jackson version is its own business),
 * and what replaced the one there was: {@link ModelConfig#pytorch()} as plain strings.
 */
class PlainTypesApiTest {
    private static final Path FILE = Path.of("m", "model.json");
    private static final String LM = """
            {"name":"l","structure":"lm","vocab":["<bos>","<eos>","a"],"bos":0,"eos":1,"embedding":"e.",
             "rnn":{"prefix":"r.","mode":"gru","input_size":2,"hidden_size":3,"num_layers":1,"bidirectional":false},"head":"h.\"""";

    private static ModelConfig parse(String json) throws IOException {
        return ModelConfig.parse(FILE, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void pytorchEntriesAreTextInFileOrder() throws IOException {
        ModelConfig c = parse(LM + ",\"pytorch\":{\"test_accuracy\":0.7928422439345703,\"n\":500,\"big\":123456789012345678901234567890,"
                + "\"torch_version\":\"1.13.0a0\",\"ok\":true,\"none\":null,\"nested\":{\"a\":[1,\"b\\\"c\",2.50,false]}}}");
        assertEquals(List.of("test_accuracy", "n", "big", "torch_version", "ok", "none", "nested"), List.copyOf(c.pytorch().keySet()));
        assertEquals("0.7928422439345703", c.pytorch().get("test_accuracy"));
        assertEquals("500", c.pytorch().get("n"));
        assertEquals("123456789012345678901234567890", c.pytorch().get("big"));
        assertEquals("1.13.0a0", c.pytorch().get("torch_version"));
        assertEquals("true", c.pytorch().get("ok"));
        assertEquals("null", c.pytorch().get("none"));
        assertEquals("{\"a\":[1,\"b\\\"c\",2.50,false]}", c.pytorch().get("nested"));
        assertThrows(UnsupportedOperationException.class, () -> c.pytorch().put("x", "y"));
        assertEquals(Map.of(), parse(LM + "}").pytorch(), "absent");
        assertEquals(Map.of(), parse(LM + ",\"pytorch\":[1,2]}").pytorch(), "not an object: accepted as before, nothing to show");
    }

    @Test
    void theCommittedModelsReadAsBefore() throws IOException {
        for (String m : new String[] {"classifier", "charlm", "seq2seq"}) {
            ModelConfig c = ModelConfig.read(ModelCases.modelsDir().resolve(m).resolve("model.json"));
            assertEquals("1.13.0a0", c.pytorch().get("torch_version"), m);
            assertEquals(m, c.name());
        }
        ModelConfig c = ModelConfig.read(ModelCases.modelsDir().resolve("classifier/model.json"));
        assertEquals("0.99", c.pytorch().get("test_accuracy"));
        assertEquals(List.of("sine", "square", "sawtooth", "random_walk"), c.labels());
        assertEquals(32, c.main().hiddenSize());
        assertTrue(c.main().bidirectional());
    }

    @Test
    void integersAreIntsAsDatabindSawThem() {
        for (String v : new String[] {"2147483648", "3.0", "1e1", "\"3\"", "null", "true"}) {
            IOException e = assertThrows(IOException.class, () -> parse(LM.replace("\"hidden_size\":3", "\"hidden_size\":" + v) + "}"), v);
            assertEquals(FILE + ": \"hidden_size\" must be an integer", e.getMessage(), v);
        }
        IOException dup = assertThrows(IOException.class, () -> parse(LM + ",\"name\":\"again\"}"));
        assertTrue(dup.getMessage().startsWith(FILE + ": not valid JSON: Duplicate field 'name'"), dup.getMessage());
        IOException deep = assertThrows(IOException.class, () -> parse(LM + ",\"x\":" + "[".repeat(100) + "]".repeat(100) + "}"));
        assertTrue(deep.getMessage().startsWith(FILE + ": not valid JSON:") && deep.getMessage().contains("nesting depth"), deep.getMessage());
        IOException bool = assertThrows(IOException.class, () -> parse(LM.replace("\"bidirectional\":false", "\"bidirectional\":null") + "}"));
        assertEquals(FILE + ": \"bidirectional\" must be true or false", bool.getMessage());
    }

    /** Every public or protected member of every public class of core's main code, read by reflection. */
    @Test
    void noJacksonTypeInAnyPublicSignature() throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Path.of(ModelConfig.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Assumptions.assumeTrue(Files.isDirectory(classes), "core's classes are a directory here: " + classes);
        List<String> found = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class")).toList()) {
                String name = classes.relativize(f).toString().replace(f.getFileSystem().getSeparator(), ".").replaceAll("\\.class$", "");
                Class<?> c = Class.forName(name, false, ModelConfig.class.getClassLoader());
                if (!isExported(c)) continue;
                checked++;
                List<Type> types = new ArrayList<>();
                if (c.getGenericSuperclass() != null) types.add(c.getGenericSuperclass());
                types.addAll(List.of(c.getGenericInterfaces()));
                for (Method m : c.getDeclaredMethods()) if (visible(m.getModifiers())) addSignature(m, m.getGenericReturnType(), types);
                for (Constructor<?> k : c.getDeclaredConstructors()) if (visible(k.getModifiers())) addSignature(k, null, types);
                for (Field fl : c.getDeclaredFields()) if (visible(fl.getModifiers())) types.add(fl.getGenericType());
                if (c.isRecord()) for (RecordComponent rc : c.getRecordComponents()) types.add(rc.getGenericType());
                for (Type t : types) {
                    if (t.getTypeName().contains("com.fasterxml")) found.add(c.getName() + ": " + t.getTypeName());
                }
            }
        }
        assertTrue(checked > 30, "public classes checked: " + checked);
        assertEquals(List.of(), found, "Jackson types in the public API");
    }

    private static void addSignature(Executable e, Type ret, List<Type> types) {
        if (ret != null) types.add(ret);
        types.addAll(List.of(e.getGenericParameterTypes()));
        types.addAll(List.of(e.getGenericExceptionTypes()));
    }

    private static boolean isExported(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass()) return false;
        }
        return true;
    }

    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }
}
