package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void allocatesAlignedZeroedStorage() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, 3, 5, 7);
            assertEquals(0, t.segment().address() % Tensor.ALIGNMENT);
            assertEquals(15, t.rows());
            assertEquals(7, t.cols());
            assertEquals(7, t.ld());
            assertEquals(105, t.size());
            assertArrayEquals(new float[105], t.toArray());
        }
    }

    @Test
    void roundTripsThroughArraysWithPaddedRows() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocateStrided(arena, 8, 3, 5);
            float[] data = new float[15];
            for (int i = 0; i < data.length; i++) data[i] = i + 0.5f;
            t.copyFrom(data);
            assertArrayEquals(data, t.toArray());
            assertEquals(5.5f, t.get(1, 0));
            assertEquals(0f, t.segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 5), "padding untouched");
        }
    }

    @Test
    void viewsShareStorage() {
        try (Arena arena = Arena.ofConfined()) {
            float[] data = new float[24];
            for (int i = 0; i < data.length; i++) data[i] = i;
            Tensor t = Tensor.of(arena, data, 2, 3, 4);
            Tensor s = t.slice(1);
            assertArrayEquals(new int[] {3, 4}, s.shape());
            assertEquals(12f, s.get(0, 0));
            Tensor cols = t.columns(1, 3);
            assertEquals(2, cols.cols());
            assertEquals(4, cols.ld());
            assertEquals(5f, cols.get(1, 0));
            Tensor rows = t.rows(2, 4);
            assertEquals(8f, rows.get(0, 0));
            cols.set(0, 0, -1f);
            assertEquals(-1f, t.get(0, 1));
            assertArrayEquals(new int[] {6, 4}, t.reshape(6, 4).shape());
            assertArrayEquals(new int[] {24}, t.reshape(24).shape());
        }
    }

    @Test
    void emptyTensorsOfAnyShape() {
        try (Arena arena = Arena.ofConfined()) {
            for (int[] shape : new int[][] {{0}, {3, 0}, {0, 3}, {2, 0, 4, 0}}) {
                Tensor t = Tensor.allocate(arena, shape);
                assertEquals(0, t.size());
                assertTrue(t.isContiguous());
                assertArrayEquals(new float[0], t.toArray());
                assertArrayEquals(shape, Tensor.of(arena, new float[0], shape).shape());
            }
        }
    }

    @Test
    void rejectsBadShapesAndSizes() {
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, 2, -1));
            assertTrue(e.getMessage().contains("negative"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, 65536, 65536));
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocateStrided(arena, 3, 2, 4));
            MemorySegment small = arena.allocate(40);
            e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(small, 0, 4, 3, 4));
            assertTrue(e.getMessage().contains("needs 48 bytes, segment has 40"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(MemorySegment.ofArray(new float[12]), 0, 4, 3, 4));
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(small, -1, 2, 1, 2));
            Tensor t = Tensor.allocate(arena, 2, 3);
            e = assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[5]));
            assertTrue(e.getMessage().contains("has 6 elements, array has 5"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocateStrided(arena, 4, 2, 3).reshape(3, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
        }
    }

    @Test
    void closedArenaGivesIllegalState() {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.allocate(arena, 2, 2);
        arena.close();
        var e = assertThrows(IllegalStateException.class, t::toArray);
        assertTrue(e.getMessage().contains("arena was closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.fill(1f));
    }
}
