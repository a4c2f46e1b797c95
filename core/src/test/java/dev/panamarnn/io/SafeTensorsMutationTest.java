package dev.panamarnn.io;

import static dev.panamarnn.io.RawFiles.entry;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random mutations of a valid file (byte flips, truncations, header-length edits, JSON-token
 * swaps, insertions): {@link SafeTensors#open} either accepts the result, and then every accessor works,
 * or throws {@link SafeTensorsException}. Nothing else may come out. A small stand-in for the Jazzer target,
 * which can use the same in-memory seam, {@code SafeTensors.parse}.
 */
class SafeTensorsMutationTest {
    private static final long SEED = 0x5AFE7E45L;
    private static final int ITERATIONS = 2_000;
    private static final byte[] JSON_BYTES = "{}[]\",:0123456789-.eE tfnul\\ ".getBytes();

    @TempDir Path dir;

    /** Every dtype, metadata, a zero-size tensor, and an odd header length (unaligned data). */
    private static byte[] validFile() {
        String json = "{\"__metadata__\":{\"format\":\"pt\",\"k\":\"\\u00e9\"},"
                + String.join(",",
                        entry("f32", "F32", "[2,2]", 0, 16), entry("f16", "F16", "[3]", 16, 22), entry("bf16", "BF16", "[1,2]", 22, 26),
                        entry("f64", "F64", "[1]", 26, 34), entry("i64", "I64", "[1]", 34, 42), entry("i32", "I32", "[2]", 42, 50),
                        entry("i16", "I16", "[1]", 50, 52), entry("i8", "I8", "[2]", 52, 54), entry("u8", "U8", "[1]", 54, 55),
                        entry("b", "BOOL", "[1]", 55, 56), entry("z", "F32", "[0,3]", 56, 56))
                + "}";
        if (json.length() % 2 == 0) json += " ";
        byte[] data = new byte[56];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 37 + 11);
        return RawFiles.file(json, data);
    }

    @Test
    void mutatedFilesOnlyEverFailWithSafeTensorsException() throws IOException {
        byte[] base = validFile();
        Path p = RawFiles.write(dir, "m.safetensors", base);
        try (SafeTensors st = SafeTensors.open(p)) {
            exercise(st); // the unmutated file is valid
        }
        Random rnd = new Random(SEED);
        int accepted = 0;
        for (int it = 0; it < ITERATIONS; it++) {
            byte[] bytes = mutate(base, rnd);
            // Every input through the in-memory seam; every 16th also through a real file and its mapping.
            boolean viaFile = it % 16 == 0;
            if (viaFile) Files.write(p, bytes);
            String label = viaFile ? p.toString() : "mutant-" + it;
            try (SafeTensors st = viaFile ? SafeTensors.open(p) : SafeTensors.parse(label, MemorySegment.ofArray(bytes), null)) {
                exercise(st);
                accepted++;
            } catch (SafeTensorsException e) {
                assertTrue(e.getMessage().startsWith(label + ": "), "message names the file: " + e.getMessage());
            } catch (Throwable t) {
                fail("seed " + SEED + ", iteration " + it + ": " + t + " for bytes " + HexFormat.of().formatHex(bytes), t);
            }
        }
        // Most mutations must be caught, and some (data-byte flips) must pass: both paths ran.
        assertTrue(accepted > 0 && accepted < ITERATIONS, "accepted " + accepted + " of " + ITERATIONS);
    }

    /** Reads every tensor through every accessor that fits its dtype. */
    private static void exercise(SafeTensors st) {
        try (Arena arena = Arena.ofConfined()) {
            st.metadata().forEach((k, v) -> { });
            for (String name : st.names()) {
                SafeTensors.Info i = st.info(name);
                st.view(name);
                if (i.dtype().isFloatingPoint()) {
                    st.toFloatArray(name);
                    st.expect(name, arena, i.shape());
                } else {
                    st.toLongArray(name);
                }
            }
            st.asStateDict().names();
        }
    }

    private static byte[] mutate(byte[] base, Random rnd) {
        byte[] b = base.clone();
        int headerEnd = 8 + (int) ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        switch (rnd.nextInt(8)) {
            case 0 -> { // bit flips anywhere
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> { // bit flips in the header
                for (int k = 1 + rnd.nextInt(2); k > 0; k--) b[8 + rnd.nextInt(headerEnd - 8)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 2 -> b = Arrays.copyOf(b, rnd.nextInt(b.length)); // truncation
            case 3 -> { // header-length edits
                long[] edge = {0, 1, headerEnd - 9, headerEnd - 7, b.length - 8, b.length, Long.MAX_VALUE, -1, Long.MIN_VALUE,
                    SafeTensors.MAX_HEADER_BYTES + 1, headerEnd - 8 + rnd.nextInt(33) - 16, rnd.nextLong()};
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, edge[rnd.nextInt(edge.length)]);
            }
            case 4 -> { // swap a header byte for a JSON-significant one
                for (int k = 1 + rnd.nextInt(2); k > 0; k--) b[8 + rnd.nextInt(headerEnd - 8)] = JSON_BYTES[rnd.nextInt(JSON_BYTES.length)];
            }
            case 5 -> { // insert or delete a header byte, keeping the length field consistent
                int at = 8 + rnd.nextInt(headerEnd - 8);
                boolean insert = rnd.nextBoolean();
                byte[] out = new byte[b.length + (insert ? 1 : -1)];
                System.arraycopy(b, 0, out, 0, at);
                if (insert) {
                    out[at] = JSON_BYTES[rnd.nextInt(JSON_BYTES.length)];
                    System.arraycopy(b, at, out, at + 1, b.length - at);
                } else {
                    System.arraycopy(b, at + 1, out, at, b.length - at - 1);
                }
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerEnd - 8 + (insert ? 1 : -1));
                b = out;
            }
            case 6 -> { // random bytes over the data buffer: values change, structure must not
                for (int k = headerEnd; k < b.length; k++) b[k] = (byte) rnd.nextInt();
            }
            default -> { // append random bytes
                byte[] extra = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(extra);
                b = RawFiles.concat(b, extra);
            }
        }
        return b;
    }
}
