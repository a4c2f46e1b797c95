package dev.panamarnn.io;

import dev.panamarnn.io.SafeTensors.Info;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Element conversions out of a safetensors data buffer. Source data is little-endian and, because the
 * header length need not be a multiple of the element size, possibly unaligned; every read uses an
 * unaligned little-endian layout.
 */
final class Convert {
    private Convert() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Writes tensor {@code i} (F32, F16, BF16 or F64) as native-order float32 into {@code dst} starting at
     * byte {@code dstOffset}.
     */
    static void toFloats(MemorySegment data, Info i, MemorySegment dst, long dstOffset) {
        long n = i.elementCount();
        long src = i.begin();
        switch (i.dtype()) {
            case F32 -> MemorySegment.copy(data, F32_LE, src, dst, F32, dstOffset, n);
            case F16 -> {
                for (long k = 0; k < n; k++) {
                    dst.set(F32, dstOffset + k * Float.BYTES, Float.float16ToFloat(data.get(I16_LE, src + k * 2)));
                }
            }
            case BF16 -> {
                // bfloat16 is the top half of a float32: widening is a shift, exact for every value incl. NaN payloads.
                for (long k = 0; k < n; k++) {
                    int bits = (data.get(I16_LE, src + k * 2) & 0xffff) << 16;
                    dst.set(F32, dstOffset + k * Float.BYTES, Float.intBitsToFloat(bits));
                }
            }
            case F64 -> {
                for (long k = 0; k < n; k++) {
                    dst.set(F32, dstOffset + k * Float.BYTES, (float) data.get(F64_LE, src + k * 8));
                }
            }
            default -> throw new IllegalArgumentException("not a floating-point dtype: " + i.dtype());
        }
    }

    /** Tensor {@code i} (I64, I32, I16, I8, U8 or BOOL) widened to long. */
    static long[] toLongs(MemorySegment data, Info i) {
        int n = (int) i.elementCount();
        long src = i.begin();
        long[] out = new long[n];
        switch (i.dtype()) {
            case I64 -> MemorySegment.copy(data, I64_LE, src, MemorySegment.ofArray(out), ValueLayout.JAVA_LONG_UNALIGNED, 0, n);
            case I32 -> {
                for (int k = 0; k < n; k++) out[k] = data.get(I32_LE, src + k * 4L);
            }
            case I16 -> {
                for (int k = 0; k < n; k++) out[k] = data.get(I16_LE, src + k * 2L);
            }
            case I8 -> {
                for (int k = 0; k < n; k++) out[k] = data.get(ValueLayout.JAVA_BYTE, src + k);
            }
            case U8 -> {
                for (int k = 0; k < n; k++) out[k] = data.get(ValueLayout.JAVA_BYTE, src + k) & 0xff;
            }
            case BOOL -> {
                for (int k = 0; k < n; k++) out[k] = data.get(ValueLayout.JAVA_BYTE, src + k) != 0 ? 1 : 0;
            }
            default -> throw new IllegalArgumentException("not an integer dtype: " + i.dtype());
        }
        return out;
    }
}
