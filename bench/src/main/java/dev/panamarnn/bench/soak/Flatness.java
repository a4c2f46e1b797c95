package dev.panamarnn.bench.soak;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * The soaks' memory verdict (the library soak's {@link SoakReport} and the server soak's
 * {@code dev.panamarnn.bench.serve.ServerMemory}). Over the samples taken after the warm-up, "after
 * warm-up" is the median of the first three, "end" the median of the last three (a median of three, so
 * that one sample caught in a burst, a JIT compilation's arenas or a GC's, does not decide). A figure is
 * flat when it grew by less than {@link #GROWTH_PCT} % of its after-warm-up level or its floor, whichever
 * is larger; its least-squares slope is reported too.
 */
public final class Flatness {
    private Flatness() {}

    /** The growth allowed, in percent of the after-warm-up level (or the floor, when larger). */
    public static final double GROWTH_PCT = 5;
    /** Bytes in a MiB. */
    public static final long MIB = 1 << 20;

    /**
     * A figure judged: how to read it from a sample, the floor of its growth limit (in bytes, or in
     * counts when {@code bytes} is false).
     *
     * @param <S>   the sample type
     * @param name  the figure's name in the report
     * @param value the figure in a sample, negative when it could not be read
     * @param floor the smallest growth limit
     * @param bytes whether the figure is in bytes (the slope is then in MiB per minute)
     */
    public record Check<S>(String name, ToLongFunction<S> value, long floor, boolean bytes) {}

    /**
     * One judged figure.
     *
     * @param check       the figure
     * @param warm        the level after the warm-up
     * @param end         the level at the end
     * @param max         the largest sample
     * @param slopePerMin the slope per minute (MiB, or counts)
     * @param limit       the growth allowed
     * @param ok          whether it grew by less than the limit
     */
    public record Row(Check<?> check, long warm, long end, long max, double slopePerMin, long limit, boolean ok) {}

    /**
     * Judges each check over {@code post}, the samples after the warm-up in time order; a figure with an
     * unreadable sample is left out.
     *
     * @param <S>     the sample type
     * @param post    the samples after the warm-up; fewer than two give no rows
     * @param seconds a sample's time
     * @param checks  the figures
     * @return a row per figure measured
     */
    public static <S> List<Row> judge(List<S> post, ToDoubleFunction<S> seconds, List<Check<S>> checks) {
        List<Row> rows = new ArrayList<>();
        if (post.size() < 2) return rows;
        int k = Math.min(3, post.size() / 2);
        for (Check<S> c : checks) {
            long[] v = post.stream().mapToLong(c.value()).toArray();
            if (Arrays.stream(v).anyMatch(x -> x < 0)) continue; // not measured (no NMT, not Linux)
            long warm = median(Arrays.copyOfRange(v, 0, k)), end = median(Arrays.copyOfRange(v, v.length - k, v.length));
            long limit = Math.max((long) (warm * GROWTH_PCT / 100), c.floor());
            rows.add(new Row(c, warm, end, Arrays.stream(v).max().orElseThrow(), slope(post, seconds, c.value()) / (c.bytes() ? MIB : 1), limit,
                    end - warm < limit));
        }
        return rows;
    }

    /**
     * Bytes as MiB with one decimal, "n/a" when negative (not measured).
     *
     * @param bytes the bytes
     * @return the text
     */
    public static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", bytes / (double) MIB);
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Least-squares slope of the figure over the samples, per minute. */
    private static <S> double slope(List<S> post, ToDoubleFunction<S> seconds, ToLongFunction<S> f) {
        double mx = post.stream().mapToDouble(seconds).average().orElse(0);
        double my = post.stream().mapToLong(f).average().orElse(0);
        double sxy = 0, sxx = 0;
        for (S s : post) {
            double dx = seconds.applyAsDouble(s) - mx;
            sxy += dx * (f.applyAsLong(s) - my);
            sxx += dx * dx;
        }
        return sxx == 0 ? 0 : sxy / sxx * 60;
    }
}
