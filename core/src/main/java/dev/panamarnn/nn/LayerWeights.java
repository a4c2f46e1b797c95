package dev.panamarnn.nn;

import dev.panamarnn.Text;
import dev.panamarnn.engine.Cell;
import dev.panamarnn.engine.Shape;
import dev.panamarnn.engine.Weights;
import dev.panamarnn.io.DType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Loading a layer's weights from a state dict: the spec read from the tensors' names and shapes
 * ({@link #infer}), every tensor checked against the spec before any memory is taken, then packed by the
 * engine ({@link Weights#pack}).
 */
final class LayerWeights {
    private LayerWeights() {}

    /** The engine's view of a spec. */
    static Shape shape(LayerSpec spec) {
        return new Shape(Cell.valueOf(spec.mode().name()), spec.inputSize(), spec.hiddenSize(), spec.numLayers(), spec.directions(),
                spec.bias(), spec.batchFirst(), spec.projSize());
    }

    /**
     * Checks every tensor the spec needs (present, floating-point, of its shape) and that no tensor under
     * the prefix has a layer's name the spec has no place for, and applies {@code options} to the other
     * tensors under the prefix, all before any memory is taken; then copies them into native memory,
     * packed, with no heap copy of the matrices; the matrices as bfloat16 when {@code bf16}.
     */
    static Weights load(StateDict sd, String prefix, LayerSpec spec, boolean bf16, LoadOptions options) {
        check(sd, prefix, spec, options);
        return Weights.pack(shape(spec), new Weights.Source() {
            @Override
            public void copyTo(String name, MemorySegment dst, long offset) {
                sd.copyTo(name, dst, offset);
            }

            @Override
            public float[] floats(String name) {
                return sd.floats(name);
            }
        }, prefix, bf16);
    }

    /** The floats of one of the layer's W_hh: what a one-row step reads. */
    static long whhFloats(LayerSpec spec) {
        return (long) spec.mode().gates() * spec.hiddenSize() * spec.outputSize();
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
        while (sd.contains(Weights.name(prefix, "weight_ih", layers, 0))) layers++;
        boolean bidirectional = sd.contains(Weights.name(prefix, "weight_ih", 0, 1));
        boolean bias = sd.contains(Weights.name(prefix, "bias_ih", 0, 0));
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

}
