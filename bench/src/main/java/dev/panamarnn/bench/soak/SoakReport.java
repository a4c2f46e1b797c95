package dev.panamarnn.bench.soak;

import static dev.panamarnn.bench.soak.Flatness.MIB;
import static dev.panamarnn.bench.soak.Flatness.mib;

import dev.panamarnn.bench.soak.Flatness.Check;
import dev.panamarnn.bench.soak.Flatness.Row;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The soak's verdict and its markdown report. Memory is judged by {@link Flatness} from the end of the
 * warm-up to the end of the run, with floors in MiB (and in live blocks for NMT Other). A second check
 * compares NMT's {@code Other} (where arena allocations are counted) after every model, workspace and
 * arena was closed with its level before anything was loaded, in bytes and in live blocks.
 */
final class SoakReport {
    /**
     * What the library's native memory may keep after everything is closed: the scratch row of the
     * threads still alive (the two-thread mode's helper), a few KiB in a few blocks.
     */
    static final long AFTER_CLOSE_LIMIT = MIB, AFTER_CLOSE_BLOCKS = 16;

    /**
     * The figures judged. The floors sit above what a figure moves by between samples of a run without a
     * leak: NMT Other goes up and down by several MiB as reloaded models' workspace pools empty and refill,
     * so a slow leak of small blocks is caught by the count of live blocks instead (one per allocation).
     */
    static final List<Check<MemorySample>> CHECKS = List.of(
            new Check<>("Java heap used after GC", MemorySample::heapUsed, 4 * MIB, true),
            new Check<>("RSS (VmRSS)", MemorySample::rss, 16 * MIB, true),
            new Check<>("NMT committed, total", MemorySample::nmtCommitted, 16 * MIB, true),
            new Check<>("NMT Other (arena allocations)", MemorySample::nmtOther, 16 * MIB, true),
            new Check<>("NMT Other, live malloc blocks", MemorySample::otherCount, 200, false));

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
        if (enoughSamples) rows.addAll(Flatness.judge(post, MemorySample::seconds, CHECKS));
        afterCloseOk = before.nmtOther() >= 0 && afterClose.nmtOther() - before.nmtOther() < AFTER_CLOSE_LIMIT
                && afterClose.otherCount() - before.otherCount() <= AFTER_CLOSE_BLOCKS;
    }

    boolean nmtMeasured() {
        return before.nmtCommitted() >= 0;
    }

    boolean flat() {
        return enoughSamples && nmtMeasured() && rows.size() == CHECKS.size() && rows.stream().allMatch(Row::ok) && afterCloseOk;
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
