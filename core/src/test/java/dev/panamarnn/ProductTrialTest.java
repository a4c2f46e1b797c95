package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The trial picks, per bucket of rows, the candidate that takes less time, and says what it measured. */
class ProductTrialTest {

    /** A candidate that spins {@code micros(m)} µs per call. */
    private static ProductTrial.Candidate spinning(String name, java.util.function.IntToLongFunction micros) {
        return new ProductTrial.Candidate() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void run(int m) {
                long end = System.nanoTime() + micros.applyAsLong(m) * 1000;
                while (System.nanoTime() < end) Thread.onSpinWait();
            }
        };
    }

    @Test
    void theFasterCandidateWinsEachBucket() {
        Kernels a = KernelAccess.of(Backend.get("simd")), b = KernelAccess.of(Backend.get("scalar"));
        // "a" is faster for one row, "b" for more; the prepared product beats both at 2-32 rows only.
        ProductTrial.Candidate ca = spinning("a", m -> m == 1 ? 20 : 200), cb = spinning("b", m -> m == 1 ? 60 : 100);
        ProductTrial.Candidate prepared = spinning("prepared", m -> m == 16 ? 50 : 400);
        // The fused step beats the unfused step only for one row; the unfused step is timed with the bucket's choice.
        List<String> timedWith = new java.util.ArrayList<>();
        ProductTrial.Steps steps = new ProductTrial.Steps() {
            @Override
            public ProductTrial.Candidate unfused(Kernels route, boolean usePrepared, boolean small) {
                timedWith.add(route.name() + (usePrepared ? "+prepared" : "") + (small ? " small" : ""));
                return spinning("step", m -> small ? 40 : m == 1 ? 100 : 200);
            }

            @Override
            public ProductTrial.Candidate fused(boolean small) {
                return spinning("fused", m -> small ? 60 : m == 1 ? 50 : 300);
            }

            @Override
            public ProductTrial.Candidate bf16(boolean small) {
                timedWith.add("bf16" + (small ? " small" : ""));
                return spinning("bf16", m -> small ? 30 : 60);
            }
        };
        ProductTrial.Outcome o = ProductTrial.decide(List.of(a, b), List.of(ca, cb), prepared, steps);
        // Per step shape: 1, 2-32, more rows, and one row over the small W_hh (where it loses here).
        assertArrayEquals(new boolean[] {true, false, false, false}, o.fused());
        // bfloat16 W_hh beats the faster float32 step (unfused 40) over the small W_hh, not the fused one (50) over the large.
        assertArrayEquals(new boolean[] {false, false, false, true}, o.bf16());
        assertTrue(o.report().contains("bf16 W_hh 60.") && o.report().contains("bf16 W_hh 30."), o.report());
        assertEquals(List.of("simd", "bf16", "scalar+prepared", "scalar", "simd small", "bf16 small"), timedWith); // bf16: one row only
        assertTrue(o.report().contains("1 row, W 1024 × 256: LSTM step unfused 40") && o.report().endsWith("→ unfused"), o.report());
        assertTrue(o.report().contains("→ fused steps, simd"), o.report());
        assertSame(a, o.gemm()[0]);
        assertSame(b, o.gemm()[1]);
        assertSame(b, o.gemm()[2]);
        assertArrayEquals(new boolean[] {false, true, false}, o.prepared());
        assertTrue(o.report().contains("1 row: a ") && o.report().contains("→ prepared (steps), "), o.report());
    }

    /** Within the margin, the candidate before (higher priority, or the GEMM before the prepared product) stays: a tie is noise. */
    @Test
    void aDifferenceWithinTheMarginChangesNothing() {
        Kernels a = KernelAccess.of(Backend.get("simd")), b = KernelAccess.of(Backend.get("scalar"));
        ProductTrial.Outcome o = ProductTrial.decide(List.of(a, b), List.of(spinning("a", m -> 100), spinning("b", m -> 99)),
                spinning("prepared", m -> 99), new ProductTrial.Steps() {
                    @Override
                    public ProductTrial.Candidate unfused(Kernels route, boolean usePrepared, boolean small) {
                        return spinning("step", m -> 100);
                    }

                    @Override
                    public ProductTrial.Candidate fused(boolean small) {
                        return spinning("fused", m -> 99);
                    }

                    @Override
                    public ProductTrial.Candidate bf16(boolean small) {
                        return spinning("bf16", m -> 98);
                    }
                });
        for (int i = 0; i < 3; i++) assertSame(a, o.gemm()[i]);
        assertArrayEquals(new boolean[] {false, false, false}, o.prepared());
        assertArrayEquals(new boolean[] {false, false, false, false}, o.fused());
        assertArrayEquals(new boolean[] {false, false, false, false}, o.bf16());
    }
}
