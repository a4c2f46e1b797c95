package dev.panamarnn.bench.soak;

import static dev.panamarnn.bench.soak.Flatness.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlatnessTest {
    record S(double seconds, long a, long b) {}

    private static final List<Flatness.Check<S>> CHECKS = List.of(
            new Flatness.Check<>("a", S::a, 16 * MIB, true),
            new Flatness.Check<>("b", S::b, 10, false));

    @Test
    void judgesGrowthFromTheMediansOfThreeAgainstFivePercentOrTheFloor() {
        List<S> post = new ArrayList<>();
        // a: 400 MiB growing by 1 MiB a minute, with one spike of 100 MiB that the medians ignore; b: a count growing by 2 a sample
        for (int i = 0; i < 12; i++) post.add(new S(60.0 * i, (400 + i + (i == 1 ? 100 : 0)) * MIB, 100 + 2L * i));
        List<Flatness.Row> rows = Flatness.judge(post, S::seconds, CHECKS);
        assertEquals(2, rows.size());
        Flatness.Row a = rows.get(0), b = rows.get(1);
        assertEquals(402 * MIB, a.warm()); // median of 400, 501, 402
        assertEquals(410 * MIB, a.end()); // median of 409, 410, 411
        assertEquals((long) (402 * MIB * 0.05), a.limit()); // 5 % of 402 MiB, above the 16 MiB floor
        assertTrue(a.ok(), "8 MiB < 20.1 MiB");
        assertEquals(501 * MIB, a.max());
        assertEquals(102, b.warm());
        assertEquals(120, b.end());
        assertEquals(10, b.limit()); // the floor: 5 % of 102 is 5
        assertFalse(b.ok(), "grew by 18 > 10");
        assertEquals(2.0, b.slopePerMin(), 1e-9); // counts per minute, not MiB
    }

    @Test
    void leavesOutUnreadableFiguresAndNeedsTwoSamples() {
        List<S> post = List.of(new S(0, MIB, -1), new S(10, MIB, 5));
        List<Flatness.Row> rows = Flatness.judge(post, S::seconds, CHECKS);
        assertEquals(1, rows.size());
        assertEquals("a", rows.get(0).check().name());
        assertEquals(0.0, rows.get(0).slopePerMin());
        assertTrue(Flatness.judge(post.subList(0, 1), S::seconds, CHECKS).isEmpty());
        assertEquals("n/a", Flatness.mib(-1));
        assertEquals("1.5", Flatness.mib(3 * MIB / 2));
    }
}
