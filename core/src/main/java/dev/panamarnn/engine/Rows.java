package dev.panamarnn.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Row copies and zero fills over native memory, in floats, without slice objects. */
final class Rows {
    private Rows() {}

    /** Zeros, copied from to fill without a slice object ({@code asSlice(…).fill} allocates one when not inlined). */
    private static final MemorySegment ZEROS = Arena.global().allocate(16 * 1024, 64);

    /** {@code floats} zeros into {@code seg} from float {@code off}. */
    static void fillZero(MemorySegment seg, long off, long floats) {
        long at = off * Float.BYTES, left = floats * Float.BYTES;
        while (left > 0) {
            long n = Math.min(left, ZEROS.byteSize());
            MemorySegment.copy(ZEROS, 0, seg, at, n);
            at += n;
            left -= n;
        }
    }

    /** {@code width} floats from column {@code col} of row {@code srcRow} of src to the same columns of row {@code dstRow} of dst. */
    static void copy(Mat src, long srcRow, Mat dst, long dstRow, int width, int col) {
        MemorySegment.copy(src.seg, (src.row(srcRow) + col) * Float.BYTES, dst.seg, (dst.row(dstRow) + col) * Float.BYTES,
                (long) width * Float.BYTES);
    }

    /** {@code rows} rows of {@code width} floats from src to dst (one copy when both are contiguous). */
    static void copy(MemorySegment src, long srcOff, int srcLd, MemorySegment dst, long dstOff, int dstLd, long rows, int width) {
        if (srcLd == width && dstLd == width) {
            MemorySegment.copy(src, srcOff * Float.BYTES, dst, dstOff * Float.BYTES, rows * width * Float.BYTES);
            return;
        }
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(src, (srcOff + r * srcLd) * Float.BYTES, dst, (dstOff + r * dstLd) * Float.BYTES, (long) width * Float.BYTES);
        }
    }

    /** {@code rows} rows of {@code width} zeros into m (one fill when contiguous). */
    static void zero(Mat m, long rows, int width) {
        if (m.ld == width) {
            fillZero(m.seg, m.off, rows * width);
            return;
        }
        for (long r = 0; r < rows; r++) fillZero(m.seg, m.row(r), width);
    }
}
