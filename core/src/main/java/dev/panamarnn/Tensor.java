package dev.panamarnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A float32 tensor over a native {@link MemorySegment}: row-major, with an explicit leading dimension.
 *
 * <p>A tensor of shape {@code (d0, …, d[r-2], d[r-1])} is stored as a matrix {@code [rows × cols]} with
 * {@code rows = d0·…·d[r-2]} and {@code cols = d[r-1]}; element {@code (row, col)} lives at float offset
 * {@code offset + row·ld + col}, with {@code ld ≥ cols}. A rank-1 tensor is one row. Storage allocated
 * here is 64-byte aligned and zeroed.
 *
 * <p>A tensor does not own memory: the {@link Arena} its creator passed does. Using a tensor after that
 * arena is closed throws {@link IllegalStateException}. Tensors are not thread-safe for concurrent writes;
 * distinct views over one segment may be used by distinct threads when their elements do not overlap.
 */
public final class Tensor {
    /** Alignment of storage allocated by this class: one cache line, one AVX-512 vector. */
    public static final long ALIGNMENT = 64;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final MemorySegment segment;
    private final long offset;
    private final int[] shape;
    private final int rows;
    private final int cols;
    private final int ld;

    private Tensor(MemorySegment segment, long offset, int ld, int[] shape) {
        this.segment = segment;
        this.offset = offset;
        this.shape = shape;
        this.cols = shape.length == 0 ? 1 : shape[shape.length - 1];
        this.rows = (int) rowCount(shape);
        this.ld = ld;
    }

    /**
     * Allocates a zeroed, contiguous tensor of the given shape in {@code arena}; any dimension may be 0.
     *
     * @param arena the arena that owns the memory
     * @param shape the dimensions, each ≥ 0
     * @return the tensor
     */
    public static Tensor allocate(Arena arena, int... shape) {
        int[] s = checkShape(shape);
        int cols = s.length == 0 ? 1 : s[s.length - 1];
        return allocateStrided(arena, Math.max(1, cols), s); // ld >= 1 even when the last dimension is 0
    }

    /**
     * Allocates a zeroed tensor whose rows are {@code ld} floats apart ({@code ld ≥ last dimension}),
     * for example to pad rows to a cache line.
     *
     * @param arena the arena that owns the memory
     * @param ld    floats from one row to the next
     * @param shape the dimensions, each ≥ 0
     * @return the tensor
     */
    public static Tensor allocateStrided(Arena arena, int ld, int... shape) {
        Objects.requireNonNull(arena, "arena");
        int[] s = checkShape(shape);
        int cols = s.length == 0 ? 1 : s[s.length - 1];
        long rows = rowCount(s);
        checkLd("tensor", ld, cols);
        long floats = requiredFloats(rows, cols, ld);
        if (!Arenas.isTracked(arena)) Faults.allocation(Math.max(1, floats) * Float.BYTES);
        MemorySegment seg = arena.allocate(Math.max(1, floats) * Float.BYTES, ALIGNMENT);
        return new Tensor(seg, 0, ld, s);
    }

    /**
     * Allocates a contiguous tensor of the given shape and copies {@code data} (row-major) into it.
     *
     * @param arena the arena that owns the memory
     * @param data  the elements, row-major, as many as the shape holds
     * @param shape the dimensions, each ≥ 0
     * @return the tensor
     */
    public static Tensor of(Arena arena, float[] data, int... shape) {
        Tensor t = allocate(arena, shape);
        t.copyFrom(data);
        return t;
    }

    /**
     * Views existing native memory as a tensor. {@code offset} counts floats from the segment's start.
     *
     * @param segment native memory, owned by the caller
     * @param offset  the first element, in floats from the segment's start
     * @param ld      floats from one row to the next (≥ the last dimension)
     * @param shape   the dimensions, each ≥ 0
     * @return a view of the segment
     * @throws IllegalArgumentException if the segment is on the heap, or too small for the shape, offset
     *     and leading dimension
     */
    public static Tensor wrap(MemorySegment segment, long offset, int ld, int... shape) {
        Objects.requireNonNull(segment, "segment");
        int[] s = checkShape(shape);
        if (!segment.isNative()) {
            throw new IllegalArgumentException("tensor segment must be native (off-heap), got a heap segment");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("tensor offset must be >= 0, got " + offset);
        }
        int cols = s.length == 0 ? 1 : s[s.length - 1];
        long rows = rowCount(s);
        checkLd("tensor", ld, cols);
        long need = (offset + requiredFloats(rows, cols, ld)) * Float.BYTES;
        if (need > segment.byteSize()) {
            throw new IllegalArgumentException("tensor " + Arrays.toString(s) + " with ld " + ld + " at offset "
                    + offset + " needs " + need + " bytes, segment has " + segment.byteSize());
        }
        return new Tensor(segment, offset, ld, s);
    }

    /**
     * Floats a {@code [rows × cols]} matrix with leading dimension {@code ld} spans: the last row is not padded.
     *
     * @param rows the matrix's rows
     * @param cols its columns
     * @param ld   its leading dimension
     * @return {@code (rows - 1)·ld + cols}, or 0 for an empty matrix
     */
    public static long requiredFloats(long rows, long cols, long ld) {
        return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
    }

    /**
     * The same elements seen with another shape; needs a contiguous tensor (ld == cols) or the same last dimension.
     *
     * @param newShape the new dimensions, holding as many elements
     * @return a view with that shape
     * @throws IllegalArgumentException if the element counts differ, or a strided tensor would need another last dimension
     */
    public Tensor reshape(int... newShape) {
        int[] s = checkShape(newShape);
        long n = 1;
        for (int d : s) n *= d;
        if (n != size()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " (" + size()
                    + " elements) to " + Arrays.toString(s) + " (" + n + " elements)");
        }
        int newCols = s.length == 0 ? 1 : s[s.length - 1];
        if (newCols == cols) return new Tensor(segment, offset, ld, s);
        if (!isContiguous()) {
            throw new IllegalArgumentException("cannot reshape non-contiguous tensor " + Arrays.toString(shape)
                    + " (ld " + ld + ") to a different last dimension " + Arrays.toString(s));
        }
        return new Tensor(segment, offset, newCols, s);
    }

    /**
     * Rows {@code [from, to)} of the matrix view, as a {@code [to-from × cols]} tensor sharing storage.
     *
     * @param from the first row
     * @param to   the row after the last
     * @return the view
     */
    public Tensor rows(int from, int to) {
        Objects.checkFromToIndex(from, to, rows);
        return new Tensor(segment, offset + (long) from * ld, ld, new int[] {to - from, cols});
    }

    /**
     * Columns {@code [from, to)} of every row, as a {@code [rows × (to-from)]} tensor sharing storage (same ld).
     *
     * @param from the first column
     * @param to   the column after the last
     * @return the view
     */
    public Tensor columns(int from, int to) {
        Objects.checkFromToIndex(from, to, cols);
        return new Tensor(segment, offset + from, ld, new int[] {rows, to - from});
    }

    /**
     * Index {@code i} of the first dimension, as a tensor of the remaining dimensions sharing storage.
     *
     * @param i the index in the first dimension
     * @return the view
     * @throws IllegalArgumentException if the tensor's rank is below 2
     */
    public Tensor slice(int i) {
        if (shape.length < 2) throw new IllegalArgumentException("slice needs rank >= 2, tensor is " + Arrays.toString(shape));
        Objects.checkIndex(i, shape[0]);
        int[] rest = Arrays.copyOfRange(shape, 1, shape.length);
        long rowsPer = rowCount(rest);
        return new Tensor(segment, offset + i * rowsPer * ld, ld, rest);
    }

    /**
     * Copies {@code data} (row-major, one element per element of this tensor) into this tensor.
     *
     * @param data the elements
     * @throws IllegalArgumentException if the lengths differ
     * @throws IllegalStateException if the tensor's arena was closed
     */
    public void copyFrom(float[] data) {
        checkAlive();
        if (data.length != size()) {
            throw new IllegalArgumentException("copyFrom: tensor " + Arrays.toString(shape) + " has " + size()
                    + " elements, array has " + data.length);
        }
        for (int r = 0; r < rows && cols > 0; r++) { // no row to touch when cols is 0 (rows may lie past the storage)
            MemorySegment.copy(data, r * cols, segment, F32, (offset + (long) r * ld) * Float.BYTES, cols);
        }
    }

    /**
     * Copies this tensor's elements, row-major, into {@code data}.
     *
     * @param data the array, as long as the tensor has elements
     * @throws IllegalArgumentException if the lengths differ
     * @throws IllegalStateException if the tensor's arena was closed
     */
    public void copyTo(float[] data) {
        checkAlive();
        if (data.length != size()) {
            throw new IllegalArgumentException("copyTo: tensor " + Arrays.toString(shape) + " has " + size()
                    + " elements, array has " + data.length);
        }
        for (int r = 0; r < rows && cols > 0; r++) {
            MemorySegment.copy(segment, F32, (offset + (long) r * ld) * Float.BYTES, data, r * cols, cols);
        }
    }

    /**
     * Copies the elements of {@code src} (same shape, any leading dimensions) into this tensor.
     *
     * @param src the source
     * @throws IllegalArgumentException if the shapes differ
     * @throws IllegalStateException if either tensor's arena was closed
     */
    public void copyFrom(Tensor src) {
        checkAlive();
        src.checkAlive();
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copyFrom: shapes differ, this " + Arrays.toString(shape)
                    + ", source " + Arrays.toString(src.shape));
        }
        for (int r = 0; r < rows && cols > 0; r++) {
            MemorySegment.copy(src.segment, (src.offset + (long) r * src.ld) * Float.BYTES,
                    segment, (offset + (long) r * ld) * Float.BYTES, (long) cols * Float.BYTES);
        }
    }

    /**
     * This tensor's elements in a new array, row-major.
     *
     * @return the elements
     */
    public float[] toArray() {
        float[] out = new float[Math.toIntExact(size())];
        copyTo(out);
        return out;
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the value
     */
    public void fill(float value) {
        checkAlive();
        for (int r = 0; r < rows && cols > 0; r++) {
            long base = (offset + (long) r * ld) * Float.BYTES;
            if (value == 0f) {
                segment.asSlice(base, (long) cols * Float.BYTES).fill((byte) 0);
            } else {
                for (int c = 0; c < cols; c++) segment.set(F32, base + (long) c * Float.BYTES, value);
            }
        }
    }

    /**
     * Element at matrix position {@code (row, col)}.
     *
     * @param row the row, {@code 0 ≤ row < rows()}
     * @param col the column, {@code 0 ≤ col < cols()}
     * @return the element
     */
    public float get(int row, int col) {
        Objects.checkIndex(row, rows);
        Objects.checkIndex(col, cols);
        return segment.get(F32, (offset + (long) row * ld + col) * Float.BYTES);
    }

    /**
     * Sets the element at matrix position {@code (row, col)}.
     *
     * @param row the row, {@code 0 ≤ row < rows()}
     * @param col the column, {@code 0 ≤ col < cols()}
     * @param v   the value
     */
    public void set(int row, int col, float v) {
        Objects.checkIndex(row, rows);
        Objects.checkIndex(col, cols);
        segment.set(F32, (offset + (long) row * ld + col) * Float.BYTES, v);
    }

    /** Throws {@link IllegalStateException} if the arena owning this tensor's memory has been closed. */
    public void checkAlive() {
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("tensor " + Arrays.toString(shape) + " is unusable: its arena was closed");
        }
    }

    /**
     * Whether the arena owning this tensor's memory is still open.
     *
     * @return whether the tensor can be used
     */
    public boolean isAlive() {
        return segment.scope().isAlive();
    }

    /**
     * Whether the elements lie one after another, without gaps between rows.
     *
     * @return whether the tensor is contiguous
     */
    public boolean isContiguous() {
        return ld == cols || rows <= 1 || cols == 0;
    }

    /**
     * The memory the tensor views (the whole segment; elements start at {@link #offset()}).
     *
     * @return the segment
     */
    public MemorySegment segment() { return segment; }

    /**
     * Offset of element (0, 0), in floats from the segment's start.
     *
     * @return the offset
     */
    public long offset() { return offset; }

    /**
     * The leading dimension: floats from one row to the next.
     *
     * @return the leading dimension
     */
    public int ld() { return ld; }

    /**
     * Rows of the matrix view: the product of every dimension but the last.
     *
     * @return the rows
     */
    public int rows() { return rows; }

    /**
     * Columns of the matrix view: the last dimension (1 for rank 0).
     *
     * @return the columns
     */
    public int cols() { return cols; }

    /**
     * The number of dimensions.
     *
     * @return the rank
     */
    public int rank() { return shape.length; }

    /**
     * One dimension of the shape.
     *
     * @param i the dimension's index
     * @return its size
     */
    public int dim(int i) { return shape[i]; }

    /**
     * The shape.
     *
     * @return a copy of the dimensions
     */
    public int[] shape() { return shape.clone(); }

    /**
     * The number of elements.
     *
     * @return {@code rows()·cols()}
     */
    public long size() { return (long) rows * cols; }

    /**
     * The shape as text, e.g. {@code [4, 256]} or {@code [64, 1, 256]}.
     *
     * @return the shape
     */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (ld != cols ? "(ld=" + ld + ")" : "");
    }

    private static int[] checkShape(int[] shape) {
        Objects.requireNonNull(shape, "shape");
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor shape has a negative dimension: " + Arrays.toString(shape));
        }
        long n = 1;
        for (int d : shape) {
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
            }
        }
        return shape.clone();
    }

    private static long rowCount(int[] shape) {
        long r = 1;
        for (int i = 0; i < shape.length - 1; i++) r *= shape[i];
        return r;
    }

    private static void checkLd(String what, int ld, int cols) {
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(what + " leading dimension must be >= max(1, cols) = " + Math.max(1, cols) + ", got " + ld);
        }
    }
}
