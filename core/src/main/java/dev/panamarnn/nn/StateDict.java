package dev.panamarnn.nn;

import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Named tensors in PyTorch's {@code state_dict} naming, the source weights load from: a safetensors
 * file ({@link dev.panamarnn.io.SafeTensors#asStateDict()}) or float arrays in memory ({@link #of}).
 *
 * <p>Every tensor is listed, whatever its element type, so that a loader sees a tensor it cannot use (an
 * integer {@code bias_ih_l0}, say) and refuses it by name instead of loading as if it were absent.
 */
public interface StateDict {
    /**
     * Every tensor name.
     *
     * @return the names
     */
    Set<String> names();

    /**
     * Whether a tensor of that name is there.
     *
     * @param name the name
     * @return whether it is there
     */
    default boolean contains(String name) {
        return names().contains(name);
    }

    /**
     * The shape of a tensor; throws {@link IllegalArgumentException} naming it when absent.
     *
     * @param name the tensor's name
     * @return its dimensions
     */
    int[] shape(String name);

    /**
     * The tensor's element type as stored; loaders take floating-point tensors only ({@link
     * DType#isFloatingPoint()}) and refuse any other by name. The default, for float arrays, is {@link DType#F32}.
     *
     * @param name the tensor's name
     * @return its element type
     * @throws IllegalArgumentException if there is no such tensor
     */
    default DType dtype(String name) {
        shape(name); // absent: the error naming it
        return DType.F32;
    }

    /**
     * The tensor's elements as float32, row-major; throws {@link IllegalArgumentException} naming it when
     * absent or not floating-point. A heap copy: loaders use {@link #copyTo} instead.
     *
     * @param name the tensor's name
     * @return the elements
     */
    float[] floats(String name);

    /**
     * Writes the tensor's elements as float32 (native byte order, row-major) into {@code dst} from byte
     * {@code dstOffset}, which must have room for them. The default goes through {@link #floats}; a
     * safetensors file converts from its mapping straight into {@code dst}, so loading a model needs no
     * heap copy of its weights.
     *
     * @param name      the tensor's name
     * @param dst       the destination
     * @param dstOffset where in {@code dst}, in bytes
     * @throws IllegalArgumentException if the tensor is absent or not floating-point, or {@code dst} is too small
     */
    default void copyTo(String name, MemorySegment dst, long dstOffset) {
        float[] v = floats(name);
        MemorySegment.copy(v, 0, dst, ValueLayout.JAVA_FLOAT, dstOffset, v.length);
    }

    /**
     * An in-memory state dict; each array must have as many elements as its shape says.
     *
     * @param data   name to elements (row-major)
     * @param shapes name to shape, for every name in {@code data}
     * @return the state dict (the maps are copied, the arrays are not)
     * @throws IllegalArgumentException if a shape is missing or does not hold its array's elements
     */
    static StateDict of(Map<String, float[]> data, Map<String, int[]> shapes) {
        Map<String, float[]> d = new LinkedHashMap<>(data);
        Map<String, int[]> s = new LinkedHashMap<>();
        for (var e : d.entrySet()) {
            int[] shape = shapes.get(e.getKey());
            if (shape == null) throw new IllegalArgumentException("no shape given for tensor " + Text.quote(e.getKey()));
            long n = 1;
            for (int x : shape) n *= x;
            if (n != e.getValue().length) {
                throw new IllegalArgumentException("tensor " + Text.quote(e.getKey()) + " has shape " + Arrays.toString(shape) + " (" + n
                        + " elements) but " + e.getValue().length + " values");
            }
            s.put(e.getKey(), shape.clone());
        }
        return new StateDict() {
            @Override public Set<String> names() { return d.keySet(); }
            @Override public int[] shape(String name) { return get(s, name).clone(); }
            @Override public float[] floats(String name) { return get(d, name).clone(); }

            @Override
            public void copyTo(String name, MemorySegment dst, long dstOffset) {
                float[] v = get(d, name);
                MemorySegment.copy(v, 0, dst, ValueLayout.JAVA_FLOAT, dstOffset, v.length);
            }

            private <T> T get(Map<String, T> m, String name) {
                T v = m.get(name);
                if (v == null) throw new IllegalArgumentException("state dict has no tensor " + Text.quote(name));
                return v;
            }
        };
    }
}
