package dev.panamarnn.app;

import dev.panamarnn.Text;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A model's test cases ({@code cases.safetensors}: inputs and the outputs PyTorch recorded, written by
 * {@code scripts/train-models}) read into arrays, for the tests and {@code panama-rnn demo}.
 */
public final class CaseFile {
    private final Map<String, float[]> floats = new HashMap<>();
    private final Map<String, long[]> longs = new HashMap<>();
    private final Map<String, int[]> shapes = new HashMap<>();
    private final Map<String, String> metadata;

    private CaseFile(SafeTensors st) {
        for (String t : st.names()) {
            shapes.put(t, st.info(t).shape());
            if (st.info(t).dtype().isFloatingPoint()) floats.put(t, st.toFloatArray(t));
            else longs.put(t, st.toLongArray(t));
        }
        metadata = Map.copyOf(st.metadata());
    }

    /**
     * Reads every tensor and the metadata of {@code file}.
     *
     * @param file the {@code cases.safetensors}
     * @return the cases
     * @throws IOException if the file cannot be read or is not valid safetensors
     */
    public static CaseFile read(Path file) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            return new CaseFile(st);
        }
    }

    /**
     * Whether there is a tensor of that name.
     *
     * @param name the name
     * @return whether it is there
     */
    public boolean has(String name) {
        return shapes.containsKey(name);
    }

    /**
     * A floating-point tensor's elements as float32, row-major.
     *
     * @param name the name
     * @return the elements
     * @throws IllegalArgumentException if there is no floating-point tensor of that name
     */
    public float[] floats(String name) {
        return need(floats, name);
    }

    /**
     * An integer tensor's elements as long, row-major.
     *
     * @param name the name
     * @return the elements
     * @throws IllegalArgumentException if there is no integer tensor of that name
     */
    public long[] longs(String name) {
        return need(longs, name);
    }

    /**
     * A tensor's dimensions.
     *
     * @param name the name
     * @return a copy of them
     * @throws IllegalArgumentException if there is no tensor of that name
     */
    public int[] shape(String name) {
        return need(shapes, name).clone();
    }

    /**
     * The file's {@code __metadata__}.
     *
     * @return an unmodifiable map
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * A metadata value as a number; an error naming the key when absent.
     *
     * @param key the key
     * @return its value, parsed
     */
    public double metaNumber(String key) {
        String v = metadata.get(key);
        if (v == null) throw new IllegalArgumentException("cases: no metadata " + Text.quote(key));
        return Double.parseDouble(v);
    }

    /**
     * The rows of an integer {@code [N, T]} tensor as int arrays, each ending before its first negative
     * entry (the -1 padding) or at {@code lengths[i]} when given.
     *
     * @param name    the tensor's name
     * @param lengths each row's length, or null
     * @return the rows
     */
    public int[][] rows(String name, long[] lengths) {
        long[] v = longs(name);
        int[] s = shape(name);
        if (s.length != 2) throw new IllegalArgumentException("cases: " + Text.quote(name) + " must be [N, T], got rank " + s.length);
        int N = s[0], T = s[1];
        int[][] r = new int[N][];
        for (int i = 0; i < N; i++) {
            int len = 0;
            while (len < T && v[i * T + len] >= 0 && (lengths == null || len < lengths[i])) len++;
            r[i] = new int[len];
            for (int t = 0; t < len; t++) r[i][t] = Math.toIntExact(v[i * T + t]);
        }
        return r;
    }

    /**
     * A padded float tensor {@code (N, T, F)} cut into N sequences of {@code lengths[i]} steps of F
     * features each (the classifier's inputs).
     *
     * @param name        the tensor's name
     * @param lengthsName the name of the integer tensor of lengths {@code (N)}
     * @return the sequences
     */
    public float[][][] sequences(String name, String lengthsName) {
        float[] v = floats(name);
        int[] s = shape(name);
        if (s.length != 3) throw new IllegalArgumentException("cases: " + Text.quote(name) + " must be [N, T, F], got rank " + s.length);
        long[] len = longs(lengthsName);
        float[][][] out = new float[s[0]][][];
        for (int i = 0; i < s[0]; i++) {
            out[i] = new float[(int) len[i]][s[2]];
            for (int t = 0; t < len[i]; t++) System.arraycopy(v, (i * s[1] + t) * s[2], out[i][t], 0, s[2]);
        }
        return out;
    }

    private static <T> T need(Map<String, T> m, String name) {
        T v = m.get(name);
        if (v == null) throw new IllegalArgumentException("cases: no tensor " + Text.quote(name) + " of that kind");
        return v;
    }
}
