package dev.panamarnn.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.onnx.proto.Onnx;
import dev.panamarnn.onnx.proto.Onnx.AttributeProto.AttributeType;
import org.junit.jupiter.api.Test;

/** TopK, Range, ScatterElements and the reductions against values worked out by hand from ONNX's specification. */
class IndexOpsTest {
    private static OnnxTensor[] run(Onnx.NodeProto.Builder n, OnnxTensor... in) {
        return Ops.create(n.build(), "node", 14, null).run(in);
    }

    private static Onnx.NodeProto.Builder node(String op) {
        return Onnx.NodeProto.newBuilder().setOpType(op);
    }

    private static Onnx.NodeProto.Builder attr(Onnx.NodeProto.Builder n, String name, long v) {
        return n.addAttribute(Onnx.AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v));
    }

    private static Onnx.NodeProto.Builder attrs(Onnx.NodeProto.Builder n, String name, long... v) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return n.addAttribute(a);
    }

    private static OnnxTensor longs(long... v) {
        return OnnxTensor.ofLongs(v, v.length);
    }

    private static OnnxTensor scalar(long v) {
        return OnnxTensor.ofLongs(new long[] {v});
    }

    @Test
    void topKSortsAndKeepsTheLowerIndexFirstOnTies() {
        OnnxTensor[] r = run(node("TopK"), longs(3, 1, 3, 2), longs(3));
        assertArrayEquals(new long[] {3, 3, 2}, r[0].longs());
        assertArrayEquals(new long[] {0, 2, 3}, r[1].longs());
        r = run(attr(node("TopK"), "largest", 0), OnnxTensor.ofFloats(new float[] {0.5f, -1f, 2f, -1f}, 4), longs(2));
        assertArrayEquals(new float[] {-1f, -1f}, r[0].floats());
        assertArrayEquals(new long[] {1, 3}, r[1].longs());
        // along axis 0 of a 3 × 2 tensor: each column on its own
        r = run(attr(node("TopK"), "axis", 0), OnnxTensor.ofFloats(new float[] {1, 6, 5, 2, 3, 4}, 3, 2), longs(2));
        assertArrayEquals(new float[] {5, 6, 3, 4}, r[0].floats());
        assertArrayEquals(new long[] {1, 0, 2, 2}, r[1].longs());
        assertArrayEquals(new int[] {2, 2}, r[1].dims());
        var e = assertThrows(IllegalArgumentException.class, () -> run(node("TopK"), longs(1, 2), longs(3)));
        assertTrue(e.getMessage().contains("K is 3, the axis has 2"), e.getMessage());
    }

    @Test
    void rangeCountsUpAndDownAndRefusesWhatCannotEnd() {
        assertArrayEquals(new long[] {0, 2, 4}, run(node("Range"), scalar(0), scalar(5), scalar(2))[0].longs());
        assertArrayEquals(new long[] {5, 3, 1}, run(node("Range"), scalar(5), scalar(0), scalar(-2))[0].longs());
        assertArrayEquals(new long[0], run(node("Range"), scalar(3), scalar(1), scalar(1))[0].longs());
        assertArrayEquals(new float[] {1f, 1.5f, 2f}, run(node("Range"), OnnxTensor.ofFloats(new float[] {1f}), OnnxTensor.ofFloats(new float[] {2.1f}),
                OnnxTensor.ofFloats(new float[] {0.5f}))[0].floats());
        assertThrows(IllegalArgumentException.class, () -> run(node("Range"), scalar(0), scalar(5), scalar(0)));
        var e = assertThrows(IllegalArgumentException.class, () -> run(node("Range"), scalar(0), scalar(1L << 40), scalar(1)));
        assertTrue(e.getMessage().contains("Range's output"), e.getMessage());
    }

    @Test
    void scatterElementsWritesWhereTheIndicesSay() {
        // the exporter's inverse permutation: out[indices[i]] = updates[i]
        OnnxTensor inv = run(node("ScatterElements"), longs(0, 0, 0, 0), longs(2, 0, 3, 1), longs(0, 1, 2, 3))[0];
        assertArrayEquals(new long[] {1, 3, 0, 2}, inv.longs());
        // ONNX's own example with axis = 1
        OnnxTensor r = run(attr(node("ScatterElements"), "axis", 1), OnnxTensor.ofFloats(new float[] {1, 2, 3, 4, 5}, 1, 5),
                OnnxTensor.ofLongs(new long[] {1, 3}, 1, 2), OnnxTensor.ofFloats(new float[] {1.1f, 2.1f}, 1, 2))[0];
        assertArrayEquals(new float[] {1, 1.1f, 3, 2.1f, 5}, r.floats());
        // negative indices count from the end; out of range is an error
        assertArrayEquals(new long[] {0, 0, 7}, run(node("ScatterElements"), longs(0, 0, 0), longs(-1), longs(7))[0].longs());
        assertThrows(IllegalArgumentException.class, () -> run(node("ScatterElements"), longs(0, 0, 0), longs(3), longs(7)));
    }

    @Test
    void reductionsOverAxesWithAndWithoutKeepdims() {
        OnnxTensor x = OnnxTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        OnnxTensor sum = run(attr(node("ReduceSum"), "keepdims", 0), x, longs(1))[0]; // opset 13+: axes are an input
        assertArrayEquals(new float[] {6, 15}, sum.floats());
        assertArrayEquals(new int[] {2}, sum.dims());
        OnnxTensor mean = run(attrs(node("ReduceMean"), "axes", 0), x)[0];
        assertArrayEquals(new float[] {2.5f, 3.5f, 4.5f}, mean.floats());
        assertArrayEquals(new int[] {1, 3}, mean.dims());
        assertArrayEquals(new float[] {6}, run(node("ReduceMax"), x)[0].floats());
        assertArrayEquals(new float[] {1, 4}, run(attrs(node("ReduceMin"), "axes", -1), x)[0].floats());
        // the exporter's element count: ReduceProd of a shape, keepdims 0, a scalar
        OnnxTensor count = run(attr(node("ReduceProd"), "keepdims", 0), longs(4, 9))[0];
        assertArrayEquals(new long[] {36}, count.longs());
        assertArrayEquals(new int[0], count.dims());
    }
}
