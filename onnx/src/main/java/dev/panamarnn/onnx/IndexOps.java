package dev.panamarnn.onnx;

import dev.panamarnn.Text;
import dev.panamarnn.onnx.OnnxTensor.Type;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The index and reduction operators {@code torch.onnx.export} puts around a packed sequence
 * ({@code pack_padded_sequence(..., enforce_sorted=False)}): the batch sorted by length ({@code TopK}),
 * the inverse permutation ({@code Range}, {@code ScatterElements}) and the element count
 * ({@code ReduceProd}); with them the other reductions a head may use (sum, mean, max, min).
 */
final class IndexOps {
    private IndexOps() {}

    static final List<String> SUPPORTED = List.of("Range", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ScatterElements", "TopK");

    /** The operator of {@code n}, or null when it is not one of {@link #SUPPORTED}. */
    static Ops.Op create(NodeProto n, String label, int opset) {
        String type = n.getOpType();
        return switch (type) {
            case "TopK" -> {
                Attrs a = new Attrs(n, label, opset >= 11 ? Set.of("axis", "largest", "sorted") : Set.of("axis", "k"));
                long axis = a.i("axis", -1);
                boolean largest = a.i("largest", 1, 0, 1) == 1;
                long kAttr = opset >= 10 ? -1 : a.i("k", -1);
                if (opset < 10 && kAttr < 0) throw new TensorProtos.Bad(label + " needs attribute 'k'");
                yield in -> {
                    long k = kAttr >= 0 ? kAttr : single(Ops.ints(Ops.required(in, 1, "K"), "K"), "K");
                    return topK(Ops.required(in, 0, "X"), k, axis, largest);
                };
            }
            case "Range" -> {
                new Attrs(n, label, Set.of());
                yield in -> new OnnxTensor[] {range(Ops.required(in, 0, "start"), Ops.required(in, 1, "limit"), Ops.required(in, 2, "delta"))};
            }
            case "ScatterElements" -> {
                Attrs a = new Attrs(n, label, Set.of("axis", "reduction"));
                String reduction = a.s("reduction", "none");
                if (!reduction.equals("none")) throw new TensorProtos.Bad(label + ": reduction " + Text.quote(reduction) + " is not supported (none)");
                long axis = a.i("axis", 0);
                yield in -> new OnnxTensor[] {scatter(Ops.required(in, 0, "data"), Ops.required(in, 1, "indices"), Ops.required(in, 2, "updates"), axis)};
            }
            case "ReduceProd", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin" -> {
                // Axes are an input from opset 18 (ReduceSum: 13); before, an attribute.
                boolean axesInput = opset >= (type.equals("ReduceSum") ? 13 : 18);
                Attrs a = new Attrs(n, label, axesInput ? Set.of("keepdims", "noop_with_empty_axes") : Set.of("axes", "keepdims"));
                boolean keep = a.i("keepdims", 1, 0, 1) == 1, noop = a.i("noop_with_empty_axes", 0, 0, 1) == 1;
                long[] attrAxes = axesInput ? null : a.ints("axes");
                yield in -> {
                    OnnxTensor x = Ops.required(in, 0, "data");
                    long[] axes = attrAxes;
                    if (axesInput && in.length > 1 && in[1] != null) axes = Ops.ints(in[1], "axes");
                    if ((axes == null || axes.length == 0) && noop) return new OnnxTensor[] {x};
                    return new OnnxTensor[] {reduce(type, x, axes, keep)};
                };
            }
            default -> null;
        };
    }

    private static long single(long[] v, String name) {
        if (v.length != 1) throw new IllegalArgumentException("'" + name + "' must hold one element, has " + v.length);
        return v[0];
    }

    /** The k largest (or smallest) along {@code axis}, sorted; equal values keep the lower index first (as ONNX says). */
    private static OnnxTensor[] topK(OnnxTensor x, long k, long axisAttr, boolean largest) {
        int r = x.rank();
        if (r == 0) throw new IllegalArgumentException("TopK takes a tensor of rank 1 or more");
        int axis = Shapes.axis(axisAttr, r, "TopK"), len = x.dim(axis);
        if (k < 0 || k > len) throw new IllegalArgumentException("TopK's K is " + k + ", the axis has " + len + " elements");
        int[] out = x.shape();
        out[axis] = (int) k;
        int count = Shapes.checkedCount(out, "TopK's output");
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.dim(d);
        for (int d = axis + 1; d < r; d++) inner *= x.dim(d);
        if (count == 0) outer = 0;
        boolean f = x.type() == Type.FLOAT;
        float[] fv = f ? x.floats() : null;
        long[] lv = f ? null : x.longs();
        float[] fo = f ? new float[count] : null;
        long[] lo = f ? null : new long[count], idx = new long[count];
        Integer[] order = new Integer[len];
        for (int o = 0; o < outer; o++) {
            for (int q = 0; q < inner; q++) {
                int base = o * len * inner + q, stride = inner;
                for (int i = 0; i < len; i++) order[i] = i;
                // A stable sort: ties keep the lower index first.
                Arrays.sort(order, (p, s) -> {
                    int c = f ? Float.compare(fv[base + p * stride], fv[base + s * stride]) : Long.compare(lv[base + p * stride], lv[base + s * stride]);
                    return largest ? -c : c;
                });
                int ob = o * (int) k * inner + q;
                for (int j = 0; j < k; j++) {
                    int src = base + order[j] * inner, dst = ob + j * inner;
                    if (f) fo[dst] = fv[src];
                    else lo[dst] = lv[src];
                    idx[dst] = order[j];
                }
            }
        }
        OnnxTensor values = f ? OnnxTensor.ofFloats(fo, out) : OnnxTensor.ofIntegers(x.type(), lo, out);
        return new OnnxTensor[] {values, OnnxTensor.ofLongs(idx, out)};
    }

    private static OnnxTensor range(OnnxTensor start, OnnxTensor limit, OnnxTensor delta) {
        if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) {
            throw new IllegalArgumentException("Range takes scalars, got start " + start.shapeString() + ", limit " + limit.shapeString() + ", delta " + delta.shapeString());
        }
        if (start.type() != limit.type() || start.type() != delta.type()) throw new IllegalArgumentException("Range's start, limit and delta differ in type: " + start + ", " + limit + ", " + delta);
        if (start.type() == Type.FLOAT) {
            float s = start.floats()[0], l = limit.floats()[0], d = delta.floats()[0];
            if (d == 0 || !Float.isFinite(s) || !Float.isFinite(l) || !Float.isFinite(d)) throw new IllegalArgumentException("Range(" + s + ", " + l + ", " + d + ") has no finite length");
            double n = Math.max(Math.ceil((l - s) / (double) d), 0);
            int count = Shapes.checkedCount(new int[] {(int) Math.min(n, Integer.MAX_VALUE)}, "Range's output");
            float[] v = new float[count];
            for (int i = 0; i < count; i++) v[i] = s + i * d;
            return OnnxTensor.ofFloats(v, count);
        }
        long s = start.longs()[0], l = limit.longs()[0], d = delta.longs()[0];
        if (d == 0) throw new IllegalArgumentException("Range's delta is 0");
        double n = Math.max(Math.ceil(((double) l - s) / d), 0);
        int count = Shapes.checkedCount(new int[] {(int) Math.min(n, Integer.MAX_VALUE)}, "Range's output");
        long[] v = new long[count];
        for (int i = 0; i < count; i++) v[i] = s + i * d;
        return OnnxTensor.ofIntegers(start.type(), v, count);
    }

    /** A copy of {@code data} with {@code updates} written where {@code indices} say along {@code axis}. */
    private static OnnxTensor scatter(OnnxTensor data, OnnxTensor indices, OnnxTensor updates, long axisAttr) {
        int r = data.rank();
        if (indices.rank() != r || updates.rank() != r || !Arrays.equals(indices.dims(), updates.dims())) {
            throw new IllegalArgumentException("ScatterElements: indices " + indices.shapeString() + " and updates " + updates.shapeString()
                    + " must have one shape, of data's rank " + r);
        }
        if (updates.type() != data.type()) throw new IllegalArgumentException("ScatterElements: updates " + updates + " and data " + data + " differ in type");
        int axis = Shapes.axis(axisAttr, Math.max(r, 1), "ScatterElements");
        for (int d = 0; d < r; d++) {
            if (d != axis && indices.dim(d) > data.dim(d)) {
                throw new IllegalArgumentException("ScatterElements: indices " + indices.shapeString() + " exceed data " + data.shapeString() + " in dimension " + d);
            }
        }
        long[] idx = Ops.ints(indices, "indices");
        int[] ds = Shapes.strides(data.dims()), is = indices.dims();
        boolean f = data.type() == Type.FLOAT;
        float[] fo = f ? data.floats().clone() : null, fu = f ? updates.floats() : null;
        long[] lo = f ? null : data.longs().clone(), lu = f ? null : updates.longs();
        int[] pos = new int[r];
        int n = data.dim(axis);
        for (int e = 0; e < idx.length; e++) {
            long j = idx[e] < 0 ? idx[e] + n : idx[e];
            if (j < 0 || j >= n) throw new IllegalArgumentException("ScatterElements index " + idx[e] + " is out of range for dimension " + axis + " of size " + n);
            int at = 0;
            for (int d = 0; d < r; d++) at += (d == axis ? (int) j : pos[d]) * ds[d];
            if (f) fo[at] = fu[e];
            else lo[at] = lu[e];
            for (int d = r - 1; d >= 0 && ++pos[d] == is[d]; d--) pos[d] = 0; // next position, row-major
        }
        return f ? OnnxTensor.ofFloats(fo, data.dims()) : OnnxTensor.ofIntegers(data.type(), lo, data.dims());
    }

    /** A reduction over {@code axes} (all when null or empty). */
    private static OnnxTensor reduce(String op, OnnxTensor x, long[] axesArg, boolean keep) {
        int r = x.rank();
        boolean[] over = new boolean[r];
        if (axesArg == null || axesArg.length == 0) Arrays.fill(over, true);
        else for (long a : axesArg) over[Shapes.axis(a, r, op)] = true;
        int[] kept = new int[r];
        int outRank = 0;
        for (int d = 0; d < r; d++) {
            kept[d] = over[d] ? 1 : x.dim(d);
            if (!over[d] || keep) outRank++;
        }
        int[] out = new int[outRank];
        for (int d = 0, j = 0; d < r; d++) if (!over[d] || keep) out[j++] = kept[d];
        int count = Shapes.checkedCount(kept, op + "'s output");
        boolean empty = x.size() == 0;
        if (empty && (op.equals("ReduceMax") || op.equals("ReduceMin") || op.equals("ReduceMean"))) {
            throw new IllegalArgumentException(op + " of an empty tensor " + x.shapeString());
        }
        int[] outStrides = Shapes.strides(kept);
        int[] pos = new int[r];
        long groups = count == 0 ? 1 : x.size() / count;
        if (x.type() == Type.FLOAT) {
            float[] v = x.floats();
            double[] acc = new double[count];
            boolean[] seen = new boolean[count];
            for (int e = 0; e < v.length; e++) {
                int at = 0;
                for (int d = 0; d < r; d++) if (!over[d]) at += pos[d] * outStrides[d];
                acc[at] = combine(op, acc[at], v[e], !seen[at]);
                seen[at] = true;
                for (int d = r - 1; d >= 0 && ++pos[d] == x.dim(d); d--) pos[d] = 0;
            }
            float[] res = new float[count];
            for (int i = 0; i < count; i++) res[i] = (float) (op.equals("ReduceMean") ? acc[i] / groups : seen[i] ? acc[i] : op.equals("ReduceProd") ? 1 : 0);
            return OnnxTensor.ofFloats(res, out);
        }
        long[] v = x.longs();
        long[] acc = new long[count];
        boolean[] seen = new boolean[count];
        for (int e = 0; e < v.length; e++) {
            int at = 0;
            for (int d = 0; d < r; d++) if (!over[d]) at += pos[d] * outStrides[d];
            long a = acc[at], b = v[e];
            acc[at] = !seen[at] ? b : switch (op) {
                case "ReduceProd" -> a * b;
                case "ReduceMax" -> Math.max(a, b);
                case "ReduceMin" -> Math.min(a, b);
                default -> a + b;
            };
            seen[at] = true;
            for (int d = r - 1; d >= 0 && ++pos[d] == x.dim(d); d--) pos[d] = 0;
        }
        for (int i = 0; i < count; i++) {
            if (!seen[i]) acc[i] = op.equals("ReduceProd") ? 1 : 0;
            else if (op.equals("ReduceMean")) acc[i] /= groups;
        }
        return OnnxTensor.ofIntegers(x.type(), acc, out);
    }

    private static double combine(String op, double a, float b, boolean first) {
        if (first) return b;
        return switch (op) {
            case "ReduceProd" -> a * b;
            case "ReduceMax" -> Math.max(a, b);
            case "ReduceMin" -> Math.min(a, b);
            default -> a + b;
        };
    }
}
