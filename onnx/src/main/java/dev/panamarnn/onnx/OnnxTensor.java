package dev.panamarnn.onnx;

import java.util.Arrays;
import java.util.Objects;

/**
 * A value of an ONNX graph on the heap: an element type, a shape and the elements in row-major order.
 * Float tensors hold {@code float[]}; integer and boolean tensors hold {@code long[]} (an {@link Type#INT32}
 * tensor's elements fit an int, a {@link Type#BOOL} tensor's are 0 or 1). A rank-0 tensor (a scalar) has
 * the shape {@code []} and one element.
 *
 * <p>Immutable in use: the graph never writes into a tensor it was given or has returned, and the accessors
 * return the arrays themselves, so a caller must not change them while the tensor is in use.
 */
public final class OnnxTensor {
    /** The element types panama-rnn computes with; other ONNX types are refused by name at load. */
    public enum Type {
        /** float32 ({@code TensorProto.FLOAT} = 1). */
        FLOAT(1),
        /** int32 ({@code TensorProto.INT32} = 6). */
        INT32(6),
        /** int64 ({@code TensorProto.INT64} = 7). */
        INT64(7),
        /** bool ({@code TensorProto.BOOL} = 9), one byte per element in files. */
        BOOL(9);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        /**
         * The {@code TensorProto.DataType} number of this type.
         *
         * @return ONNX's code
         */
        public int code() {
            return code;
        }

        /** The type of an ONNX {@code data_type} code, or null when panama-rnn does not compute with it. */
        static Type of(int code) {
            for (Type t : values()) if (t.code == code) return t;
            return null;
        }

        /** ONNX's name for a {@code data_type} code, for messages. */
        static String nameOf(int code) {
            String[] names = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
                "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
            return code >= 0 && code < names.length ? names[code] : "data type " + code;
        }
    }

    private final Type type;
    private final int[] shape;
    private final float[] floats;
    private final long[] longs;

    private OnnxTensor(Type type, int[] shape, float[] floats, long[] longs) {
        this.type = type;
        this.shape = shape;
        this.floats = floats;
        this.longs = longs;
    }

    /**
     * A float tensor over {@code data} (not copied).
     *
     * @param data  the elements, row-major
     * @param shape the shape; {@code []} for a scalar
     * @return the tensor
     * @throws IllegalArgumentException if a dimension is negative or the shape does not hold {@code data.length} elements
     */
    public static OnnxTensor ofFloats(float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        check(shape, data.length);
        return new OnnxTensor(Type.FLOAT, shape.clone(), data, null);
    }

    /**
     * An int64 tensor over {@code data} (not copied).
     *
     * @param data  the elements, row-major
     * @param shape the shape; {@code []} for a scalar
     * @return the tensor
     * @throws IllegalArgumentException if a dimension is negative or the shape does not hold {@code data.length} elements
     */
    public static OnnxTensor ofLongs(long[] data, int... shape) {
        return ofIntegers(Type.INT64, data, shape);
    }

    /**
     * An int32 tensor with the elements of {@code data}.
     *
     * @param data  the elements, row-major
     * @param shape the shape; {@code []} for a scalar
     * @return the tensor
     * @throws IllegalArgumentException if a dimension is negative or the shape does not hold {@code data.length} elements
     */
    public static OnnxTensor ofInts(int[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        long[] l = new long[data.length];
        for (int i = 0; i < l.length; i++) l[i] = data[i];
        return ofIntegers(Type.INT32, l, shape);
    }

    /** An integer or boolean tensor over {@code data} (not copied); the caller has checked its values fit {@code type}. */
    static OnnxTensor ofIntegers(Type type, long[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        if (type == Type.FLOAT) throw new IllegalArgumentException("FLOAT tensors hold floats");
        check(shape, data.length);
        return new OnnxTensor(type, shape.clone(), null, data);
    }

    private static void check(int[] shape, int length) {
        Objects.requireNonNull(shape, "shape");
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative dimension");
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        if (n != length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " elements, the data has " + length);
    }

    /**
     * The element type.
     *
     * @return the type
     */
    public Type type() {
        return type;
    }

    /**
     * The shape (a copy).
     *
     * @return the dimensions, outermost first; empty for a scalar
     */
    public int[] shape() {
        return shape.clone();
    }

    /** The shape itself, for the graph's operators (never changed). */
    int[] dims() {
        return shape;
    }

    /**
     * The number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * One dimension.
     *
     * @param i which, from 0
     * @return its size
     */
    public int dim(int i) {
        return shape[i];
    }

    /**
     * The number of elements.
     *
     * @return the product of the dimensions
     */
    public int size() {
        return type == Type.FLOAT ? floats.length : longs.length;
    }

    /**
     * The elements of a float tensor (the array itself).
     *
     * @return the elements, row-major
     * @throws IllegalStateException if the tensor is not {@link Type#FLOAT}
     */
    public float[] floats() {
        if (type != Type.FLOAT) throw new IllegalStateException("tensor of type " + type + ", not FLOAT");
        return floats;
    }

    /**
     * The elements of an integer or boolean tensor (the array itself).
     *
     * @return the elements, row-major
     * @throws IllegalStateException if the tensor is {@link Type#FLOAT}
     */
    public long[] longs() {
        if (type == Type.FLOAT) throw new IllegalStateException("tensor of type FLOAT, not an integer type");
        return longs;
    }

    /** This tensor with another shape of as many elements, sharing the data. */
    OnnxTensor reshaped(int... newShape) {
        check(newShape, size());
        return new OnnxTensor(type, newShape.clone(), floats, longs);
    }

    /**
     * The shape as ONNX writes it, for messages: {@code [2, 3]}, {@code []} for a scalar.
     *
     * @return the shape as text
     */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return type + shapeString();
    }
}
