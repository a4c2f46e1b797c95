package dev.panamarnn.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The committed example models ({@code models/}) and their PyTorch test cases, read once per test JVM. */
public final class ModelCases {
    private ModelCases() {}

    private static final Map<String, CaseFile> CACHE = new HashMap<>();

    /** {@code models/} at the repository root, found from the working directory upwards. */
    public static Path modelsDir() {
        Path p = Path.of("").toAbsolutePath();
        for (; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models/classifier/model.json"))) return p.resolve("models");
        }
        throw new IllegalStateException("models/ not found above " + Path.of("").toAbsolutePath());
    }

    public static Path model(String name) {
        return modelsDir().resolve(name);
    }

    public static synchronized CaseFile cases(String name) {
        return CACHE.computeIfAbsent(name, n -> {
            try {
                return CaseFile.read(model(n).resolve("cases.safetensors"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
