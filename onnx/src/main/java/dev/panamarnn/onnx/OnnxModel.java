package dev.panamarnn.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.panamarnn.Backend;
import dev.panamarnn.Text;
import dev.panamarnn.onnx.proto.Onnx;
import dev.panamarnn.onnx.proto.Onnx.GraphProto;
import dev.panamarnn.onnx.proto.Onnx.ModelProto;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import dev.panamarnn.onnx.proto.Onnx.TensorProto;
import dev.panamarnn.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An ONNX model: a graph of ONNX's {@code LSTM}, {@code GRU} and {@code RNN} operators and the plumbing
 * and heads exporters put around them, loaded from an {@code .onnx} file and run on panama-rnn's layers.
 *
 * <pre>{@code
 * try (OnnxModel m = OnnxModel.load(Path.of("model.onnx"))) {
 *     Map<String, OnnxTensor> out = m.run(Map.of("input", OnnxTensor.ofFloats(x, 64, 1, 256)));
 *     float[] y = out.get("output").floats();
 * }
 * }</pre>
 *
 * <p>Loading checks the whole file before any computation: the operator set, every node's operator and
 * attributes (anything outside the supported set is an error naming the node, never a wrong answer), that
 * every value a node reads is defined and the nodes form no cycle, and every initializer's type, shape and
 * data (external data must lie in the model's directory). Nodes whose inputs are all constant are computed
 * once at load. Recurrent nodes whose weights are initializers get their layer built at load. No operator
 * makes a result of more than a 32nd of the heap's maximum size in elements (a file of a few bytes can ask
 * for billions): such a node is refused by name, at load or run, not allocated.
 *
 * <p>A model is immutable after loading and safe to share across threads; {@link #run} allocates its
 * results. {@link #close()} frees the layers' native memory.
 */
public final class OnnxModel implements AutoCloseable {
    /** The operator sets of the default domain this version reads. */
    public static final int MIN_OPSET = 7, MAX_OPSET = 22;

    /**
     * A graph input or output as the file declares it.
     *
     * @param name the value's name
     * @param type the element type, or null when the file does not say
     * @param dims each dimension's size, or its symbolic name, or {@code ?} when unknown; null when the
     *             rank is unknown
     */
    public record Port(String name, OnnxTensor.Type type, List<String> dims) {
        @Override
        public String toString() {
            return Text.escape(name, Text.MAX_SHOWN) + ": " + (type == null ? "?" : type) + (dims == null ? "[?]" : dims.toString());
        }
    }

    /** One node, ready to run. */
    /** A node run per call; {@code proto} for {@link OnnxApps}, which reads a graph's parts. */
    record Node(String label, NodeProto proto, String[] inputs, String[] outputs, Ops.Op op) {}

    private final Path file;
    private final String summary;
    private final List<Port> inputs, outputs;
    private final Map<String, OnnxTensor> constants;
    private final List<Node> nodes;
    /** For each value a node reads, the index of the last node reading it (to drop it after). */
    private final Map<String, Integer> lastUse;
    private final List<RecurrentOp> recurrent;
    private volatile boolean closed;

    private OnnxModel(Path file, String summary, List<Port> inputs, List<Port> outputs, Map<String, OnnxTensor> constants, List<Node> nodes,
                      List<RecurrentOp> recurrent) {
        this.file = file;
        this.summary = summary;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.constants = constants;
        this.nodes = List.copyOf(nodes);
        this.recurrent = List.copyOf(recurrent);
        Map<String, Integer> last = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) for (String in : nodes.get(i).inputs) if (!in.isEmpty()) last.put(in, i);
        for (Port p : outputs) last.put(p.name(), Integer.MAX_VALUE);
        this.lastUse = last;
    }

    /**
     * Loads a model, its recurrent nodes on the default backend.
     *
     * @param file the {@code .onnx} file; external data files are read from its directory
     * @return the model
     * @throws OnnxException if the file is malformed, hostile or outside the supported set (one line: the
     *     file, the node or tensor, what was expected and found)
     * @throws IOException if the file cannot be read
     */
    public static OnnxModel load(Path file) throws IOException {
        return load(file, null);
    }

    /**
     * Loads a model, its recurrent nodes on {@code backend}.
     *
     * @param file    the {@code .onnx} file; external data files are read from its directory
     * @param backend the backend of the recurrent layers, or null for the default
     * @return the model
     * @throws OnnxException if the file is malformed, hostile or outside the supported set
     * @throws IOException if the file cannot be read
     */
    public static OnnxModel load(Path file, Backend backend) throws IOException {
        Objects.requireNonNull(file, "file");
        String where = Text.quote(file.toString());
        if (!Files.isRegularFile(file)) {
            if (!Files.exists(file)) throw new NoSuchFileException(file.toString(), null, "no such file");
            throw new OnnxException(where + " is not a regular file");
        }
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) throw new OnnxException(where + " is " + size + " bytes; an .onnx file over 2 GiB must keep its tensors as external data");
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length == 0) throw new OnnxException(where + " is empty, not an ONNX model");
        ModelProto model;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setRecursionLimit(64);
            model = ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new OnnxException(where + " is not a valid ONNX model (protobuf: " + Text.oneLine(String.valueOf(e.getMessage()), 200) + ")", e);
        }
        Path dir = file.toAbsolutePath().getParent();
        List<RecurrentOp> made = new ArrayList<>();
        try {
            return build(file, model, dir, backend, made);
        } catch (TensorProtos.Bad e) {
            made.forEach(RecurrentOp::close);
            throw new OnnxException(where + ": " + e.getMessage());
        } catch (RuntimeException | Error e) {
            made.forEach(RecurrentOp::close);
            throw e;
        }
    }

    private static String label(NodeProto n, int i) {
        return "node " + (n.getName().isEmpty() ? "#" + i : Text.quote(n.getName())) + " (" + Text.escape(n.getOpType(), 40) + ")";
    }

    private static OnnxModel build(Path file, ModelProto model, Path dir, Backend backend, List<RecurrentOp> made) {
        int opset = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) opset = (int) Math.max(Math.min(o.getVersion(), Integer.MAX_VALUE), Integer.MIN_VALUE);
        }
        if (opset < 0 && model.getOpsetImportCount() == 0 && model.getIrVersion() >= 1 && model.getIrVersion() < 3) opset = 1; // IR 1, 2: no opset_import yet
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw new TensorProtos.Bad(opset < 0 ? "imports no operator set of the default domain (not an ONNX model?)"
                    : "uses operator set " + opset + "; supported: " + MIN_OPSET + ".." + MAX_OPSET);
        }
        if (!model.hasGraph()) throw new TensorProtos.Bad("has no graph");
        GraphProto g = model.getGraph();

        Map<String, OnnxTensor> constants = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            if (t.getName().isEmpty()) throw new TensorProtos.Bad("has an initializer without a name");
            String what = "initializer " + Text.quote(t.getName());
            if (constants.put(t.getName(), TensorProtos.read(t, what, dir)) != null) throw new TensorProtos.Bad("has two initializers named " + Text.quote(t.getName()));
        }
        List<Port> inputs = new ArrayList<>();
        Set<String> defined = new HashSet<>(constants.keySet());
        for (ValueInfoProto v : g.getInputList()) {
            if (constants.containsKey(v.getName())) continue; // an initializer also listed as input (IR < 4): a constant here
            if (v.getName().isEmpty()) throw new TensorProtos.Bad("has a graph input without a name");
            if (!defined.add(v.getName())) throw new TensorProtos.Bad("has two graph inputs named " + Text.quote(v.getName()));
            Port p = port(v, "graph input");
            if (p.type() == null) throw new TensorProtos.Bad("graph input " + Text.quote(v.getName()) + " declares no tensor type");
            inputs.add(p);
        }

        // Where each value comes from; every node input defined; nodes in an order that respects them.
        int n = g.getNodeCount();
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < n; i++) {
            NodeProto node = g.getNode(i);
            for (String out : node.getOutputList()) {
                if (out.isEmpty()) continue;
                if (defined.contains(out) || producer.put(out, i) != null) {
                    throw new TensorProtos.Bad(label(node, i) + " writes " + Text.quote(out) + ", which is already defined");
                }
            }
        }
        int[] waiting = new int[n];
        List<List<Integer>> readers = new ArrayList<>();
        for (int i = 0; i < n; i++) readers.add(new ArrayList<>());
        for (int i = 0; i < n; i++) {
            NodeProto node = g.getNode(i);
            for (String in : node.getInputList()) {
                if (in.isEmpty() || defined.contains(in)) continue;
                Integer p = producer.get(in);
                if (p == null) throw new TensorProtos.Bad(label(node, i) + " reads " + Text.quote(in) + ", which is not a graph input, initializer or node output");
                waiting[i]++;
                readers.get(p).add(i);
            }
        }
        ArrayDeque<Integer> ready = new ArrayDeque<>();
        for (int i = 0; i < n; i++) if (waiting[i] == 0) ready.add(i);
        List<Integer> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            int i = ready.poll();
            order.add(i);
            for (int r : readers.get(i)) if (--waiting[r] == 0) ready.add(r);
        }
        if (order.size() != n) {
            for (int i = 0; i < n; i++) {
                if (waiting[i] > 0) throw new TensorProtos.Bad("its nodes form a cycle through " + label(g.getNode(i), i));
            }
        }

        // Operators made (attributes checked), constant nodes computed now.
        List<Node> nodes = new ArrayList<>();
        Map<String, Integer> ops = new TreeMap<>();
        for (int i : order) {
            NodeProto node = g.getNode(i);
            String label = label(node, i);
            if (!node.getDomain().isEmpty() && !node.getDomain().equals("ai.onnx")) {
                throw new TensorProtos.Bad(label + " is of domain " + Text.quote(node.getDomain()) + "; only ONNX's default domain is supported");
            }
            ops.merge(node.getOpType(), 1, Integer::sum);
            Ops.Op op;
            switch (node.getOpType()) {
                case "LSTM", "GRU", "RNN" -> {
                    RecurrentOp r = new RecurrentOp(node, label, opset, constants::get, backend);
                    made.add(r);
                    op = r;
                }
                default -> op = Ops.create(node, label, opset, dir);
            }
            Node nd = new Node(label, node, node.getInputList().toArray(String[]::new), node.getOutputList().toArray(String[]::new), op);
            // Shape of an input whose declared dimensions are all numbers: known now (run checks inputs against them).
            OnnxTensor known = node.getInputCount() == 1 ? Ops.staticShape(node, label, staticDims(inputs, node.getInput(0))) : null;
            if (known != null && node.getOutputCount() == 1 && !node.getOutput(0).isEmpty()) {
                constants.put(node.getOutput(0), known);
                continue;
            }
            boolean constant = true;
            for (String in : nd.inputs) constant &= in.isEmpty() || constants.containsKey(in);
            if (constant) {
                OnnxTensor[] out;
                try {
                    out = runNode(nd, name -> name.isEmpty() ? null : constants.get(name));
                } catch (IllegalArgumentException e) {
                    throw new TensorProtos.Bad(e.getMessage()); // names the node
                }
                for (int k = 0; k < nd.outputs.length; k++) if (!nd.outputs[k].isEmpty()) constants.put(nd.outputs[k], out[k]);
            } else {
                nodes.add(nd);
            }
        }

        Set<String> available = new HashSet<>(defined);
        available.addAll(producer.keySet());
        List<Port> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) {
            if (!available.contains(v.getName())) throw new TensorProtos.Bad("graph output " + Text.quote(v.getName()) + " is not computed by any node");
            outputs.add(port(v, "graph output"));
        }
        if (outputs.isEmpty()) throw new TensorProtos.Bad("has no graph outputs");

        StringBuilder s = new StringBuilder();
        s.append("ONNX model ").append(Text.quote(file.toString())).append(": IR version ").append(model.getIrVersion()).append(", operator set ").append(opset);
        if (!model.getProducerName().isEmpty()) s.append(", from ").append(Text.escape(model.getProducerName() + " " + model.getProducerVersion(), 60).strip());
        s.append("\n  inputs: ").append(inputs.stream().map(Port::toString).toList());
        s.append("\n  outputs: ").append(outputs.stream().map(Port::toString).toList());
        s.append("\n  operators: ");
        ops.forEach((k, v) -> s.append(Text.escape(k, 40)).append(" ×").append(v).append(", "));
        s.setLength(s.length() - 2);
        s.append(" (").append(nodes.size()).append(" run per call, ").append(n - nodes.size()).append(" computed at load)");
        for (RecurrentOp r : made) s.append("\n  ").append(r.explain());
        return new OnnxModel(file, s.toString(), inputs, outputs, constants, nodes, made);
    }

    /** The declared dimensions of graph input {@code name} when every one is a number, else null. */
    private static int[] staticDims(List<Port> inputs, String name) {
        for (Port p : inputs) {
            if (!p.name().equals(name) || p.dims() == null) continue;
            int[] d = new int[p.dims().size()];
            for (int i = 0; i < d.length; i++) {
                String s = p.dims().get(i);
                if (s.isEmpty() || !Character.isDigit(s.charAt(0))) return null;
                try {
                    d[i] = Integer.parseInt(s);
                } catch (NumberFormatException e) {
                    return null; // past int: no tensor can have it, and run refuses every input
                }
            }
            return d;
        }
        return null;
    }

    private static Port port(ValueInfoProto v, String what) {
        if (!v.hasType() || !v.getType().hasTensorType()) return new Port(v.getName(), null, null);
        Onnx.TypeProto.Tensor t = v.getType().getTensorType();
        OnnxTensor.Type type = OnnxTensor.Type.of(t.getElemType());
        if (type == null && t.getElemType() != 0) {
            throw new TensorProtos.Bad(what + " " + Text.quote(v.getName()) + " has element type " + OnnxTensor.Type.nameOf(t.getElemType()) + "; supported: FLOAT, INT32, INT64, BOOL");
        }
        if (!t.hasShape()) return new Port(v.getName(), type, null);
        List<String> dims = new ArrayList<>();
        for (Onnx.TensorShapeProto.Dimension d : t.getShape().getDimList()) {
            // a negative dim_value is how some exporters say "unknown": not a size, and not a name inputs share
            dims.add(d.hasDimValue() ? (d.getDimValue() >= 0 ? Long.toString(d.getDimValue()) : "?")
                    : d.hasDimParam() && !d.getDimParam().isEmpty() ? Text.escape(d.getDimParam(), 40) : "?");
        }
        return new Port(v.getName(), type, List.copyOf(dims));
    }

    private static OnnxTensor[] runNode(Node nd, java.util.function.Function<String, OnnxTensor> value) {
        OnnxTensor[] in = new OnnxTensor[nd.inputs.length];
        for (int k = 0; k < in.length; k++) in[k] = value.apply(nd.inputs[k]);
        OnnxTensor[] out;
        try {
            out = nd.op.run(in);
        } catch (IllegalArgumentException | IllegalStateException | ArithmeticException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException(nd.label + ": " + e.getMessage(), e);
        }
        if (out.length < nd.outputs.length) throw new IllegalArgumentException(nd.label + " lists " + nd.outputs.length + " outputs; the operator gives " + out.length);
        return out;
    }

    /** The file this model was read from. */
    Path file() {
        return file;
    }

    /** The nodes run per call, in an order that respects their inputs (for {@link OnnxApps}). */
    List<Node> graphNodes() {
        return nodes;
    }

    /** An initializer or a value computed at load, else null (for {@link OnnxApps}). */
    OnnxTensor constant(String name) {
        return constants.get(name);
    }

    /** The recurrent nodes (for tests). */
    List<RecurrentOp> recurrentOps() {
        return recurrent;
    }

    /** The recurrent node of {@code node}, or null (for {@link OnnxApps}). */
    RecurrentOp recurrent(Node node) {
        return node.op() instanceof RecurrentOp r ? r : null;
    }

    /**
     * The graph's inputs, as declared (initializers excluded).
     *
     * @return the inputs in the file's order
     */
    public List<Port> inputs() {
        return inputs;
    }

    /**
     * The graph's outputs, as declared.
     *
     * @return the outputs in the file's order
     */
    public List<Port> outputs() {
        return outputs;
    }

    /**
     * Runs the graph.
     *
     * @param feeds a tensor for every graph input, by name
     * @return every graph output by name, in the graph's order; fresh tensors
     * @throws IllegalArgumentException if an input is missing, unknown, or of the wrong type or shape (the
     *     message names it, the expected and the actual shape), or a node cannot compute on what it is given
     *     (the message names the node)
     * @throws IllegalStateException if the model was closed
     */
    public Map<String, OnnxTensor> run(Map<String, OnnxTensor> feeds) {
        Objects.requireNonNull(feeds, "feeds");
        if (closed) throw new IllegalStateException("the ONNX model " + Text.quote(file.toString()) + " is closed");
        Map<String, Integer> symbols = new HashMap<>();
        for (String name : feeds.keySet()) {
            if (inputs.stream().noneMatch(p -> p.name().equals(name))) {
                throw new IllegalArgumentException("no graph input named " + Text.quote(name) + "; the inputs are " + inputs.stream().map(p -> Text.quote(p.name())).toList());
            }
        }
        Map<String, OnnxTensor> values = new HashMap<>();
        for (Port p : inputs) {
            OnnxTensor t = feeds.get(p.name());
            if (t == null) throw new IllegalArgumentException("graph input " + Text.quote(p.name()) + " (" + p + ") is not given");
            check(p, t, symbols);
            values.put(p.name(), t);
        }
        for (int i = 0; i < nodes.size(); i++) {
            Node nd = nodes.get(i);
            OnnxTensor[] out = runNode(nd, name -> name.isEmpty() ? null : values.containsKey(name) ? values.get(name) : constants.get(name));
            for (int k = 0; k < nd.outputs.length; k++) if (!nd.outputs[k].isEmpty()) values.put(nd.outputs[k], out[k]);
            for (String in : nd.inputs) if (!in.isEmpty() && lastUse.getOrDefault(in, -1) == i) values.remove(in);
        }
        Map<String, OnnxTensor> result = new LinkedHashMap<>();
        for (Port p : outputs) {
            OnnxTensor t = values.containsKey(p.name()) ? values.get(p.name()) : constants.get(p.name());
            result.put(p.name(), t);
        }
        return Collections.unmodifiableMap(result);
    }

    private static void check(Port p, OnnxTensor t, Map<String, Integer> symbols) {
        if (p.type() != null && t.type() != p.type()) throw new IllegalArgumentException("graph input " + Text.quote(p.name()) + " must be " + p.type() + ", got " + t);
        if (p.dims() == null) return;
        if (t.rank() != p.dims().size()) throw new IllegalArgumentException("graph input " + Text.quote(p.name()) + " must be " + p.dims() + ", got " + t.shapeString());
        for (int d = 0; d < t.rank(); d++) {
            String want = p.dims().get(d);
            if (want.equals("?")) continue;
            if (Character.isDigit(want.charAt(0))) {
                if (!want.equals(Integer.toString(t.dim(d)))) throw new IllegalArgumentException("graph input " + Text.quote(p.name()) + " must be " + p.dims() + ", got " + t.shapeString());
            } else {
                Integer prev = symbols.putIfAbsent(want, t.dim(d));
                if (prev != null && prev != t.dim(d)) {
                    throw new IllegalArgumentException("graph input " + Text.quote(p.name()) + " has " + want + " = " + t.dim(d) + " (dimension " + d + " of " + t.shapeString()
                            + "); another input has " + want + " = " + prev);
                }
            }
        }
    }

    /**
     * What was loaded, for people: the file, IR version, operator set and producer, inputs and outputs,
     * the operators and how many of each, and for each recurrent node whether it runs on the layers and why not.
     *
     * @return several lines
     */
    public String explain() {
        return summary;
    }

    @Override
    public String toString() {
        return summary.lines().findFirst().orElse("");
    }

    /** Frees the recurrent layers' native memory; idempotent. Later calls of {@link #run} are refused. */
    @Override
    public void close() {
        closed = true;
        recurrent.forEach(RecurrentOp::close);
    }
}
