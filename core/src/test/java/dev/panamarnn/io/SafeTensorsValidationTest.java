package dev.panamarnn.io;

import static dev.panamarnn.io.RawFiles.entry;
import static dev.panamarnn.io.RawFiles.file;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One hand-built bad file per validation rule; each must fail with {@link SafeTensorsException} naming the file. */
class SafeTensorsValidationTest {
    @TempDir Path dir;

    private static final String F32_2 = entry("a", "F32", "[2]", 0, 8);

    private void rejects(byte[] bytes, String fragment) throws IOException {
        Path p = RawFiles.write(dir, "bad.safetensors", bytes);
        rejects(p, fragment);
    }

    private static void rejects(Path p, String fragment) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    private void rejectsJson(String json, int dataBytes, String fragment) throws IOException {
        rejects(file(json, new byte[dataBytes]), fragment);
    }

    @Test
    void acceptsAMinimalFileAndZeroSizeTensors() throws IOException {
        String json = "{" + String.join(",", entry("z0", "F32", "[0]", 0, 0), F32_2, entry("z1", "I8", "[3,0]", 8, 8),
                entry("z2", "BF16", "[0,7]", 8, 8)) + "}   ";
        try (SafeTensors st = SafeTensors.open(RawFiles.write(dir, "ok.safetensors", file(json, new byte[8])))) {
            assertEquals(List.of("z0", "a", "z1", "z2"), st.names());
        }
        try (SafeTensors st = SafeTensors.open(RawFiles.write(dir, "empty.safetensors", file("{}", new byte[0])))) {
            assertEquals(List.of(), st.names());
        }
    }

    @Test
    void emptyFile() throws IOException {
        rejects(new byte[0], "file has 0 bytes");
    }

    @Test
    void truncatedBeforeHeaderLength() throws IOException {
        rejects(new byte[] {8, 0, 0, 0, 0}, "file has 5 bytes; a safetensors file needs at least 8");
    }

    @Test
    void truncatedInsideHeader() throws IOException {
        byte[] whole = file("{" + F32_2 + "}", new byte[8]);
        rejects(Arrays.copyOf(whole, 30), "header length " + (whole.length - 16) + " (u64 at byte 0) must be at most 22");
    }

    @Test
    void truncatedAfterHeader() throws IOException {
        byte[] whole = file("{" + F32_2 + "}", new byte[8]);
        rejects(Arrays.copyOf(whole, whole.length - 3), "data_offsets end 8 is past the end of the data buffer (5 bytes)");
    }

    @Test
    void headerLengthLongMax() throws IOException {
        rejects(RawFiles.withLength(Long.MAX_VALUE, "{}".getBytes(StandardCharsets.US_ASCII)), "header length 9223372036854775807");
    }

    @Test
    void headerLengthAboveLongMaxAsUnsigned() throws IOException {
        rejects(RawFiles.withLength(-1, "{}".getBytes(StandardCharsets.US_ASCII)), "header length 18446744073709551615");
    }

    @Test
    void headerLengthLargerThanFile() throws IOException {
        rejects(RawFiles.withLength(3, "{}".getBytes(StandardCharsets.US_ASCII)), "header length 3 (u64 at byte 0) must be at most 2");
    }

    @Test
    void headerLengthOver100MiB() throws IOException {
        Path p = dir.resolve("sparse.safetensors");
        Files.write(p, RawFiles.withLength(SafeTensors.MAX_HEADER_BYTES + 1, new byte[0]));
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SafeTensors.MAX_HEADER_BYTES + 64); // sparse: no 100 MiB written
        }
        rejects(p, "header length 104857601 (u64 at byte 0) must be at most 104857600");
    }

    @Test
    void notJson() throws IOException {
        rejectsJson("hello, world", 0, "must be a JSON object starting with '{', found byte 0x68 ('h')");
        rejectsJson("{\"a\": }", 0, "header is not valid JSON at byte");
        rejectsJson("", 0, "found an empty header");
    }

    @Test
    void jsonArrayAtTopLevel() throws IOException {
        rejectsJson("[" + "{" + F32_2 + "}" + "]", 8, "found byte 0x5b ('[')");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] h = "{\"__metadata__\":{\"k\":\"v?\"}}".getBytes(StandardCharsets.US_ASCII);
        h[23] = (byte) 0xC3; // a lead byte followed by '"', not a continuation byte
        rejects(RawFiles.withLength(h.length, h), "header is not valid UTF-8 at byte 23");
    }

    @Test
    void trailingGarbageAfterObject() throws IOException {
        rejectsJson("{}{}", 0, "content after the JSON object");
        rejectsJson("{} x", 0, "not valid JSON");
        rejectsJson("{}\n", 0, "byte 0x0a at 2 after the JSON object; only spaces (0x20) may pad the header");
    }

    @Test
    void duplicateKeys() throws IOException {
        rejectsJson("{" + F32_2 + "," + F32_2 + "}", 8, "Duplicate field 'a'");
        rejectsJson("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "Duplicate field 'dtype'");
        rejectsJson("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "Duplicate field '__metadata__'");
    }

    @Test
    void unknownDtype() throws IOException {
        rejectsJson("{" + entry("a", "F8_E4M3", "[8]", 0, 8) + "}", 8, "tensor 'a': unsupported dtype 'F8_E4M3'; expected one of [F32,");
        rejectsJson("{" + entry("a", "f32", "[2]", 0, 8) + "}", 8, "unsupported dtype 'f32'");
        rejectsJson("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\" must be a string, found an integer");
    }

    @Test
    void entryKeysExactlyDtypeShapeOffsets() throws IOException {
        rejectsJson("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing \"dtype\"");
        rejectsJson("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "missing \"shape\"");
        rejectsJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, "missing \"data_offsets\"");
        rejectsJson("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, "unexpected key 'x'");
        rejectsJson("{\"a\":[1,2]}", 0, "tensor 'a': expected an object with dtype, shape and data_offsets, found an array");
    }

    @Test
    void negativeDimension() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2,-1]", 0, 8) + "}", 8, "tensor 'a': \"shape\" value -1 is negative");
    }

    @Test
    void nonIntegerDimension() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2.0]", 0, 8) + "}", 8, "must hold non-negative integers, found a non-integer number");
        rejectsJson("{" + entry("a", "F32", "2", 0, 8) + "}", 8, "\"shape\" must be an array of integers, found an integer");
    }

    @Test
    void dimensionAboveIntMax() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2147483648]", 0, 8) + "}", 8, "shape dimension 2147483648 exceeds 2^31-1");
    }

    @Test
    void shapeProductOverflow() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[65536,65536,65536,65536]", 0, 8) + "}", 8,
                "shape [65536, 65536, 65536, 65536] has more than 2^31-1 elements");
        rejectsJson("{" + entry("a", "U8", "[46341,46341]", 0, 8) + "}", 8, "more than 2^31-1 elements");
    }

    @Test
    void rankNine() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[1,1,1,1,1,1,1,1,2]", 0, 8) + "}", 8, "shape has rank greater than 8");
    }

    @Test
    void offsetsPastEnd() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 8, 16) + "}", 8, "data_offsets end 16 is past the end of the data buffer (8 bytes)");
    }

    @Test
    void offsetsBeginAfterEnd() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 8, 0) + "}", 8, "data_offsets begin 8 is greater than end 0");
    }

    @Test
    void offsetsMalformed() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8).replace("[0,8]", "[0,8,8]") + "}", 8, "exactly 2 integers, found more");
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8).replace("[0,8]", "[8]") + "}", 8, "exactly 2 integers, found 1");
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8).replace("[0,8]", "[0,18446744073709551624]") + "}", 8,
                "\"data_offsets\" value 18446744073709551624 is too large");
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8).replace("[0,8]", "[-8,0]") + "}", 8, "value -8 is negative");
    }

    @Test
    void overlappingTensors() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12,
                "tensor 'b' [4, 12) must begin at offset 8, right after tensor 'a' [0, 8); found an overlap");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 12, 16) + "}", 16, "found a gap of 4 bytes");
    }

    @Test
    void firstTensorNotAtZero() throws IOException {
        rejectsJson("{" + entry("a", "F32", "[2]", 4, 12) + "}", 12, "must begin at offset 0, right after the start of the data buffer");
    }

    @Test
    void leftoverBytes() throws IOException {
        rejectsJson("{" + F32_2 + "}", 11, "data buffer has 11 bytes but tensors end at offset 8: 3 leftover bytes");
        rejectsJson("{}", 1, "1 leftover bytes");
    }

    @Test
    void sizeMismatchWithShapeTimesDtype() throws IOException {
        rejectsJson("{" + entry("a", "F16", "[2,3]", 0, 8) + "}", 8, "tensor 'a': F16 shape [2, 3] needs 6 × 2 = 12 bytes, data_offsets [0, 8] hold 8");
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        rejectsJson("{\"__metadata__\":{\"epoch\":3}}", 0, "\"__metadata__\" value for key 'epoch' must be a string, found an integer");
        rejectsJson("{\"__metadata__\":{\"m\":{\"x\":\"y\"}}}", 0, "value for key 'm' must be a string, found an object");
        rejectsJson("{\"__metadata__\":[\"x\"]}", 0, "\"__metadata__\" must be an object of strings, found an array");
    }

    @Test
    void deepNestingIsRejectedWithoutRecursion() throws IOException {
        rejectsJson("{\"__metadata__\":{\"k\":" + "[".repeat(100_000) + "}}", 0, "must be a string, found an array");
        rejectsJson("{\"a\":{\"shape\":" + "[".repeat(100_000) + "}}", 0, "must hold non-negative integers, found an array");
    }

    @Test
    void longNamesAreCutInMessages() throws IOException {
        String name = "n".repeat(10_000);
        Path p = RawFiles.write(dir, "long.safetensors", file("{" + entry(name, "Q4", "[1]", 0, 1) + "}", new byte[1]));
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p));
        assertTrue(e.getMessage().length() < 400, e.getMessage());
    }

    @Test
    void ioFailuresNameThePathAndTheOperation() throws IOException {
        Path missing = dir.resolve("no-such.safetensors");
        var e = assertThrows(java.nio.file.NoSuchFileException.class, () -> SafeTensors.open(missing));
        assertEquals(missing + ": cannot open safetensors file: no such file", e.getMessage());
        Path sub = Files.createDirectory(dir.resolve("a-directory.safetensors"));
        var d = assertThrows(IOException.class, () -> SafeTensors.open(sub));
        assertEquals(sub + ": cannot open safetensors file: is a directory", d.getMessage());
    }

    @Test
    void controlCharactersInNamesAreEscaped() throws IOException {
        // ESC [2J clears a terminal; CR LF would start a line of the attacker's choosing in a log.
        String name = "w\\u001b[2J\\r\\nERROR fake line\\u2028";
        Path p = RawFiles.write(dir, "esc.safetensors", file("{" + entry(name, "Q4", "[1]", 0, 1) + "}", new byte[1]));
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p));
        assertTrue(e.getMessage().contains("tensor 'w\\u001b[2J\\r\\nERROR fake line\\u2028'"), e.getMessage());
        assertTrue(e.getMessage().chars().noneMatch(c -> c < 0x20 || c == 0x2028), e.getMessage());
        Path ok = RawFiles.write(dir, "esc-ok.safetensors", file("{" + entry(name, "I8", "[1]", 0, 1) + "}", new byte[1]));
        try (SafeTensors st = SafeTensors.open(ok)) {
            String n = st.names().get(0);
            for (var call : List.<org.junit.jupiter.api.function.Executable>of(() -> st.toFloatArray(n), () -> st.info(n + "x"))) {
                var a = assertThrows(IllegalArgumentException.class, call);
                assertTrue(a.getMessage().contains("\\u001b[2J\\r\\n"), a.getMessage());
                assertTrue(a.getMessage().chars().noneMatch(c -> c < 0x20 || c == 0x2028), a.getMessage());
            }
        }
    }

    /** A file declaring {@code name} of {@code dtype} and {@code elements} elements, its data a hole (sparse on disk). */
    private Path sparse(String fileName, String name, String dtype, long elements, int bytesPerElement) throws IOException {
        byte[] head = file("{" + entry(name, dtype, "[" + elements + "]", 0, elements * bytesPerElement) + "}", new byte[0]);
        Path p = RawFiles.write(dir, fileName, head);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(head.length + elements * bytesPerElement);
        }
        return p;
    }

    @Test
    void heapArraysThatCannotExistAreRefusedByNameBeforeAllocating() throws IOException {
        Path p = sparse("huge.safetensors", "emb.weight", "F32", Integer.MAX_VALUE, 4); // 8 GiB, sparse
        try (SafeTensors st = SafeTensors.open(p)) {
            for (var call : List.<org.junit.jupiter.api.function.Executable>of(() -> st.toFloatArray("emb.weight"),
                    () -> st.asStateDict().floats("emb.weight"))) {
                OutOfMemoryError e = assertThrows(OutOfMemoryError.class, call);
                assertTrue(e.getMessage().startsWith(p + ": tensor 'emb.weight' (F32 [2147483647]) would need a float[2147483647] of 8589934588 bytes"),
                        e.getMessage());
            }
        }
        Path q = sparse("huge-i8.safetensors", "ids", "I8", Integer.MAX_VALUE, 1); // 2 GiB, sparse
        try (SafeTensors st = SafeTensors.open(q)) {
            OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> st.toLongArray("ids"));
            assertTrue(e.getMessage().contains("tensor 'ids' (I8 [2147483647]) would need a long[2147483647]"), e.getMessage());
        }
    }
}
