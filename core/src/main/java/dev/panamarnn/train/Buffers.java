package dev.panamarnn.train;

import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Named scratch matrices of a module, reused from call to call: a buffer is allocated again only when a
 * call needs more floats than it has (a longer sequence or a larger batch), never per time step. Each buffer
 * has an arena of its own, closed when the buffer is outgrown, so batches of growing shapes do not pile up
 * memory; {@link #close()} frees them all.
 */
final class Buffers implements AutoCloseable {
    private record Buffer(Arena arena, MemorySegment segment) {}

    private final Map<String, Buffer> buffers = new HashMap<>();

    Buffers() {}

    /** A contiguous {@code [rows × cols]} matrix named {@code key}; its contents are whatever the last user left. */
    Tensor get(String key, int rows, int cols) {
        long floats = Math.max(1L, (long) rows * cols);
        Buffer b = buffers.get(key);
        if (b == null || b.segment.byteSize() < floats * Float.BYTES) {
            Arena arena = Arena.ofShared();
            try {
                MemorySegment s = arena.allocate(floats * Float.BYTES, Tensor.ALIGNMENT);
                if (b != null) b.arena.close();
                b = new Buffer(arena, s);
            } catch (RuntimeException | OutOfMemoryError e) {
                arena.close();
                throw e;
            }
            buffers.put(key, b);
        }
        return Tensor.wrap(b.segment, 0, Math.max(1, cols), rows, cols);
    }

    /** As {@link #get}, filled with zeros. */
    Tensor zeros(String key, int rows, int cols) {
        Tensor t = get(key, rows, cols);
        t.segment().asSlice(0, (long) rows * cols * Float.BYTES).fill((byte) 0);
        return t;
    }

    @Override
    public void close() {
        for (Buffer b : buffers.values()) b.arena.close();
        buffers.clear();
    }
}
