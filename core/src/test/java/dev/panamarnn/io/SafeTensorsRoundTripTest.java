package dev.panamarnn.io;

import static dev.panamarnn.io.RawFiles.entry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Tensor;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {
    @TempDir Path dir;

    private static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i * 0.25f - 3f;
        return a;
    }

    @Test
    void writesAndReadsF32I64I32AndMetadata() throws IOException {
        Path p = dir.resolve("m.safetensors");
        new SafeTensorsWriter()
                .metadata("format", "pt")
                .metadata(Map.of("note", "héllo \"quoted\" ✓"))
                .add("w", ramp(6), 2, 3)
                .add("ids", new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, 4)
                .add("lens", new int[] {Integer.MIN_VALUE, 7}, 2, 1)
                .add("scalar", new float[] {42f})
                .add("empty", new float[0], 0, 5)
                .write(p);
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("w", "ids", "lens", "scalar", "empty"), st.names());
            assertEquals("pt", st.metadata().get("format"));
            assertEquals("héllo \"quoted\" ✓", st.metadata().get("note"));
            assertArrayEquals(ramp(6), st.toFloatArray("w"));
            assertArrayEquals(new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, st.toLongArray("ids"));
            assertArrayEquals(new long[] {Integer.MIN_VALUE, 7}, st.toLongArray("lens"));
            assertArrayEquals(new float[] {42f}, st.toFloatArray("scalar"));
            assertArrayEquals(new float[0], st.toFloatArray("empty"));
            SafeTensors.Info w = st.info("w");
            assertEquals(DType.F32, w.dtype());
            assertArrayEquals(new int[] {2, 3}, w.shape());
            assertEquals(0, w.begin());
            assertEquals(24, w.end());
            assertEquals(DType.I64, st.info("ids").dtype());
            assertEquals(DType.I32, st.info("lens").dtype());
            assertEquals(0, st.info("scalar").rank());
            assertTrue(st.contains("empty"));
            assertFalse(st.contains("nope"));
            try (Arena arena = Arena.ofConfined()) {
                Tensor t = st.toTensor("w", arena);
                assertArrayEquals(new int[] {2, 3}, t.shape());
                assertEquals(0, t.segment().address() % Tensor.ALIGNMENT);
                assertArrayEquals(ramp(6), t.toArray());
                assertArrayEquals(new int[] {0, 5}, st.toTensor("empty", arena).shape());
            }
        }
        // Header padded with spaces to a multiple of 8: the data buffer starts 8-byte aligned.
        byte[] bytes = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8);
        assertEquals('}', bytes[(int) (8 + n - 1) - countTrailingSpaces(bytes, (int) (8 + n))]);
    }

    private static int countTrailingSpaces(byte[] b, int end) {
        int k = 0;
        while (b[end - 1 - k] == ' ') k++;
        return k;
    }

    @Test
    void writesStridedTensorRowsContiguously() throws IOException {
        Path p = dir.resolve("strided.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocateStrided(arena, 16, 3, 5);
            t.fill(-99f); // padding must not leak into the file
            t.copyFrom(ramp(15));
            Tensor cols = t.columns(1, 4); // [3 × 3] with ld 16
            new SafeTensorsWriter().add("full", t).add("cols", cols).write(p);
        }
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(ramp(15), st.toFloatArray("full"));
            float[] r = ramp(15);
            assertArrayEquals(new float[] {r[1], r[2], r[3], r[6], r[7], r[8], r[11], r[12], r[13]}, st.toFloatArray("cols"));
            assertEquals(60, st.info("full").byteSize());
        }
    }

    @Test
    void convertsF16IncludingSubnormalsInfinitiesAndNaN() throws IOException {
        int[] bits = {0x0000, 0x8000, 0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7E00};
        float[] want = {0f, -0f, 1f, -2f, 0.333251953125f, 65504f, Math.scalb(1f, -14), Math.scalb(1f, -24),
            1023 * Math.scalb(1f, -24), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        // An odd header length, so the data is not even 2-byte aligned in the file.
        String json = "{" + entry("h", "F16", "[3,4]", 0, 24) + "}";
        if (json.length() % 2 == 0) json += " ";
        Path p = RawFiles.write(dir, "f16.safetensors", RawFiles.file(json, RawFiles.le16(bits)));
        try (SafeTensors st = SafeTensors.open(p); Arena arena = Arena.ofConfined()) {
            assertArrayEquals(want, st.toFloatArray("h"));
            assertArrayEquals(want, st.expect("h", arena, 3, 4).toArray());
        }
    }

    @Test
    void convertsBF16ByShiftingIntoTheTopHalf() throws IOException {
        int[] bits = {0x3F80, 0xC000, 0x4049, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x0080, 0x8000};
        float[] want = {1f, -2f, 3.140625f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.intBitsToFloat(0x00010000), Float.MIN_NORMAL, -0f};
        Path p = RawFiles.write(dir, "bf16.safetensors", RawFiles.file("{" + entry("b", "BF16", "[9]", 0, 18) + "}", RawFiles.le16(bits)));
        try (SafeTensors st = SafeTensors.open(p)) {
            float[] got = st.toFloatArray("b");
            assertArrayEquals(want, got);
            assertEquals(0x7FC00000, Float.floatToRawIntBits(got[5]), "NaN bits kept");
        }
    }

    @Test
    void narrowsF64ToNearestFloat() throws IOException {
        double[] v = {Math.PI, 0.1, 1e300, -1e300, 1e-50, 1e-40, Double.NaN, -0.0};
        float[] want = {(float) Math.PI, 0.1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, (float) 1e-40, Float.NaN, -0f};
        Path p = RawFiles.write(dir, "f64.safetensors", RawFiles.file("{" + entry("d", "F64", "[2,4]", 0, 64) + "}", RawFiles.le64f(v)));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(want, st.toFloatArray("d"));
        }
    }

    @Test
    void widensSmallIntegersAndBool() throws IOException {
        String json = "{" + String.join(",", entry("i16", "I16", "[2]", 0, 4), entry("i8", "I8", "[3]", 4, 7),
                entry("u8", "U8", "[3]", 7, 10), entry("flags", "BOOL", "[2]", 10, 12)) + "}";
        byte[] data = RawFiles.concat(RawFiles.le16(-32768, 32767), new byte[] {-128, 0, 127}, new byte[] {(byte) 255, 0, (byte) 128},
                new byte[] {1, 0});
        Path p = RawFiles.write(dir, "ints.safetensors", RawFiles.file(json, data));
        try (SafeTensors st = SafeTensors.open(p)) {
            assertArrayEquals(new long[] {-32768, 32767}, st.toLongArray("i16"));
            assertArrayEquals(new long[] {-128, 0, 127}, st.toLongArray("i8"));
            assertArrayEquals(new long[] {255, 0, 128}, st.toLongArray("u8"));
            assertArrayEquals(new long[] {1, 0}, st.toLongArray("flags"));
            var e = assertThrows(IllegalArgumentException.class, () -> st.toFloatArray("u8"));
            assertTrue(e.getMessage().contains("'u8' is U8"), e.getMessage());
            try (Arena arena = Arena.ofConfined()) {
                assertThrows(IllegalArgumentException.class, () -> st.toTensor("i8", arena));
            }
        }
    }

    @Test
    void rejectsWrongConversionsShapesAndNamesWithUsefulMessages() throws IOException {
        Path p = dir.resolve("n.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 0; i < 12; i++) w.add("t" + i, new float[] {i}, 1);
        w.write(p);
        try (SafeTensors st = SafeTensors.open(p); Arena arena = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> st.toLongArray("t0"));
            assertTrue(e.getMessage().contains("'t0' is F32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> st.expect("t3", arena, 2, 2));
            assertTrue(e.getMessage().contains("'t3' has shape [1], expected [2, 2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> st.info("missing"));
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("no tensor 'missing'"), e.getMessage());
            assertTrue(e.getMessage().contains("'t0', 't1'") && e.getMessage().contains("(2 more)"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> st.toTensor("missing", arena));
            assertThrows(IllegalArgumentException.class, () -> st.view("missing"));
        }
    }

    @Test
    void viewIsZeroCopyAndDiesWithClose() throws IOException {
        Path p = dir.resolve("v.safetensors");
        new SafeTensorsWriter().add("a", new int[] {5}, 1).add("w", ramp(4), 4).write(p);
        SafeTensors st = SafeTensors.open(p);
        MemorySegment v = st.view("w");
        assertTrue(v.isReadOnly());
        assertEquals(16, v.byteSize());
        assertEquals(-2.5f, v.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8));
        st.close();
        st.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> v.get(ValueLayout.JAVA_BYTE, 0));
        try (Arena arena = Arena.ofConfined()) {
            List<Runnable> calls = List.of(st::names, st::metadata, () -> st.contains("w"), () -> st.info("w"),
                    () -> st.view("w"), () -> st.toFloatArray("w"), () -> st.toLongArray("a"), () -> st.toTensor("w", arena),
                    () -> st.expect("w", arena, 4), st::asStateDict);
            for (Runnable r : calls) {
                var e = assertThrows(IllegalStateException.class, r::run);
                assertTrue(e.getMessage().contains("closed"), e.getMessage());
            }
        }
    }

    @Test
    void stateDictSeesEveryTensorAndConvertsOnlyFloats() throws IOException {
        // Integer tensors are listed (with their type) so that loaders can refuse them by name, not miss them.
        Path p = dir.resolve("sd.safetensors");
        new SafeTensorsWriter().add("weight", ramp(6), 3, 2).add("steps", new long[] {1}, 1).write(p);
        try (SafeTensors st = SafeTensors.open(p); java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            StateDict sd = st.asStateDict();
            assertEquals(List.of("weight", "steps"), List.copyOf(sd.names()));
            assertEquals(DType.F32, sd.dtype("weight"));
            assertEquals(DType.I64, sd.dtype("steps"));
            assertArrayEquals(new int[] {3, 2}, sd.shape("weight"));
            assertArrayEquals(ramp(6), sd.floats("weight"));
            java.lang.foreign.MemorySegment m = a.allocate(8 * Float.BYTES);
            sd.copyTo("weight", m, 2 * Float.BYTES);
            assertArrayEquals(ramp(6), java.util.Arrays.copyOfRange(m.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), 2, 8));
            var e = assertThrows(IllegalArgumentException.class, () -> sd.copyTo("weight", m, 3 * Float.BYTES));
            assertTrue(e.getMessage().contains("'weight' needs 24 bytes as float32, the destination has 20 from byte 12"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> sd.floats("steps"));
            assertTrue(e.getMessage().contains("'steps' is I64"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> sd.copyTo("steps", m, 0));
            assertThrows(IllegalArgumentException.class, () -> sd.floats("bias"));
            assertThrows(IllegalArgumentException.class, () -> sd.dtype("bias"));
        }
    }

    @Test
    void concurrentReadersSeeTheSameData() throws Exception {
        Path p = dir.resolve("c.safetensors");
        float[] big = ramp(10_000);
        new SafeTensorsWriter().add("big", big, 100, 100).write(p);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (SafeTensors st = SafeTensors.open(p)) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    boolean ok = true;
                    for (int k = 0; k < 50; k++) {
                        try (Arena arena = Arena.ofConfined()) {
                            ok &= java.util.Arrays.equals(big, st.toFloatArray("big"));
                            ok &= java.util.Arrays.equals(big, st.toTensor("big", arena).toArray());
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNothingBehindOnFailure() throws IOException {
        Path p = dir.resolve("a.safetensors");
        new SafeTensorsWriter().add("x", new float[] {1}, 1).write(p);
        new SafeTensorsWriter().add("y", new float[] {2, 3}, 2).write(p); // replaces
        try (SafeTensors st = SafeTensors.open(p)) {
            assertEquals(List.of("y"), st.names());
        }
        // The target is a non-empty directory: the final move fails, and no temporary file remains.
        Path blocked = Files.createDirectory(dir.resolve("blocked.safetensors"));
        Files.writeString(blocked.resolve("keep"), "x");
        assertThrows(IOException.class, () -> new SafeTensorsWriter().add("x", new float[] {1}, 1).write(blocked));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("a.safetensors", "blocked.safetensors"), files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void writerRejectsInconsistentEntries() {
        SafeTensorsWriter w = new SafeTensorsWriter().add("a", new float[] {1, 2}, 2);
        assertThrows(IllegalArgumentException.class, () -> w.add("a", new float[] {1}, 1), "duplicate name");
        assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", new float[] {1}, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> w.add("b", new float[] {1, 2, 3}, 2, 2));
        assertTrue(e.getMessage().contains("has 4 elements, data has 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.add("c", new long[] {1}, -1));
        assertThrows(IllegalArgumentException.class, () -> w.add("d", new int[] {1}, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        assertThrows(NullPointerException.class, () -> w.metadata("k", null));
    }
}
