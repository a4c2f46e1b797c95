package dev.panamarnn.kernel;

/**
 * How a row of a bfloat16 weight matrix is stored for {@link Bf16Products#sgemmBf16}: in blocks of 32
 * elements, element {@code i} and element {@code i + 16} of a block side by side (a 32-bit word holds
 * {@code e[i]} in its low half and {@code e[i+16]} in its high half); the elements after the last whole
 * block in their natural order. So a kernel widens 16 weights with one 32-bit shift and 16 more with one
 * mask, both in place, and meets them in the natural order of the row, for any vector length that
 * divides 16. Packed once, at load.
 */
public final class Bf16Layout {
    private Bf16Layout() {}

    /** {@code BLOCK}: elements per block; {@code HALF}: the distance between the two elements of a 32-bit word. */
    public static final int BLOCK = 32, HALF = 16;

    /**
     * Where element {@code p} of a row of {@code k} elements is stored, relative to the row's start.
     *
     * @param p the element's index in the row
     * @param k the row's length
     * @return its index in the stored row
     */
    public static int position(int p, int k) {
        int whole = k / BLOCK * BLOCK;
        if (p >= whole) return p;
        int b = p / BLOCK * BLOCK, r = p - b;
        return b + (r < HALF ? 2 * r : 2 * (r - HALF) + 1);
    }

    /**
     * The bfloat16 nearest to {@code f} (ties to even; NaN stays a NaN, infinities stay infinite).
     *
     * @param f the float
     * @return its bfloat16 bits
     */
    public static short round(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (f != f) return (short) ((bits >>> 16) | 0x40); // keep a NaN a NaN
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * A float32 matrix of rows of {@code cols} rounded to bfloat16, each row in this layout, in a new
     * segment of {@code arena} (64-byte aligned).
     *
     * @param arena owns the result
     * @param f32   the matrix, row-major, rows of {@code cols}
     * @param cols  the row length
     * @return the bfloat16 matrix
     */
    public static java.lang.foreign.MemorySegment pack(java.lang.foreign.Arena arena, java.lang.foreign.MemorySegment f32, int cols) {
        long n = f32.byteSize() / Float.BYTES;
        java.lang.foreign.MemorySegment b = arena.allocate(n * Short.BYTES, 64);
        for (long i = 0; i < n; i++) {
            long row = i / cols * cols;
            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, row + position((int) (i - row), cols),
                    round(f32.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i)));
        }
        return b;
    }
}
