package dev.panamarnn.onnx;

import dev.panamarnn.onnx.OnnxTensor.Type;
import dev.panamarnn.onnx.proto.Onnx.NodeProto;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The operators a graph may hold besides the recurrent ones: the plumbing exporters put around them and
 * the usual heads. Each is made once at load from its node (attributes checked then) and run on the
 * node's inputs; a shape that does not fit is an {@link IllegalArgumentException} the graph prefixes with
 * the node.
 */
final class Ops {
    private Ops() {}

    /** One node's computation: inputs in the node's order (null for an absent optional one), its outputs. */
    interface Op {
        OnnxTensor[] run(OnnxTensor[] in);
    }

    /** The operator types {@link #create} makes, besides LSTM, GRU and RNN (with {@link IndexOps#SUPPORTED}). */
    static final List<String> SUPPORTED = List.of("Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Div", "Expand", "Gather", "Gemm",
            "Identity", "LogSoftmax", "MatMul", "Mul", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax", "Squeeze", "Sub", "Tanh",
            "Transpose", "Unsqueeze");

    /**
     * The operator of node {@code n} at {@code opset}, its attributes checked; {@code label} names the node in
     * messages, {@code dir} is the model's directory (tensor attributes with external data).
     */
    static Op create(NodeProto n, String label, int opset, Path dir) {
        String type = n.getOpType();
        return switch (type) {
            case "Identity" -> {
                new Attrs(n, label, Set.of());
                yield in -> new OnnxTensor[] {required(in, 0, "input")};
            }
            case "Constant" -> constant(n, label, dir);
            case "ConstantOfShape" -> {
                OnnxTensor v = new Attrs(n, label, Set.of("value")).tensor("value", dir);
                if (v != null && v.size() != 1) throw new TensorProtos.Bad(label + ": attribute 'value' must hold one element, has " + v.size());
                OnnxTensor value = v == null ? OnnxTensor.ofFloats(new float[] {0f}, 1) : v;
                yield in -> new OnnxTensor[] {constantOfShape(value, ints(required(in, 0, "input"), "input"))};
            }
            case "Shape" -> {
                Attrs a = new Attrs(n, label, Set.of("start", "end"));
                long start = a.i("start", 0), end = a.i("end", Long.MAX_VALUE);
                yield in -> new OnnxTensor[] {shape(required(in, 0, "data").dims(), start, end)};
            }
            case "Cast" -> {
                Attrs a = new Attrs(n, label, Set.of("to", "saturate"));
                int to = (int) a.i("to", -1);
                Type t = Type.of(to);
                if (t == null) throw new TensorProtos.Bad(label + ": Cast to " + OnnxTensor.Type.nameOf(to) + " is not supported (FLOAT, INT32, INT64, BOOL)");
                yield in -> new OnnxTensor[] {cast(required(in, 0, "input"), t)};
            }
            case "Gather" -> {
                long axis = new Attrs(n, label, Set.of("axis")).i("axis", 0);
                yield in -> new OnnxTensor[] {gather(required(in, 0, "data"), required(in, 1, "indices"), axis)};
            }
            case "Unsqueeze", "Squeeze" -> {
                Attrs a = new Attrs(n, label, opset >= 13 ? Set.of() : Set.of("axes"));
                long[] attrAxes = opset >= 13 ? null : a.ints("axes");
                if (opset < 13 && type.equals("Unsqueeze") && attrAxes == null) throw new TensorProtos.Bad(label + " needs attribute 'axes'");
                boolean un = type.equals("Unsqueeze");
                yield in -> {
                    OnnxTensor x = required(in, 0, "data");
                    long[] axes = attrAxes != null ? attrAxes : in.length > 1 && in[1] != null ? ints(in[1], "axes") : null;
                    if (un && axes == null) throw new IllegalArgumentException("Unsqueeze needs input 'axes'");
                    return new OnnxTensor[] {un ? unsqueeze(x, axes) : squeeze(x, axes)};
                };
            }
            case "Concat" -> {
                Attrs a = new Attrs(n, label, Set.of("axis"));
                if (!a.has("axis")) throw new TensorProtos.Bad(label + " needs attribute 'axis'");
                long axis = a.i("axis", 0);
                yield in -> new OnnxTensor[] {concat(in, axis)};
            }
            case "Expand" -> {
                new Attrs(n, label, Set.of());
                yield in -> {
                    OnnxTensor x = required(in, 0, "input");
                    int[] target = toInts(ints(required(in, 1, "shape"), "shape"), "shape");
                    int[] out = Shapes.broadcast(x.dims(), target, "Expand");
                    Shapes.checkedCount(out, "Expand's output");
                    return new OnnxTensor[] {Shapes.pick(x, Shapes.broadcastIndex(x.dims(), out), out)};
                };
            }
            case "Transpose" -> {
                long[] perm = new Attrs(n, label, Set.of("perm")).ints("perm");
                yield in -> new OnnxTensor[] {transpose(required(in, 0, "data"), perm)};
            }
            case "Reshape" -> {
                boolean allowZero = new Attrs(n, label, Set.of("allowzero")).i("allowzero", 0) != 0;
                yield in -> new OnnxTensor[] {reshape(required(in, 0, "data"), ints(required(in, 1, "shape"), "shape"), allowZero)};
            }
            case "Slice" -> {
                Attrs a = new Attrs(n, label, opset >= 10 ? Set.of() : Set.of("starts", "ends", "axes"));
                long[] s0 = opset >= 10 ? null : a.ints("starts"), e0 = opset >= 10 ? null : a.ints("ends"), ax0 = opset >= 10 ? null : a.ints("axes");
                if (opset < 10 && (s0 == null || e0 == null)) throw new TensorProtos.Bad(label + " needs attributes 'starts' and 'ends'");
                yield in -> {
                    OnnxTensor x = required(in, 0, "data");
                    if (opset < 10) return new OnnxTensor[] {slice(x, s0, e0, ax0, null)};
                    long[] axes = in.length > 3 && in[3] != null ? ints(in[3], "axes") : null, steps = in.length > 4 && in[4] != null ? ints(in[4], "steps") : null;
                    return new OnnxTensor[] {slice(x, ints(required(in, 1, "starts"), "starts"), ints(required(in, 2, "ends"), "ends"), axes, steps)};
                };
            }
            case "MatMul" -> {
                new Attrs(n, label, Set.of());
                yield in -> new OnnxTensor[] {matmul(required(in, 0, "A"), required(in, 1, "B"))};
            }
            case "Gemm" -> {
                Attrs a = new Attrs(n, label, Set.of("alpha", "beta", "transA", "transB"));
                float alpha = a.f("alpha", 1f), beta = a.f("beta", 1f);
                boolean ta = a.i("transA", 0) != 0, tb = a.i("transB", 0) != 0;
                yield in -> new OnnxTensor[] {gemm(required(in, 0, "A"), required(in, 1, "B"), in.length > 2 ? in[2] : null, alpha, beta, ta, tb)};
            }
            case "Add", "Sub", "Mul", "Div" -> {
                new Attrs(n, label, Set.of());
                yield in -> new OnnxTensor[] {arithmetic(type, required(in, 0, "A"), required(in, 1, "B"))};
            }
            case "Tanh", "Sigmoid", "Relu" -> {
                new Attrs(n, label, Set.of());
                yield in -> new OnnxTensor[] {unary(type, floats(required(in, 0, "X"), type))};
            }
            case "Softmax", "LogSoftmax" -> {
                long axis = new Attrs(n, label, Set.of("axis")).i("axis", opset >= 13 ? -1 : 1);
                boolean log = type.equals("LogSoftmax");
                yield in -> new OnnxTensor[] {softmax(floats(required(in, 0, "input"), type), axis, opset >= 13, log)};
            }
            default -> {
                Op other = IndexOps.create(n, label, opset);
                if (other == null) throw new TensorProtos.Bad(label + ": operator " + dev.panamarnn.Text.quote(type) + " is not supported");
                yield other;
            }
        };
    }

    static OnnxTensor required(OnnxTensor[] in, int i, String name) {
        if (i >= in.length || in[i] == null) throw new IllegalArgumentException("input " + i + " ('" + name + "') is required");
        return in[i];
    }

    static OnnxTensor floats(OnnxTensor t, String op) {
        if (t.type() != Type.FLOAT) throw new IllegalArgumentException(op + " takes FLOAT, got " + t);
        return t;
    }

    /** The elements of an integer tensor (INT32 or INT64), for shapes, axes and indices. */
    static long[] ints(OnnxTensor t, String name) {
        if (t.type() != Type.INT64 && t.type() != Type.INT32) throw new IllegalArgumentException("'" + name + "' must be INT64 or INT32, got " + t);
        return t.longs();
    }

    static int[] toInts(long[] v, String name) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + name + "' has " + v[i] + " at " + i);
            r[i] = (int) v[i];
        }
        return r;
    }

    private static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /** {@code Shape}'s result for a tensor of dimensions {@code s}: its dimensions {@code start..end} (negative from the end, clamped). */
    static OnnxTensor shape(int[] s, long start, long end) {
        int r = s.length, from = (int) clamp(start < 0 ? start + r : start, 0, r), to = (int) clamp(end < 0 ? end + r : end, 0, r);
        long[] out = new long[Math.max(0, to - from)];
        for (int i = 0; i < out.length; i++) out[i] = s[from + i];
        return OnnxTensor.ofLongs(out, out.length);
    }

    /**
     * The result of a {@code Shape} node over a graph input whose declared dimensions are all numbers (the
     * input is checked against them on every call, so the result cannot change), or null otherwise.
     */
    static OnnxTensor staticShape(NodeProto n, String label, int[] declared) {
        if (!n.getOpType().equals("Shape") || declared == null) return null;
        Attrs a = new Attrs(n, label, Set.of("start", "end"));
        return shape(declared, a.i("start", 0), a.i("end", Long.MAX_VALUE));
    }

    private static Op constant(NodeProto n, String label, Path dir) {
        Attrs a = new Attrs(n, label, Set.of("value", "value_float", "value_floats", "value_int", "value_ints"));
        OnnxTensor v;
        if (a.has("value")) v = a.tensor("value", dir);
        else if (a.has("value_float")) v = OnnxTensor.ofFloats(new float[] {a.f("value_float", 0)});
        else if (a.has("value_floats")) {
            float[] f = a.floats("value_floats");
            v = OnnxTensor.ofFloats(f, f.length);
        } else if (a.has("value_int")) v = OnnxTensor.ofLongs(new long[] {a.i("value_int", 0)});
        else if (a.has("value_ints")) {
            long[] l = a.ints("value_ints");
            v = OnnxTensor.ofLongs(l, l.length);
        } else throw new TensorProtos.Bad(label + " has no value (value, value_float(s) or value_int(s))");
        OnnxTensor[] out = {v};
        return in -> out;
    }

    private static OnnxTensor constantOfShape(OnnxTensor value, long[] shape) {
        int[] s = toInts(shape, "input");
        int count = Shapes.checkedCount(s, "ConstantOfShape's output");
        if (value.type() == Type.FLOAT) {
            float[] f = new float[count];
            Arrays.fill(f, value.floats()[0]);
            return OnnxTensor.ofFloats(f, s);
        }
        long[] l = new long[count];
        Arrays.fill(l, value.longs()[0]);
        return OnnxTensor.ofIntegers(value.type(), l, s);
    }

    private static OnnxTensor cast(OnnxTensor x, Type to) {
        if (x.type() == to) return x;
        int n = x.size();
        if (to == Type.FLOAT) {
            float[] f = new float[n];
            long[] src = x.longs();
            for (int i = 0; i < n; i++) f[i] = src[i];
            return OnnxTensor.ofFloats(f, x.dims());
        }
        long[] l = new long[n];
        if (x.type() == Type.FLOAT) {
            float[] src = x.floats();
            for (int i = 0; i < n; i++) l[i] = to == Type.BOOL ? (src[i] != 0 ? 1 : 0) : to == Type.INT32 ? (int) src[i] : (long) src[i];
        } else {
            long[] src = x.longs();
            for (int i = 0; i < n; i++) l[i] = to == Type.BOOL ? (src[i] != 0 ? 1 : 0) : to == Type.INT32 ? (int) src[i] : src[i];
        }
        return OnnxTensor.ofIntegers(to, l, x.dims());
    }

    private static OnnxTensor gather(OnnxTensor data, OnnxTensor indices, long axisAttr) {
        int[] ds = data.dims();
        int axis = Shapes.axis(axisAttr, ds.length, "Gather");
        long[] idx = ints(indices, "indices");
        int[] is = indices.dims();
        int[] out = new int[ds.length - 1 + is.length];
        System.arraycopy(ds, 0, out, 0, axis);
        System.arraycopy(is, 0, out, axis, is.length);
        System.arraycopy(ds, axis + 1, out, axis + is.length, ds.length - axis - 1);
        int count = Shapes.checkedCount(out, "Gather's output");
        if (count == 0) return Shapes.pick(data, new int[0], out); // the loops below would still walk outer × indices
        int outer = 1, inner = 1, n = ds[axis];
        for (int i = 0; i < axis; i++) outer *= ds[i];
        for (int i = axis + 1; i < ds.length; i++) inner *= ds[i];
        int[] index = new int[count];
        int k = 0;
        for (int o = 0; o < outer; o++) {
            for (long raw : idx) {
                long j = raw < 0 ? raw + n : raw;
                if (j < 0 || j >= n) throw new IllegalArgumentException("Gather index " + raw + " is out of range for dimension " + axis + " of size " + n);
                int base = (int) ((long) o * n * inner + j * inner);
                for (int q = 0; q < inner; q++) index[k++] = base + q;
            }
        }
        return Shapes.pick(data, index, out);
    }

    private static OnnxTensor unsqueeze(OnnxTensor x, long[] axes) {
        int r = x.rank() + axes.length;
        boolean[] added = new boolean[r];
        for (long a : axes) {
            int ax = Shapes.axis(a, r, "Unsqueeze");
            if (added[ax]) throw new IllegalArgumentException("Unsqueeze axis " + a + " given twice");
            added[ax] = true;
        }
        int[] out = new int[r];
        for (int i = 0, j = 0; i < r; i++) out[i] = added[i] ? 1 : x.dim(j++);
        return x.reshaped(out);
    }

    private static OnnxTensor squeeze(OnnxTensor x, long[] axes) {
        int r = x.rank();
        boolean[] drop = new boolean[r];
        if (axes == null) {
            for (int i = 0; i < r; i++) drop[i] = x.dim(i) == 1;
        } else {
            for (long a : axes) {
                int ax = Shapes.axis(a, r, "Squeeze");
                if (x.dim(ax) != 1) throw new IllegalArgumentException("Squeeze axis " + a + " has size " + x.dim(ax) + ", not 1, in " + x.shapeString());
                drop[ax] = true;
            }
        }
        int[] out = new int[r - (int) java.util.stream.IntStream.range(0, r).filter(i -> drop[i]).count()];
        for (int i = 0, j = 0; i < r; i++) if (!drop[i]) out[j++] = x.dim(i);
        return x.reshaped(out);
    }

    private static OnnxTensor concat(OnnxTensor[] in, long axisAttr) {
        if (in.length == 0 || in[0] == null) throw new IllegalArgumentException("Concat needs at least one input");
        OnnxTensor first = in[0];
        int r = first.rank(), axis = Shapes.axis(axisAttr, r, "Concat");
        int[] out = first.shape();
        out[axis] = 0;
        for (int k = 0; k < in.length; k++) {
            OnnxTensor t = in[k];
            if (t == null) throw new IllegalArgumentException("Concat input " + k + " is absent");
            if (t.type() != first.type() || t.rank() != r) throw new IllegalArgumentException("Concat input " + k + " is " + t + ", input 0 is " + first);
            for (int d = 0; d < r; d++) {
                if (d != axis && t.dim(d) != first.dim(d)) throw new IllegalArgumentException("Concat input " + k + " is " + t + ", input 0 is " + first);
            }
            out[axis] = Math.addExact(out[axis], t.dim(axis));
        }
        int count = Shapes.checkedCount(out, "Concat's output");
        int outer = count == 0 ? 0 : 1; // empty: no copies (outer alone may be 2^30)
        for (int d = 0; d < axis; d++) outer *= out[d];
        boolean f = first.type() == Type.FLOAT;
        float[] fo = f ? new float[count] : null;
        long[] lo = f ? null : new long[count];
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (OnnxTensor t : in) {
                int chunk = t.size() / Math.max(1, outer);
                if (outer == 0) break;
                if (f) System.arraycopy(t.floats(), o * chunk, fo, pos, chunk);
                else System.arraycopy(t.longs(), o * chunk, lo, pos, chunk);
                pos += chunk;
            }
        }
        return f ? OnnxTensor.ofFloats(fo, out) : OnnxTensor.ofIntegers(first.type(), lo, out);
    }

    static OnnxTensor transpose(OnnxTensor x, long[] permAttr) {
        int r = x.rank();
        int[] perm = new int[r];
        if (permAttr == null) {
            for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        } else {
            if (permAttr.length != r) throw new IllegalArgumentException("Transpose perm " + Arrays.toString(permAttr) + " does not fit rank " + r);
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                if (permAttr[i] < 0 || permAttr[i] >= r || seen[(int) permAttr[i]]) throw new IllegalArgumentException("Transpose perm " + Arrays.toString(permAttr) + " is not a permutation");
                perm[i] = (int) permAttr[i];
                seen[perm[i]] = true;
            }
        }
        int[] s = x.dims(), st = Shapes.strides(s), out = new int[r], step = new int[r];
        for (int i = 0; i < r; i++) {
            out[i] = s[perm[i]];
            step[i] = st[perm[i]];
        }
        if (r > 1 && perm[r - 1] == r - 1 && x.size() > 0) {
            // The last dimension stays: whole rows move (as between a bidirectional layer's (T, D, B, H) and (T, B, D, H)).
            int inner = s[r - 1];
            int[] rows = Shapes.walk(Arrays.copyOf(out, r - 1), Arrays.copyOf(step, r - 1), 0);
            if (x.type() == Type.FLOAT) {
                float[] src = x.floats(), dst = new float[src.length];
                for (int k = 0; k < rows.length; k++) System.arraycopy(src, rows[k], dst, k * inner, inner);
                return OnnxTensor.ofFloats(dst, out);
            }
            long[] src = x.longs(), dst = new long[src.length];
            for (int k = 0; k < rows.length; k++) System.arraycopy(src, rows[k], dst, k * inner, inner);
            return OnnxTensor.ofIntegers(x.type(), dst, out);
        }
        return Shapes.pick(x, Shapes.walk(out, step, 0), out);
    }

    private static OnnxTensor reshape(OnnxTensor x, long[] shape, boolean allowZero) {
        int[] out = new int[shape.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = shape[i];
            if (d == -1) {
                if (infer >= 0) throw new IllegalArgumentException("Reshape shape " + Arrays.toString(shape) + " has -1 twice");
                infer = i;
                continue;
            }
            if (d == 0 && !allowZero) {
                if (i >= x.rank()) throw new IllegalArgumentException("Reshape shape " + Arrays.toString(shape) + " copies dimension " + i + " of " + x.shapeString());
                d = x.dim(i);
            }
            if (d < 0 || d > Integer.MAX_VALUE) throw new IllegalArgumentException("Reshape shape " + Arrays.toString(shape) + " has " + d);
            out[i] = (int) d;
            known *= d;
        }
        if (infer >= 0) {
            if (known == 0 || x.size() % known != 0) throw new IllegalArgumentException("Reshape cannot fit " + x.shapeString() + " into " + Arrays.toString(shape));
            out[infer] = (int) (x.size() / known);
        }
        if (Shapes.count(out) != x.size()) throw new IllegalArgumentException("Reshape cannot fit " + x.shapeString() + " (" + x.size() + " elements) into " + Arrays.toString(out));
        return x.reshaped(out);
    }

    private static OnnxTensor slice(OnnxTensor x, long[] starts, long[] ends, long[] axes, long[] steps) {
        int r = x.rank(), n = starts.length;
        if (ends.length != n || (axes != null && axes.length != n) || (steps != null && steps.length != n)) {
            throw new IllegalArgumentException("Slice's starts, ends, axes and steps differ in length");
        }
        int[] begin = new int[r], step = new int[r], out = x.shape();
        Arrays.fill(step, 1);
        boolean[] seen = new boolean[r];
        for (int k = 0; k < n; k++) {
            int ax = Shapes.axis(axes == null ? k : axes[k], r, "Slice");
            if (seen[ax]) throw new IllegalArgumentException("Slice axis " + ax + " given twice");
            seen[ax] = true;
            long dim = x.dim(ax), s = steps == null ? 1 : steps[k];
            if (s == 0) throw new IllegalArgumentException("Slice step 0");
            if (s > Integer.MAX_VALUE || s < -Integer.MAX_VALUE) s = s > 0 ? Math.max(dim, 1) : -Math.max(dim, 1); // at most one element either way; no overflow below
            long st = starts[k] < 0 ? starts[k] + dim : starts[k], en = ends[k] < 0 ? ends[k] + dim : ends[k];
            long count;
            if (s > 0) {
                st = clamp(st, 0, dim);
                en = clamp(en, 0, dim);
                count = en > st ? (en - st + s - 1) / s : 0;
            } else {
                st = clamp(st, 0, dim - 1);
                en = clamp(en, -1, dim - 1);
                count = st > en ? (st - en - s - 1) / -s : 0;
            }
            begin[ax] = (int) st;
            step[ax] = (int) s;
            out[ax] = (int) count;
        }
        int[] strides = Shapes.strides(x.dims()), walkStep = new int[r];
        int start = 0;
        for (int d = 0; d < r; d++) {
            start += begin[d] * strides[d];
            walkStep[d] = step[d] * strides[d];
        }
        if (Shapes.count(out) == 0) return Shapes.pick(x, new int[0], out);
        return Shapes.pick(x, Shapes.walk(out, walkStep, start), out);
    }

    /** numpy's matmul on float tensors: 1-D operands promoted, leading dimensions broadcast. */
    private static OnnxTensor matmul(OnnxTensor a0, OnnxTensor b0) {
        floats(a0, "MatMul");
        floats(b0, "MatMul");
        boolean aVec = a0.rank() == 1, bVec = b0.rank() == 1;
        if (a0.rank() == 0 || b0.rank() == 0) throw new IllegalArgumentException("MatMul takes tensors of rank 1 or more");
        OnnxTensor a = aVec ? a0.reshaped(1, a0.dim(0)) : a0, b = bVec ? b0.reshaped(b0.dim(0), 1) : b0;
        int m = a.dim(a.rank() - 2), k = a.dim(a.rank() - 1), k2 = b.dim(b.rank() - 2), n = b.dim(b.rank() - 1);
        if (k != k2) throw new IllegalArgumentException("MatMul of " + a0.shapeString() + " by " + b0.shapeString() + ": inner dimensions " + k + " and " + k2 + " differ");
        int[] ab = Arrays.copyOf(a.dims(), a.rank() - 2), bb = Arrays.copyOf(b.dims(), b.rank() - 2);
        int[] batch = Shapes.broadcast(ab, bb, "MatMul");
        Shapes.checkedCount(batch, "MatMul's batch"); // its index arrays, even when m or n is 0
        int[] ai = Shapes.broadcastIndex(ab, batch), bi = Shapes.broadcastIndex(bb, batch);
        int[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = m;
        full[batch.length + 1] = n;
        float[] c = new float[Shapes.checkedCount(full, "MatMul's output")], av = a.floats(), bv = b.floats();
        for (int p = 0; p < ai.length && c.length > 0; p++) { // an empty output: nothing to sum, however large batch × m
            int ao = ai[p] * m * k, bo = bi[p] * k * n, co = p * m * n;
            for (int i = 0; i < m; i++) {
                for (int q = 0; q < k; q++) {
                    float x = av[ao + i * k + q];
                    int br = bo + q * n, cr = co + i * n;
                    for (int j = 0; j < n; j++) c[cr + j] += x * bv[br + j];
                }
            }
        }
        int[] shape = full;
        if (aVec && bVec) shape = Arrays.copyOf(batch, batch.length);
        else if (aVec) {
            shape = Arrays.copyOf(batch, batch.length + 1);
            shape[batch.length] = n;
        } else if (bVec) {
            shape = Arrays.copyOf(batch, batch.length + 1);
            shape[batch.length] = m;
        }
        return OnnxTensor.ofFloats(c, shape);
    }

    private static OnnxTensor gemm(OnnxTensor a, OnnxTensor b, OnnxTensor c, float alpha, float beta, boolean ta, boolean tb) {
        floats(a, "Gemm");
        floats(b, "Gemm");
        if (a.rank() != 2 || b.rank() != 2) throw new IllegalArgumentException("Gemm takes 2-D A and B, got " + a.shapeString() + " and " + b.shapeString());
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
        if (k != kb) throw new IllegalArgumentException("Gemm: A" + (ta ? "ᵀ" : "") + " " + a.shapeString() + " and B" + (tb ? "ᵀ" : "") + " " + b.shapeString() + " do not multiply");
        int[] shape = {m, n};
        float[] out = new float[Shapes.checkedCount(shape, "Gemm's output")], av = a.floats(), bv = b.floats();
        if (c != null && beta != 0f) {
            floats(c, "Gemm");
            int[] bc = Shapes.broadcast(c.dims(), shape, "Gemm's C");
            if (!Arrays.equals(bc, shape)) throw new IllegalArgumentException("Gemm's C " + c.shapeString() + " does not broadcast to " + Arrays.toString(shape));
            int[] ci = Shapes.broadcastIndex(c.dims(), shape);
            float[] cv = c.floats();
            for (int i = 0; i < out.length; i++) out[i] = beta * cv[ci[i]];
        }
        for (int i = 0; i < m && out.length > 0; i++) { // an empty output: no loop over m (A may be [2^31-1, 0])
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int q = 0; q < k; q++) s += av[ta ? q * a.dim(1) + i : i * k + q] * bv[tb ? j * b.dim(1) + q : q * n + j];
                out[i * n + j] += alpha * s;
            }
        }
        return OnnxTensor.ofFloats(out, shape);
    }

    private static OnnxTensor arithmetic(String op, OnnxTensor a, OnnxTensor b) {
        if (a.type() != b.type()) throw new IllegalArgumentException(op + " of " + a + " and " + b + ": element types differ");
        int[] out = Shapes.broadcast(a.dims(), b.dims(), op);
        int count = Shapes.checkedCount(out, op + "'s output");
        int[] ai = Shapes.broadcastIndex(a.dims(), out), bi = Shapes.broadcastIndex(b.dims(), out);
        if (a.type() == Type.FLOAT) {
            float[] x = a.floats(), y = b.floats(), r = new float[count];
            for (int i = 0; i < count; i++) {
                float p = x[ai[i]], q = y[bi[i]];
                r[i] = switch (op) {
                    case "Add" -> p + q;
                    case "Sub" -> p - q;
                    case "Mul" -> p * q;
                    default -> p / q;
                };
            }
            return OnnxTensor.ofFloats(r, out);
        }
        long[] x = a.longs(), y = b.longs(), r = new long[count];
        for (int i = 0; i < count; i++) {
            long p = x[ai[i]], q = y[bi[i]];
            r[i] = switch (op) {
                case "Add" -> p + q;
                case "Sub" -> p - q;
                case "Mul" -> p * q;
                default -> {
                    if (q == 0) throw new IllegalArgumentException("Div: integer division by zero");
                    yield p / q;
                }
            };
        }
        return OnnxTensor.ofIntegers(a.type(), r, out);
    }

    private static OnnxTensor unary(String op, OnnxTensor x) {
        float[] v = x.floats(), r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = switch (op) {
                case "Tanh" -> (float) Math.tanh(v[i]);
                case "Sigmoid" -> (float) (1.0 / (1.0 + Math.exp(-v[i])));
                default -> v[i] > 0f ? v[i] : 0f;
            };
        }
        return OnnxTensor.ofFloats(r, x.dims());
    }

    /**
     * Softmax or log-softmax: from opset 13 along {@code axis}; before, over the dimensions from {@code axis}
     * on taken as one (the input coerced to 2-D).
     */
    private static OnnxTensor softmax(OnnxTensor x, long axisAttr, boolean alongAxis, boolean log) {
        int r = x.rank();
        if (r == 0) throw new IllegalArgumentException("Softmax takes a tensor of rank 1 or more");
        int axis = Shapes.axis(axisAttr, r, "Softmax");
        int outer = 1, len = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.dim(d);
        if (alongAxis) {
            len = x.dim(axis);
            for (int d = axis + 1; d < r; d++) inner *= x.dim(d);
        } else {
            for (int d = axis; d < r; d++) len *= x.dim(d);
        }
        float[] v = x.floats(), out = new float[v.length];
        if (v.length == 0) outer = 0; // empty: the loops alone may be 2^35 steps
        for (int o = 0; o < outer; o++) {
            for (int q = 0; q < inner; q++) {
                int base = o * len * inner + q;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < len; i++) max = Math.max(max, v[base + i * inner]);
                double sum = 0;
                for (int i = 0; i < len; i++) sum += Math.exp(v[base + i * inner] - max);
                double lse = Math.log(sum);
                for (int i = 0; i < len; i++) {
                    double z = v[base + i * inner] - max;
                    out[base + i * inner] = (float) (log ? z - lse : Math.exp(z) / sum);
                }
            }
        }
        return OnnxTensor.ofFloats(out, x.dims());
    }
}
