package dev.panamarnn.openblas;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Pointer arguments for CBLAS: float {@code off} of a segment as a segment that starts there, made once
 * per thread for each (segment, offset) and reused, so that calls at offsets seen before (a layer's
 * steps, call after call) allocate nothing. A slice and not a raw address, so the FFM linker still sees
 * the segment's arena: it refuses a closed one and keeps a shared one open for the duration of the call.
 * {@code asSlice} also checks that the offset lies within the segment; the caller has checked the rest.
 *
 * <p>Keyed by segment identity and offset. The table grows to {@link #MAX} entries and then starts over,
 * so a thread keeps at most that many slices; a slice keeps its arena's scope reachable, which matters
 * only for {@code Arena.ofAuto()} memory, released once the table drops it. One per thread: not
 * thread-safe.
 */
final class Pointers {
    private static final ThreadLocal<Pointers> LOCAL = ThreadLocal.withInitial(Pointers::new);
    /** Entries at most; a power of two. A forward call of T steps uses a few per step and layer. */
    static final int MAX = 1 << 12;

    private MemorySegment[] base = new MemorySegment[64], view = new MemorySegment[64];
    private long[] offs = new long[64];
    private int used;

    private Pointers() {}

    /** This thread's table. */
    static Pointers local() {
        return LOCAL.get();
    }

    /** {@code seg} seen from float {@code off} on ({@code seg} itself at 0). */
    MemorySegment at(MemorySegment seg, long off) {
        if (off == 0) return seg;
        int mask = base.length - 1;
        for (int i = slot(off, mask); ; i = (i + 1) & mask) {
            MemorySegment b = base[i];
            if (b == null) return add(seg, off);
            if (b == seg && offs[i] == off) return view[i];
        }
    }

    private MemorySegment add(MemorySegment seg, long off) {
        MemorySegment v = seg.asSlice(off * Float.BYTES);
        if (used + 1 > base.length / 2) { // keep probes short: grow, or start over at the limit
            if (base.length < MAX) {
                grow();
            } else {
                Arrays.fill(base, null);
                Arrays.fill(view, null);
                used = 0;
            }
        }
        put(seg, off, v);
        return v;
    }

    private void grow() {
        MemorySegment[] oldBase = base, oldView = view;
        long[] oldOffs = offs;
        int n = oldBase.length * 2;
        base = new MemorySegment[n];
        view = new MemorySegment[n];
        offs = new long[n];
        used = 0;
        for (int i = 0; i < oldBase.length; i++) {
            if (oldBase[i] != null) put(oldBase[i], oldOffs[i], oldView[i]);
        }
    }

    private void put(MemorySegment seg, long off, MemorySegment v) {
        int mask = base.length - 1, i = slot(off, mask);
        while (base[i] != null) i = (i + 1) & mask;
        base[i] = seg;
        offs[i] = off;
        view[i] = v;
        used++;
    }

    private static int slot(long off, int mask) {
        return (int) ((off * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    }
}
