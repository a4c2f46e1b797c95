package dev.panamarnn.server;

import dev.panamarnn.nn.Mode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * What to serve under one name: a model directory ({@code model.json} + weights) or a layer's safetensors
 * file, with its limits: {@code maxBatch} requests compute at once (and share each time step),
 * {@code maxQueue} more wait; beyond them a request gets {@code 503}.
 *
 * @param name      the name in {@code /v1/models/{name}/…}
 * @param dir       the model directory, or null for a layer
 * @param layerFile the layer's weights (PyTorch names), or null for a model directory
 * @param layerMode the layer's mode when the weights cannot tell (an Elman RNN's tanh or ReLU), or null
 * @param maxBatch  requests computing at once, 1..1024
 * @param maxQueue  requests waiting beyond them, 0..100000
 * @param batching  whether concurrent requests share each time step (continuous batching); without it each
 *                  computes alone on its thread (for comparison)
 */
public record ModelSpec(String name, Path dir, Path layerFile, Mode layerMode, int maxBatch, int maxQueue, boolean batching) {
    /** Checks the fields. */
    public ModelSpec {
        Objects.requireNonNull(name, "name");
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("model name " + dev.panamarnn.Text.quote(name) + ": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if ((dir == null) == (layerFile == null)) throw new IllegalArgumentException("model " + name + ": give a model directory or a layer file");
        if (maxBatch < 1 || maxBatch > 1024) throw new IllegalArgumentException("model " + name + ": max batch must be in 1..1024, got " + maxBatch);
        if (maxQueue < 0 || maxQueue > 100_000) throw new IllegalArgumentException("model " + name + ": max queue must be in 0..100000, got " + maxQueue);
    }

    /**
     * This spec with batching on or off.
     *
     * @param on whether concurrent requests share each time step
     * @return the spec
     */
    public ModelSpec withBatching(boolean on) {
        return new ModelSpec(name, dir, layerFile, layerMode, maxBatch, maxQueue, on);
    }

    /**
     * {@code [NAME=]DIR}: the name defaults to the directory's name.
     *
     * @param arg      the command-line value
     * @param maxBatch requests computing at once
     * @param maxQueue requests waiting beyond them
     * @return the spec
     */
    public static ModelSpec model(String arg, int maxBatch, int maxQueue) {
        int eq = arg.indexOf('=');
        Path dir = Path.of(eq < 0 ? arg : arg.substring(eq + 1));
        Path fn = dir.toAbsolutePath().normalize().getFileName();
        String name = eq < 0 ? (fn == null ? "model" : fn.toString()) : arg.substring(0, eq);
        return new ModelSpec(name, dir, null, null, maxBatch, maxQueue, true);
    }

    /**
     * {@code [NAME=]FILE[:MODE]}: the name defaults to the file's name without {@code .safetensors}; MODE is
     * lstm, gru, rnn_tanh or rnn_relu (needed only for an Elman RNN).
     *
     * @param arg      the command-line value
     * @param maxBatch requests computing at once
     * @param maxQueue requests waiting beyond them
     * @return the spec
     */
    public static ModelSpec layer(String arg, int maxBatch, int maxQueue) {
        int eq = arg.indexOf('=');
        String rest = eq < 0 ? arg : arg.substring(eq + 1);
        Mode mode = null;
        int colon = rest.lastIndexOf(':');
        if (colon > 0) {
            String m = rest.substring(colon + 1).toUpperCase(Locale.ROOT);
            try {
                mode = Mode.valueOf(m);
                rest = rest.substring(0, colon);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--layer " + arg + ": mode " + dev.panamarnn.Text.quote(rest.substring(colon + 1)) + " is not lstm, gru, rnn_tanh or rnn_relu");
            }
        }
        Path file = Path.of(rest);
        String base = file.getFileName() == null ? "layer" : file.getFileName().toString().replaceFirst("\\.safetensors$", "");
        return new ModelSpec(eq < 0 ? base : arg.substring(0, eq), null, file, mode, maxBatch, maxQueue, true);
    }
}
