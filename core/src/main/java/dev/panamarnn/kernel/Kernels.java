package dev.panamarnn.kernel;

import dev.panamarnn.Activation;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.kernel.simd.SimdKernelProvider;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * What the engine calls: one backend's {@link MatrixProducts} and {@link CellMath}, completed with the
 * core's own where the backend has none. Made by {@link #of}; not implemented by backends.
 *
 * <p>The core's own are the Vector API's when the JVM has {@code jdk.incubator.vector}, else the scalar
 * reference: the cell math of a backend that supplies none (OpenBLAS), and the bfloat16 and prepared
 * products ({@link Bf16Products}, {@link PreparedProducts}) of products that lack them. Each method runs
 * one implementation's routine, unchanged, so a call gives the bits that implementation gives.
 *
 * <p>Unchecked, like the SPI behind it: see {@link MatrixProducts}.
 */
public final class Kernels {
    private final String name;
    private final MatrixProducts products;
    private final Bf16Products bf16;
    private final PreparedProducts prepared;
    private final CellMath cells;
    /** The fused step, or null; per step shape ({@link #stepShape}), whether a step uses it. */
    private final FusedSteps fused;
    private final boolean[] fusedRows;
    /** Per step shape, whether a measurement found the step faster over W_hh in bfloat16 (one-row shapes only). */
    private final boolean[] bf16Rows;

    /**
     * Kernels from their parts.
     *
     * @param name     the backend's name
     * @param products GEMM, GEMV and the step policy
     * @param bf16     the products over bfloat16 weights
     * @param prepared the products over prepared weights
     * @param cells    the activations and fused cells
     */
    public Kernels(String name, MatrixProducts products, Bf16Products bf16, PreparedProducts prepared, CellMath cells) {
        this(name, products, bf16, prepared, cells, null, new boolean[STEP_SHAPES], new boolean[STEP_SHAPES]);
    }

    private Kernels(String name, MatrixProducts products, Bf16Products bf16, PreparedProducts prepared, CellMath cells,
                    FusedSteps fused, boolean[] fusedRows, boolean[] bf16Rows) {
        this.name = Objects.requireNonNull(name);
        this.products = Objects.requireNonNull(products);
        this.bf16 = Objects.requireNonNull(bf16);
        this.prepared = Objects.requireNonNull(prepared);
        this.cells = Objects.requireNonNull(cells);
        this.fused = fused;
        this.fusedRows = fusedRows.clone();
        this.bf16Rows = bf16Rows.clone();
    }

    /**
     * The kernels of an available backend: its products, with its own bfloat16 and prepared products
     * when they have those capabilities, and its cell math when it has some; the core's otherwise.
     *
     * @param provider an available backend
     * @return its kernels
     */
    public static Kernels of(KernelProvider provider) {
        MatrixProducts products = provider.products();
        CellMath cells = provider.cellMath().orElseGet(() -> Core.PROVIDER.cellMath().orElseThrow());
        Bf16Products bf16 = products instanceof Bf16Products b ? b : Core.BF16;
        PreparedProducts prepared = products instanceof PreparedProducts p ? p : Core.PREPARED;
        // A backend with cell math of its own and no fused step runs unfused (the scalar reference stays scalar).
        FusedSteps fused = provider.fusedSteps().orElse(provider.cellMath().isPresent() ? null : Core.FUSED);
        return new Kernels(provider.name(), products, bf16, prepared, cells, fused, new boolean[STEP_SHAPES], new boolean[STEP_SHAPES]);
    }

    /**
     * These kernels with the fused step used for the step shapes ({@link #stepShape}) where {@code shapes}
     * says so (a measurement's choice); without a fused step, the same kernels.
     *
     * @param shapes per step shape, whether a step of that shape runs fused
     * @return the kernels with that policy
     */
    public Kernels withFusedSteps(boolean[] shapes) {
        if (shapes.length != STEP_SHAPES) throw new IllegalArgumentException(STEP_SHAPES + " step shapes");
        return new Kernels(name, products, bf16, prepared, cells, fused, shapes, bf16Rows);
    }

    /**
     * These kernels with the measurement's choice of bfloat16 W_hh per step shape: for a layer whose user
     * allowed it ({@code bf16-if-faster}), whether its one-row step ran faster over W_hh in bfloat16 than
     * the fastest float32 step. Only the one-row shapes are measured; the others stay float32.
     *
     * @param shapes per step shape, whether the step was faster in bfloat16
     * @return the kernels with that choice
     */
    public Kernels withBf16Steps(boolean[] shapes) {
        if (shapes.length != STEP_SHAPES) throw new IllegalArgumentException(STEP_SHAPES + " step shapes");
        return new Kernels(name, products, bf16, prepared, cells, fused, fusedRows, shapes);
    }

    /**
     * Whether a one-row step over a W_hh of {@code wFloats} floats was measured faster with W_hh in
     * bfloat16 on these kernels (false when not measured).
     *
     * @param wFloats W_hh's size
     * @return whether bfloat16 weights won at that step shape
     */
    public boolean prefersBf16Steps(long wFloats) {
        return bf16Rows[stepShape(1, wFloats)];
    }

    /**
     * These kernels with the fused step used for every step shape, or for none (a setting's choice).
     *
     * @param all whether every step runs fused
     * @return the kernels with that policy
     */
    public Kernels withFusedSteps(boolean all) {
        boolean[] shapes = new boolean[STEP_SHAPES];
        java.util.Arrays.fill(shapes, all);
        return withFusedSteps(shapes);
    }


    /**
     * The step shape of a step of {@code m} rows over a W_hh of {@code wFloats} floats: the bucket of its
     * rows ({@link #BUCKETS} of them: 1, 2–32, more), or {@link #BUCKETS} for one row over a small W_hh
     * ({@link #SMALL_STEP_FLOATS}).
     *
     * @param m       the rows
     * @param wFloats W_hh's size
     * @return the step shape, {@code 0 … STEP_SHAPES-1}
     */
    public static int stepShape(int m, long wFloats) {
        return m <= 1 && wFloats <= SMALL_STEP_FLOATS ? BUCKETS : RoutedProducts.bucket(m);
    }

    /**
     * Whether a step of {@code m} rows over a W_hh of {@code wFloats} floats takes the fused step
     * ({@link FusedSteps}) on these kernels.
     *
     * @param m       the rows of the step
     * @param wFloats W_hh's size
     * @return whether the kernels have a fused step and use it for that step shape
     */
    public boolean prefersFusedSteps(int m, long wFloats) {
        return fused != null && fusedRows[stepShape(m, wFloats)];
    }

    /**
     * Whether these kernels have a fused step and use it for some rows (then a layer packs its W_hh for it).
     *
     * @return whether any step shape takes the fused step
     */
    public boolean hasFusedSteps() {
        if (fused == null) return false;
        for (boolean b : fusedRows) if (b) return true;
        return false;
    }

    /**
     * See {@link FusedSteps#prepareStep}.
     *
     * @param gates      4, 3 or 1
     * @param activation the Elman cell's activation
     * @param w          W_hh, partitions' order
     * @param wOff       its first element, in floats
     * @param ldw        its leading dimension
     * @param from       the partitions' first units, and H last
     * @param k          the width of h
     * @return the prepared weights
     * @throws IllegalStateException if these kernels have no fused step
     */
    public StepWeights prepareStep(int gates, Activation activation, MemorySegment w, long wOff, int ldw, int[] from, int k) {
        if (fused == null) throw new IllegalStateException(name + " has no fused step");
        return fused.prepareStep(gates, activation, w, wOff, ldw, from, k);
    }

    /**
     * See {@link FusedSteps#fusedStep}.
     *
     * @param m     rows
     * @param w     the prepared weights
     * @param q0    the first partition
     * @param q1    past the last partition
     * @param h     the previous state's memory
     * @param hOff  its first element
     * @param ldh   its leading dimension
     * @param pre   the pre-activations' memory
     * @param pOff  their first element
     * @param ldp   their leading dimension
     * @param bias  GRU's b_hh, else null
     * @param c     LSTM's cell state, else null
     * @param cOff  its first element
     * @param ldc   its leading dimension
     * @param hOut  the new state's memory
     * @param hoOff its first element
     * @param ldho  its leading dimension
     */
    public void fusedStep(int m, StepWeights w, int q0, int q1, MemorySegment h, long hOff, int ldh,
                          MemorySegment pre, long pOff, int ldp, MemorySegment bias,
                          MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hoOff, int ldho) {
        fused.fusedStep(m, w, q0, q1, h, hOff, ldh, pre, pOff, ldp, bias, c, cOff, ldc, hOut, hoOff, ldho);
    }

    /**
     * Kernels whose products are routed by the rows of each product (1, 2–32, more) to the products of
     * {@code byBucket[i]}, with the core's cell math, bfloat16 and prepared products; for a step of those
     * rows, {@code prepared[i]} says whether to multiply by W_hh prepared once instead. The default
     * backend's, when a measurement chose per shape.
     *
     * @param name     the name the kernels go by
     * @param byBucket kernels whose products serve 1, 2–32 and more rows
     * @param prepared per bucket, whether steps use prepared weights
     * @return the routed kernels
     */
    public static Kernels routed(String name, Kernels[] byBucket, boolean[] prepared) {
        MatrixProducts[] p = new MatrixProducts[byBucket.length];
        String[] names = new String[byBucket.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = byBucket[i].products;
            names[i] = byBucket[i].name;
        }
        return new Kernels(name, new RoutedProducts(p, names, prepared), Core.BF16, Core.PREPARED, Core.PROVIDER.cellMath().orElseThrow(),
                Core.FUSED, new boolean[STEP_SHAPES], new boolean[STEP_SHAPES]);
    }

    /**
     * Which backend's GEMM serves a product of {@code m} rows: this backend's, or for {@link #routed} kernels
     * the one measured fastest for that many rows.
     *
     * @param m the rows
     * @return the backend's name
     */
    public String productsFor(int m) {
        return products instanceof RoutedProducts r ? r.name(m) : name;
    }

    /** The buckets of rows {@link #routed} kernels route by: one row, 2 to 32, more. */
    public static final int BUCKETS = 3;

    /** The step shapes the fused step is chosen for: the buckets of rows, and one row over a small W_hh. */
    public static final int STEP_SHAPES = BUCKETS + 1;
    /** W_hh of at most this many floats (1 MiB) is small: likely in a core's L2, where one row's step costs less. */
    public static final long SMALL_STEP_FLOATS = 1L << 18;

    /**
     * The rows that stand for a bucket when it is measured or described: 1, 16 and 128.
     *
     * @param bucket 0, 1 or 2 (see {@link #BUCKETS})
     * @return the rows
     */
    public static int rowsOf(int bucket) {
        return switch (bucket) {
            case 0 -> 1;
            case 1 -> 16;
            case 2 -> 128;
            default -> throw new IllegalArgumentException("bucket " + bucket);
        };
    }

    /**
     * The backend whose cell math and packed products serve a backend without its own.
     *
     * @return {@code simd} when the JVM has the Vector API, else {@code scalar}
     */
    public static String coreName() {
        return Core.PROVIDER.name();
    }

    /** The core's own kernels, chosen once. */
    private static final class Core {
        static final KernelProvider PROVIDER = simdOrScalar();
        // simd's and scalar's products have both capabilities.
        static final Bf16Products BF16 = (Bf16Products) PROVIDER.products();
        static final PreparedProducts PREPARED = (PreparedProducts) BF16;
        static final FusedSteps FUSED = PROVIDER.fusedSteps().orElse(null);

        private static KernelProvider simdOrScalar() {
            KernelProvider simd = new SimdKernelProvider();
            return simd.availability().available() ? simd : new ScalarKernelProvider();
        }
    }

    /**
     * The backend's name.
     *
     * @return {@code scalar}, {@code simd}, {@code openblas}, …
     */
    public String name() {
        return name;
    }

    /**
     * See {@link MatrixProducts#sgemm}.
     *
     * @param transA whether A is stored transposed
     * @param transB whether B is stored transposed
     * @param m      rows of op(A) and C
     * @param n      columns of op(B) and C
     * @param k      columns of op(A), rows of op(B)
     * @param alpha  the product's factor
     * @param a      A's memory
     * @param aOff   A's first element, in floats
     * @param lda    A's leading dimension, in floats
     * @param b      B's memory
     * @param bOff   B's first element, in floats
     * @param ldb    B's leading dimension, in floats
     * @param beta   C's factor; 0 overwrites C
     * @param c      C's memory, written
     * @param cOff   C's first element, in floats
     * @param ldc    C's leading dimension, in floats
     */
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        products.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * See {@link Bf16Products#sgemmBf16}.
     *
     * @param m     rows of A and C
     * @param n     rows of B, columns of C
     * @param k     columns of A and B
     * @param alpha the product's factor
     * @param a     A's memory (float32)
     * @param aOff  A's first element, in floats
     * @param lda   A's leading dimension, in floats
     * @param b     B's memory (bfloat16)
     * @param bOff  B's first element, in bfloat16 elements
     * @param ldb   B's leading dimension, in bfloat16 elements
     * @param beta  C's factor; 0 overwrites C
     * @param c     C's memory, written
     * @param cOff  C's first element, in floats
     * @param ldc   C's leading dimension, in floats
     */
    public void sgemmBf16(int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        bf16.sgemmBf16(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * See {@link MatrixProducts#sgemv}.
     *
     * @param transA whether to multiply by Aᵀ
     * @param m      rows of stored A
     * @param n      columns of stored A
     * @param alpha  the product's factor
     * @param a      A's memory
     * @param aOff   A's first element, in floats
     * @param lda    A's leading dimension, in floats
     * @param x      x's memory
     * @param xOff   x's first element, in floats
     * @param beta   y's factor; 0 overwrites y
     * @param y      y's memory, written
     * @param yOff   y's first element, in floats
     */
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment x, long xOff, float beta, MemorySegment y, long yOff) {
        products.sgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, beta, y, yOff);
    }

    /**
     * The backend's products' policy: see {@link MatrixProducts#prefersPreparedSteps}.
     *
     * @param m the rows (samples) of a step
     * @return whether {@link #gemmPrepared} is the faster way for {@code m} rows
     */
    public boolean prefersPreparedSteps(int m) {
        return products.prefersPreparedSteps(m);
    }

    /**
     * See {@link PreparedProducts#prepare}.
     *
     * @param w    W's memory
     * @param wOff W's first element, in floats
     * @param ldw  W's leading dimension, in floats
     * @param n    rows of W
     * @param k    columns of W
     * @return the prepared weights, for {@link #gemmPrepared} of these kernels
     */
    public PreparedWeights prepare(MemorySegment w, long wOff, int ldw, int n, int k) {
        return prepared.prepare(w, wOff, ldw, n, k);
    }

    /**
     * See {@link PreparedProducts#gemmPrepared}.
     *
     * @param m    rows of A and C
     * @param w    W, prepared by {@link #prepare}
     * @param a    A's memory
     * @param aOff A's first element, in floats
     * @param lda  A's leading dimension, in floats
     * @param beta C's factor; 0 overwrites C
     * @param c    C's memory, written
     * @param cOff C's first element, in floats
     * @param ldc  C's leading dimension, in floats
     */
    public void gemmPrepared(int m, PreparedWeights w, MemorySegment a, long aOff, int lda,
                             float beta, MemorySegment c, long cOff, int ldc) {
        prepared.gemmPrepared(m, w, a, aOff, lda, beta, c, cOff, ldc);
    }

    /**
     * See {@link CellMath#sigmoid}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    public void sigmoid(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        cells.sigmoid(n, x, xOff, y, yOff);
    }

    /**
     * See {@link CellMath#tanh}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    public void tanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        cells.tanh(n, x, xOff, y, yOff);
    }

    /**
     * See {@link CellMath#relu}.
     *
     * @param n    the number of elements
     * @param x    the input's memory
     * @param xOff the input's first element, in floats
     * @param y    the output's memory
     * @param yOff the output's first element, in floats
     */
    public void relu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        cells.relu(n, x, xOff, y, yOff);
    }

    /**
     * See {@link CellMath#lstmCell}.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gates  the pre-activations' memory, read only
     * @param gOff   their first element, in floats
     * @param ldg    their leading dimension, in floats
     * @param c      the cell state's memory, updated in place
     * @param cOff   its first element, in floats
     * @param ldc    its leading dimension, in floats
     * @param hOut   the new hidden state's memory, written
     * @param hOff   its first element, in floats
     * @param ldh    its leading dimension, in floats
     */
    public void lstmCell(int batch, int hidden, MemorySegment gates, long gOff, int ldg,
                         MemorySegment c, long cOff, int ldc, MemorySegment hOut, long hOff, int ldh) {
        cells.lstmCell(batch, hidden, gates, gOff, ldg, c, cOff, ldc, hOut, hOff, ldh);
    }

    /**
     * See {@link CellMath#gruCell}.
     *
     * @param batch  the rows (samples)
     * @param hidden the hidden size
     * @param gi     the input projections' memory
     * @param giOff  their first element, in floats
     * @param ldgi   their leading dimension, in floats
     * @param gh     the recurrent projections' memory
     * @param ghOff  their first element, in floats
     * @param ldgh   their leading dimension, in floats
     * @param hPrev  the previous hidden state's memory
     * @param hpOff  its first element, in floats
     * @param ldhp   its leading dimension, in floats
     * @param hOut   the new hidden state's memory, written
     * @param hoOff  its first element, in floats
     * @param ldho   its leading dimension, in floats
     */
    public void gruCell(int batch, int hidden, MemorySegment gi, long giOff, int ldgi,
                        MemorySegment gh, long ghOff, int ldgh, MemorySegment hPrev, long hpOff, int ldhp,
                        MemorySegment hOut, long hoOff, int ldho) {
        cells.gruCell(batch, hidden, gi, giOff, ldgi, gh, ghOff, ldgh, hPrev, hpOff, ldhp, hOut, hoOff, ldho);
    }

    /**
     * See {@link CellMath#rnnCell}.
     *
     * @param batch      the rows (samples)
     * @param hidden     the hidden size
     * @param activation tanh or ReLU
     * @param pre        the pre-activations' memory
     * @param pOff       their first element, in floats
     * @param ldp        their leading dimension, in floats
     * @param hOut       the new hidden state's memory, written
     * @param hOff       its first element, in floats
     * @param ldh        its leading dimension, in floats
     */
    public void rnnCell(int batch, int hidden, Activation activation, MemorySegment pre, long pOff, int ldp,
                        MemorySegment hOut, long hOff, int ldh) {
        cells.rnnCell(batch, hidden, activation, pre, pOff, ldp, hOut, hOff, ldh);
    }

    @Override
    public String toString() {
        return "Kernels[" + name + "]";
    }
}
