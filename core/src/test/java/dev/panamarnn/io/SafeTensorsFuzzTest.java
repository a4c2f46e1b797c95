package dev.panamarnn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.function.Executable;

/**
 * Coverage-guided fuzzing of the safetensors reader: the input is a whole file, parsed through
 * {@link SafeTensors#parse} (the in-memory seam of {@link SafeTensors#open}, so no temporary file per
 * execution).
 *
 * <p>The contract checked, for any byte sequence:
 * <ul>
 *   <li>either the parse fails with a {@link SafeTensorsException} (exactly that class) whose message
 *       starts with the file's name and says something past it;</li>
 *   <li>or it succeeds, and then every accessor that fits a tensor's dtype returns its data without any
 *       exception, and the accessors that do not fit throw {@link IllegalArgumentException} naming the
 *       tensor.</li>
 * </ul>
 * Anything else (another exception type, an {@link Error} such as {@link OutOfMemoryError}, a hang past
 * libFuzzer's per-input timeout) is a finding.
 *
 * <p>Seeds: {@code src/test/resources/dev/panamarnn/io/SafeTensorsFuzzTestInputs/parse/} (valid files of
 * every dtype and hostile cases), made by {@code scripts/python/make_fuzz_seeds.py}. Every
 * {@code mvn test} runs them and then fuzzes for 10 s; {@code scripts/fuzz} fuzzes for longer.
 */
class SafeTensorsFuzzTest {
    static final String FILE = "fuzz.safetensors";

    @FuzzTest(maxDuration = "10s")
    void parse(byte[] bytes) {
        SafeTensors st;
        try {
            st = SafeTensors.parse(FILE, MemorySegment.ofArray(bytes), null);
        } catch (SafeTensorsException e) {
            assertEquals(SafeTensorsException.class, e.getClass());
            assertClear(e.getMessage());
            return;
        }
        try (st) {
            exercise(st);
        }
    }

    /** A message that names the file and then says what is wrong. */
    static void assertClear(String message) {
        assertTrue(message != null && message.startsWith(FILE + ": ") && message.length() > FILE.length() + 10,
                () -> "unclear message: " + message);
    }

    /** Reads every tensor through every accessor; wrong-dtype accessors must refuse clearly. */
    private static void exercise(SafeTensors st) {
        st.metadata().forEach((k, v) -> assertTrue(k != null && v != null));
        List<String> names = st.names();
        long end = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (String name : names) {
                SafeTensors.Info i = st.info(name);
                assertTrue(i.begin() >= end, "names are ordered by offset");
                end = i.end();
                assertEquals(i.byteSize(), i.elementCount() * i.dtype().byteSize());
                assertEquals(i.byteSize(), st.view(name).byteSize());
                if (i.dtype().isFloatingPoint()) {
                    float[] f = st.toFloatArray(name);
                    assertEquals(i.elementCount(), f.length);
                    assertArrayEquals(f, st.expect(name, arena, i.shape()).toArray());
                    rejects(() -> st.toLongArray(name), HeaderParser.quote(name));
                    if (i.rank() > 0) rejects(() -> st.expect(name, arena, new int[i.rank() - 1]), HeaderParser.quote(name));
                } else {
                    assertEquals(i.elementCount(), st.toLongArray(name).length);
                    rejects(() -> st.toFloatArray(name), HeaderParser.quote(name));
                    rejects(() -> st.toTensor(name, arena), HeaderParser.quote(name));
                }
            }
            for (String name : st.asStateDict().names()) st.asStateDict().shape(name);
        }
        rejects(() -> st.info(names.isEmpty() ? "x" : names.get(0) + "\u0000"), "no tensor");
    }

    private static void rejects(Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals(IllegalArgumentException.class, e.getClass());
        assertClear(e.getMessage());
        assertTrue(e.getMessage().contains(fragment), () -> "message should contain " + fragment + ": " + e.getMessage());
    }
}
