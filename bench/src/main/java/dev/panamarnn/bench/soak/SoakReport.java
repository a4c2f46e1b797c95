package dev.panamarnn.bench.soak;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The soak's verdict and its markdown report. Memory is judged from the end of the warm-up to the end
 * of the run: "after warm-up" is the median of the first three samples taken after the warm-up, "end"
 * the median of the last three (a median of three, so that one sample caught during a JIT compilation's
 * burst of compiler arenas does not decide). A figure passes when it grew by less than its limit:
 * 5 % of its after-warm-up level or a floor in MiB, whichever is larger. A second check compares NMT's
 * {@code Other} (where arena allocations are counted) after every model, workspace and arena was closed
 * with its level before anything was loaded, in bytes and in live blocks.
 */
final class SoakReport {
    static final double GROWTH_PCT = 5;
    static final long MIB = 1 << 20;
    /**
     * What the library's native memory may keep after everything is closed: the scratch row of the
     * threads still alive (the two-thread mode's helper), a few KiB in a few blocks.
     */
    static final long AFTER_CLOSE_LIMIT = MIB, AFTER_CLOSE_BLOCKS = 16;

    /**
     * A figure judged, with the floor of its growth limit (in bytes, or in blocks when {@code bytes} is
     * false). The floors sit above what the figure moves by between samples of a run without a leak:
     * NMT Other goes up and down by several MiB as reloaded models' workspace pools empty and refill, so
     * a slow leak of small blocks is caught by the count of live blocks instead (one per allocation).
     */
    record Check(String name, ToLongFunction<MemorySample> value, long floor, boolean bytes) {}

    static final List<Check> CHECKS = List.of(
            new Check("Java heap used after GC", MemorySample::heapUsed, 4 * MIB, true),
            new Check("RSS (VmRSS)", MemorySample::rss, 16 * MIB, true),
            new Check("NMT committed, total", MemorySample::nmtCommitted, 16 * MIB, true),
            new Check("NMT Other (arena allocations)", MemorySample::nmtOther, 16 * MIB, true),
            new Check("NMT Other, live malloc blocks", MemorySample::otherCount, 200, false));

    /** One judged figure: levels in bytes (or blocks), slope per minute. */
    record Row(Check check, long warm, long end, long max, double slopePerMin, long limit, boolean ok) {}

    final List<MemorySample> samples;
    final MemorySample before, afterClose, afterTrim;
    final double warmupSeconds;
    final List<Row> rows = new ArrayList<>();
    final boolean enoughSamples, afterCloseOk;

    /** {@code afterTrim} may be null (no glibc). */
    SoakReport(List<MemorySample> samples, MemorySample before, MemorySample afterClose, MemorySample afterTrim, double warmupSeconds) {
        this.samples = samples;
        this.before = before;
        this.afterClose = afterClose;
        this.afterTrim = afterTrim;
        this.warmupSeconds = warmupSeconds;
        List<MemorySample> post = samples.stream().filter(s -> s.seconds() >= warmupSeconds).toList();
        enoughSamples = post.size() >= 2;
        if (enoughSamples) {
            int k = Math.min(3, post.size() / 2);
            for (Check c : CHECKS) {
                long[] v = post.stream().mapToLong(c.value()).toArray();
                if (Arrays.stream(v).anyMatch(x -> x < 0)) continue; // not measured (no NMT, not Linux)
                long warm = median(Arrays.copyOfRange(v, 0, k)), end = median(Arrays.copyOfRange(v, v.length - k, v.length));
                long limit = Math.max((long) (warm * GROWTH_PCT / 100), c.floor());
                rows.add(new Row(c, warm, end, Arrays.stream(v).max().orElseThrow(), slope(post, c.value()) / (c.bytes() ? MIB : 1), limit,
                        end - warm < limit));
            }
        }
        afterCloseOk = before.nmtOther() >= 0 && afterClose.nmtOther() - before.nmtOther() < AFTER_CLOSE_LIMIT
                && afterClose.otherCount() - before.otherCount() <= AFTER_CLOSE_BLOCKS;
    }

    boolean nmtMeasured() {
        return before.nmtCommitted() >= 0;
    }

    boolean flat() {
        return enoughSamples && nmtMeasured() && rows.size() == CHECKS.size() && rows.stream().allMatch(Row::ok) && afterCloseOk;
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Least-squares slope of the figure over the samples, per minute. */
    private static double slope(List<MemorySample> post, ToLongFunction<MemorySample> f) {
        int n = post.size();
        double mx = post.stream().mapToDouble(MemorySample::seconds).average().orElse(0);
        double my = post.stream().mapToLong(f).average().orElse(0);
        double sxy = 0, sxx = 0;
        for (MemorySample s : post) {
            sxy += (s.seconds() - mx) * (f.applyAsLong(s) - my);
            sxx += (s.seconds() - mx) * (s.seconds() - mx);
        }
        return n < 2 || sxx == 0 ? 0 : sxy / sxx * 60;
    }

    static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", bytes / (double) MIB);
    }

    private static String level(long v, boolean bytes) {
        return bytes ? mib(v) : Long.toString(v);
    }

    private static String growth(long v, boolean bytes) {
        return bytes ? signed(v) : String.format(Locale.ROOT, "%+d", v);
    }

    private static String signed(long bytes) {
        return String.format(Locale.ROOT, "%+.1f", bytes / (double) MIB);
    }

    /** The verdict table. */
    String verdictTable() {
        StringBuilder b = new StringBuilder();
        b.append("| figure (MiB) | after warm-up | end | growth | limit | max | slope (per min) | |\n|---|--:|--:|--:|--:|--:|--:|---|\n");
        for (Row r : rows) {
            boolean mb = r.check().bytes();
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %+.2f | %s |%n", r.check().name() + (mb ? "" : " (count)"),
                    level(r.warm(), mb), level(r.end(), mb), growth(r.end() - r.warm(), mb), level(r.limit(), mb), level(r.max(), mb), r.slopePerMin(),
                    r.ok() ? "flat" : "**GREW**"));
        }
        b.append(String.format(Locale.ROOT, "| NMT Other: before loading → after closing everything | %s | %s | %s | %s | | | %s |%n",
                mib(before.nmtOther()), mib(afterClose.nmtOther()), signed(afterClose.nmtOther() - before.nmtOther()), mib(AFTER_CLOSE_LIMIT),
                afterCloseOk ? "returned" : "**KEPT**"));
        b.append(String.format(Locale.ROOT, "| NMT Other, live malloc blocks (count): before → after closing | %d | %d | %+d | %d | | | |%n",
                before.otherCount(), afterClose.otherCount(), afterClose.otherCount() - before.otherCount(), AFTER_CLOSE_BLOCKS));
        return b.toString();
    }

    /** The samples at least {@code every} seconds apart (and the last), the one before loading and the ones after closing. */
    String samplesTable(double every) {
        StringBuilder b = new StringBuilder();
        b.append("| t (s) | phase | calls | heap used | RSS | RssAnon | RssFile | maps | NMT committed | NMT malloc | NMT Other | Other blocks | NMT Internal "
                + "| glibc from system | glibc free kept | threads | workspaces |\n");
        b.append("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        List<MemorySample> all = new ArrayList<>();
        all.add(before);
        double next = 0;
        for (MemorySample s : samples) {
            if (s.seconds() + 0.5 >= next || s == samples.getLast()) {
                all.add(s);
                next = s.seconds() + every;
            }
        }
        all.add(afterClose);
        if (afterTrim != null) all.add(afterTrim);
        for (MemorySample s : all) {
            b.append(String.format(Locale.ROOT, "| %.0f | %s | %d | %s | %s | %s | %s | %d | %s | %s | %s | %d | %s | %s | %s | %d | %s |%n", s.seconds(), s.phase(), s.calls(),
                    mib(s.heapUsed()), mib(s.rss()), mib(s.rssAnon()), mib(s.rssFile()), s.mappings(), mib(s.nmtCommitted()), mib(s.nmtMalloc()),
                    mib(s.nmtOther()), s.otherCount(), mib(s.nmtInternal()), mib(s.glibcSystem()), mib(s.glibcFree()), s.threads(), mib(s.workspaceBytes())));
        }
        return b.toString();
    }

    static String callsTable(Map<String, Long> calls) {
        StringBuilder b = new StringBuilder("| calls | count |\n|---|--:|\n");
        calls.forEach((k, v) -> b.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        return b.toString();
    }

    String verdictLine(long unexpected) {
        List<String> why = new ArrayList<>();
        if (!nmtMeasured()) why.add("Native Memory Tracking is off (run with -XX:NativeMemoryTracking=summary)");
        if (!enoughSamples) why.add("fewer than two samples after the warm-up (run longer or sample more often)");
        for (Row r : rows) {
            boolean mb = r.check().bytes();
            String unit = mb ? " MiB" : "";
            if (!r.ok()) why.add(r.check().name() + " grew by " + growth(r.end() - r.warm(), mb) + unit + " (limit " + level(r.limit(), mb) + unit + ")");
        }
        if (!afterCloseOk && nmtMeasured()) {
            why.add("NMT Other kept " + signed(afterClose.nmtOther() - before.nmtOther()) + " MiB in " + (afterClose.otherCount() - before.otherCount())
                    + " blocks after everything was closed");
        }
        if (unexpected > 0) why.add(unexpected + " unexpected exception(s)");
        return why.isEmpty() ? "PASS: memory flat after the warm-up, everything freed on close, no unexpected exception"
                : "FAIL: " + String.join("; ", why);
    }
}
