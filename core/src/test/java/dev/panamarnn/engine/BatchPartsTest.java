package dev.panamarnn.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** How the batching engine cuts a step into parts. */
class BatchPartsTest {

    /** The step's parts cover the units in order, stay inside the layer's partitions, and start on multiples of 8. */
    @Test
    void partsCutTheLayersPartitions() {
        for (int H : new int[] {1, 7, 64, 67, 130, 200, 512, 1000}) {
            for (Cell cell : new Cell[] {Cell.LSTM, Cell.RNN_TANH}) {
                Shape shape = new Shape(cell, 3, H, 1, 1, true, false, 0);
                int[] cut = Weights.cuts(shape);
                try (Weights w = Weights.pack(shape, random(new Random(H)), "", false);
                     BatchParts parts = new BatchParts(w, dev.panamarnn.internal.KernelAccess.of(Backend.get("scalar")), 0, 0)) {
                    assertEquals(0, parts.from[0]);
                    assertEquals(H, parts.from[parts.count]);
                    for (int s = 0, q = 0; s < parts.count; s++) {
                        while (parts.from[s] >= cut[q + 1]) q++;
                        int a = parts.from[s], b = parts.from[s + 1];
                        assertTrue(a < b && b <= cut[q + 1] && (a - cut[q]) % 8 == 0,
                                "H=" + H + " part " + s + " [" + a + ", " + b + ") in partition [" + cut[q] + ", " + cut[q + 1] + ")");
                    }
                    assertTrue(parts.count <= 2 + H / BatchParts.UNITS, "H=" + H + ": " + parts.count + " parts");
                }
            }
        }
    }

    /** Tensors of random values, of whatever size the packing asks for (it copies whole tensors into segments it sized). */
    private static Weights.Source random(Random r) {
        return new Weights.Source() {
            @Override
            public void copyTo(String name, MemorySegment dst, long offset) {
                for (long i = offset; i < dst.byteSize(); i += Float.BYTES) dst.set(ValueLayout.JAVA_FLOAT, i, r.nextFloat() - 0.5f);
            }

            @Override
            public float[] floats(String name) {
                float[] f = new float[4096 * 4];
                for (int i = 0; i < f.length; i++) f[i] = r.nextFloat() - 0.5f;
                return f;
            }
        };
    }
}
