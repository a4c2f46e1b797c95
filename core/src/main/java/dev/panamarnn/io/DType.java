package dev.panamarnn.io;

/**
 * The element types a safetensors file may hold, by their header names ({@code "F32"}, {@code "BF16"}, …).
 * Every name the format defines beyond these (F8 variants, U16…U64, complex types) is rejected by
 * {@link SafeTensors#open}, naming the type.
 */
public enum DType {
    /** 32-bit IEEE float. */
    F32(4, true),
    /** 16-bit IEEE half float. */
    F16(2, true),
    /** bfloat16: a float32 with the low 16 bits of its mantissa cut. */
    BF16(2, true),
    /** 64-bit IEEE double. */
    F64(8, true),
    /** Signed 64-bit integer. */
    I64(8, false),
    /** Signed 32-bit integer. */
    I32(4, false),
    /** Signed 16-bit integer. */
    I16(2, false),
    /** Signed 8-bit integer. */
    I8(1, false),
    /** Unsigned 8-bit integer. */
    U8(1, false),
    /** One byte per element, 0 or 1. */
    BOOL(1, false);

    private final int byteSize;
    private final boolean floatingPoint;

    DType(int byteSize, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /**
     * Bytes per element.
     *
     * @return 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Whether this type converts to float32 ({@link SafeTensors#toTensor}, {@link SafeTensors#toFloatArray}).
     *
     * @return whether it is F32, F16, BF16 or F64
     */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** The type with header name {@code name} (case-sensitive, as the format requires), or {@code null}. */
    static DType byName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }
}
