package dev.panamarnn.onnx;

import dev.panamarnn.Text;
import dev.panamarnn.onnx.proto.Onnx.AttributeProto;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A node's attributes, checked against the names its operator defines (an attribute we do not know could
 * change what the operator computes, so it is an error, not ignored) and read with their declared types.
 */
final class Attrs {
    private final String node;
    private final Map<String, AttributeProto> byName = new HashMap<>();

    /** The attributes of {@code n}, whose operator defines {@code known}; {@code node} names it in messages. */
    Attrs(NodeProto n, String node, Set<String> known) {
        this.node = node;
        for (AttributeProto a : n.getAttributeList()) {
            if (!known.contains(a.getName())) {
                throw new TensorProtos.Bad(node + " has attribute " + Text.quote(a.getName()) + ", which panama-rnn does not support"
                        + (known.isEmpty() ? " (the operator takes none)" : " (it knows " + String.join(", ", new java.util.TreeSet<>(known)) + ")"));
            }
            if (!a.getRefAttrName().isEmpty()) throw new TensorProtos.Bad(node + ": attribute " + Text.quote(a.getName()) + " refers to a function's attribute");
            if (byName.put(a.getName(), a) != null) throw new TensorProtos.Bad(node + " has attribute " + Text.quote(a.getName()) + " twice");
        }
    }

    boolean has(String name) {
        return byName.containsKey(name);
    }

    private AttributeProto get(String name, AttributeProto.AttributeType type) {
        AttributeProto a = byName.get(name);
        if (a == null) return null;
        if (a.getType() != type && a.getType() != AttributeProto.AttributeType.UNDEFINED) {
            throw new TensorProtos.Bad(node + ": attribute " + Text.quote(name) + " is " + a.getType() + ", expected " + type);
        }
        return a;
    }

    long i(String name, long dflt) {
        AttributeProto a = get(name, AttributeProto.AttributeType.INT);
        return a == null ? dflt : a.getI();
    }

    /** An int attribute that must lie in {@code lo..hi}. */
    int i(String name, long dflt, long lo, long hi) {
        long v = i(name, dflt);
        if (v < lo || v > hi) throw new TensorProtos.Bad(node + ": attribute " + Text.quote(name) + " must be in " + lo + ".." + hi + ", got " + v);
        return (int) v;
    }

    float f(String name, float dflt) {
        AttributeProto a = get(name, AttributeProto.AttributeType.FLOAT);
        return a == null ? dflt : a.getF();
    }

    String s(String name, String dflt) {
        AttributeProto a = get(name, AttributeProto.AttributeType.STRING);
        return a == null ? dflt : a.getS().toString(StandardCharsets.UTF_8);
    }

    long[] ints(String name) {
        AttributeProto a = get(name, AttributeProto.AttributeType.INTS);
        if (a == null) return null;
        long[] r = new long[a.getIntsCount()];
        for (int k = 0; k < r.length; k++) r[k] = a.getInts(k);
        return r;
    }

    float[] floats(String name) {
        AttributeProto a = get(name, AttributeProto.AttributeType.FLOATS);
        if (a == null) return null;
        float[] r = new float[a.getFloatsCount()];
        for (int k = 0; k < r.length; k++) r[k] = a.getFloats(k);
        return r;
    }

    List<String> strings(String name) {
        AttributeProto a = get(name, AttributeProto.AttributeType.STRINGS);
        if (a == null) return null;
        return a.getStringsList().stream().map(b -> b.toString(StandardCharsets.UTF_8)).toList();
    }

    /** The tensor attribute {@code name}, or null. */
    OnnxTensor tensor(String name, java.nio.file.Path dir) {
        AttributeProto a = get(name, AttributeProto.AttributeType.TENSOR);
        return a == null ? null : TensorProtos.read(a.getT(), node + " attribute " + Text.quote(name), dir);
    }
}
