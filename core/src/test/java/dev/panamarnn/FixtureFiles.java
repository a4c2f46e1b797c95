package dev.panamarnn;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** The PyTorch fixtures on the test class path: a directory's {@code index.txt}, and a fixture as a file. */
public final class FixtureFiles {
    private FixtureFiles() {}

    /**
     * The file names listed in {@code dir/index.txt}.
     *
     * @param dir the resource directory, such as {@code /fixtures/layers/}
     * @return the names, in order
     * @throws IOException if the index is missing
     */
    public static List<String> index(String dir) throws IOException {
        try (InputStream in = FixtureFiles.class.getResourceAsStream(dir + "index.txt")) {
            if (in == null) throw new IOException("fixture index missing: " + dir + "index.txt");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
    }

    /**
     * The fixture as a file: directly from the class path, or copied out of the test jar.
     *
     * @param dir  the resource directory
     * @param name the file's name
     * @return its path
     * @throws IOException if it is missing
     */
    public static Path file(String dir, String name) throws IOException {
        URL url = FixtureFiles.class.getResource(dir + name);
        if (url == null) throw new IOException("fixture missing: " + dir + name);
        if (url.getProtocol().equals("file")) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IOException(e);
            }
        }
        Path tmp = Files.createTempFile("fixture-", ".safetensors");
        tmp.toFile().deleteOnExit();
        try (InputStream in = url.openStream()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        return tmp;
    }
}
