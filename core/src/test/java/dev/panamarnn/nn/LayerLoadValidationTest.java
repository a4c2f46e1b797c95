package dev.panamarnn.nn;

import static dev.panamarnn.HeapCounter.heapAllocatedBy;
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

    /** A one-layer GRU without bias, input 2, hidden 1. */
    private static StateDict gru() {
        return StateDict.of(Map.of("weight_ih_l0", new float[6], "weight_hh_l0", new float[3]),
                Map.of("weight_ih_l0", new int[] {3, 2}, "weight_hh_l0", new int[] {3, 1}));
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

    /** Bytes the JVM counts as allocated native memory: direct buffers and FFM arena allocations. */
    static long directMemoryUsed() {
        for (var pool : java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) return pool.getMemoryUsed();
        }
        throw new AssertionError("no direct buffer pool");
    }

    /** A safetensors file of one F32 tensor {@code name} of {@code shape} whose data is a hole: sparse on disk, the real size. */
    static java.nio.file.Path sparseF32(java.nio.file.Path dir, String name, long... shape) throws java.io.IOException {
        long n = 1;
        for (long d : shape) n *= d;
        String json = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + java.util.Arrays.toString(shape).replace(" ", "")
                + ",\"data_offsets\":[0," + n * 4 + "]}}";
        byte[] h = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.file.Path p = dir.resolve(name + ".safetensors");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            f.write(h);
            f.setLength(8 + h.length + n * 4);
        }
        return p;
    }

    @Test
    void inputShapesAreCheckedFromTheFileHeaderBeforeAnythingIsCopied(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // An input of 2^31-1 steps: 8 GiB declared, a hole on disk. Its header says enough to refuse it.
        java.nio.file.Path huge = sparseF32(dir, "input", Integer.MAX_VALUE, 1, 1);
        try (RecurrentLayer gru = RecurrentLayer.load(gru(), "", null, false, Backend.get("scalar"));
             dev.panamarnn.io.SafeTensors in = dev.panamarnn.io.SafeTensors.open(huge)) {
            long before = directMemoryUsed(), t0 = System.nanoTime();
            int[] shape = in.info("input").shape();
            var e = assertThrows(IllegalArgumentException.class, () -> gru.checkShapes(shape, null, null));
            assertEquals("forward: input must be (seq_len, batch, input_size=2) with seq_len, batch >= 1, got [2147483647, 1, 1]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gru.checkShapes(new int[] {5, 2, 2}, new int[] {1, 3, 1}, null));
            assertEquals("forward: h0 must be (num_layers·directions, batch, hidden_size) = [1, 2, 1], got [1, 3, 1]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gru.checkShapes(new int[] {5, 2, 2}, null, new int[] {1, 2, 1}));
            assertTrue(e.getMessage().contains("c0 is only for LSTM"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "checked in well under a second");
            assertTrue(directMemoryUsed() - before < (1 << 20), "no native memory taken: " + (directMemoryUsed() - before) + " bytes");
            gru.checkShapes(new int[] {5, 2, 2}, new int[] {1, 2, 1}, null); // a right shape passes
        }
    }

    @Test
    void anOutputLargerThanATensorIsRefusedFromTheInputShape() {
        // Input width 2, hidden 1: [2^30, 4, 2] is an input of 2^33 elements, its output 2^32: more than one tensor holds.
        try (RecurrentLayer gru = RecurrentLayer.load(gru(), "", null, false, Backend.get("scalar"))) {
            var e = assertThrows(IllegalArgumentException.class, () -> gru.checkShapes(new int[] {1 << 30, 4, 2}, null, null));
            assertTrue(e.getMessage().contains("output (seq_len, batch, directions·hidden_size) for seq_len 1073741824 and batch 4 would have 4294967296 elements"),
                    e.getMessage());
        }
    }

    @Test
    void namesFromTheWeightsAreEscapedInMessages() {
        // A name that would clear the terminal and start a forged line, were it printed as it is.
        String evil = "x\u001b[2J\r\nERROR: fake";
        StateDict sd = StateDict.of(Map.of(evil, new float[1]), Map.of(evil, new int[] {1}));
        for (var load : List.<org.junit.jupiter.api.function.Executable>of(() -> RecurrentLayer.load(sd, "", null, false, null),
                () -> RecurrentLayer.load(sd, evil, null, false, null), () -> RecurrentCell.load(sd, "", null, null),
                () -> RecurrentLayer.load(gruWith(evil), "", null, false, Backend.get("scalar")),
                () -> Linear.load(StateDict.of(Map.of("weight", new float[1], evil, new float[1]), Map.of("weight", new int[] {1, 1}, evil, new int[] {1})), "", null))) {
            var e = assertThrows(IllegalArgumentException.class, load);
            assertTrue(e.getMessage().contains("x\\u001b[2J\\r\\nERROR: fake"), e.getMessage());
            assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20), e.getMessage());
        }
    }
}
