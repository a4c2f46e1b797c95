package dev.panamarnn.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Arenas;
import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Bf16Layout;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import dev.panamarnn.kernel.StepWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A layer's weights, packed once into native memory the layer owns.
 *
 * <p>Per layer {@code l} (PyTorch names, {@code _reverse} for direction 1, G gates, H hidden, P = output size):
 * <ul>
 *   <li>{@code wih[l]}: both directions' {@code weight_ih} stacked, {@code [D·G·H × I_l]}, so one GEMM
 *       projects the whole sequence for both directions;</li>
 *   <li>{@code bias[l]}: {@code [D·G·H]}, the biases folded: {@code b_ih + b_hh} for LSTM and RNN; for GRU
 *       {@code b_ir + b_hr}, {@code b_iz + b_hz} and {@code b_in} ({@code b_hn} is multiplied by r, so it
 *       stays with the hidden part);</li>
 *   <li>{@code whh[l][d]}: {@code [G·H × P]}; {@code hnBias[l][d]} (GRU): {@code [G·H]}, zero but for
 *       {@code b_hn} in the n block (all zero without bias); {@code whr[l][d]} (LSTM projection): {@code [P × H]}.</li>
 * </ul>
 *
 * <p>The G·H gate rows are stored grouped by <em>partition</em>: the hidden units are cut into ranges
 * {@code [cut[q], cut[q+1])}, and partition q's rows come together, gate-major within it: row
 * {@code G·cut[q] + g·Hq + (j − cut[q])} holds PyTorch's row {@code g·H + j}. So each partition's gate
 * pre-activations form one contiguous block of columns in the layout the cell kernels read (its own
 * i, f, g, o blocks of width Hq), and two threads can each compute a step for their own units, GEMM and
 * gate math, without touching the other's. With one partition this is PyTorch's order. The same
 * permutation applies to every G·H-indexed tensor (both weight matrices, the folded bias, b_hn).
 */
public final class Weights implements AutoCloseable {
    /** Where the packing reads PyTorch's tensors (a state dict, checked already). */
    public interface Source {
        /**
         * Copies tensor {@code name}'s elements, as float32, into {@code dst} from byte {@code offset}.
         *
         * @param name   the tensor
         * @param dst    where to
         * @param offset the byte offset in {@code dst}
         */
        void copyTo(String name, MemorySegment dst, long offset);

        /**
         * Tensor {@code name}'s elements as float32.
         *
         * @param name the tensor
         * @return a new array
         */
        float[] floats(String name);
    }

    final Shape shape;
    final MemorySegment[] wih;
    final MemorySegment[] bias;
    final MemorySegment[][] whh;
    final MemorySegment[][] hnBias;
    final MemorySegment[][] whr;
    /** Partition boundaries over the hidden units: {@code 0 = cut[0] < … < cut[parts] = H}. */
    final int[] cut;
    /** W_ih, W_hh and W_hr hold bfloat16; offsets into them count 2-byte elements. */
    final boolean bf16;
    /** The step of each (layer, direction), made by {@link #prepare} before the weights are published. */
    private CellStep[][] steps;
    private boolean panels, fusedSteps;
    private final Arena arena;

    private Weights(Shape shape, Arena arena, boolean bf16) {
        this.shape = shape;
        this.arena = arena;
        this.bf16 = bf16;
        int L = shape.layers(), D = shape.directions();
        wih = new MemorySegment[L];
        bias = new MemorySegment[L];
        whh = new MemorySegment[L][D];
        hnBias = new MemorySegment[L][D];
        whr = new MemorySegment[L][D];
        cut = cuts(shape);
    }

    /**
     * The partitions of the hidden units: two when each half keeps a few full vectors (and there is no
     * projection), else one.
     *
     * @param shape the layer
     * @return the boundaries, {@code 0 = cut[0] < … < cut[parts] = H}
     */
    public static int[] cuts(Shape shape) {
        int H = shape.hidden();
        if (shape.proj() > 0 || H < 64) return new int[] {0, H};
        int half = (H / 2 + 7) / 8 * 8;
        return new int[] {0, half, H};
    }

    int parts() {
        return cut.length - 1;
    }

    /**
     * Whether W_ih, W_hh and W_hr are stored as bfloat16.
     *
     * @return true for bfloat16
     */
    public boolean bf16() {
        return bf16;
    }

    /**
     * Whether the steps multiply by W_hh prepared by the backend (tests check the switch).
     *
     * @return true when prepared panels are in use
     */
    public boolean hasPanels() {
        return panels;
    }

    /**
     * Whether the steps have W_hh packed for the backend's fused step (used for the rows where the
     * kernels prefer it).
     *
     * @return true when packed for the fused step
     */
    public boolean hasFusedSteps() {
        return fusedSteps;
    }

    /** A G·H vector (cols = 1; or the rows of a [G·H × cols] matrix) in partition order. */
    private static float[] permute(float[] src, int G, int H, int cols, int[] cut) {
        if (cut.length == 2) return src;
        float[] dst = new float[src.length];
        for (int q = 0; q + 1 < cut.length; q++) {
            int a = cut[q], hq = cut[q + 1] - a;
            for (int g = 0; g < G; g++) {
                for (int j = 0; j < hq; j++) {
                    System.arraycopy(src, (g * H + a + j) * cols, dst, (G * a + g * hq + j) * cols, cols);
                }
            }
        }
        return dst;
    }

    /**
     * PyTorch's name of a layer tensor: {@code prefix + kind + "_l" + layer}, with {@code _reverse} for direction 1.
     *
     * @param prefix the state dict's prefix
     * @param kind   {@code weight_ih}, {@code bias_hh} and so on
     * @param layer  the layer
     * @param dir    the direction
     * @return the name
     */
    public static String name(String prefix, String kind, int layer, int dir) {
        return prefix + kind + "_l" + layer + (dir == 1 ? "_reverse" : "");
    }

    /**
     * Copies the tensors into native memory, packed, with no heap copy of the matrices. The tensors must
     * have been checked (present, floating-point, of their shapes).
     *
     * @param shape  the layer
     * @param sd     the tensors
     * @param prefix prepended to every name
     * @param bf16   whether to store the matrices as bfloat16
     * @return the weights, to close
     */
    public static Weights pack(Shape shape, Source sd, String prefix, boolean bf16) {
        int G = shape.gates(), H = shape.hidden(), P = shape.output(), D = shape.directions();
        boolean gru = shape.cell() == Cell.GRU;
        Arena arena = Arenas.shared();
        try (Arena staging = Arenas.confined()) {
            Weights w = new Weights(shape, arena, bf16);
            Arena wa = bf16 ? staging : arena; // bfloat16: the float32 matrices are packed here, then rounded
            // With partitions, a matrix is read here first, then its rows are copied in partition order.
            MemorySegment scratch = w.parts() == 1 ? null : alloc(staging, (long) G * H * Math.max(shape.inputSize(), D * P));
            for (int l = 0; l < shape.layers(); l++) {
                int in = shape.layerInput(l);
                w.wih[l] = alloc(wa, (long) D * G * H * in);
                if (shape.bias()) w.bias[l] = alloc(arena, (long) D * G * H);
                for (int d = 0; d < D; d++) {
                    w.gateRows(sd, name(prefix, "weight_ih", l, d), in, w.wih[l], (long) d * G * H * in * Float.BYTES, scratch);
                    w.whh[l][d] = alloc(wa, (long) G * H * P);
                    w.gateRows(sd, name(prefix, "weight_hh", l, d), P, w.whh[l][d], 0, scratch);
                    if (shape.proj() > 0) {
                        w.whr[l][d] = alloc(wa, (long) P * H);
                        sd.copyTo(name(prefix, "weight_hr", l, d), w.whr[l][d], 0);
                    }
                    if (gru) w.hnBias[l][d] = alloc(arena, (long) G * H); // zero unless bias
                    if (shape.bias()) {
                        float[] bi = sd.floats(name(prefix, "bias_ih", l, d));
                        float[] bh = sd.floats(name(prefix, "bias_hh", l, d));
                        float[] folded = new float[G * H];
                        int foldUpTo = gru ? 2 * H : G * H;
                        for (int i = 0; i < G * H; i++) folded[i] = i < foldUpTo ? bi[i] + bh[i] : bi[i];
                        folded = permute(folded, G, H, 1, w.cut);
                        MemorySegment.copy(folded, 0, w.bias[l], JAVA_FLOAT, (long) d * G * H * Float.BYTES, folded.length);
                        if (gru) {
                            float[] hn = new float[G * H];
                            System.arraycopy(bh, 2 * H, hn, 2 * H, H);
                            hn = permute(hn, G, H, 1, w.cut);
                            MemorySegment.copy(hn, 0, w.hnBias[l][d], JAVA_FLOAT, 0, hn.length);
                        }
                    }
                }
            }
            if (bf16) {
                for (int l = 0; l < shape.layers(); l++) {
                    w.wih[l] = Bf16Layout.pack(arena, w.wih[l], shape.layerInput(l));
                    for (int d = 0; d < D; d++) {
                        w.whh[l][d] = Bf16Layout.pack(arena, w.whh[l][d], P);
                        if (w.whr[l][d] != null) w.whr[l][d] = Bf16Layout.pack(arena, w.whr[l][d], H);
                    }
                }
            }
            return w;
        } catch (Throwable e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Makes the steps for {@code k}: with W_hh prepared per partition when {@code panels} and the backend's
     * steps prefer prepared weights ({@link Kernels#prefersPreparedSteps}; float32 only, bfloat16 keeps its
     * own kernel). Called once, before the weights are published; the same panels serve the one- and the
     * two-thread step.
     *
     * @param k      the backend's kernels
     * @param panels whether prepared panels may be used (off for side-by-side benchmarks)
     */
    public void prepare(Kernels k, boolean panels) {
        int L = shape.layers(), D = shape.directions(), G = shape.gates(), P = shape.output();
        boolean use = panels && !bf16 && k.prefersPreparedSteps(2);
        boolean fuse = panels && !bf16 && shape.output() == shape.hidden() && k.hasFusedSteps();
        CellStep[][] s = new CellStep[L][D];
        for (int l = 0; l < L; l++) {
            for (int d = 0; d < D; d++) {
                PreparedWeights[] p = null;
                if (use) {
                    p = new PreparedWeights[parts()];
                    for (int q = 0; q < parts(); q++) p[q] = k.prepare(whh[l][d], (long) G * cut[q] * P, P, G * (cut[q + 1] - cut[q]), P);
                }
                StepWeights f = fuse ? k.prepareStep(G, shape.cell().activation(), whh[l][d], 0, P, cut, P) : null;
                s[l][d] = new CellStep(shape, cut, bf16, whh[l][d], whr[l][d], p, false, hnBias[l][d], null, f);
            }
        }
        this.panels = use;
        this.fusedSteps = fuse;
        steps = s;
    }

    /** The step of layer l, direction d. */
    CellStep step(int l, int d) {
        return steps[l][d];
    }

    /**
     * {@code C[m × n] = A·Wᵀ + beta·C} for a packed weight matrix W ({@code [n × k]} rows from element
     * offset {@code wOff}), float32 or bfloat16 as loaded.
     */
    void gemm(Kernels k, int m, int n, int kk, MemorySegment a, long aOff, int lda, MemorySegment w, long wOff,
              float beta, MemorySegment c, long cOff, int ldc) {
        Products.gemm(k, bf16, m, n, kk, a, aOff, lda, w, wOff, beta, c, cOff, ldc);
    }

    /**
     * Tensor {@code name}, a {@code [G·H × cols]} matrix checked already, into {@code dst} from byte
     * {@code off}, its rows in partition order: copied straight there with one partition, else through
     * {@code scratch}.
     */
    private void gateRows(Source sd, String name, int cols, MemorySegment dst, long off, MemorySegment scratch) {
        if (cut.length == 2) {
            sd.copyTo(name, dst, off);
            return;
        }
        sd.copyTo(name, scratch, 0);
        long G = shape.gates(), H = shape.hidden(), row = (long) cols * Float.BYTES;
        for (int q = 0; q + 1 < cut.length; q++) {
            long a = cut[q], hq = cut[q + 1] - a;
            for (int g = 0; g < G; g++) MemorySegment.copy(scratch, (g * H + a) * row, dst, off + (G * a + g * hq) * row, hq * row);
        }
    }

    private static MemorySegment alloc(Arena arena, long floats) {
        return arena.allocate(Math.max(1, floats) * Float.BYTES, Tensor.ALIGNMENT);
    }

    /**
     * Whether the memory is still held.
     *
     * @return false once closed
     */
    public boolean isAlive() {
        return arena.scope().isAlive();
    }

    /** Frees the native memory. */
    @Override
    public void close() {
        arena.close();
    }
}
