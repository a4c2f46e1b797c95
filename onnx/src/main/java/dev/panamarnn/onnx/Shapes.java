package dev.panamarnn.onnx;

import java.util.Arrays;

/** Shape arithmetic and index mapping for the graph's operators: strides, numpy broadcasting, element moves. */
final class Shapes {
    private Shapes() {}

    static long count(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /**
     * The most elements one operator's result may have: a 32nd of the heap's maximum, so that the result and
     * the operator's index arrays (up to 16 bytes an element) fit in half the heap, and at most 2^31-9 (the
     * longest array a JVM makes). A file of a few bytes can ask for far more (ConstantOfShape, Expand,
     * broadcasting, empty operands with large dimensions): refused, not left to run the JVM out of memory.
     */
    static final long MAX_ELEMENTS = Math.min(Integer.MAX_VALUE - 8, Runtime.getRuntime().maxMemory() / 32);

    /** The element count of a shape an operator is about to allocate, refused above 2^31-1 and {@link #MAX_ELEMENTS}. */
    static int checkedCount(int[] shape, String what) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException(what + " would have shape " + Arrays.toString(shape) + ", with a negative dimension");
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(what + " would have shape " + Arrays.toString(shape) + ": more than 2^31-1 elements");
        }
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException(what + " would have shape " + Arrays.toString(shape) + ": " + n + " elements, more than the " + MAX_ELEMENTS
                    + " one result may have with this heap (a 32nd of its maximum)");
        }
        return (int) n;
    }

    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** An axis attribute in {@code -rank..rank-1} as {@code 0..rank-1}. */
    static int axis(long axis, int rank, String what) {
        if (axis < -rank || axis >= rank) throw new IllegalArgumentException(what + " axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** numpy's broadcast of two shapes. */
    static int[] broadcast(int[] a, int[] b, String what) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1, db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(what + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** For each element of {@code out} (row-major), the index of the element of {@code in} it broadcasts from. */
    static int[] broadcastIndex(int[] in, int[] out) {
        int r = out.length;
        int[] inStrides = strides(in), bs = new int[r];
        for (int i = 0; i < in.length; i++) {
            int o = i + r - in.length;
            bs[o] = in[i] == 1 ? 0 : inStrides[i];
        }
        return walk(out, bs, 0);
    }

    /**
     * The source index of each element of a tensor of shape {@code out} (row-major) when moving along
     * dimension d adds {@code step[d]} to the source index, starting at {@code start}.
     */
    static int[] walk(int[] out, int[] step, int start) {
        int n = (int) count(out), r = out.length;
        int[] idx = new int[n], pos = new int[r];
        int src = start;
        for (int k = 0; k < n; k++) {
            idx[k] = src;
            for (int d = r - 1; d >= 0; d--) {
                if (++pos[d] < out[d]) {
                    src += step[d];
                    break;
                }
                src -= step[d] * (out[d] - 1);
                pos[d] = 0;
            }
        }
        return idx;
    }

    /** A new tensor of {@code shape} whose k-th element is {@code t}'s element {@code index[k]}. */
    static OnnxTensor pick(OnnxTensor t, int[] index, int[] shape) {
        if (t.type() == OnnxTensor.Type.FLOAT) {
            float[] src = t.floats(), dst = new float[index.length];
            for (int k = 0; k < dst.length; k++) dst[k] = src[index[k]];
            return OnnxTensor.ofFloats(dst, shape);
        }
        long[] src = t.longs(), dst = new long[index.length];
        for (int k = 0; k < dst.length; k++) dst[k] = src[index[k]];
        return OnnxTensor.ofIntegers(t.type(), dst, shape);
    }
}
