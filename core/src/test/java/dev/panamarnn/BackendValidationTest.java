package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every validation rule of the facade, on every backend that can run here: the error names the operand
 * and the expected and actual values, and nothing is written.
 */
class BackendValidationTest {

    static java.util.stream.Stream<String> backends() {
        return Backend.list().stream().filter(Backend.Status::available).map(Backend.Status::name);
    }

    private static void rejects(Class<? extends Throwable> type, String fragment, Tensor untouched, Runnable call) {
        float[] before = untouched.toArray();
        Throwable e = assertThrows(type, call::run);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        assertArrayEquals(before, untouched.toArray(), "a rejected call must not write");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gemmShapes(String name) {
        Backend be = Backend.get(name);
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.allocate(arena, 3, 5), b = Tensor.allocate(arena, 4, 7), c = Tensor.allocate(arena, 3, 7);
            c.fill(1f);
            rejects(IllegalArgumentException.class, "op(B) needs 5 rows", c, () -> be.gemm(false, false, 1f, a, b, 0f, c));
            Tensor b2 = Tensor.allocate(arena, 5, 6);
            rejects(IllegalArgumentException.class, "C must be [3 × 6], got [3, 7]", c, () -> be.gemm(false, false, 1f, a, b2, 0f, c));
            Tensor bt = Tensor.allocate(arena, 7, 5);
            be.gemm(false, true, 1f, a, bt, 0f, c); // valid: A·Bᵀ is [3 × 7]
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void rawSgemmLeadingDimensionsAndSizes(String name) {
        Backend be = Backend.get(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(15 * 4, 64), b = arena.allocate(35 * 4, 64);
            Tensor c = Tensor.allocate(arena, 3, 7);
            MemorySegment cs = c.segment();
            rejects(IllegalArgumentException.class, "leading dimension >= 5, got 4", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, 0, 4, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "leading dimension >= 3, got 2", c,
                    () -> be.sgemm(true, false, 3, 7, 5, 1f, a, 0, 2, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "B (stored [k × n]) [5 × 7] needs a leading dimension >= 7, got 6", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, 0, 5, b, 0, 6, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "C (stored [m × n]) [3 × 7] needs a leading dimension >= 7, got 1", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, 0, 5, b, 0, 7, 0f, cs, 0, 1));
            rejects(IllegalArgumentException.class, "needs 36 floats, segment holds 35", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, 0, 5, b, 1, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "needs 21 floats, segment holds 15", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, 0, 8, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "m must be >= 0, got -3", c,
                    () -> be.sgemm(false, false, -3, 7, 5, 1f, a, 0, 5, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "offset must be >= 0", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, a, -1, 5, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "heap segment", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, MemorySegment.ofArray(new float[15]), 0, 5, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "is null", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, null, 0, 5, b, 0, 7, 0f, cs, 0, 7));
            rejects(IllegalArgumentException.class, "output C overlaps input A", c,
                    () -> be.sgemm(false, false, 3, 7, 5, 1f, cs, 0, 5, b, 0, 7, 0f, cs, 0, 7));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gemvShapes(String name) {
        Backend be = Backend.get(name);
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.allocate(arena, 4, 6), x = Tensor.allocate(arena, 6), y = Tensor.allocate(arena, 4);
            y.fill(2f);
            rejects(IllegalArgumentException.class, "x must be a contiguous vector of 4 elements, got [6]", y,
                    () -> be.gemv(true, 1f, a, x, 0f, y));
            rejects(IllegalArgumentException.class, "y must be a contiguous vector of 4 elements, got [6]", y,
                    () -> be.gemv(false, 1f, a, x, 0f, x));
            Tensor strided = Tensor.allocateStrided(arena, 3, 6, 1);
            rejects(IllegalArgumentException.class, "with ld 3", y, () -> be.gemv(false, 1f, a, strided, 0f, y));
            be.gemv(false, 1f, a, x, 0f, y);
            assertArrayEquals(new float[4], y.toArray());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void cellShapes(String name) {
        Backend be = Backend.get(name);
        try (Arena arena = Arena.ofConfined()) {
            Tensor c = Tensor.allocate(arena, 2, 8), h = Tensor.allocate(arena, 2, 8);
            c.fill(0.5f);
            rejects(IllegalArgumentException.class, "gates must be [2 × 32], got [2, 24]", c,
                    () -> be.lstmCell(Tensor.allocate(arena, 2, 24), c, h));
            rejects(IllegalArgumentException.class, "hOut must be [2 × 8], got [3, 8]", c,
                    () -> be.lstmCell(Tensor.allocate(arena, 2, 32), c, Tensor.allocate(arena, 3, 8)));
            rejects(IllegalArgumentException.class, "gh must be [2 × 24], got [2, 32]", c,
                    () -> be.gruCell(Tensor.allocate(arena, 2, 24), Tensor.allocate(arena, 2, 32), c, c));
            rejects(IllegalArgumentException.class, "hOut must be [2 × 8], got [2, 9]", c,
                    () -> be.rnnCell(Activation.RELU, c, Tensor.allocate(arena, 2, 9)));
            rejects(IllegalArgumentException.class, "y must be [2 × 8], got [8, 2]", c,
                    () -> be.tanh(c, Tensor.allocate(arena, 8, 2)));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closedArenaIsIllegalState(String name) {
        Backend be = Backend.get(name);
        Arena arena = Arena.ofConfined();
        Tensor a = Tensor.allocate(arena, 2, 2);
        MemorySegment seg = a.segment();
        arena.close();
        try (Arena live = Arena.ofConfined()) {
            Tensor c = Tensor.allocate(live, 2, 2);
            rejects(IllegalStateException.class, "A [2, 2] is unusable: its arena was closed", c, () -> be.gemm(false, false, 1f, a, c, 0f, c));
            rejects(IllegalStateException.class, "arena was closed", c,
                    () -> be.sgemm(false, false, 2, 2, 2, 1f, seg, 0, 2, c.segment(), 0, 2, 0f, c.segment(), 0, 2));
            rejects(IllegalStateException.class, "arena was closed", c, () -> be.sigmoid(a, c));
        }
    }

    @Test
    void unknownAndUnavailableBackends() {
        var e = assertThrows(IllegalArgumentException.class, () -> Backend.get("cuda"));
        assertTrue(e.getMessage().contains("unknown backend 'cuda'"), e.getMessage());
        for (Backend.Status s : Backend.list()) {
            if (!s.available()) {
                var ise = assertThrows(IllegalStateException.class, () -> Backend.get(s.name()));
                assertTrue(ise.getMessage().contains("not available"), ise.getMessage());
            }
        }
        assertEquals("scalar", Backend.get("scalar").name());
        assertTrue(Backend.list().stream().anyMatch(s -> s.name().equals("simd") && s.available()), "simd must run in tests");
    }

    @Test
    void defaultBackendIsTheBestAvailable() {
        Backend d = Backend.defaultBackend();
        String best = Backend.list().stream().filter(Backend.Status::available).findFirst().orElseThrow().name();
        String prop = System.getProperty("panama.rnn.backend");
        assertEquals(prop == null ? best : prop, d.name());
        assertTrue(d.selectionReason().length() > 5);
    }
}
