package dev.panamarnn.nn;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Named float tensors in PyTorch's {@code state_dict} naming, the source weights load from: a safetensors
 * file ({@link dev.panamarnn.io.SafeTensors#asStateDict()}) or arrays in memory ({@link #of}).
 */
public interface StateDict {
    /** Every tensor name. */
    Set<String> names();

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** The shape of a tensor; throws {@link IllegalArgumentException} naming it when absent. */
    int[] shape(String name);

    /** The tensor's elements as float32, row-major; throws {@link IllegalArgumentException} naming it when absent. */
    float[] floats(String name);

    /** An in-memory state dict; each array must have as many elements as its shape says. */
    static StateDict of(Map<String, float[]> data, Map<String, int[]> shapes) {
        Map<String, float[]> d = new LinkedHashMap<>(data);
        Map<String, int[]> s = new LinkedHashMap<>();
        for (var e : d.entrySet()) {
            int[] shape = shapes.get(e.getKey());
            if (shape == null) throw new IllegalArgumentException("no shape given for tensor '" + e.getKey() + "'");
            long n = 1;
            for (int x : shape) n *= x;
            if (n != e.getValue().length) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' has shape " + Arrays.toString(shape) + " (" + n
                        + " elements) but " + e.getValue().length + " values");
            }
            s.put(e.getKey(), shape.clone());
        }
        return new StateDict() {
            @Override public Set<String> names() { return d.keySet(); }
            @Override public int[] shape(String name) { return get(s, name).clone(); }
            @Override public float[] floats(String name) { return get(d, name).clone(); }

            private <T> T get(Map<String, T> m, String name) {
                T v = m.get(name);
                if (v == null) throw new IllegalArgumentException("state dict has no tensor '" + name + "'");
                return v;
            }
        };
    }
}
