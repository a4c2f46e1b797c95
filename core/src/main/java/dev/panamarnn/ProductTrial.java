package dev.panamarnn;

import dev.panamarnn.kernel.Bf16Layout;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.PreparedWeights;
import dev.panamarnn.kernel.StepWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which implementation computes the products of each step shape fastest on this machine, measured
 * ({@link Tuning}). For each bucket of rows (1, 2–32, more: {@link Kernels#rowsOf}) it times the step
 * product {@code C = A·Wᵀ} at a representative shape ({@code W} of {@code 2048 × 512}, an LSTM of hidden
 * size 512) by each candidate: every available backend's GEMM, and the product over W prepared once; then
 * that LSTM's whole step, the faster product followed by the gate kernel against the fused step
 * ({@link dev.panamarnn.kernel.FusedSteps}), when the core has one; and the same for one row over a
 * W_hh of 1 MiB (hidden size 256), which may stay in a core's cache where the 4 MiB one does not. For the
 * one-row steps it also times the step over W_hh rounded to bfloat16 (its product then the gate kernel),
 * which layers take only where their user allowed it ({@code -Dpanama.rnn.weights=bf16-if-faster}).
 *
 * <p>Warm-up is the hard part: the Vector API kernels run thousands of times slower before C2 has compiled
 * them, and steadily so, so "two batches agree" is no sign of being warm. Each candidate therefore runs
 * until its best time per call has not improved by 2 % for {@link #QUIET_NANOS} (and for at least
 * {@link #MIN_NANOS}), at most {@link #MAX_NANOS}; then the best of a few batches counts. About 0.5–1 s per
 * candidate and bucket.
 */
final class ProductTrial {
    /**
     * How much faster a candidate must be to displace one before it (the backends come in priority order,
     * the prepared product after them): closer than this, the difference is noise, and the choice would
     * flip from one measurement to the next.
     */
    static final double MARGIN = 0.97;
    /** W's shape. */
    private static final int N = 2048, K = 512;
    /** Per candidate and bucket: warm-up at least, without improvement for, at most; each batch at least; batches timed. */
    static final long MIN_NANOS = 400_000_000, QUIET_NANOS = 300_000_000, MAX_NANOS = 3_000_000_000L, BATCH_NANOS = 5_000_000;
    private static final int TIMED_BATCHES = 5;

    /** The candidates' products, timed: {@code name}'s GEMM, or (prepared) the core's product over prepared weights. */
    interface Candidate {
        String name();

        /** One call of the product for m rows. */
        void run(int m);
    }

    /**
     * The outcome: per bucket, the fastest GEMM's kernels, whether the prepared product beat it, whether the
     * fused step beat the faster of them followed by the gate kernel; per one-row step shape, whether the
     * step over bfloat16 W_hh beat the fastest float32 step; and the report of times.
     */
    record Outcome(Kernels[] gemm, boolean[] prepared, boolean[] fused, boolean[] bf16, String report) {}

    /** The small W_hh of the one-row step shape ({@link Kernels#stepShape}): an LSTM of hidden size 256, 1 MiB. */
    private static final int SMALL_N = 1024, SMALL_K = 256;

    private ProductTrial() {}

    /**
     * Times {@code backends}' GEMMs and the prepared product of {@code core} on the step shapes.
     *
     * @param backends the available backends' kernels (at least one)
     * @param core     the kernels whose prepared products serve the steps
     * @return the routes and the report
     */
    static Outcome run(List<Kernels> backends, Kernels core) {
        try (Arena arena = Arena.ofConfined()) {
            int rows = Kernels.rowsOf(Kernels.BUCKETS - 1);
            MemorySegment a = random(arena, (long) rows * K, 1), w = random(arena, (long) N * K, 2);
            MemorySegment c = arena.allocate((long) rows * N * Float.BYTES, 64);
            PreparedWeights p = core.prepare(w, 0, K, N, K);
            List<Candidate> gemms = new ArrayList<>();
            for (Kernels k : backends) gemms.add(candidate(k.name(), m -> k.sgemm(false, true, m, N, K, 1f, a, 0, K, w, 0, K, 1f, c, 0, N)));
            Candidate prepared = candidate("prepared", m -> core.gemmPrepared(m, p, a, 0, K, 1f, c, 0, N));
            // The whole LSTM step (hidden size K, 4·K = N gates): unfused, the chosen product then the gate kernel;
            // fused, one pass. h is a; the pre-activations (zero: a step adds the product to them, and repeated
            // calls must not let them grow into the activations' subnormal range) pre; the gates g; the state
            // cs; the new h hs.
            MemorySegment cs = arena.allocate((long) rows * K * Float.BYTES, 64), hs = arena.allocate((long) rows * K * Float.BYTES, 64);
            MemorySegment pre = arena.allocate((long) rows * N * Float.BYTES, 64), g = arena.allocate((long) rows * N * Float.BYTES, 64);
            Kernels all = core.withFusedSteps(true);
            StepWeights sw = all.hasFusedSteps() ? all.prepareStep(4, Activation.TANH, w, 0, K, new int[] {0, K}, K) : null;
            StepWeights small = sw == null ? null : all.prepareStep(4, Activation.TANH, w, 0, SMALL_K, new int[] {0, SMALL_K}, SMALL_K);
            PreparedWeights pSmall = sw == null ? null : core.prepare(w, 0, SMALL_K, SMALL_N, SMALL_K);
            MemorySegment w16 = sw == null ? null : Bf16Layout.pack(arena, w, K);
            MemorySegment w16Small = sw == null ? null : Bf16Layout.pack(arena, w.asSlice(0, (long) SMALL_N * SMALL_K * Float.BYTES), SMALL_K);
            Steps steps = sw == null ? null : new Steps() {
                @Override
                public Candidate unfused(Kernels route, boolean usePrepared, boolean isSmall) {
                    int n = isSmall ? SMALL_N : N, kk = isSmall ? SMALL_K : K;
                    PreparedWeights pw = isSmall ? pSmall : p;
                    return candidate("step", m -> {
                        if (usePrepared) core.gemmPrepared(m, pw, a, 0, kk, 0f, g, 0, n);
                        else route.sgemm(false, true, m, n, kk, 1f, a, 0, kk, w, 0, kk, 0f, g, 0, n);
                        core.lstmCell(m, kk, g, 0, n, cs, 0, kk, hs, 0, kk);
                    });
                }

                @Override
                public Candidate fused(boolean isSmall) {
                    int n = isSmall ? SMALL_N : N, kk = isSmall ? SMALL_K : K;
                    StepWeights f = isSmall ? small : sw;
                    return candidate("fused", m -> all.fusedStep(m, f, 0, 1, a, 0, kk, pre, 0, n, null, cs, 0, kk, hs, 0, kk));
                }

                @Override
                public Candidate bf16(boolean isSmall) {
                    int n = isSmall ? SMALL_N : N, kk = isSmall ? SMALL_K : K;
                    MemorySegment b = isSmall ? w16Small : w16;
                    return candidate("bf16", m -> {
                        core.sgemmBf16(m, n, kk, 1f, a, 0, kk, b, 0, kk, 0f, g, 0, n);
                        core.lstmCell(m, kk, g, 0, n, cs, 0, kk, hs, 0, kk);
                    });
                }
            };
            return decide(backends, gemms, prepared, steps);
        }
    }

    /** The whole step, unfused (a product and the gate kernel) and fused, for the choice between them; over the small W_hh or the large one. */
    interface Steps {
        /** The step with the product that route (or, with usePrepared, the prepared product) computes, then the gate kernel. */
        Candidate unfused(Kernels route, boolean usePrepared, boolean small);

        /** The fused step. */
        Candidate fused(boolean small);

        /** The step over W_hh in bfloat16: its product, then the gate kernel. */
        Candidate bf16(boolean small);
    }

    /** The choice among timed candidates; separate so that a test can time candidates of its own. {@code steps}: null without a fused step. */
    static Outcome decide(List<Kernels> backends, List<Candidate> gemms, Candidate prepared, Steps steps) {
        Kernels[] route = new Kernels[Kernels.BUCKETS];
        boolean[] usePrepared = new boolean[Kernels.BUCKETS], useFused = new boolean[Kernels.STEP_SHAPES], useBf16 = new boolean[Kernels.STEP_SHAPES];
        StringBuilder report = new StringBuilder("measured per step shape (W 2048 × 512, µs per call):");
        for (int b = 0; b < Kernels.BUCKETS; b++) {
            int m = Kernels.rowsOf(b);
            report.append(b == 0 ? " " : "; ").append(b == 0 ? "1 row" : b == 1 ? "2-32 rows (at 16)" : "more (at 128)").append(':');
            double best = Double.MAX_VALUE;
            for (int i = 0; i < gemms.size(); i++) {
                double t = time(gemms.get(i), m);
                report.append(String.format(Locale.ROOT, " %s %.1f", gemms.get(i).name(), t / 1e3));
                if (route[b] == null || t < MARGIN * best) {
                    best = t;
                    route[b] = backends.get(i);
                }
            }
            if (prepared != null) {
                double t = time(prepared, m);
                report.append(String.format(Locale.ROOT, " prepared %.1f", t / 1e3));
                usePrepared[b] = t < MARGIN * best;
            }
            if (steps != null) {
                double u = time(steps.unfused(route[b], usePrepared[b], false), m), f = time(steps.fused(false), m);
                report.append(String.format(Locale.ROOT, "; LSTM step unfused %.1f, fused %.1f", u / 1e3, f / 1e3));
                useFused[b] = f < MARGIN * u;
                if (m == 1) useBf16[b] = bf16(steps.bf16(false), Math.min(u, f), report);
            }
            report.append(" → ").append(useFused[b] ? "fused steps, " : usePrepared[b] ? "prepared (steps), " : "").append(route[b].name());
        }
        if (steps != null) { // one row over a W_hh that may stay in cache: the latency case
            double u = time(steps.unfused(route[0], usePrepared[0], true), 1), f = time(steps.fused(true), 1);
            useFused[Kernels.BUCKETS] = f < MARGIN * u;
            report.append(String.format(Locale.ROOT, "; 1 row, W 1024 × 256: LSTM step unfused %.1f, fused %.1f", u / 1e3, f / 1e3));
            useBf16[Kernels.BUCKETS] = bf16(steps.bf16(true), Math.min(u, f), report);
            report.append(" → ").append(useFused[Kernels.BUCKETS] ? "fused" : "unfused");
        }
        return new Outcome(route, usePrepared, useFused, useBf16, report.toString());
    }

    /** Times the step over bfloat16 W_hh and says whether it beat {@code best}, the fastest float32 step (ns), by the margin. */
    private static boolean bf16(Candidate step, double best, StringBuilder report) {
        double t = time(step, 1);
        boolean wins = t < MARGIN * best;
        report.append(String.format(Locale.ROOT, ", bf16 W_hh %.1f (%s)", t / 1e3, wins ? "faster: taken where allowed" : "not faster"));
        return wins;
    }

    /** Nanoseconds per call of {@code c} at m rows, once warm: the fastest of a few timed batches. */
    static double time(Candidate c, int m) {
        long start = System.nanoTime(), improved = start, now;
        double best = batch(c, m);
        while ((now = System.nanoTime()) - start < MAX_NANOS && (now - start < MIN_NANOS || now - improved < QUIET_NANOS)) {
            double t = batch(c, m);
            if (t < 0.98 * best) improved = System.nanoTime();
            best = Math.min(best, t);
        }
        for (int i = 0; i < TIMED_BATCHES; i++) best = Math.min(best, batch(c, m));
        return best;
    }

    /** One batch of calls lasting at least {@link #BATCH_NANOS}: nanoseconds per call. */
    private static double batch(Candidate c, int m) {
        long t0 = System.nanoTime(), t;
        int n = 0;
        do {
            c.run(m);
            n++;
            t = System.nanoTime();
        } while (t - t0 < BATCH_NANOS);
        return (double) (t - t0) / n;
    }

    private static Candidate candidate(String name, java.util.function.IntConsumer run) {
        return new Candidate() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void run(int m) {
                run.accept(m);
            }
        };
    }

    private static MemorySegment random(Arena arena, long n, long seed) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        java.util.Random r = new java.util.Random(seed);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, r.nextFloat() - 0.5f);
        return s;
    }
}
