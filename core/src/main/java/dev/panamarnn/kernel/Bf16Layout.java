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
}
