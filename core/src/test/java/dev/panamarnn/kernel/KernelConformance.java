package dev.panamarnn.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every kernel of a backend against the scalar reference, over awkward sizes so that every vector body,
 * masked tail and edge block runs; all transposes, leading dimensions larger than the row, several
 * alpha/beta. Padding between rows is filled with a sentinel and must come back untouched.
 *
 * <p>Tolerances. GEMM/GEMV: a float32 sum of k products, in any order, is within {@code (k+2)·u·Σ|a·b|}
 * of the exact value (u = 2⁻²⁴; Higham's bound γ_k); the reference is computed in double, so that bound
 * (times 2, plus the beta term) is rigorous and a wrong index or a lost tail gives errors orders of
 * magnitude larger. Activations and cells: the backends' approximations are documented to 1e-6 absolute;
 * a cell chains two or three of them, hence {@code 4e-6·(1+|ref|)}.
 */
public abstract class KernelConformance {
    protected static final int[] SIZES = {1, 3, 7, 15, 16, 17, 31, 33, 100, 257};
    private static final float SENTINEL = 12345.5f;
    private static final double U = 0x1p-24;

    private final Kernels reference = Kernels.of(new ScalarKernelProvider());
    private Kernels kernels;

    /** The provider under test; tests are skipped, with its reason, when it cannot run here. */
    protected abstract KernelProvider provider();

    @BeforeEach
    void setUp() {
        KernelProvider p = provider();
        KernelProvider.Availability a = p.availability();
        assumeTrue(a.available(), () -> p.name() + " backend not available: " + a.reason());
        kernels = Kernels.of(p);
    }

    /** Shows up as skipped, with the provider's reason, when the backend cannot run here. */
    @org.junit.jupiter.api.Test
    void backendRuns() {
        org.junit.jupiter.api.Assertions.assertEquals(provider().name(), kernels.name());
    }

    @TestFactory
    Stream<DynamicTest> sgemm() {
        List<DynamicTest> tests = new ArrayList<>();
        float[][] alphaBeta = {{1f, 0f}, {0.5f, 1f}, {-1.5f, 0.25f}};
        int idx = 0;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (int i = 0; i < SIZES.length; i++) {
                    for (int j = 0; j < SIZES.length; j++) {
                        int m = SIZES[i], n = SIZES[j], k = SIZES[(i + 2 * j + (ta ? 1 : 0) + (tb ? 3 : 0)) % SIZES.length];
                        float[] ab = alphaBeta[idx % alphaBeta.length];
                        int pad = idx % 3 == 0 ? 0 : 1 + idx % 5;
                        long seed = 1000 + idx++;
                        tests.add(DynamicTest.dynamicTest(
                                String.format("sgemm ta=%b tb=%b m=%d n=%d k=%d alpha=%s beta=%s pad=%d seed=%d", ta, tb, m, n, k, ab[0], ab[1], pad, seed),
                                () -> checkGemm(ta, tb, m, n, k, ab[0], ab[1], pad, seed)));
                    }
                }
                // Larger shapes: the blocked paths, and the RNN step shapes (B × G·H × H, op(B) = Wᵀ).
                int[][] big = {{1000, 33, 257}, {64, 1000, 100}, {1, 1024, 256}, {3, 512, 1000}, {130, 70, 300}};
                for (int[] s : big) {
                    long seed = 5000 + idx++;
                    tests.add(DynamicTest.dynamicTest(
                            String.format("sgemm ta=%b tb=%b m=%d n=%d k=%d seed=%d", ta, tb, s[0], s[1], s[2], seed),
                            () -> checkGemm(ta, tb, s[0], s[1], s[2], 1f, 1f, 2, seed)));
                }
            }
        }
        return tests.stream();
    }

    /** C = alpha·A·Bᵀ + beta·C with B in bfloat16, against the reference on B widened to float32. */
    @TestFactory
    Stream<DynamicTest> sgemmBf16() {
        List<DynamicTest> tests = new ArrayList<>();
        int[][] shapes = {{1, 1, 1}, {1, 7, 17}, {1, 33, 100}, {1, 1024, 256}, {1, 5, 70}, {2, 5, 3}, {3, 17, 31}, {17, 100, 33}, {64, 257, 16}, {4, 9, 96}};
        int idx = 0;
        for (int[] sh : shapes) {
            float beta = idx % 2 == 0 ? 0f : 1f;
            int pad = idx % 3;
            long seed = 9000 + idx++;
            tests.add(DynamicTest.dynamicTest(String.format("sgemmBf16 m=%d n=%d k=%d beta=%s pad=%d seed=%d", sh[0], sh[1], sh[2], beta, pad, seed),
                    () -> checkGemmBf16(sh[0], sh[1], sh[2], 0.75f, beta, pad, seed)));
        }
        return tests.stream();
    }

    private void checkGemmBf16(int m, int n, int k, float alpha, float beta, int pad, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, m, k, pad, rnd, 1f);
            Mat wide = Mat.random(arena, n, k, pad + 1, rnd, 1f);
            java.lang.foreign.MemorySegment b16 = arena.allocate((long) n * wide.ld * 2, 64);
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < k; p++) {
                    int bits = Float.floatToRawIntBits(wide.get(j, p));
                    short h = (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16); // round to nearest even
                    b16.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, (long) j * wide.ld + Bf16Layout.position(p, k), h);
                    wide.set(j, p, Float.intBitsToFloat(h << 16));
                }
            }
            Mat c = Mat.random(arena, m, n, pad, rnd, 1f);
            if (beta == 0f) c.fillData(Float.NaN);
            Mat expected = c.copy(arena);
            reference.sgemm(false, true, m, n, k, alpha, a.seg, 0, a.ld, wide.seg, 0, wide.ld, beta, expected.seg, 0, expected.ld);
            kernels.sgemmBf16(m, n, k, alpha, a.seg, 0, a.ld, b16, 0, wide.ld, beta, c.seg, 0, c.ld);
            c.checkPadding("C", seed);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double mag = 0;
                    for (int p = 0; p < k; p++) mag += Math.abs(a.get(i, p) * wide.get(j, p));
                    double cMag = beta == 0f ? 0 : Math.abs(beta * c.getInitial(i, j));
                    compare("C", i, j, expected.get(i, j), c.get(i, j), 2 * (k + 2) * U * (Math.abs(alpha) * mag + cMag) + 1e-30, seed);
                }
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> sgemv() {
        List<DynamicTest> tests = new ArrayList<>();
        int idx = 0;
        for (boolean ta : new boolean[] {false, true}) {
            for (int m : SIZES) {
                for (int n : new int[] {1, 7, 16, 33, 257, 1000}) {
                    float alpha = idx % 2 == 0 ? 1f : -0.75f, beta = idx % 3 == 0 ? 0f : 0.5f;
                    int pad = idx % 4;
                    long seed = 9000 + idx++;
                    tests.add(DynamicTest.dynamicTest(
                            String.format("sgemv ta=%b m=%d n=%d alpha=%s beta=%s pad=%d seed=%d", ta, m, n, alpha, beta, pad, seed),
                            () -> checkGemv(ta, m, n, alpha, beta, pad, seed)));
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> gemmPrepared() {
        List<DynamicTest> tests = new ArrayList<>();
        int idx = 0;
        // Every remainder after whole groups of 6 rows (SimdPackedGemm), with none, one and two groups.
        for (int m : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17}) {
            for (int n : new int[] {1, 3, 7, 33, 100}) {
                int k = SIZES[(idx * 7) % SIZES.length];
                float beta = idx % 3 == 0 ? 0f : idx % 3 == 1 ? 1f : 0.5f;
                int pad = idx % 4;
                long seed = 12000 + idx++;
                tests.add(DynamicTest.dynamicTest(String.format("gemmPrepared m=%d n=%d k=%d beta=%s pad=%d seed=%d", m, n, k, beta, pad, seed),
                        () -> checkGemmPrepared(m, n, k, beta, pad, seed)));
            }
        }
        // The recurrent step shapes (W [G·H × H]), several groups of panels with a partial last one.
        int[][] big = {{2, 1024, 256}, {8, 2048, 512}, {7, 130, 67}, {11, 67, 1000}, {64, 300, 129}};
        for (int[] s : big) {
            long seed = 13000 + idx++;
            tests.add(DynamicTest.dynamicTest(String.format("gemmPrepared m=%d n=%d k=%d seed=%d", s[0], s[1], s[2], seed),
                    () -> checkGemmPrepared(s[0], s[1], s[2], 1f, 2, seed)));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> activations() {
        List<DynamicTest> tests = new ArrayList<>();
        for (int n : new int[] {1, 2, 3, 7, 15, 16, 17, 31, 33, 100, 257, 1000}) {
            for (String f : new String[] {"sigmoid", "tanh", "relu"}) {
                tests.add(DynamicTest.dynamicTest(f + " n=" + n, () -> checkActivation(f, n, 77L * n)));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> cells() {
        List<DynamicTest> tests = new ArrayList<>();
        int idx = 0;
        for (int b : new int[] {1, 2, 3, 7}) {
            for (int h : new int[] {1, 3, 7, 15, 16, 17, 33, 100, 257}) {
                int pad = idx % 3;
                long seed = 300 + idx++;
                String sfx = " batch=" + b + " hidden=" + h + " pad=" + pad + " seed=" + seed;
                tests.add(DynamicTest.dynamicTest("lstmCell" + sfx, () -> checkLstm(b, h, pad, seed)));
                tests.add(DynamicTest.dynamicTest("gruCell" + sfx, () -> checkGru(b, h, pad, seed, false)));
                tests.add(DynamicTest.dynamicTest("gruCell in place" + sfx, () -> checkGru(b, h, pad, seed, true)));
                tests.add(DynamicTest.dynamicTest("rnnCell tanh" + sfx, () -> checkRnn(b, h, pad, seed, Activation.TANH)));
                tests.add(DynamicTest.dynamicTest("rnnCell relu" + sfx, () -> checkRnn(b, h, pad, seed, Activation.RELU)));
            }
        }
        return tests.stream();
    }

    /**
     * Operands at offsets into larger segments, as the model layer passes them (a native backend must turn
     * each into a pointer of its own): the same bits as at offset 0, called twice (a backend may reuse what
     * it made for an offset), and nothing written before C's offset. Offsets are whole multiples of 64 bytes,
     * so the alignment, and with it any backend's path, stays that of offset 0.
     */
    @TestFactory
    Stream<DynamicTest> productsAtOffsets() {
        List<DynamicTest> tests = new ArrayList<>();
        int[][] shapes = {{5, 7, 9}, {1, 33, 17}, {9, 1, 13}, {40, 24, 70}};
        long seed = 7000;
        for (int[] sh : shapes) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    long sd = seed++;
                    tests.add(DynamicTest.dynamicTest(String.format("sgemm at offsets ta=%b tb=%b m=%d n=%d k=%d seed=%d", ta, tb, sh[0], sh[1], sh[2], sd),
                            () -> checkGemmAtOffsets(ta, tb, sh[0], sh[1], sh[2], sd)));
                }
            }
            for (boolean ta : new boolean[] {false, true}) {
                long sd = seed++;
                tests.add(DynamicTest.dynamicTest(String.format("sgemv at offsets ta=%b m=%d n=%d seed=%d", ta, sh[0], sh[2], sd),
                        () -> checkGemvAtOffsets(ta, sh[0], sh[2], sd)));
            }
        }
        return tests.stream();
    }

    // ---- checks -----------------------------------------------------------------------------------

    private void checkGemm(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, int pad, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, ta ? k : m, ta ? m : k, pad, rnd, 1f);
            Mat b = Mat.random(arena, tb ? n : k, tb ? k : n, pad + 1, rnd, 1f);
            Mat c = Mat.random(arena, m, n, pad, rnd, 1f);
            if (beta == 0f) c.fillData(Float.NaN); // beta == 0: C must not be read
            Mat expected = c.copy(arena);
            reference.sgemm(ta, tb, m, n, k, alpha, a.seg, 0, a.ld, b.seg, 0, b.ld, beta, expected.seg, 0, expected.ld);
            kernels.sgemm(ta, tb, m, n, k, alpha, a.seg, 0, a.ld, b.seg, 0, b.ld, beta, c.seg, 0, c.ld);
            c.checkPadding("C", seed);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double mag = 0;
                    for (int p = 0; p < k; p++) {
                        mag += Math.abs(a.get(ta ? p : i, ta ? i : p) * b.get(tb ? j : p, tb ? p : j));
                    }
                    double cMag = beta == 0f ? 0 : Math.abs(beta * c.getInitial(i, j));
                    double tol = 2 * (k + 2) * U * (Math.abs(alpha) * mag + cMag) + 1e-30;
                    compare("C", i, j, expected.get(i, j), c.get(i, j), tol, seed);
                }
            }
        }
    }

    private void checkGemmAtOffsets(boolean ta, boolean tb, int m, int n, int k, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, ta ? k : m, ta ? m : k, 1, rnd, 1f);
            Mat b = Mat.random(arena, tb ? n : k, tb ? k : n, 2, rnd, 1f);
            Mat c = Mat.random(arena, m, n, 1, rnd, 1f);
            MemorySegment a2 = shifted(arena, a.seg, 16), b2 = shifted(arena, b.seg, 32), c2 = shifted(arena, c.seg, 48);
            kernels.sgemm(ta, tb, m, n, k, 0.5f, a.seg, 0, a.ld, b.seg, 0, b.ld, 0.75f, c.seg, 0, c.ld);
            for (int call = 0; call < 2; call++) {
                if (call == 1) MemorySegment.copy(c.copyOfInitial(arena), 0, c2, 48L * Float.BYTES, c.seg.byteSize());
                kernels.sgemm(ta, tb, m, n, k, 0.5f, a2, 16, a.ld, b2, 32, b.ld, 0.75f, c2, 48, c.ld);
                sameBits("C at offsets, call " + (call + 1), c.seg, c2, 48, seed);
            }
        }
    }

    private void checkGemvAtOffsets(boolean ta, int m, int n, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, m, n, 3, rnd, 1f);
            Mat x = Mat.random(arena, 1, ta ? m : n, 0, rnd, 1f);
            Mat y = Mat.random(arena, 1, ta ? n : m, 0, rnd, 1f);
            MemorySegment a2 = shifted(arena, a.seg, 64), x2 = shifted(arena, x.seg, 16), y2 = shifted(arena, y.seg, 32);
            kernels.sgemv(ta, m, n, 1.5f, a.seg, 0, a.ld, x.seg, 0, 0.5f, y.seg, 0);
            for (int call = 0; call < 2; call++) {
                if (call == 1) MemorySegment.copy(y.copyOfInitial(arena), 0, y2, 32L * Float.BYTES, y.seg.byteSize());
                kernels.sgemv(ta, m, n, 1.5f, a2, 64, a.ld, x2, 16, 0.5f, y2, 32);
                sameBits("y at offsets, call " + (call + 1), y.seg, y2, 32, seed);
            }
        }
    }

    /** A copy of {@code seg} starting {@code off} floats into a new segment, the floats before it a sentinel. */
    private static MemorySegment shifted(Arena arena, MemorySegment seg, long off) {
        MemorySegment s = arena.allocate(seg.byteSize() + off * Float.BYTES, 64);
        for (long i = 0; i < off; i++) s.setAtIndex(JAVA_FLOAT, i, SENTINEL);
        MemorySegment.copy(seg, 0, s, off * Float.BYTES, seg.byteSize());
        return s;
    }

    /** {@code shifted} from float {@code off} on holds the bits of {@code expected}, and its floats before off are the sentinel. */
    private static void sameBits(String what, MemorySegment expected, MemorySegment shifted, long off, long seed) {
        for (long i = 0; i < off; i++) {
            if (shifted.getAtIndex(JAVA_FLOAT, i) != SENTINEL) fail(what + ": float " + i + " before the offset was written (seed " + seed + ")");
        }
        for (long i = 0; i < expected.byteSize() / Float.BYTES; i++) {
            int e = Float.floatToRawIntBits(expected.getAtIndex(JAVA_FLOAT, i)), g = Float.floatToRawIntBits(shifted.getAtIndex(JAVA_FLOAT, off + i));
            if (e != g) fail(what + ": float " + i + " is " + Float.intBitsToFloat(g) + ", at offset 0 " + Float.intBitsToFloat(e) + " (seed " + seed + ")");
        }
    }

    private void checkGemv(boolean ta, int m, int n, float alpha, float beta, int pad, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, m, n, pad, rnd, 1f);
            int xl = ta ? m : n, yl = ta ? n : m;
            Mat x = Mat.random(arena, 1, xl, 0, rnd, 1f);
            Mat y = Mat.random(arena, 1, yl, 0, rnd, 1f);
            if (beta == 0f) y.fillData(Float.NaN);
            Mat expected = y.copy(arena);
            reference.sgemv(ta, m, n, alpha, a.seg, 0, a.ld, x.seg, 0, beta, expected.seg, 0);
            kernels.sgemv(ta, m, n, alpha, a.seg, 0, a.ld, x.seg, 0, beta, y.seg, 0);
            for (int j = 0; j < yl; j++) {
                double mag = 0;
                for (int p = 0; p < xl; p++) mag += Math.abs((ta ? a.get(p, j) : a.get(j, p)) * x.get(0, p));
                double tol = 2 * (xl + 2) * U * (Math.abs(alpha) * mag + (beta == 0 ? 0 : Math.abs(beta * y.getInitial(0, j)))) + 1e-30;
                compare("y", 0, j, expected.get(0, j), y.get(0, j), tol, seed);
            }
        }
    }

    /**
     * Against the reference within the GEMM bound; and each row bit for bit what the same kernel gives for
     * that row alone (m = 1), since a sample's result must not depend on its batch: with m up to 13 every
     * kernel shape of a backend serves some row.
     */
    private void checkGemmPrepared(int m, int n, int k, float beta, int pad, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat a = Mat.random(arena, m, k, pad, rnd, 1f);
            Mat w = Mat.random(arena, n, k, pad + 1, rnd, 1f);
            Mat c = Mat.random(arena, m, n, pad, rnd, 1f);
            if (beta == 0f) c.fillData(Float.NaN); // beta == 0: C must not be read
            Mat expected = c.copy(arena), alone = c.copy(arena);
            reference.sgemm(false, true, m, n, k, 1f, a.seg, 0, a.ld, w.seg, 0, w.ld, beta, expected.seg, 0, expected.ld);
            PreparedWeights pw = kernels.prepare(w.seg, 0, w.ld, n, k);
            kernels.gemmPrepared(m, pw, a.seg, 0, a.ld, beta, c.seg, 0, c.ld);
            c.checkPadding("C", seed);
            for (int i = 0; i < m; i++) {
                kernels.gemmPrepared(1, pw, a.seg, (long) i * a.ld, a.ld, beta, alone.seg, (long) i * alone.ld, alone.ld);
                for (int j = 0; j < n; j++) {
                    double mag = 0;
                    for (int p = 0; p < k; p++) mag += Math.abs(a.get(i, p) * w.get(j, p));
                    double tol = 2 * (k + 2) * U * (mag + (beta == 0f ? 0 : Math.abs(beta * c.getInitial(i, j)))) + 1e-30;
                    compare("C", i, j, expected.get(i, j), c.get(i, j), tol, seed);
                    if (Float.floatToRawIntBits(c.get(i, j)) != Float.floatToRawIntBits(alone.get(i, j))) {
                        fail("C[" + i + "," + j + "] = " + c.get(i, j) + " in a batch of " + m + " but " + alone.get(i, j) + " alone (seed " + seed + ")");
                    }
                }
            }
        }
    }

    private void checkActivation(String f, int n, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat x = Mat.random(arena, 1, n, 0, rnd, 12f);
            float[] special = {0f, -0f, 1e-30f, -1e-30f, 88.8f, -88.8f, 200f, -200f, Float.MAX_VALUE, -Float.MAX_VALUE,
                    Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 7.9f, -7.9f, 9.01f, -9.01f};
            for (int i = 0; i < n && i < special.length; i++) x.set(0, (i * 7) % n, special[i]);
            Mat expected = Mat.random(arena, 1, n, 0, rnd, 1f);
            Mat out = Mat.random(arena, 1, n, 0, rnd, 1f);
            Mat inPlace = x.copy(arena);
            apply(reference, f, n, x.seg, expected.seg);
            apply(kernels, f, n, x.seg, out.seg);
            apply(kernels, f, n, inPlace.seg, inPlace.seg);
            for (int j = 0; j < n; j++) {
                double tol = f.equals("relu") ? 0 : 1.5e-6 * (1 + Math.abs(expected.get(0, j)));
                compare(f + "(" + x.get(0, j) + ")", 0, j, expected.get(0, j), out.get(0, j), tol, seed);
                compare(f + " in place", 0, j, out.get(0, j), inPlace.get(0, j), 0, seed);
            }
        }
    }

    private static void apply(Kernels k, String f, int n, MemorySegment x, MemorySegment y) {
        switch (f) {
            case "sigmoid" -> k.sigmoid(n, x, 0, y, 0);
            case "tanh" -> k.tanh(n, x, 0, y, 0);
            default -> k.relu(n, x, 0, y, 0);
        }
    }

    private void checkLstm(int b, int h, int pad, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat gates = Mat.random(arena, b, 4 * h, pad, rnd, 4f);
            Mat c = Mat.random(arena, b, h, pad + 1, rnd, 2f);
            Mat hOut = Mat.random(arena, b, h, pad, rnd, 1f);
            Mat cRef = c.copy(arena), hRef = hOut.copy(arena), gatesBefore = gates.copy(arena);
            reference.lstmCell(b, h, gates.seg, 0, gates.ld, cRef.seg, 0, cRef.ld, hRef.seg, 0, hRef.ld);
            kernels.lstmCell(b, h, gates.seg, 0, gates.ld, c.seg, 0, c.ld, hOut.seg, 0, hOut.ld);
            c.checkPadding("c", seed);
            hOut.checkPadding("h", seed);
            compareAll("c", cRef, c, 4e-6, seed);
            compareAll("h", hRef, hOut, 4e-6, seed);
            compareAll("gates (must be unchanged)", gatesBefore, gates, 0, seed);
        }
    }

    private void checkGru(int b, int h, int pad, long seed, boolean inPlace) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat gi = Mat.random(arena, b, 3 * h, pad, rnd, 4f);
            Mat gh = Mat.random(arena, b, 3 * h, pad + 2, rnd, 4f);
            Mat hPrev = Mat.random(arena, b, h, pad, rnd, 1f);
            Mat hOut = inPlace ? hPrev : Mat.random(arena, b, h, pad + 1, rnd, 1f);
            Mat ref = Mat.random(arena, b, h, 0, rnd, 1f);
            Mat hPrevCopy = hPrev.copy(arena);
            reference.gruCell(b, h, gi.seg, 0, gi.ld, gh.seg, 0, gh.ld, hPrevCopy.seg, 0, hPrevCopy.ld, ref.seg, 0, ref.ld);
            kernels.gruCell(b, h, gi.seg, 0, gi.ld, gh.seg, 0, gh.ld, hPrev.seg, 0, hPrev.ld, hOut.seg, 0, hOut.ld);
            hOut.checkPadding("h", seed);
            compareAll("h", ref, hOut, 4e-6, seed);
        }
    }

    private void checkRnn(int b, int h, int pad, long seed, Activation act) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(seed);
            Mat pre = Mat.random(arena, b, h, pad, rnd, 4f);
            Mat hOut = Mat.random(arena, b, h, pad + 1, rnd, 1f);
            Mat ref = hOut.copy(arena);
            reference.rnnCell(b, h, act, pre.seg, 0, pre.ld, ref.seg, 0, ref.ld);
            kernels.rnnCell(b, h, act, pre.seg, 0, pre.ld, hOut.seg, 0, hOut.ld);
            hOut.checkPadding("h", seed);
            compareAll("h", ref, hOut, act == Activation.RELU ? 0 : 4e-6, seed);
        }
    }

    private static void compareAll(String what, Mat expected, Mat actual, double relTol, long seed) {
        for (int i = 0; i < expected.rows; i++) {
            for (int j = 0; j < expected.cols; j++) {
                double e = expected.get(i, j);
                compare(what, i, j, e, actual.get(i, j), relTol * (1 + Math.abs(e)), seed);
            }
        }
    }

    private static void compare(String what, int i, int j, double expected, double actual, double tol, long seed) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            if (Double.isNaN(expected) != Double.isNaN(actual)) {
                fail(what + "[" + i + "," + j + "]: expected " + expected + " got " + actual + " (seed " + seed + ")");
            }
            return;
        }
        if (Double.isInfinite(expected) || Double.isInfinite(actual)) {
            assertTrue(expected == actual, () -> what + "[" + i + "," + j + "]: expected " + expected + " got " + actual + " (seed " + seed + ")");
            return;
        }
        double err = Math.abs(expected - actual);
        if (err > tol) {
            fail(String.format("%s[%d,%d]: expected %.9g got %.9g, error %.3g > tolerance %.3g (seed %d)", what, i, j, expected, actual, err, tol, seed));
        }
    }

    /** A random matrix with ld = cols + pad, its padding set to a sentinel, and a copy of its initial values. */
    static final class Mat {
        final MemorySegment seg;
        final int rows, cols, ld;
        final float[] initial;

        private Mat(MemorySegment seg, int rows, int cols, int ld) {
            this.seg = seg;
            this.rows = rows;
            this.cols = cols;
            this.ld = ld;
            this.initial = new float[rows * cols];
        }

        static Mat random(Arena arena, int rows, int cols, int pad, Random rnd, float scale) {
            int ld = Math.max(1, cols + pad);
            Mat m = new Mat(arena.allocate((long) Math.max(1, rows) * ld * Float.BYTES, 64), rows, cols, ld);
            for (long i = 0; i < (long) Math.max(1, rows) * ld; i++) m.seg.setAtIndex(JAVA_FLOAT, i, SENTINEL);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    float v = (float) ((rnd.nextDouble() * 2 - 1) * scale);
                    m.set(i, j, v);
                    m.initial[i * cols + j] = v;
                }
            }
            return m;
        }

        Mat copy(Arena arena) {
            Mat c = new Mat(arena.allocate(seg.byteSize(), 64), rows, cols, ld);
            c.seg.copyFrom(seg);
            System.arraycopy(initial, 0, c.initial, 0, initial.length);
            return c;
        }

        /** A new segment laid out as this one, holding the initial values (padding: the sentinel). */
        MemorySegment copyOfInitial(Arena arena) {
            MemorySegment s = arena.allocate(seg.byteSize(), 64);
            for (long i = 0; i < seg.byteSize() / Float.BYTES; i++) s.setAtIndex(JAVA_FLOAT, i, SENTINEL);
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) s.setAtIndex(JAVA_FLOAT, (long) i * ld + j, initial[i * cols + j]);
            return s;
        }

        void fillData(float v) {
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) set(i, j, v);
        }

        float get(int i, int j) { return seg.getAtIndex(JAVA_FLOAT, (long) i * ld + j); }

        float getInitial(int i, int j) { return initial[i * cols + j]; }

        void set(int i, int j, float v) { seg.setAtIndex(JAVA_FLOAT, (long) i * ld + j, v); }

        void checkPadding(String what, long seed) {
            for (int i = 0; i < rows; i++) {
                for (int j = cols; j < ld; j++) {
                    float v = seg.getAtIndex(JAVA_FLOAT, (long) i * ld + j);
                    if (v != SENTINEL) fail(what + ": padding at row " + i + " col " + j + " was overwritten with " + v + " (seed " + seed + ")");
                }
            }
        }
    }
}
