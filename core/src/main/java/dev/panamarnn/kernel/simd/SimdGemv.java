package dev.panamarnn.kernel.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products over a stored {@code A} of {@code [m × n]} (lda ≥ n). The input vector is a
 * heap copy ({@link SimdScratch#vec}), so it is contiguous whatever its stride was and never aliases y.
 * Both are bound by reading A (1 MiB at the batch-1 LSTM step, from L3): one JMH run, simd / OpenBLAS,
 * µs: y = W·x with W {@code [1024 × 256]} 20.0 / 23.2, y = Wᵀ·x with W {@code [256 × 1024]} 18.6 / 20.0.
 */
final class SimdGemv {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** VL bfloat16 values: half the preferred shape. */
    private static final VectorSpecies<Short> BS = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED.withShape(S.vectorShape());

    /**
     * Lane i takes lane (i + w) mod VL: static finals, so C2 folds them into the permutes. The kernels sum
     * a row's lanes in one fixed order with them, a halving tree written out in each kernel:
     * {@code reduceLanes(ADD)} leaves the order of float additions to the implementation, and the C2
     * intrinsic and the Java fallback (interpreter, C1) may differ, so the same call would give different
     * bits before and after warm-up. Written out, not a method taking a vector: see {@code rows4}.
     */
    private static final VectorShuffle<Float> ROT8 = rotation(8), ROT4 = rotation(4), ROT2 = rotation(2), ROT1 = rotation(1);

    private SimdGemv() {}

    private static VectorShuffle<Float> rotation(int w) {
        return VL > w ? VectorShuffle.iota(S, w, 1, true) : null;
    }

    /** Copies {@code len} floats at stride {@code inc} from {@code src} into the thread's scratch vector. */
    static float[] copyIn(MemorySegment src, long off, long inc, int len) {
        float[] x = SimdScratch.get().vec(len);
        if (inc == 1) {
            MemorySegment.copy(src, F, off * Float.BYTES, x, 0, len);
        } else {
            for (int p = 0; p < len; p++) x[p] = src.getAtIndex(F, off + p * inc);
        }
        return x;
    }

    /**
     * {@code y[i·incY] = alpha·dot(A[i,:], x) + beta·y[i·incY]} for i in [0, m): rows are contiguous dot
     * products. Four rows at a time share each load of x.
     */
    static void gemvN(int m, int n, float alpha, MemorySegment a, long aOff, int lda, float[] x,
                      float beta, MemorySegment y, long yOff, long incY) {
        long ld = (long) lda * Float.BYTES;
        // Rows i, i+q, i+2q, i+3q together: four long sequential streams, which the hardware prefetchers
        // follow better than four interleaved 1 KiB rows (A comes from L3 at the step shapes).
        //
        // Small methods that take and return no vectors, on purpose. (1) A call taking a vector is inlined
        // or not depending on what else the JIT compiled first; when not, the vector is boxed (a helper
        // summing the lanes cost 16 KiB per L1 step in a test run that came after many other tests).
        // (2) As one method, C1's profiling compile ran out of virtual registers ("out of virtual
        // registers in linear scan"); HotSpot then marks it not compilable at that tier and it stays in
        // C1's first tier for good, boxing every vector: 18-25 MB per call of a small LSTM instead of
        // nothing (HeapPerCallTest, in some runs of the whole suite).
        int q = m / 4;
        if (q > 0) {
            float[] acc = SimdScratch.get().acc(q * 4 * VL);
            int j = rows4(q, n, a, aOff * Float.BYTES, ld, x, acc);
            for (int i = 0; i < q; i++) {
                if (j < n) tail4(n, j, a, (aOff + (long) i * lda) * Float.BYTES, q * ld, x, acc, i * 4 * VL);
                putSums4(acc, i * 4 * VL, alpha, beta, y, yOff + i * incY, q * incY);
            }
        }
        for (int i = 4 * q; i < m; i++) row1(n, alpha, a, (aOff + (long) i * lda) * Float.BYTES, x, beta, y, yOff + i * incY);
    }

    /**
     * For each group i < q, the whole vectors of rows i, i+q, i+2q, i+3q (from byte offset a0, rows ld
     * bytes apart) dotted with x, one accumulator per row, into acc[4·VL·i, 4·VL·(i+1)); returns where
     * the tail starts. All groups in one call: a call per group cost about 10 % at the L1 step.
     */
    private static int rows4(int q, int n, MemorySegment a, long a0, long ld, float[] x, float[] acc) {
        int ub = S.loopBound(n);
        long step = q * ld;
        for (int i = 0; i < q; i++) {
            long r0 = a0 + i * ld, r1 = r0 + step, r2 = r1 + step, r3 = r2 + step;
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            // One accumulator per row: C2 unrolls this loop itself and issues all its loads first, so
            // more accumulators or a manual unroll only spill. Four chains give one FMA per cycle,
            // 32 B/cycle, above what the L3 delivers; x is the first factor so the A load folds into
            // the FMA as its memory operand.
            for (int j = 0; j < ub; j += VL) {
                long o = (long) j * Float.BYTES;
                FloatVector xv = FloatVector.fromArray(S, x, j);
                s0 = xv.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO), s0);
                s1 = xv.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO), s1);
                s2 = xv.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO), s2);
                s3 = xv.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO), s3);
            }
            int t = i * 4 * VL;
            s0.intoArray(acc, t);
            s1.intoArray(acc, t + VL);
            s2.intoArray(acc, t + 2 * VL);
            s3.intoArray(acc, t + 3 * VL);
        }
        return ub;
    }

    /** Group t/(4·VL) of {@link #rows4}: adds its masked tail from column j into acc. */
    private static void tail4(int n, int j, MemorySegment a, long r0, long step, float[] x, float[] acc, int t) {
        VectorMask<Float> tail = S.indexInRange(j, n);
        long o = (long) j * Float.BYTES, r1 = r0 + step, r2 = r1 + step, r3 = r2 + step;
        FloatVector xv = FloatVector.fromArray(S, x, j, tail);
        xv.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO, tail), FloatVector.fromArray(S, acc, t)).intoArray(acc, t);
        xv.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO, tail), FloatVector.fromArray(S, acc, t + VL)).intoArray(acc, t + VL);
        xv.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO, tail), FloatVector.fromArray(S, acc, t + 2 * VL)).intoArray(acc, t + 2 * VL);
        xv.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO, tail), FloatVector.fromArray(S, acc, t + 3 * VL)).intoArray(acc, t + 3 * VL);
    }

    /**
     * Four rows' accumulators at acc[t, t + 4·VL): each row's lanes summed (the tree of ROT8) →
     * y[yi + r·yq] = alpha·sum + beta·y. Shared by the float32 and bfloat16 kernels.
     */
    private static void putSums4(float[] acc, int t, float alpha, float beta, MemorySegment y, long yi, long yq) {
        FloatVector s0 = FloatVector.fromArray(S, acc, t), s1 = FloatVector.fromArray(S, acc, t + VL);
        FloatVector s2 = FloatVector.fromArray(S, acc, t + 2 * VL), s3 = FloatVector.fromArray(S, acc, t + 3 * VL);
        if (VL > 8) {
            s0 = s0.add(s0.rearrange(ROT8));
            s1 = s1.add(s1.rearrange(ROT8));
            s2 = s2.add(s2.rearrange(ROT8));
            s3 = s3.add(s3.rearrange(ROT8));
        }
        if (VL > 4) {
            s0 = s0.add(s0.rearrange(ROT4));
            s1 = s1.add(s1.rearrange(ROT4));
            s2 = s2.add(s2.rearrange(ROT4));
            s3 = s3.add(s3.rearrange(ROT4));
        }
        if (VL > 2) {
            s0 = s0.add(s0.rearrange(ROT2));
            s1 = s1.add(s1.rearrange(ROT2));
            s2 = s2.add(s2.rearrange(ROT2));
            s3 = s3.add(s3.rearrange(ROT2));
        }
        if (VL > 1) {
            s0 = s0.add(s0.rearrange(ROT1));
            s1 = s1.add(s1.rearrange(ROT1));
            s2 = s2.add(s2.rearrange(ROT1));
            s3 = s3.add(s3.rearrange(ROT1));
        }
        put(y, yi, alpha * s0.lane(0), beta);
        put(y, yi + yq, alpha * s1.lane(0), beta);
        put(y, yi + 2 * yq, alpha * s2.lane(0), beta);
        put(y, yi + 3 * yq, alpha * s3.lane(0), beta);
    }

    /** The row at byte offset r0 → y[yi]. */
    private static void row1(int n, float alpha, MemorySegment a, long r0, float[] x, float beta, MemorySegment y, long yi) {
        int ub = S.loopBound(n);
        FloatVector s0 = FloatVector.zero(S);
        int j = 0;
        for (; j < ub; j += VL) {
            s0 = FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO).fma(FloatVector.fromArray(S, x, j), s0);
        }
        if (j < n) {
            VectorMask<Float> tail = S.indexInRange(j, n);
            FloatVector xv = FloatVector.fromArray(S, x, j, tail);
            s0 = FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO, tail).fma(xv, s0);
        }
        if (VL > 8) s0 = s0.add(s0.rearrange(ROT8));
        if (VL > 4) s0 = s0.add(s0.rearrange(ROT4));
        if (VL > 2) s0 = s0.add(s0.rearrange(ROT2));
        if (VL > 1) s0 = s0.add(s0.rearrange(ROT1));
        put(y, yi, alpha * s0.lane(0), beta);
    }

    private static void put(MemorySegment y, long idx, float v, float beta) {
        y.setAtIndex(F, idx, beta == 0f ? v : v + beta * y.getAtIndex(F, idx));
    }

    /**
     * {@code y = alpha·Aᵀ·x + beta·y} with x of m and y of n contiguous elements: an axpy over the rows of
     * A into a heap accumulator of n floats (it stays in L1/L2), four rows per pass, so A is read once,
     * front to back, in four neighbouring streams. Then y is written once with alpha and beta.
     */
    static void gemvT(int m, int n, float alpha, MemorySegment a, long aOff, int lda, float[] x,
                      float beta, MemorySegment y, long yOff) {
        float[] acc = SimdScratch.get().acc(n);
        Arrays.fill(acc, 0, n, 0f);
        long ld = (long) lda * Float.BYTES;
        // One method per pass, as in gemvN: as one method, C1's profiling compile ran out of virtual registers.
        int p = 0;
        for (; p + 4 <= m; p += 4) axpy4(n, a, (aOff + (long) p * lda) * Float.BYTES, ld, x, p, acc);
        for (; p < m; p++) axpy1(n, a, (aOff + (long) p * lda) * Float.BYTES, x[p], acc);
        int ub = S.loopBound(n);
        int j = 0;
        for (; j < ub; j += VL) putV(y, (yOff + j) * Float.BYTES, acc, j, alpha, beta);
        if (j < n) putV(y, (yOff + j) * Float.BYTES, acc, j, alpha, beta, S.indexInRange(j, n));
    }

    /** acc += x[p..p+3] · the four rows at byte offsets r0, r0+ld, r0+2ld, r0+3ld. */
    private static void axpy4(int n, MemorySegment a, long r0, long ld, float[] x, int p, float[] acc) {
        int ub = S.loopBound(n);
        long r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
        FloatVector x0 = FloatVector.broadcast(S, x[p]), x1 = FloatVector.broadcast(S, x[p + 1]);
        FloatVector x2 = FloatVector.broadcast(S, x[p + 2]), x3 = FloatVector.broadcast(S, x[p + 3]);
        int j = 0;
        for (; j < ub; j += VL) {
            long o = (long) j * Float.BYTES;
            FloatVector v = FloatVector.fromArray(S, acc, j);
            v = x0.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO), v);
            v = x1.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO), v);
            v = x2.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO), v);
            v = x3.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO), v);
            v.intoArray(acc, j);
        }
        if (j < n) axpyTail4(n, j, a, r0, ld, x, p, acc);
    }

    /** {@link #axpy4}'s masked tail from column j (its own method: with it, C1 still ran out of virtual registers). */
    private static void axpyTail4(int n, int j, MemorySegment a, long r0, long ld, float[] x, int p, float[] acc) {
        long r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
        FloatVector x0 = FloatVector.broadcast(S, x[p]), x1 = FloatVector.broadcast(S, x[p + 1]);
        FloatVector x2 = FloatVector.broadcast(S, x[p + 2]), x3 = FloatVector.broadcast(S, x[p + 3]);
        VectorMask<Float> tail = S.indexInRange(j, n);
        long o = (long) j * Float.BYTES;
        FloatVector v = FloatVector.fromArray(S, acc, j, tail);
        v = x0.fma(FloatVector.fromMemorySegment(S, a, r0 + o, NO, tail), v);
        v = x1.fma(FloatVector.fromMemorySegment(S, a, r1 + o, NO, tail), v);
        v = x2.fma(FloatVector.fromMemorySegment(S, a, r2 + o, NO, tail), v);
        v = x3.fma(FloatVector.fromMemorySegment(S, a, r3 + o, NO, tail), v);
        v.intoArray(acc, j, tail);
    }

    /** acc += xp · the row at byte offset r0. */
    private static void axpy1(int n, MemorySegment a, long r0, float xp, float[] acc) {
        int ub = S.loopBound(n);
        FloatVector x0 = FloatVector.broadcast(S, xp);
        int j = 0;
        for (; j < ub; j += VL) {
            x0.fma(FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO), FloatVector.fromArray(S, acc, j))
                    .intoArray(acc, j);
        }
        if (j < n) {
            VectorMask<Float> tail = S.indexInRange(j, n);
            x0.fma(FloatVector.fromMemorySegment(S, a, r0 + (long) j * Float.BYTES, NO, tail), FloatVector.fromArray(S, acc, j, tail))
                    .intoArray(acc, j, tail);
        }
    }

    // acc by array and index, not as a vector argument: a call taking a vector that the JIT does not
    // inline boxes it (see rows4).
    private static void putV(MemorySegment y, long byteOff, float[] acc, int j, float alpha, float beta) {
        FloatVector v = FloatVector.fromArray(S, acc, j).mul(alpha);
        if (beta != 0f) v = FloatVector.fromMemorySegment(S, y, byteOff, NO).fma(FloatVector.broadcast(S, beta), v);
        v.intoMemorySegment(y, byteOff, NO);
    }

    private static void putV(MemorySegment y, long byteOff, float[] acc, int j, float alpha, float beta, VectorMask<Float> mk) {
        FloatVector v = FloatVector.fromArray(S, acc, j, mk).mul(alpha);
        if (beta != 0f) v = FloatVector.fromMemorySegment(S, y, byteOff, NO, mk).fma(FloatVector.broadcast(S, beta), v);
        v.intoMemorySegment(y, byteOff, NO, mk);
    }

    /** VL bfloat16 values at byte offset {@code o} of {@code b} (masked when {@code m} is not null), widened to float32 exactly. */
    private static FloatVector bf16(MemorySegment b, long o, VectorMask<Short> m) {
        ShortVector v = m == null ? ShortVector.fromMemorySegment(BS, b, o, NO) : ShortVector.fromMemorySegment(BS, b, o, NO, m);
        return ((IntVector) v.convertShape(VectorOperators.S2I, IS, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** 32-bit words of 16 bfloat16 pairs: {@link dev.panamarnn.kernel.Bf16Layout}'s blocks, in IntVectors of VL lanes. */
    private static final int WORDS = IS.length(), LOADS = dev.panamarnn.kernel.Bf16Layout.HALF / Math.min(WORDS, dev.panamarnn.kernel.Bf16Layout.HALF);
    private static final int BLOCK = dev.panamarnn.kernel.Bf16Layout.BLOCK;
    /**
     * Whether the vector code reads the layout's whole blocks: with VL dividing 16 (4, 8 or 16 floats), in
     * LOADS loads of VL words. Wider vectors (SVE beyond 512 bits) would straddle two blocks: then
     * {@link #widen} reads them element by element and {@link #gemvNBf16} is not used.
     */
    static final boolean BLOCKS = dev.panamarnn.kernel.Bf16Layout.HALF % VL == 0;

    /**
     * {@link #gemvN} with A in bfloat16 ({@code [m × n]}, lda ≥ n, 2-byte elements, rows in
     * {@link dev.panamarnn.kernel.Bf16Layout}) and a contiguous y: the whole blocks widen in place (a
     * shift and a mask per 32-bit word), the rest as in gemvN. The products meet the accumulator in the
     * natural order of the row, so the result equals gemvN on the widened A bit for bit, reading half
     * the bytes. With vectors of 4, 8 or 16 floats (LOADS 4, 2 or 1; {@link #BLOCKS}).
     */
    static void gemvNBf16(int m, int n, float alpha, MemorySegment a, long aOff, int lda, float[] x,
                          float beta, MemorySegment y, long yOff) {
        // Rows i, i+q, i+2q, i+3q together, as in gemvN: four independent FMA chains (one chain alone is
        // bound by the FMA latency) and four sequential streams. One group per call of a method that
        // takes and returns no vectors: in one large method C2 ran out of inlining budget and boxed the
        // accumulators (64 bytes per row).
        int q = m / 4;
        float[] acc = SimdScratch.get().sums();
        for (int i = 0; i < q; i++) bf16Rows4(a, (aOff + (long) i * lda) * Short.BYTES, (long) q * lda * Short.BYTES, n, x, acc, alpha, beta, y, yOff + i, q);
        for (int i = 4 * q; i < m; i++) bf16Row(a, (aOff + (long) i * lda) * Short.BYTES, n, x, alpha, beta, y, yOff + i);
    }

    /** Rows at byte offsets r0, r0+step, r0+2·step, r0+3·step → y[yi], y[yi+q], y[yi+2q], y[yi+3q]. */
    private static void bf16Rows4(MemorySegment a, long r0, long step, int n, float[] x, float[] acc, float alpha, float beta,
                                  MemorySegment y, long yi, int q) {
        int whole = BLOCKS ? n / BLOCK * BLOCK : 0;
        int ub = S.loopBound(n);
        VectorMask<Float> tail = S.indexInRange(ub, n);
        VectorMask<Short> btail = BS.indexInRange(ub, n);
        long half = (long) VL * Integer.BYTES, r1 = r0 + step, r2 = r1 + step, r3 = r2 + step;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int j = 0; j < whole; j += BLOCK) {
            long o = (long) j * Short.BYTES;
            if (LOADS > 2) {
                // 128-bit vectors: the low halves of the four loads (e0…e15), then the high halves
                // (e16…e31), so that each lane meets its elements in the row's order, as below.
                for (int h = 0; h < LOADS; h++) {
                    long w = o + h * half;
                    FloatVector xv = FloatVector.fromArray(S, x, j + h * VL);
                    s0 = xv.fma(IntVector.fromMemorySegment(IS, a, r0 + w, NO).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
                    s1 = xv.fma(IntVector.fromMemorySegment(IS, a, r1 + w, NO).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s1);
                    s2 = xv.fma(IntVector.fromMemorySegment(IS, a, r2 + w, NO).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s2);
                    s3 = xv.fma(IntVector.fromMemorySegment(IS, a, r3 + w, NO).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s3);
                }
                for (int h = 0; h < LOADS; h++) {
                    long w = o + h * half;
                    FloatVector xv = FloatVector.fromArray(S, x, j + 16 + h * VL);
                    s0 = xv.fma(IntVector.fromMemorySegment(IS, a, r0 + w, NO).lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
                    s1 = xv.fma(IntVector.fromMemorySegment(IS, a, r1 + w, NO).lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s1);
                    s2 = xv.fma(IntVector.fromMemorySegment(IS, a, r2 + w, NO).lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s2);
                    s3 = xv.fma(IntVector.fromMemorySegment(IS, a, r3 + w, NO).lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s3);
                }
                continue;
            }
            // LOADS = 2 with AVX2: words 0-7 hold (e0,e16)…(e7,e23), words 8-15 (e8,e24)…(e15,e31).
            FloatVector x0 = FloatVector.fromArray(S, x, j);
            IntVector a0 = IntVector.fromMemorySegment(IS, a, r0 + o, NO), b0 = IntVector.fromMemorySegment(IS, a, r1 + o, NO);
            IntVector c0 = IntVector.fromMemorySegment(IS, a, r2 + o, NO), d0 = IntVector.fromMemorySegment(IS, a, r3 + o, NO);
            s0 = x0.fma(a0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
            s1 = x0.fma(b0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s1);
            s2 = x0.fma(c0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s2);
            s3 = x0.fma(d0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s3);
            IntVector a1 = a0, b1 = b0, c1 = c0, d1 = d0;
            if (LOADS > 1) {
                FloatVector x1 = FloatVector.fromArray(S, x, j + VL);
                a1 = IntVector.fromMemorySegment(IS, a, r0 + o + half, NO);
                b1 = IntVector.fromMemorySegment(IS, a, r1 + o + half, NO);
                c1 = IntVector.fromMemorySegment(IS, a, r2 + o + half, NO);
                d1 = IntVector.fromMemorySegment(IS, a, r3 + o + half, NO);
                s0 = x1.fma(a1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
                s1 = x1.fma(b1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s1);
                s2 = x1.fma(c1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s2);
                s3 = x1.fma(d1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s3);
            }
            FloatVector x2 = FloatVector.fromArray(S, x, j + 16);
            s0 = x2.fma(a0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
            s1 = x2.fma(b0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s1);
            s2 = x2.fma(c0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s2);
            s3 = x2.fma(d0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s3);
            if (LOADS > 1) {
                FloatVector x3 = FloatVector.fromArray(S, x, j + 16 + VL);
                s0 = x3.fma(a1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
                s1 = x3.fma(b1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s1);
                s2 = x3.fma(c1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s2);
                s3 = x3.fma(d1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s3);
            }
        }
        int j = whole;
        for (; j < ub; j += VL) {
            long o = (long) j * Short.BYTES;
            FloatVector xv = FloatVector.fromArray(S, x, j);
            s0 = xv.fma(bf16(a, r0 + o, null), s0);
            s1 = xv.fma(bf16(a, r1 + o, null), s1);
            s2 = xv.fma(bf16(a, r2 + o, null), s2);
            s3 = xv.fma(bf16(a, r3 + o, null), s3);
        }
        if (j < n) {
            long o = (long) j * Short.BYTES;
            FloatVector xv = FloatVector.fromArray(S, x, j, tail);
            s0 = xv.fma(bf16(a, r0 + o, btail), s0);
            s1 = xv.fma(bf16(a, r1 + o, btail), s1);
            s2 = xv.fma(bf16(a, r2 + o, btail), s2);
            s3 = xv.fma(bf16(a, r3 + o, btail), s3);
        }
        // The lane sums through putSums4, shared with the float32 kernel: four vector stores and loads,
        // not a call taking vectors (not inlined here, it boxed them) nor scalar adds over a heap array
        // (a third of the time, perfasm).
        s0.intoArray(acc, 0);
        s1.intoArray(acc, VL);
        s2.intoArray(acc, 2 * VL);
        s3.intoArray(acc, 3 * VL);
        putSums4(acc, 0, alpha, beta, y, yi, q);
    }

    /** One row at byte offset r0 → y[yi]. */
    private static void bf16Row(MemorySegment a, long r0, int n, float[] x, float alpha, float beta, MemorySegment y, long yi) {
        int whole = BLOCKS ? n / BLOCK * BLOCK : 0;
        int ub = S.loopBound(n);
        VectorMask<Float> tail = S.indexInRange(ub, n);
        VectorMask<Short> btail = BS.indexInRange(ub, n);
        long half = (long) VL * Integer.BYTES;
        FloatVector s0 = FloatVector.zero(S);
        for (int j = 0; j < whole; j += BLOCK) {
            long o = r0 + (long) j * Short.BYTES;
            if (LOADS > 2) { // 128-bit vectors: as in bf16Rows4
                for (int h = 0; h < LOADS; h++) {
                    s0 = FloatVector.fromArray(S, x, j + h * VL)
                            .fma(IntVector.fromMemorySegment(IS, a, o + h * half, NO).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
                }
                for (int h = 0; h < LOADS; h++) {
                    s0 = FloatVector.fromArray(S, x, j + 16 + h * VL)
                            .fma(IntVector.fromMemorySegment(IS, a, o + h * half, NO).lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
                }
                continue;
            }
            IntVector w0 = IntVector.fromMemorySegment(IS, a, o, NO);
            s0 = FloatVector.fromArray(S, x, j).fma(w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
            if (LOADS > 1) {
                IntVector w1 = IntVector.fromMemorySegment(IS, a, o + half, NO);
                s0 = FloatVector.fromArray(S, x, j + VL).fma(w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), s0);
                s0 = FloatVector.fromArray(S, x, j + 16).fma(w0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
                s0 = FloatVector.fromArray(S, x, j + 16 + VL).fma(w1.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
            } else {
                s0 = FloatVector.fromArray(S, x, j + 16).fma(w0.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), s0);
            }
        }
        int j = whole;
        for (; j < ub; j += VL) s0 = FloatVector.fromArray(S, x, j).fma(bf16(a, r0 + (long) j * Short.BYTES, null), s0);
        if (j < n) s0 = FloatVector.fromArray(S, x, j, tail).fma(bf16(a, r0 + (long) j * Short.BYTES, btail), s0);
        if (VL > 8) s0 = s0.add(s0.rearrange(ROT8));
        if (VL > 4) s0 = s0.add(s0.rearrange(ROT4));
        if (VL > 2) s0 = s0.add(s0.rearrange(ROT2));
        if (VL > 1) s0 = s0.add(s0.rearrange(ROT1));
        put(y, yi, alpha * s0.lane(0), beta);
    }

    /** Row r of a bfloat16 matrix (rows in {@link dev.panamarnn.kernel.Bf16Layout}) widened to float32 in natural order: {@code w[r·n + p]}. */
    static void widen(int rows, int n, MemorySegment b, long bOff, int ldb, MemorySegment w) {
        int whole = BLOCKS ? n / BLOCK * BLOCK : 0;
        for (int r = 0; r < rows; r++) {
            long src = bOff + (long) r * ldb, dst = (long) r * n;
            for (int j = 0; j < whole; j += BLOCK) {
                long o = (src + j) * Short.BYTES, d = (dst + j) * Float.BYTES;
                for (int h = 0; h < LOADS; h++) {
                    IntVector wv = IntVector.fromMemorySegment(IS, b, o + (long) h * VL * Integer.BYTES, NO);
                    wv.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(w, d + (long) h * VL * Float.BYTES, NO);
                    wv.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats().intoMemorySegment(w, d + (16L + h * VL) * Float.BYTES, NO);
                }
            }
            for (int p = whole; p < n; p++) { // what the vectors did not read, by the layout
                short hv = b.getAtIndex(ValueLayout.JAVA_SHORT, src + dev.panamarnn.kernel.Bf16Layout.position(p, n));
                w.setAtIndex(F, dst + p, Float.intBitsToFloat(hv << 16));
            }
        }
    }
}
