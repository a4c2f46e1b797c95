package dev.panamarnn.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's files travelling with the job (a broadcast variable): a model directory's regular files, or a
 * layer's one file. An executor writes them to a temporary directory of its own once and loads from there.
 * Works with any master (Spark ships a local directory through {@code addFile} only to local masters).
 *
 * @param name   the directory's or file's name
 * @param layer  whether it is a layer's file (else a directory)
 * @param digest SHA-256 over the names and bytes: the same model shipped again is the same model
 * @param files  file name → bytes
 */
record ShippedModel(String name, boolean layer, String digest, Map<String, byte[]> files) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The most bytes shipped: a broadcast is held in memory on the driver and each executor. */
    static final long MAX_BYTES = 1L << 30;

    /**
     * Reads the model's files on the driver.
     *
     * @param model a model directory or a layer's file
     * @return the files
     */
    static ShippedModel read(Path model) {
        try {
            Path m = model.toAbsolutePath().normalize();
            boolean dir = Files.isDirectory(m);
            List<Path> paths;
            if (dir) {
                try (var list = Files.list(m)) {
                    paths = list.filter(Files::isRegularFile).sorted().toList();
                }
            } else {
                paths = List.of(m);
            }
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            Map<String, byte[]> files = new LinkedHashMap<>();
            long total = 0;
            for (Path p : paths) {
                total += Files.size(p);
                if (total > MAX_BYTES) throw new IllegalArgumentException("--ship: " + m + " holds more than 1 GiB; put it where every executor can read it instead");
                byte[] b = Files.readAllBytes(p);
                String n = p.getFileName().toString();
                sha.update(n.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update(b);
                files.put(n, b);
            }
            return new ShippedModel(m.getFileName().toString(), !dir, HexFormat.of().formatHex(sha.digest()), files);
        } catch (IOException e) {
            throw new UncheckedIOException("--ship: could not read " + model + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes the files into a new temporary directory (removed when the JVM exits).
     *
     * @return the model directory, or the layer's file
     */
    Path materialize() {
        try {
            Path dir = Files.createTempDirectory("panama-rnn-model-");
            dir.toFile().deleteOnExit();
            Path root = layer ? dir : Files.createDirectory(dir.resolve(name));
            root.toFile().deleteOnExit();
            for (var e : files.entrySet()) {
                Path f = root.resolve(e.getKey());
                Files.write(f, e.getValue());
                f.toFile().deleteOnExit();
            }
            return layer ? root.resolve(name) : root;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the shipped model " + name + ": " + e.getMessage(), e);
        }
    }
}
