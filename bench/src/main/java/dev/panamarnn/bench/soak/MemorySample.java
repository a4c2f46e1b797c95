package dev.panamarnn.bench.soak;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;

/**
 * The process's memory at one moment, in bytes: the Java heap in use after a full collection, the
 * resident set ({@code /proc/self/status}) and Native Memory Tracking's committed totals, read in
 * process through the {@code DiagnosticCommand} MBean (the JVM must run with
 * {@code -XX:NativeMemoryTracking=summary}; without it the NMT fields are -1).
 *
 * <p>Where off-heap memory shows in NMT on JDK 25: {@code Arena.allocate} (and so every tensor, weight
 * and workspace of the library) is a {@code malloc} tagged {@code Other}; so are direct byte buffers.
 * File mappings ({@code FileChannel.map}, the safetensors reader) are not tracked by NMT at all: they show
 * in the resident set ({@code RssFile}) and in the count of mappings.
 *
 * <p>RSS is more than NMT's figures: glibc keeps freed chunks in its per-thread arenas rather than
 * returning them, so the {@code malloc} figures of glibc itself ({@link Glibc}) are sampled too.
 *
 * @param otherCount live {@code malloc} blocks tagged Other (one per arena allocation)
 * @param glibcSystem bytes glibc's allocator obtained from the system; {@code glibcFree} of them are free
 *     chunks it keeps (-1 without glibc)
 * @param workspaceBytes native memory held by the workers' own {@code Workspace}s ({@code Workspace.byteSize()})
 */
record MemorySample(double seconds, String phase, long heapUsed, long rss, long rssAnon, long rssFile, int mappings,
                    long nmtCommitted, long nmtMalloc, long nmtHeap, long nmtOther, long otherCount, long nmtInternal,
                    Map<String, Long> nmtCategories, long glibcSystem, long glibcFree, int threads, long workspaceBytes,
                    long calls) {

    private static final Pattern TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern MALLOC = Pattern.compile("^\\s+malloc: (\\d+)KB #(\\d+)");
    private static final Pattern CATEGORY = Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern TAGGED = Pattern.compile("\\(malloc=(\\d+)KB tag=Other #(\\d+)");

    /** Collects garbage, lets the cleaners free what automatic arenas held, then reads every figure. */
    static MemorySample take(double seconds, String phase, long calls, long workspaceBytes) throws InterruptedException {
        System.gc();
        Thread.sleep(200);
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        Map<String, Long> status = procStatus();
        Map<String, Long> cat = new LinkedHashMap<>();
        long[] nmt = nmt(nmtSummary(), cat);
        long[] g = Glibc.info();
        return new MemorySample(seconds, phase, heap, status.getOrDefault("VmRSS", -1L), status.getOrDefault("RssAnon", -1L),
                status.getOrDefault("RssFile", -1L), countMappings(), nmt[0], nmt[1], cat.getOrDefault("Java Heap", -1L), cat.getOrDefault("Other", -1L),
                nmt[2], cat.getOrDefault("Internal", -1L), Map.copyOf(cat), g == null ? -1 : g[0], g == null ? -1 : g[2], ManagementFactory.getThreadMXBean().getThreadCount(), workspaceBytes, calls);
    }

    /** NMT committed total minus the Java heap (fixed in size by -Xms = -Xmx): the JVM's and the library's native memory. */
    long nmtNative() {
        return nmtCommitted < 0 ? -1 : nmtCommitted - nmtHeap;
    }

    /** {@code jcmd PID VM.native_memory summary}, in process; null when NMT is off. */
    static String nmtSummary() {
        String out = diagnostic("summary", "scale=KB");
        return out == null || out.contains("not enabled") ? null : out;
    }

    /** Runs a {@code VM.native_memory} sub-command (summary, baseline, summary.diff, …); null when it cannot run. */
    static String diagnostic(String... args) {
        try {
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "vmNativeMemory", new Object[] {args}, new String[] {String[].class.getName()});
        } catch (Exception e) {
            return null;
        }
    }

    /** Parses an NMT summary: {committed total, malloc total, Other's live malloc count} in bytes; categories' committed into {@code cat}. */
    static long[] nmt(String summary, Map<String, Long> cat) {
        long[] r = {-1, -1, -1};
        if (summary == null) return r;
        boolean inOther = false;
        for (String line : summary.split("\n")) {
            Matcher m;
            if ((m = TOTAL.matcher(line)).find()) r[0] = kb(m.group(2));
            else if (r[1] < 0 && (m = MALLOC.matcher(line)).find()) r[1] = kb(m.group(1));
            else if ((m = CATEGORY.matcher(line)).find()) {
                cat.put(m.group(1).trim(), kb(m.group(3)));
                inOther = m.group(1).trim().equals("Other");
            } else if (inOther && (m = TAGGED.matcher(line)).find()) {
                r[2] = Long.parseLong(m.group(2));
            }
        }
        return r;
    }

    private static long kb(String v) {
        return Long.parseLong(v) * 1024;
    }

    private static Map<String, Long> procStatus() {
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] p = line.split("\\s+");
                if (p.length == 3 && p[2].equals("kB")) m.put(p[0].substring(0, p[0].length() - 1), Long.parseLong(p[1]) * 1024);
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux: the RSS columns stay -1.
        }
        return m;
    }

    private static int countMappings() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return (int) lines.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
