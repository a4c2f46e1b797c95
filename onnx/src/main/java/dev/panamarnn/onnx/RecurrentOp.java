package dev.panamarnn.onnx;

import dev.panamarnn.Arenas;
import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.StateDict;
import dev.panamarnn.onnx.OnnxTensor.Type;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * ONNX's {@code LSTM}, {@code GRU} and {@code RNN} operators (opsets 7–22), with their whole semantics:
 * gate orders (LSTM i, o, f, c; GRU z, r, h), directions forward, reverse and bidirectional,
 * {@code sequence_lens}, {@code initial_h}/{@code initial_c}, {@code layout} 0 and 1, the optional outputs
 * {@code Y} ({@code (T, D, B, H)}, layout 1 {@code (B, T, D, H)}), {@code Y_h} and {@code Y_c}; LSTM
 * peepholes {@code P}, {@code input_forget} and {@code clip}; GRU {@code linear_before_reset} 0 and 1;
 * the activations ONNX lists with their {@code activation_alpha}/{@code activation_beta}.
 *
 * <p>Two paths, chosen once per node at load from its attributes:
 * <ul>
 *   <li><b>the layers</b>: when the node computes what a PyTorch layer computes (default activations, or
 *       Relu for an RNN; no peepholes, clip or coupled gates; a GRU with {@code linear_before_reset = 1}),
 *       its weights are put in PyTorch's gate order (an exact permutation of rows) and a
 *       {@link RecurrentLayer} runs it on the chosen backend: fused steps, OpenBLAS or the Vector API, two
 *       threads. A reverse-only node runs each sample's valid steps reversed through a forward layer. When
 *       W, R and B are initializers the layer is built once at load;</li>
 *   <li><b>the general path</b> otherwise: ONNX's equations step by step in float32 on the heap, correct for
 *       every attribute combination and slower.</li>
 * </ul>
 * Errors in shapes name the input, the expected and the actual shape.
 */
final class RecurrentOp implements Ops.Op, AutoCloseable {
    private static final Set<String> COMMON = Set.of("activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout");

    private final String op;
    private final Mode baseMode;
    private final int gates, perDirection, directions, hidden;
    private final boolean reverseOnly, batchFirst, inputForget, linearBeforeReset, hasClip;
    private final float clip;
    /** The activations of each direction, {@code perDirection} per direction. */
    private final Activation[][] acts;
    /** Whether the node computes what a PyTorch layer computes, so the layers run it. */
    private final boolean onLayers;
    private final Mode layerMode;
    private final Backend backend;
    /** The layer built at load when W, R and B are initializers; else null (built per call). */
    private final RecurrentLayer prebuilt;
    private final String explain;

    RecurrentOp(NodeProto n, String label, int opset, Function<String, OnnxTensor> constant, Backend backend) {
        this.op = n.getOpType();
        this.backend = backend;
        Set<String> known = new java.util.HashSet<>(COMMON);
        switch (op) {
            case "LSTM" -> {
                baseMode = Mode.LSTM;
                gates = 4;
                perDirection = 3;
                known.add("input_forget");
            }
            case "GRU" -> {
                baseMode = Mode.GRU;
                gates = 3;
                perDirection = 2;
                known.add("linear_before_reset");
            }
            default -> {
                baseMode = Mode.RNN_TANH;
                gates = 1;
                perDirection = 1;
            }
        }
        if (opset < 14) known.remove("layout");
        Attrs a = new Attrs(n, label, known);
        String direction = a.s("direction", "forward");
        directions = switch (direction) {
            case "forward", "reverse" -> 1;
            case "bidirectional" -> 2;
            default -> throw new TensorProtos.Bad(label + ": direction must be forward, reverse or bidirectional, got " + Text.quote(direction));
        };
        reverseOnly = direction.equals("reverse");
        batchFirst = a.i("layout", 0, 0, 1) == 1;
        inputForget = a.i("input_forget", 0, 0, 1) == 1;
        linearBeforeReset = a.i("linear_before_reset", 0, 0, 1) == 1;
        hasClip = a.has("clip");
        clip = a.f("clip", Float.POSITIVE_INFINITY);
        if (hasClip && !(clip > 0)) throw new TensorProtos.Bad(label + ": clip must be a positive number, got " + clip);
        long h = a.i("hidden_size", 0);
        if (h < 0 || h > 1 << 24) throw new TensorProtos.Bad(label + ": hidden_size " + h + " is out of range");
        acts = activations(a, label);
        hidden = (int) h; // 0: taken from R at run time

        if (n.getInputCount() < 3) throw new TensorProtos.Bad(label + " needs inputs X, W and R; it has " + n.getInputCount());
        if (n.getInputCount() > (baseMode == Mode.LSTM ? 8 : 6)) throw new TensorProtos.Bad(label + " has " + n.getInputCount() + " inputs; " + op + " takes at most " + (baseMode == Mode.LSTM ? 8 : 6));
        if (n.getOutputCount() > (baseMode == Mode.LSTM ? 3 : 2)) throw new TensorProtos.Bad(label + " has " + n.getOutputCount() + " outputs; " + op + " gives at most " + (baseMode == Mode.LSTM ? 3 : 2));
        boolean peepholes = baseMode == Mode.LSTM && n.getInputCount() > 7 && !n.getInput(7).isEmpty();
        Mode m = layerModeOf(acts);
        onLayers = m != null && !hasClip && !inputForget && !peepholes && (baseMode != Mode.GRU || linearBeforeReset);
        layerMode = m;

        RecurrentLayer pre = null;
        if (onLayers) {
            OnnxTensor w = constant.apply(n.getInput(1)), r = constant.apply(n.getInput(2));
            boolean noBias = n.getInputCount() < 4 || n.getInput(3).isEmpty();
            OnnxTensor b = noBias ? null : constant.apply(n.getInput(3));
            if (w != null && r != null && (noBias || b != null)) {
                try {
                    pre = layer(w, r, b);
                } catch (IllegalArgumentException e) {
                    throw new TensorProtos.Bad(label + ": " + e.getMessage());
                }
            }
        }
        prebuilt = pre;
        explain = op + " " + direction + (batchFirst ? ", layout 1" : "") + ": "
                + (onLayers ? "runs on the layers (" + layerMode + (prebuilt != null ? ", built at load" : ", built per call: W or R is a graph input") + ")"
                : "general path (" + String.join(", ", reasons(peepholes)) + ")");
    }

    private List<String> reasons(boolean peepholes) {
        List<String> r = new ArrayList<>();
        if (layerModeOf(acts) == null) r.add("activations " + Arrays.deepToString(acts));
        if (hasClip) r.add("clip");
        if (inputForget) r.add("input_forget");
        if (peepholes) r.add("peepholes");
        if (baseMode == Mode.GRU && !linearBeforeReset) r.add("linear_before_reset = 0");
        return r;
    }

    /** How the node runs, for {@code explain()}. */
    String explain() {
        return explain;
    }

    @Override
    public void close() {
        closed = true;
        for (Buffers b; (b = pool.pollFirst()) != null; ) b.arena.close();
        if (prebuilt != null) prebuilt.close();
    }

    /**
     * Native memory for one call's input, states and results, kept from call to call (each used by one call at a
     * time; as many as calls ran at once), so that a call allocates, zeroes and frees no native memory once warm.
     * Shared arenas: the layer's second thread reads and writes them. The node owns them; {@link #close} frees them.
     */
    private static final class Buffers {
        final Arena arena = Arenas.shared();
        final MemorySegment segment;

        Buffers(long bytes) {
            segment = arena.allocate(Math.max(bytes, 64), 64);
        }
    }

    /** Tests only: the general path one sample and step at a time with scalar dot products, the reference for the batched one. */
    volatile boolean oneByOne;

    private final java.util.concurrent.ConcurrentLinkedDeque<Buffers> pool = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    private Buffers take(long bytes) {
        Buffers b = pool.pollFirst();
        if (b != null && b.segment.byteSize() >= bytes) return b;
        if (b != null) b.arena.close(); // too small: replaced by one that fits
        return new Buffers(bytes);
    }

    private void give(Buffers b) {
        pool.offerFirst(b);
        if (closed && pool.remove(b)) b.arena.close(); // close() ran meanwhile and may have missed it
    }

    // ------------------------------------------------------------------------------------------ activations

    /** An activation ONNX lists for the recurrent operators, with its alpha and beta. */
    record Activation(String name, float alpha, float beta, int kind) {
        private static final List<String> KINDS = List.of("sigmoid", "tanh", "relu", "hardsigmoid", "leakyrelu", "thresholdedrelu", "scaledtanh",
                "affine", "elu", "softsign", "softplus");

        Activation(String name, float alpha, float beta) {
            this(name, alpha, beta, KINDS.indexOf(name));
        }

        /** The function at {@code x} (switching on an int: this runs for every gate of every step). */
        float apply(float x) {
            return switch (kind) {
                case 0 -> 1f / (1f + (float) Math.exp(-x));
                case 1 -> (float) Math.tanh(x);
                case 2 -> Math.max(x, 0f);
                case 3 -> Math.max(0f, Math.min(1f, alpha * x + beta));
                case 4 -> x >= 0 ? x : alpha * x;
                case 5 -> x > alpha ? x : 0f;
                case 6 -> alpha * (float) Math.tanh(beta * x);
                case 7 -> alpha * x + beta;
                case 8 -> x >= 0 ? x : alpha * (float) Math.expm1(x);
                case 9 -> x / (1f + Math.abs(x));
                default -> (float) Math.log1p(Math.exp(x)); // softplus
            };
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Name (lower case) → {alphas taken, betas taken, default alpha, default beta}. */
    private static final Map<String, float[]> ACTIVATIONS = new HashMap<>();

    static {
        ACTIVATIONS.put("sigmoid", new float[] {0, 0, 0, 0});
        ACTIVATIONS.put("tanh", new float[] {0, 0, 0, 0});
        ACTIVATIONS.put("relu", new float[] {0, 0, 0, 0});
        ACTIVATIONS.put("softsign", new float[] {0, 0, 0, 0});
        ACTIVATIONS.put("softplus", new float[] {0, 0, 0, 0});
        ACTIVATIONS.put("hardsigmoid", new float[] {1, 1, 0.2f, 0.5f});
        ACTIVATIONS.put("leakyrelu", new float[] {1, 0, 0.01f, 0});
        ACTIVATIONS.put("thresholdedrelu", new float[] {1, 0, 1f, 0});
        ACTIVATIONS.put("elu", new float[] {1, 0, 1f, 0});
        ACTIVATIONS.put("scaledtanh", new float[] {1, 1, 1f, 1f});
        ACTIVATIONS.put("affine", new float[] {1, 1, 1f, 0});
    }

    /**
     * The activations per direction: the attribute's list (one set per direction, or one set used by both)
     * or the defaults; alphas and betas consumed in order by the activations that take them.
     */
    private Activation[][] activations(Attrs a, String label) {
        List<String> names = a.strings("activations");
        float[] alphas = a.floats("activation_alpha"), betas = a.floats("activation_beta");
        if (names == null) {
            if (alphas != null || betas != null) throw new TensorProtos.Bad(label + ": activation_alpha or activation_beta without activations");
            names = new ArrayList<>();
            for (int d = 0; d < directions; d++) {
                names.addAll(switch (baseMode) {
                    case LSTM -> List.of("Sigmoid", "Tanh", "Tanh");
                    case GRU -> List.of("Sigmoid", "Tanh");
                    default -> List.of("Tanh");
                });
            }
        } else if (names.size() == perDirection && directions == 2) {
            List<String> both = new ArrayList<>(names);
            both.addAll(names);
            names = both;
        } else if (names.size() != perDirection * directions) {
            throw new TensorProtos.Bad(label + ": activations lists " + names.size() + " functions; " + op + " needs " + perDirection + " per direction, "
                    + perDirection * directions + " here");
        }
        Activation[][] r = new Activation[directions][perDirection];
        int ai = 0, bi = 0;
        for (int k = 0; k < names.size(); k++) {
            String name = names.get(k).toLowerCase(Locale.ROOT);
            float[] spec = ACTIVATIONS.get(name);
            if (spec == null) {
                throw new TensorProtos.Bad(label + ": activation " + Text.quote(names.get(k)) + " is not supported (" + String.join(", ", new java.util.TreeSet<>(ACTIVATIONS.keySet())) + ")");
            }
            float alpha = spec[2], beta = spec[3];
            if (spec[0] > 0 && alphas != null && ai < alphas.length) alpha = alphas[ai++];
            if (spec[1] > 0 && betas != null && bi < betas.length) beta = betas[bi++];
            r[k / perDirection][k % perDirection] = new Activation(name, alpha, beta);
        }
        return r;
    }

    /** The layer mode that computes these activations in every direction, or null when none does. */
    private Mode layerModeOf(Activation[][] acts) {
        String want = switch (baseMode) {
            case LSTM -> "[sigmoid, tanh, tanh]";
            case GRU -> "[sigmoid, tanh]";
            default -> null;
        };
        String first = Arrays.toString(acts[0]);
        for (Activation[] d : acts) if (!Arrays.toString(d).equals(first)) return null;
        if (want != null) return first.equals(want) ? baseMode : null;
        return first.equals("[tanh]") ? Mode.RNN_TANH : first.equals("[relu]") ? Mode.RNN_RELU : null;
    }

    // ------------------------------------------------------------------------------------------ running

    @Override
    public OnnxTensor[] run(OnnxTensor[] in) {
        OnnxTensor x = Ops.floats(Ops.required(in, 0, "X"), op);
        OnnxTensor w = Ops.floats(Ops.required(in, 1, "W"), op), r = Ops.floats(Ops.required(in, 2, "R"), op);
        OnnxTensor b = opt(in, 3), lens = opt(in, 4), h0 = opt(in, 5), c0 = baseMode == Mode.LSTM ? opt(in, 6) : null, p = baseMode == Mode.LSTM ? opt(in, 7) : null;
        if (x.rank() != 3) throw new IllegalArgumentException("X must be 3-D " + (batchFirst ? "(batch, seq_length, input_size)" : "(seq_length, batch, input_size)") + ", got " + x.shapeString());
        int T = batchFirst ? x.dim(1) : x.dim(0), B = batchFirst ? x.dim(0) : x.dim(1), I = x.dim(2);
        if (r.rank() != 3) throw new IllegalArgumentException("R must be 3-D (num_directions, " + gates + "·hidden_size, hidden_size), got " + r.shapeString());
        int H = hidden != 0 ? hidden : r.dim(2);
        expect("W", w, directions, gates * H, I);
        expect("R", r, directions, gates * H, H);
        if (b != null) expect("B", b, directions, 2 * gates * H);
        if (p != null) expect("P", p, directions, 3 * H);
        if (T < 1 || B < 1) throw new IllegalArgumentException("X " + x.shapeString() + " has no steps or no samples");
        Shapes.checkedCount(new int[] {T, directions, B, Math.max(H, 1)}, op + "'s output Y (T, D, B, H)"); // X may be empty (I = 0) with any T and B
        int[] lengths = null;
        if (lens != null) {
            long[] l = Ops.ints(lens, "sequence_lens");
            if (lens.rank() != 1 || l.length != B) throw new IllegalArgumentException("sequence_lens must be [" + B + "], got " + lens.shapeString());
            lengths = new int[B];
            boolean full = true;
            for (int i = 0; i < B; i++) {
                if (l[i] < 1 || l[i] > T) throw new IllegalArgumentException("sequence_lens[" + i + "] = " + l[i] + " is outside 1.." + T);
                lengths[i] = (int) l[i];
                full &= lengths[i] == T;
            }
            if (full) lengths = null;
        }
        float[] h0v = state("initial_h", h0, B, H), c0v = state("initial_c", c0, B, H);
        float[] xs = batchFirst ? Ops.transpose(x, new long[] {1, 0, 2}).floats() : x.floats(); // (T, B, I)
        float[][] res = onLayers ? onLayers(xs, T, B, I, H, w, r, b, h0v, c0v, lengths) : general(xs, T, B, I, H, w, r, b, p, h0v, c0v, lengths);
        // res: Y (T, D, B, H), Y_h (D, B, H), Y_c (D, B, H)
        OnnxTensor y = OnnxTensor.ofFloats(res[0], T, directions, B, H), yh = OnnxTensor.ofFloats(res[1], directions, B, H);
        OnnxTensor yc = baseMode == Mode.LSTM ? OnnxTensor.ofFloats(res[2], directions, B, H) : null;
        if (batchFirst) {
            y = Ops.transpose(y, new long[] {2, 0, 1, 3});
            yh = Ops.transpose(yh, new long[] {1, 0, 2});
            if (yc != null) yc = Ops.transpose(yc, new long[] {1, 0, 2});
        }
        return baseMode == Mode.LSTM ? new OnnxTensor[] {y, yh, yc} : new OnnxTensor[] {y, yh};
    }

    private static OnnxTensor opt(OnnxTensor[] in, int i) {
        return i < in.length ? in[i] : null;
    }

    private static void expect(String name, OnnxTensor t, int... shape) {
        if (!Arrays.equals(t.dims(), shape)) throw new IllegalArgumentException(name + " must be " + Arrays.toString(shape) + ", got " + t.shapeString());
    }

    /** An initial state as (D, B, H) floats, or null. */
    private float[] state(String name, OnnxTensor s, int B, int H) {
        if (s == null) return null;
        Ops.floats(s, op);
        if (batchFirst) {
            expect(name, s, B, directions, H);
            return Ops.transpose(s, new long[] {1, 0, 2}).floats();
        }
        expect(name, s, directions, B, H);
        return s.floats();
    }

    // ------------------------------------------------------------------------------------------ on the layers

    /** The layer for these weights, in PyTorch's gate order and names. */
    private RecurrentLayer layer(OnnxTensor w, OnnxTensor r, OnnxTensor b) {
        int[] hi = checkWeights(w, r, b); // initializers of another type reach here at load, before run() could check them
        int H = hi[0], I = hi[1];
        Map<String, float[]> data = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        putPyTorch(data, shapes, "", 0, w, r, b, H, I);
        LayerSpec spec = new LayerSpec(layerMode, I, H, 1, directions == 2, b != null, false, 0);
        return RecurrentLayer.create(spec, StateDict.of(data, shapes), "", backend);
    }

    /**
     * Writes W, R and B (checked to fit) as layer {@code layer} of a PyTorch state_dict under {@code prefix}: gates
     * in PyTorch's order, B split into {@code bias_ih} and {@code bias_hh}; no bias tensors when {@code b} is null.
     */
    void putPyTorch(Map<String, float[]> data, Map<String, int[]> shapes, String prefix, int layer, OnnxTensor w, OnnxTensor r, OnnxTensor b, int H, int I) {
        for (int d = 0; d < directions; d++) {
            String sfx = "_l" + layer + (d == 1 ? "_reverse" : "");
            put(data, shapes, prefix + "weight_ih" + sfx, reorder(w.floats(), d * gates * H * I, H, I), gates * H, I);
            put(data, shapes, prefix + "weight_hh" + sfx, reorder(r.floats(), d * gates * H * H, H, H), gates * H, H);
            if (b != null) {
                put(data, shapes, prefix + "bias_ih" + sfx, reorder(b.floats(), d * 2 * gates * H, H, 1), gates * H);
                put(data, shapes, prefix + "bias_hh" + sfx, reorder(b.floats(), d * 2 * gates * H + gates * H, H, 1), gates * H);
            }
        }
    }

    /** Whether a PyTorch layer computes what this node does (then {@link #layerMode()} is its cell). */
    boolean onLayers() {
        return onLayers;
    }

    Mode layerMode() {
        return layerMode;
    }

    /** 1 or 2. */
    int directions() {
        return directions;
    }

    boolean reverseOnly() {
        return reverseOnly;
    }

    boolean batchFirst() {
        return batchFirst;
    }

    /** The checked W, R, B of this node as PyTorch's (W and R rank 3 of this node's directions; B null when absent). */
    int[] checkWeights(OnnxTensor w, OnnxTensor r, OnnxTensor b) {
        if (w.rank() != 3 || r.rank() != 3) throw new IllegalArgumentException("W and R must be 3-D, got " + w.shapeString() + " and " + r.shapeString());
        Ops.floats(w, op);
        Ops.floats(r, op);
        int H = hidden != 0 ? hidden : r.dim(2), I = w.dim(2);
        expect("W", w, directions, gates * H, I);
        expect("R", r, directions, gates * H, H);
        if (b != null) expect("B", Ops.floats(b, op), directions, 2 * gates * H);
        return new int[] {H, I};
    }

    private static void put(Map<String, float[]> data, Map<String, int[]> shapes, String name, float[] v, int... shape) {
        data.put(name, v);
        shapes.put(name, shape);
    }

    /** The gate blocks (each H rows of {@code cols}) at {@code from} in PyTorch's order: LSTM i,o,f,c → i,f,c,o; GRU z,r,h → r,z,h. */
    private float[] reorder(float[] src, int from, int H, int cols) {
        int[] order = switch (baseMode) {
            case LSTM -> new int[] {0, 2, 3, 1};
            case GRU -> new int[] {1, 0, 2};
            default -> new int[] {0};
        };
        int block = H * cols;
        float[] out = new float[gates * block];
        for (int g = 0; g < gates; g++) System.arraycopy(src, from + order[g] * block, out, g * block, block);
        return out;
    }

    private float[][] onLayers(float[] xs, int T, int B, int I, int H, OnnxTensor w, OnnxTensor r, OnnxTensor b, float[] h0, float[] c0, int[] lengths) {
        RecurrentLayer layer = prebuilt != null ? prebuilt : layer(w, r, b);
        try {
            // Into native memory once, the layer's results out once, straight into ONNX's layout (T, D, B, H); the
            // native memory is the node's, reused from call to call.
            int D = directions;
            long xF = (long) T * B * I, sF = (long) D * B * H, outF = (long) T * B * D * H;
            boolean lstm = layerMode == Mode.LSTM;
            Buffers buf = take((xF + outF + (lstm ? 4 : 3) * sF) * Float.BYTES); // x, h0, c0 (its slot), Y, h_n, c_n
            try {
                MemorySegment seg = buf.segment;
                long at = 0;
                Tensor x = Tensor.wrap(seg, at, I, T, B, I);
                at += xF;
                if (reverseOnly) { // each sample's valid steps reversed, through a forward layer
                    for (int t = 0; t < T; t++) {
                        for (int bb = 0; bb < B; bb++) {
                            MemorySegment.copy(xs, (time(t, bb, T, lengths) * B + bb) * I, seg, ValueLayout.JAVA_FLOAT, (x.offset() + (long) (t * B + bb) * I) * Float.BYTES, I);
                        }
                    }
                } else {
                    MemorySegment.copy(xs, 0, seg, ValueLayout.JAVA_FLOAT, 0, (int) xF);
                }
                Tensor h = null, c = null;
                if (h0 != null) {
                    h = Tensor.wrap(seg, at, H, D, B, H);
                    MemorySegment.copy(h0, 0, seg, ValueLayout.JAVA_FLOAT, at * Float.BYTES, (int) sF);
                }
                at += sF;
                if (c0 != null) {
                    c = Tensor.wrap(seg, at, H, D, B, H);
                    MemorySegment.copy(c0, 0, seg, ValueLayout.JAVA_FLOAT, at * Float.BYTES, (int) sF);
                }
                at += sF;
                Tensor out = Tensor.wrap(seg, at, D * H, T, B, D * H);
                // A sample's steps past its length: the layer writes zeros there (ONNX's Y), whatever the buffer held.
                at += outF;
                Tensor hN = Tensor.wrap(seg, at, H, D, B, H);
                at += sF;
                Tensor cN = lstm ? Tensor.wrap(seg, at, H, D, B, H) : null;
                layer.forward(x, h, c, lengths, out, hN, cN, null);
                float[] y = new float[T * D * B * H];
                for (int t = 0; t < T; t++) {
                    for (int bb = 0; bb < B; bb++) {
                        int time = time(t, bb, T, lengths);
                        long row = out.offset() + (long) (t * B + bb) * out.ld();
                        for (int d = 0; d < D; d++) {
                            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, (row + (long) d * H) * Float.BYTES, y, ((time * D + d) * B + bb) * H, H);
                        }
                    }
                }
                return new float[][] {y, hN.toArray(), cN == null ? null : cN.toArray()};
            } finally {
                give(buf);
            }
        } finally {
            if (layer != prebuilt) layer.close();
        }
    }

    /** The time of step {@code t} of sample {@code b}'s run: a reverse-only node runs each sample's valid steps reversed. */
    private int time(int t, int b, int T, int[] lengths) {
        int L = lengths == null ? T : lengths[b];
        return reverseOnly && t < L ? L - 1 - t : t;
    }

    // ------------------------------------------------------------------------------------------ general path

    /**
     * ONNX's equations, batched: per direction one product for the inputs of every step ({@code X·Wᵀ}), per step one
     * product for the recurrence over the batch ({@code H·Rᵀ}; for a GRU with {@code linear_before_reset = 0} two:
     * z and r first, then {@code (r ⊙ H)·R_hᵀ}), on the backend's GEMM; the gates, peepholes, clip and activations
     * element by element. Each sample runs its own valid steps (reversed for the reverse direction) and keeps its
     * state past them. Returns Y (T, D, B, H), Y_h and Y_c (D, B, H).
     */
    private float[][] general(float[] xs, int T, int B, int I, int H, OnnxTensor w, OnnxTensor r, OnnxTensor b, OnnxTensor p,
                              float[] h0, float[] c0, int[] lengths) {
        if (T == 0 || B == 0 || I == 0 || H == 0 || oneByOne) return generalOneByOne(xs, T, B, I, H, w, r, b, p, h0, c0, lengths);
        Backend be = backend != null ? backend : Backend.defaultBackend();
        int G = gates * H, D = directions, TB = T * B;
        boolean resetFirst = baseMode == Mode.GRU && !linearBeforeReset;
        int Gh = resetFirst ? 2 * H : G; // the recurrent product's columns before the reset gate is known
        float[] y = new float[TB * D * H], yh = new float[D * B * H], yc = new float[D * B * H];
        float[] wv = w.floats(), rv = r.floats(), bv = b == null ? null : b.floats(), pv = p == null ? null : p.floats();
        float[] xp = new float[TB * G], gh = new float[B * G], hPrev = new float[B * H], cPrev = new float[B * H], rh = new float[B * H], hn = new float[B * H];
        float[] z = new float[B * G], tc = new float[B * H];
        boolean[] active = new boolean[B];
        int[] at = new int[B];
        long xF = (long) TB * I, xpF = (long) TB * G, wF = (long) G * I, rF = (long) G * H, bh = (long) B * H, bg = (long) B * G;
        Buffers buf = take((xF + xpF + wF + rF + 3 * bh + 2 * bg) * Float.BYTES);
        try {
            MemorySegment m = buf.segment;
            long X = 0, XP = X + xF, W = XP + xpF, R = W + wF, HS = R + rF, HP = HS + bh, RH = HP + bg, HN = RH + bh, ACT = HN + bh;
            MemorySegment.copy(xs, 0, m, ValueLayout.JAVA_FLOAT, X * Float.BYTES, (int) xF);
            for (int d = 0; d < D; d++) {
                boolean reverse = reverseOnly || d == 1;
                Activation[] f = acts[d];
                int bo = d * 2 * G, po = d * 3 * H;
                MemorySegment.copy(wv, d * G * I, m, ValueLayout.JAVA_FLOAT, W * Float.BYTES, (int) wF);
                MemorySegment.copy(rv, d * G * H, m, ValueLayout.JAVA_FLOAT, R * Float.BYTES, (int) rF);
                be.sgemm(false, true, TB, G, I, 1f, m, X, I, m, W, I, 0f, m, XP, G);
                MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, XP * Float.BYTES, xp, 0, (int) xpF);
                // Both biases into the input part, but R's for a GRU's candidate when the reset gate multiplies it (rbh).
                float[] rbh = new float[H];
                if (bv != null) {
                    float[] bias = new float[G];
                    for (int g = 0; g < G; g++) bias[g] = bv[bo + g] + (baseMode == Mode.GRU && linearBeforeReset && g >= 2 * H ? 0f : bv[bo + G + g]);
                    if (baseMode == Mode.GRU && linearBeforeReset) System.arraycopy(bv, bo + G + 2 * H, rbh, 0, H);
                    for (int row = 0; row < TB; row++) for (int g = 0; g < G; g++) xp[row * G + g] += bias[g];
                }
                for (int bb = 0; bb < B; bb++) {
                    int so = (d * B + bb) * H;
                    if (h0 != null) System.arraycopy(h0, so, hPrev, bb * H, H); else Arrays.fill(hPrev, bb * H, bb * H + H, 0f);
                    if (c0 != null) System.arraycopy(c0, so, cPrev, bb * H, H); else Arrays.fill(cPrev, bb * H, bb * H + H, 0f);
                }
                Activation fa = f[0], fb = f.length > 1 ? f[1] : null, fc = f.length > 2 ? f[2] : null;
                Acts acts = new Acts(be, m, ACT, B);
                for (int s = 0; s < T; s++) {
                    MemorySegment.copy(hPrev, 0, m, ValueLayout.JAVA_FLOAT, HS * Float.BYTES, (int) bh);
                    be.sgemm(false, true, B, Gh, H, 1f, m, HS, H, m, R, H, 0f, m, HP, Gh);
                    MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, HP * Float.BYTES, gh, 0, B * Gh);
                    // Pre-activations of the samples still running (z: B × G), each at its own time step.
                    for (int bb = 0; bb < B; bb++) {
                        int L = lengths == null ? T : lengths[bb];
                        active[bb] = s < L;
                        if (!active[bb]) continue;
                        int t = reverse ? L - 1 - s : s, xo = (t * B + bb) * G, go = bb * Gh, zo = bb * G;
                        at[bb] = t;
                        int n = resetFirst ? 2 * H : G;
                        for (int g = 0; g < n; g++) z[zo + g] = xp[xo + g] + gh[go + g];
                        if (resetFirst) System.arraycopy(xp, xo + 2 * H, z, zo + 2 * H, H);
                        if (pv != null) {
                            for (int j = 0; j < H; j++) {
                                z[zo + j] += pv[po + j] * cPrev[bb * H + j];
                                z[zo + 2 * H + j] += pv[po + 2 * H + j] * cPrev[bb * H + j];
                            }
                        }
                    }
                    if (baseMode == Mode.LSTM) {
                        clip(z, 0, H, G); // i; o is clipped once its peephole term is in
                        clip(z, 2 * H, 4 * H, G); // f, c
                        acts.apply(fa, z, G, 0, H); // i
                        if (!inputForget) acts.apply(fa, z, G, 2 * H, H); // f
                        acts.apply(fb, z, G, 3 * H, H); // c
                        for (int bb = 0; bb < B; bb++) {
                            if (!active[bb]) continue;
                            int zo = bb * G, ho = bb * H;
                            for (int j = 0; j < H; j++) {
                                float i = z[zo + j], fg = inputForget ? 1f - i : z[zo + 2 * H + j];
                                float cell = fg * cPrev[ho + j] + i * z[zo + 3 * H + j];
                                cPrev[ho + j] = cell;
                                tc[ho + j] = cell;
                                if (pv != null) z[zo + H + j] += pv[po + H + j] * cell;
                            }
                        }
                        clip(z, H, 2 * H, G);
                        acts.apply(fa, z, G, H, H); // o
                        acts.apply(fc, tc, H, 0, H); // h = o ⊙ h(cell)
                        for (int bb = 0; bb < B; bb++) if (active[bb]) for (int j = 0; j < H; j++) tc[bb * H + j] *= z[bb * G + H + j];
                    } else if (baseMode == Mode.GRU) {
                        clip(z, 0, 2 * H, G);
                        acts.apply(fa, z, G, 0, 2 * H); // z and r
                        if (resetFirst) {
                            // the candidate's product over r ⊙ h (zeros for samples past their length)
                            for (int bb = 0; bb < B; bb++) {
                                for (int j = 0; j < H; j++) rh[bb * H + j] = active[bb] ? z[bb * G + H + j] * hPrev[bb * H + j] : 0f;
                            }
                            MemorySegment.copy(rh, 0, m, ValueLayout.JAVA_FLOAT, RH * Float.BYTES, (int) bh);
                            be.sgemm(false, true, B, H, H, 1f, m, RH, H, m, R + 2L * H * H, H, 0f, m, HN, H);
                            MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, HN * Float.BYTES, hn, 0, (int) bh);
                            for (int bb = 0; bb < B; bb++) if (active[bb]) for (int j = 0; j < H; j++) z[bb * G + 2 * H + j] += hn[bb * H + j];
                        } else {
                            for (int bb = 0; bb < B; bb++) {
                                if (!active[bb]) continue;
                                int zo = bb * G, go = bb * Gh, xo = (at[bb] * B + bb) * G;
                                for (int j = 0; j < H; j++) z[zo + 2 * H + j] = xp[xo + 2 * H + j] + z[zo + H + j] * (gh[go + 2 * H + j] + rbh[j]);
                            }
                        }
                        clip(z, 2 * H, 3 * H, G);
                        acts.apply(fb, z, G, 2 * H, H); // the candidate
                        for (int bb = 0; bb < B; bb++) {
                            if (!active[bb]) continue;
                            int zo = bb * G, ho = bb * H;
                            for (int j = 0; j < H; j++) {
                                float zj = z[zo + j];
                                tc[ho + j] = (1f - zj) * z[zo + 2 * H + j] + zj * hPrev[ho + j];
                            }
                        }
                    } else {
                        clip(z, 0, H, G);
                        acts.apply(fa, z, G, 0, H);
                        for (int bb = 0; bb < B; bb++) if (active[bb]) System.arraycopy(z, bb * G, tc, bb * H, H);
                    }
                    for (int bb = 0; bb < B; bb++) {
                        if (!active[bb]) continue;
                        System.arraycopy(tc, bb * H, hPrev, bb * H, H);
                        System.arraycopy(tc, bb * H, y, ((at[bb] * D + d) * B + bb) * H, H);
                    }
                }
                System.arraycopy(hPrev, 0, yh, d * B * H, B * H);
                System.arraycopy(cPrev, 0, yc, d * B * H, B * H);
            }
        } finally {
            give(buf);
        }
        return new float[][] {y, yh, yc};
    }

    /** ONNX's equations one sample and one step at a time with scalar dot products: for empty dimensions. */
    private float[][] generalOneByOne(float[] xs, int T, int B, int I, int H, OnnxTensor w, OnnxTensor r, OnnxTensor b, OnnxTensor p,
                                      float[] h0, float[] c0, int[] lengths) {
        int G = gates * H;
        float[] y = new float[T * directions * B * H], yh = new float[directions * B * H], yc = new float[directions * B * H];
        float[] wv = w.floats(), rv = r.floats(), bv = b == null ? null : b.floats(), pv = p == null ? null : p.floats();
        float[] gx = new float[G], gh = new float[G], hPrev = new float[H], cPrev = new float[H], hNew = new float[H], cNew = new float[H], rh = new float[H];
        for (int d = 0; d < directions; d++) {
            boolean reverse = reverseOnly || d == 1;
            Activation[] f = acts[d];
            int wo = d * G * I, ro = d * G * H, bo = d * 2 * G, po = d * 3 * H;
            for (int bb = 0; bb < B; bb++) {
                int L = lengths == null ? T : lengths[bb];
                int so = (d * B + bb) * H;
                if (h0 != null) System.arraycopy(h0, so, hPrev, 0, H); else Arrays.fill(hPrev, 0f);
                if (c0 != null) System.arraycopy(c0, so, cPrev, 0, H); else Arrays.fill(cPrev, 0f);
                for (int s = 0; s < L; s++) {
                    int t = reverse ? L - 1 - s : s, xo = (t * B + bb) * I;
                    for (int g = 0; g < G; g++) {
                        float acc = bv == null ? 0f : bv[bo + g];
                        for (int k = 0; k < I; k++) acc += wv[wo + g * I + k] * xs[xo + k];
                        gx[g] = acc;
                    }
                    if (baseMode == Mode.GRU) {
                        gru(f, rv, ro, bv, bo, G, H, gx, gh, hPrev, rh, hNew);
                    } else {
                        for (int g = 0; g < G; g++) gh[g] = (bv == null ? 0f : bv[bo + G + g]) + dot(rv, ro + g * H, hPrev, H);
                        if (baseMode == Mode.LSTM) lstm(f, pv, po, H, gx, gh, hPrev, cPrev, hNew, cNew);
                        else for (int j = 0; j < H; j++) hNew[j] = f[0].apply(clip(gx[j] + gh[j]));
                    }
                    System.arraycopy(hNew, 0, hPrev, 0, H);
                    System.arraycopy(cNew, 0, cPrev, 0, H);
                    System.arraycopy(hNew, 0, y, ((t * directions + d) * B + bb) * H, H);
                }
                System.arraycopy(hPrev, 0, yh, so, H);
                System.arraycopy(cPrev, 0, yc, so, H);
            }
        }
        return new float[][] {y, yh, yc};
    }

    /** Clips columns {@code from..to} of every row (of {@code ld} floats) of {@code v} to ±clip, when the node has one. */
    private void clip(float[] v, int from, int to, int ld) {
        if (!hasClip) return;
        for (int row = 0; row + ld <= v.length; row += ld) {
            for (int k = from; k < to; k++) v[row + k] = Math.max(-clip, Math.min(clip, v[row + k]));
        }
    }

    /**
     * An activation over a column block of every row of a heap matrix: sigmoid, tanh and relu by the backend's
     * vectorised kernels (the block copied through native scratch of rows × ld floats), the others element by element.
     */
    private record Acts(Backend be, MemorySegment m, long scratch, int rows) {
        void apply(Activation a, float[] v, int ld, int col0, int cols) {
            if (a.kind() <= 2 && (long) rows * cols >= 64) {
                for (int r = 0; r < rows; r++) MemorySegment.copy(v, r * ld + col0, m, ValueLayout.JAVA_FLOAT, (scratch + (long) r * cols) * Float.BYTES, cols);
                Tensor t = Tensor.wrap(m, scratch, cols, rows, cols);
                switch (a.kind()) {
                    case 0 -> be.sigmoid(t, t);
                    case 1 -> be.tanh(t, t);
                    default -> be.relu(t, t);
                }
                for (int r = 0; r < rows; r++) MemorySegment.copy(m, ValueLayout.JAVA_FLOAT, (scratch + (long) r * cols) * Float.BYTES, v, r * ld + col0, cols);
                return;
            }
            for (int r = 0; r < rows; r++) for (int k = col0; k < col0 + cols; k++) v[r * ld + k] = a.apply(v[r * ld + k]);
        }
    }

    private float clip(float v) {
        return hasClip ? Math.max(-clip, Math.min(clip, v)) : v;
    }

    private static float dot(float[] m, int off, float[] v, int n) {
        float s = 0f;
        for (int k = 0; k < n; k++) s += m[off + k] * v[k];
        return s;
    }

    /** One LSTM step: gates i, o, f, c; peepholes P (i, o, f); the forget gate 1 − i when coupled. */
    private void lstm(Activation[] f, float[] p, int po, int H, float[] gx, float[] gh, float[] hPrev, float[] cPrev, float[] hNew, float[] cNew) {
        for (int j = 0; j < H; j++) {
            float pi = p == null ? 0f : p[po + j], pOut = p == null ? 0f : p[po + H + j], pf = p == null ? 0f : p[po + 2 * H + j];
            float i = f[0].apply(clip(gx[j] + gh[j] + pi * cPrev[j]));
            float fg = inputForget ? 1f - i : f[0].apply(clip(gx[2 * H + j] + gh[2 * H + j] + pf * cPrev[j]));
            float c = f[1].apply(clip(gx[3 * H + j] + gh[3 * H + j]));
            float cell = fg * cPrev[j] + i * c;
            float o = f[0].apply(clip(gx[H + j] + gh[H + j] + pOut * cell));
            cNew[j] = cell;
            hNew[j] = o * f[2].apply(cell);
        }
    }

    /** One GRU step: gates z, r, h; the reset gate applied after (linear_before_reset = 1) or before the recurrent product. */
    private void gru(Activation[] f, float[] rv, int ro, float[] bv, int bo, int G, int H, float[] gx, float[] gh, float[] hPrev, float[] rh, float[] hNew) {
        for (int g = 0; g < 2 * H; g++) gh[g] = (bv == null ? 0f : bv[bo + G + g]) + dot(rv, ro + g * H, hPrev, H);
        for (int j = 0; j < H; j++) {
            gh[j] = f[0].apply(clip(gx[j] + gh[j])); // z
            gh[H + j] = f[0].apply(clip(gx[H + j] + gh[H + j])); // r
        }
        if (!linearBeforeReset) for (int k = 0; k < H; k++) rh[k] = gh[H + k] * hPrev[k];
        for (int j = 0; j < H; j++) {
            float rbh = bv == null ? 0f : bv[bo + G + 2 * H + j], cand;
            if (linearBeforeReset) {
                cand = gx[2 * H + j] + gh[H + j] * (dot(rv, ro + (2 * H + j) * H, hPrev, H) + rbh);
            } else {
                cand = gx[2 * H + j] + dot(rv, ro + (2 * H + j) * H, rh, H) + rbh;
            }
            float hc = f[1].apply(clip(cand)), zj = gh[j];
            hNew[j] = (1f - zj) * hc + zj * hPrev[j];
        }
    }
}
