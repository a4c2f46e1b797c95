package dev.panamarnn.kernel.simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch: heap arrays for the GEMM packing buffers, the GEMV input copy and accumulator, and
 * a native row for the gate kernels. Each buffer is grown (to the size asked, rounded up) when a call
 * needs more and is never shrunk, so after the first call of a given shape nothing is allocated. The sizes are bounded by the cache-block constants of
 * {@link SimdGemm}: at most {@code max(MC·KC, SMALL_A)} floats for packed A (256 KiB) and {@code KC·NC}
 * for packed B (4 MiB with AVX2), per thread that ever ran a large GEMM.
 *
 * <p>A {@link ThreadLocal} rather than a field: the kernels are stateless and called from any number of
 * threads at once.
 */
final class SimdScratch {
    private static final ThreadLocal<SimdScratch> LOCAL = ThreadLocal.withInitial(SimdScratch::new);

    private float[] packA = new float[0];
    private float[] packB = new float[0];
    private float[] vec = new float[0];
    private float[] lines = new float[0];
    private float[] acc = new float[0];
    private MemorySegment cellRow = MemorySegment.NULL;
    private final float[] sums = new float[12 * SimdMicroKernel.VL];
    private MemorySegment widened = MemorySegment.NULL;
    private MemorySegment stepGates = MemorySegment.NULL;
    private float[] stepTile = new float[0];
    /** One MR × NR tile for the edge blocks of the GEMM. */
    final float[] tile = new float[SimdMicroKernel.MR * SimdMicroKernel.NR];

    private SimdScratch() {}

    static SimdScratch get() {
        return LOCAL.get();
    }

    float[] packA(int size) {
        if (packA.length < size) packA = new float[grow(size)];
        return packA;
    }

    float[] packB(int size) {
        if (packB.length < size) packB = new float[grow(size)];
        return packB;
    }

    /** For a GEMV's x (copied so it is contiguous, on the heap, and never aliases y). */
    float[] vec(int size) {
        if (vec.length < size) vec = new float[grow(size)];
        return vec;
    }

    /**
     * For the gate kernels: one row of activated gates. Native (a heap segment would make the activation
     * loops' segment accesses polymorphic), 64-byte aligned, in an automatic arena that frees it once the
     * buffer is replaced or the thread is gone.
     */
    MemorySegment cellRow(long floats) {
        if (cellRow.byteSize() < floats * Float.BYTES) {
            cellRow = Arena.ofAuto().allocate((long) grow((int) floats) * Float.BYTES, 64);
        }
        return cellRow;
    }

    /** Twelve vectors: the largest kernel's accumulators on their way out of {@link SimdPackedGemm}'s kernels, and the bfloat16 GEMV's four row sums. */
    float[] sums() {
        return sums;
    }

    /** For a bfloat16 matrix widened to float32 (native, like {@link #cellRow}, for the GEMM's segment reads). */
    MemorySegment widened(long floats) {
        if (widened.byteSize() < floats * Float.BYTES) {
            widened = Arena.ofAuto().allocate(Math.max(floats, 1024) * Float.BYTES, 64);
        }
        return widened;
    }

    /**
     * For {@link SimdFusedSteps}: a tile's complete pre-activations on their way into the gate kernels
     * (native, like {@link #cellRow}, and apart from it: the gate kernels use that one themselves).
     */
    MemorySegment stepGates(long floats) {
        if (stepGates.byteSize() < floats * Float.BYTES) {
            stepGates = Arena.ofAuto().allocate((long) grow((int) floats) * Float.BYTES, 64);
        }
        return stepGates;
    }

    /** {@link SimdFusedSteps}' product tiles: a group of chunks, up to six rows of four panels each. */
    float[] stepTile(int size) {
        if (stepTile.length < size) stepTile = new float[grow(size)];
        return stepTile;
    }

    /** For a transposed GEMV's accumulator. */
    float[] acc(int size) {
        if (acc.length < size) acc = new float[grow(size)];
        return acc;
    }

    /** For the transposing pack: a few source lines copied to the heap. */
    float[] lines(int size) {
        if (lines.length < size) lines = new float[grow(size)];
        return lines;
    }

    private static int grow(int size) {
        return (size + 1023) & ~1023;
    }
}
