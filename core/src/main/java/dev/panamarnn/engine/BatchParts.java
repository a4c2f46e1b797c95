package dev.panamarnn.engine;

import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * How a {@link BatchRecurrence} cuts a step into parts: ranges of about {@link #UNITS} hidden units,
 * each with its own rows of W_hh prepared for {@link Kernels#gemmPrepared}, so that the leader and a
 * helper can claim parts one at a time and a helper that comes late (or is preempted) only takes fewer
 * (with the layer's two partitions, the step waited for the late half: ~10 µs of a ~40 µs step in S1
 * runs). A part's gate columns are contiguous in the batch's gate matrix, gate-major within the part
 * (its i, f, g, o blocks of its width), which is the layout the cell kernels read.
 *
 * <p>Parts never straddle the layer's own partitions ({@link Weights#cuts}), so in the layer's order
 * (of W_hh's rows and of the projection's columns) a part's gate block g starts at
 * {@code srcCol[s] + g·srcStride[s]}. An LSTM with a projection is one part (the projection needs all of h).
 * How the units are cut changes no element's arithmetic.
 */
final class BatchParts implements AutoCloseable {
    /** Units per part (a multiple of 8): W_hh rows of 4·64 × 512 at S1, 512 KiB, ~5 µs of product for 2 rows. */
    static final int UNITS = 64;

    final int count;
    /** Part s has units {@code [from[s], from[s+1])}. */
    final int[] from;
    /** In the layer's order: the column of part s's first gate block, and the distance between its blocks. */
    final long[] srcCol;
    final int[] srcStride;
    /** Part s's rows of W_hh ({@code [G·units × P]}), prepared. */
    final PreparedWeights[] whh;
    /** GRU: b_hn in the batch's column order ({@code [G·H]}, zero outside the n gate), else null. */
    final MemorySegment hnBias;
    /** Gathered copies of W_hh's rows where a part's rows are not contiguous (prepare may keep a view). */
    private final Arena arena;

    BatchParts(Weights w, Kernels k, int l, int d) {
        Shape spec = w.shape;
        int G = spec.gates(), H = spec.hidden(), P = spec.output();
        int[] cut = spec.proj() > 0 ? new int[] {0, H} : w.cut;
        int units = Math.max(UNITS, (H / 128 + 7) / 8 * 8); // at most ~128 parts: a step's ticket counts them in 8 bits
        int n = 0;
        int[] bounds = new int[H + 1];
        bounds[0] = 0;
        for (int q = 0; q + 1 < cut.length; q++) {
            int c0 = cut[q], c1 = cut[q + 1], pieces = spec.proj() > 0 ? 1 : Math.max(1, (c1 - c0 + units / 2) / units);
            for (int i = 1; i <= pieces; i++) bounds[++n] = i == pieces ? c1 : c0 + ((c1 - c0) * i / pieces + 7) / 8 * 8;
        }
        count = n;
        from = java.util.Arrays.copyOf(bounds, n + 1);
        srcCol = new long[n];
        srcStride = new int[n];
        whh = new PreparedWeights[n];
        Arena arena = dev.panamarnn.Arenas.shared();
        this.arena = arena;
        try {
            MemorySegment src = w.whh[l][d];
            for (int s = 0, q = 0; s < n; s++) {
                while (from[s] >= cut[q + 1]) q++;
                int hs = from[s + 1] - from[s], hq = cut[q + 1] - cut[q];
                srcCol[s] = (long) G * cut[q] + (from[s] - cut[q]);
                srcStride[s] = hq;
                if (G == 1 || hs == hq) { // the part's rows are contiguous in the layer's W_hh
                    whh[s] = k.prepare(src, srcCol[s] * P, P, G * hs, P);
                } else {
                    MemorySegment rows = arena.allocate((long) G * hs * P * Float.BYTES, Tensor.ALIGNMENT);
                    for (int g = 0; g < G; g++) {
                        MemorySegment.copy(src, (srcCol[s] + (long) g * hq) * P * Float.BYTES, rows, (long) g * hs * P * Float.BYTES,
                                (long) hs * P * Float.BYTES);
                    }
                    whh[s] = k.prepare(rows, 0, P, G * hs, P);
                }
            }
            hnBias = spec.cell() == Cell.GRU ? arena.allocate((long) G * H * Float.BYTES, Tensor.ALIGNMENT) : null;
            if (hnBias != null) {
                for (int s = 0; s < n; s++) {
                    int hs = from[s + 1] - from[s];
                    for (int g = 0; g < G; g++) {
                        MemorySegment.copy(w.hnBias[l][d], (srcCol[s] + (long) g * srcStride[s]) * Float.BYTES, hnBias,
                                ((long) G * from[s] + (long) g * hs) * Float.BYTES, (long) hs * Float.BYTES);
                    }
                }
            }
        } catch (Throwable e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Part s's pre-activation columns of one row: from the layer's order (at {@code src}, the row's start)
     * into the batch's order (at {@code dst}, the row's start).
     */
    void gather(int s, int G, MemorySegment srcSeg, long src, MemorySegment dstSeg, long dst) {
        int hs = from[s + 1] - from[s];
        long to = dst + (long) G * from[s];
        if (srcStride[s] == hs) {
            MemorySegment.copy(srcSeg, (src + srcCol[s]) * Float.BYTES, dstSeg, to * Float.BYTES, (long) G * hs * Float.BYTES);
            return;
        }
        for (int g = 0; g < G; g++) {
            MemorySegment.copy(srcSeg, (src + srcCol[s] + (long) g * srcStride[s]) * Float.BYTES, dstSeg, (to + (long) g * hs) * Float.BYTES,
                    (long) hs * Float.BYTES);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
