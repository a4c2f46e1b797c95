package dev.panamarnn.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Weights whose names look like a layer's but are not PyTorch's are refused by name, never misread. */
class LayerLoadValidationTest {
    /** A one-layer GRU (input 2, hidden 1) plus {@code extra}, a [3 × 2] tensor. */
    private static StateDict gruWith(String extra) {
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        data.put("weight_ih_l0", new float[6]);
        shapes.put("weight_ih_l0", new int[] {3, 2});
        data.put("weight_hh_l0", new float[3]);
        shapes.put("weight_hh_l0", new int[] {3, 1});
        data.put(extra, new float[6]);
        shapes.put(extra, new int[] {3, 2});
        return StateDict.of(data, shapes);
    }

    @Test
    void strayLayerNamesAreNamed() {
        // Found by WeightsFuzzTest: an index past int was a NumberFormatException; leading zeros were ignored silently.
        for (String stray : new String[] {"weight_ih_l99999999999", "weight_hh_l2147483647", "bias_ih_l1", "weight_ih_l00",
                "weight_hh_l01", "bias_hh_l0_reverse"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RecurrentLayer.load(gruWith(stray), "", null, false, Backend.get("scalar")).close(), stray);
            assertEquals(IllegalArgumentException.class, e.getClass(), stray);
            assertTrue(e.getMessage().contains("does not use: '" + stray + "'"), e.getMessage());
        }
    }

    @Test
    void unrelatedNamesAreUnusedNotStrays() {
        // Not a layer's name: strict loading (the default) refuses it as unused, lenient loading skips and reports it.
        var e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentLayer.load(gruWith("weight_ih_l0x"), "", null, false, Backend.get("scalar")).close());
        assertTrue(e.getMessage().contains("does not use this tensor: 'weight_ih_l0x' (unexpected keys"), e.getMessage());
        List<String> ignored = new ArrayList<>();
        RecurrentLayer.load(gruWith("weight_ih_l0x"), "", null, false, Backend.get("scalar"), WeightFormat.F32, LoadOptions.lenient(ignored::addAll)).close();
        assertEquals(List.of("weight_ih_l0x"), ignored);
        // A layer's name the layer has no place for stays an error when lenient.
        assertThrows(IllegalArgumentException.class, () -> RecurrentLayer.load(gruWith("bias_ih_l1"), "", null, false, Backend.get("scalar"),
                WeightFormat.F32, LoadOptions.lenient(ignored::addAll)).close());
    }

    /** Heap bytes this thread allocates while {@code r} runs (HotSpot's per-thread counter). */
    static long heapAllocatedBy(Runnable r) {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        r.run();
        return mx.getCurrentThreadAllocatedBytes() - before;
    }

    @Test
    void weightsGoFromTheFileToNativeMemoryWithoutAHeapCopy(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // An LSTM with 2 partitions (hidden 256) and an embedding: 2 MiB of float32 weights.
        int I = 128, H = 256, G = 4, V = 1024;
        java.nio.file.Path p = dir.resolve("w.safetensors");
        new dev.panamarnn.io.SafeTensorsWriter().add("rnn.weight_ih_l0", new float[G * H * I], G * H, I).add("rnn.weight_hh_l0", new float[G * H * H], G * H, H)
                .add("rnn.bias_ih_l0", new float[G * H], G * H).add("rnn.bias_hh_l0", new float[G * H], G * H)
                .add("embed.weight", new float[V * I], V, I).write(p);
        try (dev.panamarnn.io.SafeTensors st = dev.panamarnn.io.SafeTensors.open(p)) {
            StateDict sd = st.asStateDict();
            Runnable load = () -> {
                RecurrentLayer.load(sd, "rnn.", null, false, Backend.get("scalar")).close();
                Embedding.load(sd, "embed.").close();
            };
            load.run(); // classes loaded, caches warm
            long heap = heapAllocatedBy(load);
            assertTrue(heap < 512 * 1024, "loading 2 MiB of weights allocated " + heap + " bytes of heap");
        }
    }
}
