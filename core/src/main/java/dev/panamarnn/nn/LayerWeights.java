package dev.panamarnn.nn;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import dev.panamarnn.kernel.Bf16Layout;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A layer's weights, checked against the spec and packed once into native memory the layer owns.
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
final class LayerWeights implements AutoCloseable {
    final LayerSpec spec;
    final MemorySegment[] wih;
    final MemorySegment[] bias;
    final MemorySegment[][] whh;
    final MemorySegment[][] hnBias;
    final MemorySegment[][] whr;
    /** Partition boundaries over the hidden units: {@code 0 = cut[0] < … < cut[parts] = H}. */
    final int[] cut;
    /** W_ih, W_hh and W_hr hold bfloat16 ({@link WeightFormat#BF16}); offsets into them count 2-byte elements. */
    final boolean bf16;
    /**
     * W_hh of each (layer, direction, partition of {@link #cut}) prepared by the backend's kernels when
     * its steps prefer them ({@link Kernels#prefersPreparedSteps}), else null. Set once by the layer
     * before it is published; the same panels serve the one- and the two-thread step.
     */
    dev.panamarnn.kernel.PreparedWeights[][][] panels;
    private final Arena arena;

    private LayerWeights(LayerSpec spec, Arena arena, boolean bf16) {
        this.spec = spec;
        this.arena = arena;
        this.bf16 = bf16;
        int L = spec.numLayers(), D = spec.directions();
        wih = new MemorySegment[L];
        bias = new MemorySegment[L];
        whh = new MemorySegment[L][D];
        hnBias = new MemorySegment[L][D];
        whr = new MemorySegment[L][D];
        cut = cuts(spec);
    }

    /** Two partitions when each half keeps a few full vectors (and there is no projection), else one. */
    static int[] cuts(LayerSpec spec) {
        int H = spec.hiddenSize();
        if (spec.projSize() > 0 || H < 64) return new int[] {0, H};
        int half = (H / 2 + 7) / 8 * 8;
        return new int[] {0, half, H};
    }

    int parts() {
        return cut.length - 1;
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

    static String name(String prefix, String kind, int layer, int dir) {
        return prefix + kind + "_l" + layer + (dir == 1 ? "_reverse" : "");
    }

    /**
     * Checks every tensor the spec needs (present, floating-point, of its shape) and that no tensor under
     * the prefix has a layer's name the spec has no place for, and applies {@code options} to the other
     * tensors under the prefix, all before any memory is taken; then copies them into native memory,
     * packed, with no heap copy of the matrices.
     */
    static LayerWeights load(StateDict sd, String prefix, LayerSpec spec, WeightFormat format, LoadOptions options) {
        check(sd, prefix, spec, options);
        int G = spec.mode().gates(), H = spec.hiddenSize(), P = spec.outputSize(), D = spec.directions();
        Arena arena = dev.panamarnn.Arenas.shared();
        boolean bf16 = format == WeightFormat.BF16;
        try (Arena staging = dev.panamarnn.Arenas.confined()) {
            LayerWeights w = new LayerWeights(spec, arena, bf16);
            Arena wa = bf16 ? staging : arena; // bfloat16: the float32 matrices are packed here, then rounded
            // With partitions, a matrix is read here first, then its rows are copied in partition order.
            MemorySegment scratch = w.parts() == 1 ? null : alloc(staging, (long) G * H * Math.max(spec.inputSize(), D * P));
            for (int l = 0; l < spec.numLayers(); l++) {
                int in = spec.layerInputSize(l);
                w.wih[l] = alloc(wa, (long) D * G * H * in);
                if (spec.bias()) w.bias[l] = alloc(arena, (long) D * G * H);
                for (int d = 0; d < D; d++) {
                    w.gateRows(sd, name(prefix, "weight_ih", l, d), in, w.wih[l], (long) d * G * H * in * Float.BYTES, scratch);
                    w.whh[l][d] = alloc(wa, (long) G * H * P);
                    w.gateRows(sd, name(prefix, "weight_hh", l, d), P, w.whh[l][d], 0, scratch);
                    if (spec.projSize() > 0) {
                        w.whr[l][d] = alloc(wa, (long) P * H);
                        sd.copyTo(name(prefix, "weight_hr", l, d), w.whr[l][d], 0);
                    }
                    if (spec.mode() == Mode.GRU) w.hnBias[l][d] = alloc(arena, (long) G * H); // zero unless bias
                    if (spec.bias()) {
                        float[] bi = sd.floats(name(prefix, "bias_ih", l, d));
                        float[] bh = sd.floats(name(prefix, "bias_hh", l, d));
                        float[] folded = new float[G * H];
                        int foldUpTo = spec.mode() == Mode.GRU ? 2 * H : G * H;
                        for (int i = 0; i < G * H; i++) folded[i] = i < foldUpTo ? bi[i] + bh[i] : bi[i];
                        folded = permute(folded, G, H, 1, w.cut);
                        MemorySegment.copy(folded, 0, w.bias[l], JAVA_FLOAT, (long) d * G * H * Float.BYTES, folded.length);
                        if (spec.mode() == Mode.GRU) {
                            float[] hn = new float[G * H];
                            System.arraycopy(bh, 2 * H, hn, 2 * H, H);
                            hn = permute(hn, G, H, 1, w.cut);
                            MemorySegment.copy(hn, 0, w.hnBias[l][d], JAVA_FLOAT, 0, hn.length);
                        }
                    }
                }
            }
            if (bf16) {
                for (int l = 0; l < spec.numLayers(); l++) {
                    w.wih[l] = rounded(arena, w.wih[l], spec.layerInputSize(l));
                    for (int d = 0; d < D; d++) {
                        w.whh[l][d] = rounded(arena, w.whh[l][d], P);
                        if (w.whr[l][d] != null) w.whr[l][d] = rounded(arena, w.whr[l][d], H);
                    }
                }
            }
            return w;
        } catch (Throwable e) {
            arena.close();
            throw e;
        }
    }

    /** A float32 matrix of rows of {@code cols} rounded to bfloat16, rows in {@link Bf16Layout}, in a new segment of {@code arena}. */
    private static MemorySegment rounded(Arena arena, MemorySegment f32, int cols) {
        long n = f32.byteSize() / Float.BYTES;
        MemorySegment b = arena.allocate(n * Short.BYTES, Tensor.ALIGNMENT);
        for (long i = 0; i < n; i++) {
            long row = i / cols * cols;
            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, row + Bf16Layout.position((int) (i - row), cols),
                    WeightFormat.toBf16(f32.getAtIndex(JAVA_FLOAT, i)));
        }
        return b;
    }

    /** Prepares {@link #panels} for {@code k} (float32 weights only; bfloat16 keeps its own kernel). */
    void preparePanels(Kernels k) {
        if (!Boolean.parseBoolean(System.getProperty("panama.rnn.stepPanels", "true"))) return; // for side-by-side benchmarks
        if (bf16 || !k.prefersPreparedSteps(2)) return;
        int L = spec.numLayers(), D = spec.directions(), G = spec.mode().gates(), P = spec.outputSize();
        dev.panamarnn.kernel.PreparedWeights[][][] p = new dev.panamarnn.kernel.PreparedWeights[L][D][cut.length - 1];
        for (int l = 0; l < L; l++) {
            for (int d = 0; d < D; d++) {
                for (int q = 0; q + 1 < cut.length; q++) {
                    p[l][d][q] = k.prepare(whh[l][d], (long) G * cut[q] * P, P, G * (cut[q + 1] - cut[q]), P);
                }
            }
        }
        panels = p;
    }

    /** Whether a step of m rows uses {@link #panels}. */
    boolean usePanels(Kernels k, int m) {
        return panels != null && k.prefersPreparedSteps(m);
    }

    /**
     * {@code C[m × n] = A·Wᵀ + beta·C} for a packed weight matrix W ({@code [n × k]} rows from element
     * offset {@code wOff}), float32 or bfloat16 as loaded.
     */
    void gemm(Kernels k, int m, int n, int kk, MemorySegment a, long aOff, int lda, MemorySegment w, long wOff,
              float beta, MemorySegment c, long cOff, int ldc) {
        if (bf16) k.sgemmBf16(m, n, kk, 1f, a, aOff, lda, w, wOff, kk, beta, c, cOff, ldc);
        else k.sgemm(false, true, m, n, kk, 1f, a, aOff, lda, w, wOff, kk, beta, c, cOff, ldc);
    }

    /**
     * Infers the spec from the tensors' names and shapes: layers from {@code weight_ih_l{k}}, direction
     * from {@code _reverse}, sizes from the shapes, LSTM projection from {@code weight_hr_l0}, the cell
     * type from the gate count. An Elman RNN's activation cannot be seen in its weights: {@code modeHint}
     * must then say it.
     */
    static LayerSpec infer(StateDict sd, String prefix, Mode modeHint, boolean batchFirst) {
        String ih0 = prefix + "weight_ih_l0", hh0 = prefix + "weight_hh_l0";
        if (!sd.contains(ih0) || !sd.contains(hh0)) {
            throw new IllegalArgumentException("no recurrent layer found: expected tensors " + Text.quote(ih0) + " and " + Text.quote(hh0)
                    + (prefix.isEmpty() ? "" : " (prefix " + Text.quote(prefix) + ")") + prefixHint(sd, prefix) + "; tensors present: " + sample(sd));
        }
        int layers = 0;
        while (sd.contains(name(prefix, "weight_ih", layers, 0))) layers++;
        boolean bidirectional = sd.contains(name(prefix, "weight_ih", 0, 1));
        boolean bias = sd.contains(name(prefix, "bias_ih", 0, 0));
        int[] ih = sd.shape(ih0), hh = sd.shape(hh0);
        if (ih.length != 2 || hh.length != 2) {
            throw new IllegalArgumentException(Text.quote(ih0) + " and " + Text.quote(hh0) + " must be matrices, got shapes "
                    + Arrays.toString(ih) + " and " + Arrays.toString(hh));
        }
        int proj = 0, hidden;
        String hr0 = prefix + "weight_hr_l0";
        if (sd.contains(hr0)) {
            int[] hr = sd.shape(hr0);
            if (hr.length != 2) throw new IllegalArgumentException(Text.quote(hr0) + " must be a matrix, got shape " + Arrays.toString(hr));
            proj = hr[0];
            hidden = hr[1];
        } else {
            hidden = hh[1];
        }
        if (hidden < 1 || hh[0] % hidden != 0) {
            throw new IllegalArgumentException(Text.quote(hh0) + " has shape " + Arrays.toString(hh) + ": its rows are not a multiple of hidden size " + hidden);
        }
        int gates = hh[0] / hidden;
        Mode mode = switch (gates) {
            case 4 -> Mode.LSTM;
            case 3 -> Mode.GRU;
            case 1 -> {
                if (modeHint == Mode.RNN_TANH || modeHint == Mode.RNN_RELU) yield modeHint;
                if (modeHint != null) throw new IllegalArgumentException("weights are an Elman RNN (1 gate), not " + modeHint);
                throw new IllegalArgumentException("weights are an Elman RNN; its activation cannot be read from the weights: give the mode rnn_tanh or rnn_relu");
            }
            default -> throw new IllegalArgumentException(Text.quote(hh0) + " has " + hh[0] + " rows for hidden size " + hidden
                    + ": " + gates + " gates matches no cell (LSTM 4, GRU 3, RNN 1)");
        };
        if (modeHint != null && modeHint != mode) {
            throw new IllegalArgumentException("mode " + modeHint + " was asked for, but the weights are a " + mode);
        }
        return new LayerSpec(mode, ih[1], hidden, layers, bidirectional, bias, batchFirst, proj);
    }

    /** A recurrent layer's own names, as PyTorch spells them (index without leading zeros, or not). */
    private static final Pattern LAYER_NAME = Pattern.compile("(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l\\d+(_reverse)?");

    /**
     * Before anything is allocated: a tensor under the prefix named like a layer's but not one of this
     * spec's (a layer past the count, {@code _reverse} of a unidirectional layer, {@code weight_hr} without
     * projection, a bias without bias, an index with leading zeros) is an error, as is a tensor the spec
     * needs that is missing, not floating-point, or of another shape. Any other tensor under the prefix is
     * unused: {@code options} say whether that is an error.
     */
    private static void check(StateDict sd, String prefix, LayerSpec spec, LoadOptions options) {
        Map<String, int[]> needed = spec.stateDictShapes(prefix);
        List<String> strays = new ArrayList<>(), unused = new ArrayList<>();
        for (String n : new TreeSet<>(sd.names())) {
            if (!n.startsWith(prefix) || needed.containsKey(n)) continue;
            (LAYER_NAME.matcher(n.substring(prefix.length())).matches() ? strays : unused).add(n);
        }
        if (!strays.isEmpty()) {
            throw new IllegalArgumentException("weights contain tensors the layer " + spec + " does not use: " + Names.list(strays));
        }
        for (var e : needed.entrySet()) {
            String n = e.getKey();
            int[] shape = e.getValue();
            if (!sd.contains(n)) throw new IllegalArgumentException("missing tensor " + Text.quote(n) + " of shape " + Arrays.toString(shape));
            DType t = sd.dtype(n);
            if (!t.isFloatingPoint()) throw new IllegalArgumentException(Names.notFloat(n, t));
            int[] actual = sd.shape(n);
            if (!Arrays.equals(actual, shape)) {
                throw new IllegalArgumentException("tensor " + Text.quote(n) + " must have shape " + Arrays.toString(shape) + ", got " + Arrays.toString(actual));
            }
        }
        options.unused("the layer " + spec + (prefix.isEmpty() ? "" : " under the prefix " + Text.quote(prefix)), unused);
    }

    /**
     * Tensor {@code name}, a {@code [G·H × cols]} matrix checked already, into {@code dst} from byte
     * {@code off}, its rows in partition order: copied straight there with one partition, else through
     * {@code scratch}.
     */
    private void gateRows(StateDict sd, String name, int cols, MemorySegment dst, long off, MemorySegment scratch) {
        if (cut.length == 2) {
            sd.copyTo(name, dst, off);
            return;
        }
        sd.copyTo(name, scratch, 0);
        long G = spec.mode().gates(), H = spec.hiddenSize(), row = (long) cols * Float.BYTES;
        for (int q = 0; q + 1 < cut.length; q++) {
            long a = cut[q], hq = cut[q + 1] - a;
            for (int g = 0; g < G; g++) MemorySegment.copy(scratch, (g * H + a) * row, dst, off + (G * a + g * hq) * row, hq * row);
        }
    }

    /** Up to 12 names, sorted, as {@code [a, b, …]}: escaped and cut ({@link Text#escape}), not quoted. */
    /** Where layers are in this state dict, when under other prefixes than the one given: the prefix is then likely missing or wrong. */
    private static String prefixHint(StateDict sd, String prefix) {
        java.util.TreeSet<String> seen = new java.util.TreeSet<>();
        for (String n : sd.names()) {
            if (n.endsWith("weight_ih_l0") && sd.contains(n.substring(0, n.length() - "weight_ih_l0".length()) + "weight_hh_l0")) {
                seen.add(n.substring(0, n.length() - "weight_ih_l0".length()));
            }
        }
        seen.remove(prefix);
        if (seen.isEmpty()) return "";
        List<String> shown = new ArrayList<>();
        for (String p : seen) {
            if (shown.size() == 5) break;
            shown.add(Text.quote(p));
        }
        return "; a layer is under the prefix " + String.join(", ", shown) + (seen.size() > 5 ? " … (" + seen.size() + " in all)" : "")
                + ": give that prefix";
    }

    private static String sample(StateDict sd) {
        List<String> names = new ArrayList<>();
        for (String n : new TreeSet<>(sd.names())) names.add(Text.escape(n, Text.MAX_SHOWN));
        return names.size() <= 12 ? names.toString() : names.subList(0, 12) + " … (" + names.size() + " in all)";
    }

    private static MemorySegment alloc(Arena arena, long floats) {
        return arena.allocate(Math.max(1, floats) * Float.BYTES, Tensor.ALIGNMENT);
    }

    boolean isAlive() {
        return arena.scope().isAlive();
    }

    @Override
    public void close() {
        arena.close();
    }
}
