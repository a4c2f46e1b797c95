package dev.panamarnn.io;

/**
 * The element types a safetensors file may hold, by their header names ({@code "F32"}, {@code "BF16"}, …).
 * Every name the format defines beyond these (F8 variants, U16…U64, complex types) is rejected by
 * {@link SafeTensors#open}, naming the type.
 */
public enum DType {
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    F64(8, true),
    I64(8, false),
    I32(4, false),
    I16(2, false),
    I8(1, false),
    U8(1, false),
    /** One byte per element, 0 or 1. */
    BOOL(1, false);

    private final int byteSize;
    private final boolean floatingPoint;

    DType(int byteSize, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether this type converts to float32 ({@link SafeTensors#toTensor}, {@link SafeTensors#toFloatArray}). */
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
