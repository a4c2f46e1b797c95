package dev.panamarnn;

import java.lang.foreign.MemorySegment;

/**
 * Argument checks shared by the facade and the model layer. Every message names the operand, what was
 * expected and what was given. These run before any kernel, so nothing invalid reaches native code.
 */
public final class Checks {
    private Checks() {}

    /**
     * Checks that {@code segment} can hold a {@code [rows × cols]} float matrix with leading dimension {@code ld} at {@code off}.
     *
     * @param op      the operation, for messages
     * @param name    the operand, for messages
     * @param segment the memory
     * @param off     the first element, in floats
     * @param rows    the matrix's rows
     * @param cols    its columns
     * @param ld      its leading dimension, in floats
     * @throws IllegalArgumentException if it cannot: null, on the heap, misaligned, negative sizes, too small
     * @throws IllegalStateException if the segment's arena was closed
     */
    public static void matrix(String op, String name, MemorySegment segment, long off, long rows, long cols, long ld) {
        if (segment == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(op + ": " + name + " is unusable: its arena was closed");
        }
        if (!segment.isNative()) {
            throw new IllegalArgumentException(op + ": " + name + " must be a native (off-heap) segment, got a heap segment");
        }
        if ((segment.address() & 3) != 0) {
            throw new IllegalArgumentException(op + ": " + name + " segment address " + segment.address() + " is not 4-byte aligned");
        }
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException(op + ": " + name + " dimensions must be >= 0, got [" + rows + " × " + cols + "]");
        }
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(op + ": " + name + " [" + rows + " × " + cols + "] needs a leading dimension >= "
                    + Math.max(1, cols) + ", got " + ld);
        }
        if (off < 0) throw new IllegalArgumentException(op + ": " + name + " offset must be >= 0, got " + off);
        long need = Math.addExact(off, Tensor.requiredFloats(rows, cols, ld));
        if (Math.multiplyExact(need, (long) Float.BYTES) > segment.byteSize()) {
            throw new IllegalArgumentException(op + ": " + name + " [" + rows + " × " + cols + "] with ld " + ld + " at offset " + off
                    + " needs " + need + " floats, segment holds " + segment.byteSize() / Float.BYTES);
        }
    }

    /**
     * Checks a tensor is alive and is exactly {@code [rows × cols]} as a matrix.
     *
     * @param op   the operation, for messages
     * @param name the operand, for messages
     * @param t    the tensor
     * @param rows the rows it must have
     * @param cols the columns it must have
     * @throws IllegalArgumentException if it is null or of another shape
     * @throws IllegalStateException if its arena was closed
     */
    public static void shape(String op, String name, Tensor t, int rows, int cols) {
        alive(op, name, t);
        if (t.rows() != rows || t.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + name + " must be [" + rows + " × " + cols + "], got "
                    + t.shapeString() + " = [" + t.rows() + " × " + t.cols() + "]");
        }
    }

    /**
     * Checks a tensor is not null and its arena is open.
     *
     * @param op   the operation, for messages
     * @param name the operand, for messages
     * @param t    the tensor
     * @throws IllegalArgumentException if it is null
     * @throws IllegalStateException if its arena was closed
     */
    public static void alive(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!t.isAlive()) throw new IllegalStateException(op + ": " + name + " " + t.shapeString() + " is unusable: its arena was closed");
    }

    /**
     * Checks a size is not negative.
     *
     * @param op   the operation, for messages
     * @param name the size's name, for messages
     * @param v    the size
     * @throws IllegalArgumentException if it is negative
     */
    public static void nonNegative(String op, String name, long v) {
        if (v < 0) throw new IllegalArgumentException(op + ": " + name + " must be >= 0, got " + v);
    }

    /**
     * Throws if two matrices in the same segment share any bytes (an output must not alias an input).
     *
     * @param op        the operation, for messages
     * @param outName   the output's name
     * @param out       the output's memory
     * @param outOff    its first element, in floats
     * @param outFloats the floats it spans
     * @param inName    the input's name
     * @param in        the input's memory
     * @param inOff     its first element, in floats
     * @param inFloats  the floats it spans
     * @throws IllegalArgumentException if they overlap
     */
    public static void disjoint(String op, String outName, MemorySegment out, long outOff, long outFloats,
                                String inName, MemorySegment in, long inOff, long inFloats) {
        if (outFloats == 0 || inFloats == 0) return;
        long o0 = out.address() + outOff * Float.BYTES, o1 = o0 + outFloats * Float.BYTES;
        long i0 = in.address() + inOff * Float.BYTES, i1 = i0 + inFloats * Float.BYTES;
        if (o0 < i1 && i0 < o1) {
            throw new IllegalArgumentException(op + ": output " + outName + " overlaps input " + inName);
        }
    }
}
