package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A row-major matrix argument: segment, offset and leading dimension, in floats. Mutable and reused (set
 * once per call, layer or step), so that a call allocates no heap.
 */
final class Mat {
    MemorySegment seg;
    long off;
    int ld;

    Mat set(MemorySegment seg, long off, int ld) {
        this.seg = seg;
        this.off = off;
        this.ld = ld;
        return this;
    }

    /** This matrix set to {@code t}'s memory, or null for a null tensor. */
    Mat of(Tensor t) {
        return t == null ? null : set(t.segment(), t.offset(), t.ld());
    }

    /** Row {@code r}'s first element, in floats. */
    long row(long r) {
        return off + r * ld;
    }
}
