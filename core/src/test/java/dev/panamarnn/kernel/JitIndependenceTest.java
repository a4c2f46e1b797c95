package dev.panamarnn.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.kernel.simd.SimdKernelProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Results must not depend on how far the JIT has got: the first call (interpreted or C1) and a call
 * after tens of thousands of warm-up calls (C2, intrinsics) give the same bits. This is what makes
 * "8 threads give bit-identical results to 1 thread" hold at any point of a server's life. The kernels
 * therefore use only operations that IEEE 754 and the Vector API define exactly (add, mul, fma, div,
 * compares, blends, bit moves) and never {@code reduceLanes(ADD)}, whose order of float additions is left
 * to the implementation: in CI, two identical batch-1 calls (the GEMV path) differed by up to 1e-6 when
 * the GEMV used it, depending on how C2 had compiled it at the time.
 */
class JitIndependenceTest {
    private static final int WARM = 40_000;

    @Test
    void simdGemvAndCellsGiveTheSameBitsColdAndWarm() {
        check(Kernels.of(new SimdKernelProvider()));
    }

    @Test
    void scalarKernelsGiveTheSameBitsColdAndWarm() {
        check(Kernels.of(new ScalarKernelProvider()));
    }

    private static void check(Kernels k) {
        int m = 24, n = 37, hidden = 6, batch = 1;
        try (Arena arena = Arena.ofConfined()) {
            Random r = new Random(11);
            MemorySegment a = random(arena, r, m * n), x = random(arena, r, n), xt = random(arena, r, m);
            MemorySegment y = arena.allocate(JAVA_FLOAT, m), yt = arena.allocate(JAVA_FLOAT, n);
            MemorySegment gates = random(arena, r, 4 * hidden), c0 = random(arena, r, hidden);
            MemorySegment c = arena.allocate(JAVA_FLOAT, hidden), h = arena.allocate(JAVA_FLOAT, hidden);
            MemorySegment act = arena.allocate(JAVA_FLOAT, 64), actIn = random(arena, r, 64);
            float[][] cold = run(k, m, n, hidden, batch, a, x, xt, y, yt, gates, c0, c, h, actIn, act);
            for (int i = 0; i < WARM; i++) run(k, m, n, hidden, batch, a, x, xt, y, yt, gates, c0, c, h, actIn, act);
            float[][] warm = run(k, m, n, hidden, batch, a, x, xt, y, yt, gates, c0, c, h, actIn, act);
            for (int i = 0; i < cold.length; i++) assertArrayEquals(cold[i], warm[i], k.name() + " output " + i);
        }
    }

    private static float[][] run(Kernels k, int m, int n, int hidden, int batch, MemorySegment a, MemorySegment x,
                                 MemorySegment xt, MemorySegment y, MemorySegment yt, MemorySegment gates,
                                 MemorySegment c0, MemorySegment c, MemorySegment h, MemorySegment actIn, MemorySegment act) {
        k.sgemv(false, m, n, 1f, a, 0, n, x, 0, 0f, y, 0);
        k.sgemv(true, m, n, 1f, a, 0, n, xt, 0, 0f, yt, 0);
        MemorySegment.copy(c0, 0, c, 0, c0.byteSize());
        k.lstmCell(batch, hidden, gates, 0, 4 * hidden, c, 0, hidden, h, 0, hidden);
        k.tanh(64, actIn, 0, act, 0);
        float[] tanh = act.toArray(JAVA_FLOAT);
        k.sigmoid(64, actIn, 0, act, 0);
        return new float[][] {y.toArray(JAVA_FLOAT), yt.toArray(JAVA_FLOAT), c.toArray(JAVA_FLOAT), h.toArray(JAVA_FLOAT),
                tanh, act.toArray(JAVA_FLOAT)};
    }

    private static MemorySegment random(Arena arena, Random r, int n) {
        MemorySegment s = arena.allocate(JAVA_FLOAT, n);
        for (int i = 0; i < n; i++) s.setAtIndex(JAVA_FLOAT, i, (float) r.nextGaussian() * 3);
        return s;
    }
}
