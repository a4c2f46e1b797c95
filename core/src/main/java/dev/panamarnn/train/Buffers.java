package dev.panamarnn.train;

import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Named scratch matrices of a module, reused from call to call: a buffer is allocated again only when a
 * call needs more floats than it has (a longer sequence or a larger batch), never per time step.
 */
final class Buffers {
    private final Arena arena;
    private final Map<String, MemorySegment> segments = new HashMap<>();

    Buffers(Arena arena) {
        this.arena = arena;
    }

    /** A contiguous {@code [rows × cols]} matrix named {@code key}; its contents are whatever the last user left. */
    Tensor get(String key, int rows, int cols) {
        long floats = Math.max(1L, (long) rows * cols);
        MemorySegment s = segments.get(key);
        if (s == null || s.byteSize() < floats * Float.BYTES) {
            s = arena.allocate(floats * Float.BYTES, Tensor.ALIGNMENT);
            segments.put(key, s);
        }
        return Tensor.wrap(s, 0, Math.max(1, cols), rows, cols);
    }

    /** As {@link #get}, filled with zeros. */
    Tensor zeros(String key, int rows, int cols) {
        Tensor t = get(key, rows, cols);
        t.segment().asSlice(0, (long) rows * cols * Float.BYTES).fill((byte) 0);
        return t;
    }
}
