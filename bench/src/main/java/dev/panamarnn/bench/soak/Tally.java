package dev.panamarnn.bench.soak;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Calls made per kind, and the exceptions nobody expected (each one fails the run). Thread-safe.
 */
final class Tally {
    private static final int KEEP = 20;

    private final ConcurrentHashMap<String, LongAdder> calls = new ConcurrentHashMap<>();
    private final LongAdder unexpected = new LongAdder();
    private final List<String> failures = new ArrayList<>();

    void count(String kind) {
        calls.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** Records an unexpected exception (or a bad call that did not throw); the first few are printed at once and kept for the report. */
    void unexpected(String where, Throwable e) {
        unexpected.increment();
        if (unexpected.sum() > KEEP) return; // counted; the first ones tell the story
        StringWriter sw = new StringWriter();
        sw.append("UNEXPECTED in ").append(where).append(" on thread ").append(Thread.currentThread().getName()).append(": ");
        if (e != null) e.printStackTrace(new PrintWriter(sw));
        else sw.append("(no exception)\n");
        System.out.print(sw);
        System.out.flush();
        synchronized (failures) {
            if (failures.size() < KEEP) failures.add(sw.toString());
        }
    }

    long unexpectedCount() {
        return unexpected.sum();
    }

    List<String> failures() {
        synchronized (failures) {
            return List.copyOf(failures);
        }
    }

    /** Calls per kind, sorted by name. */
    Map<String, Long> snapshot() {
        Map<String, Long> m = new TreeMap<>();
        calls.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /** Every call counted whose kind does not start with one of the bookkeeping prefixes ("on "). */
    long total() {
        long n = 0;
        for (var e : calls.entrySet()) if (!e.getKey().startsWith("on ")) n += e.getValue().sum();
        return n;
    }
}
