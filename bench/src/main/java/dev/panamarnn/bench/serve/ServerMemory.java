package dev.panamarnn.bench.serve;

import static dev.panamarnn.bench.soak.Flatness.MIB;
import static dev.panamarnn.bench.soak.Flatness.mib;

import dev.panamarnn.bench.soak.Flatness;
import dev.panamarnn.bench.soak.Flatness.Check;
import dev.panamarnn.bench.soak.Flatness.Row;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server's memory seen from outside, while it serves: {@code jcmd PID} runs {@code GC.run} (a full
 * collection, so the heap figure is the live data, not the sawtooth of garbage) and, when the server runs
 * with {@code -XX:NativeMemoryTracking=summary}, {@code VM.native_memory summary}; then {@code /proc/PID/status}
 * gives the resident set and {@code /metrics} the heap (Micrometer's {@code jvm_gc_live_data_size_bytes}, the old
 * generation after that collection, which after a full collection holds everything live) and the live threads.
 *
 * <p>The verdict is the library soak's ({@link Flatness}: medians of three after the warm-up and at the end, a
 * growth limit of 5 % or a floor, whichever is larger). The floors sit above what a
 * figure moves by between samples of a server that does not leak (live heap: the objects of the 64 requests in
 * flight and Micrometer's histograms; RSS and NMT: thread stacks and compiler arenas coming and going).
 */
final class ServerMemory {
    /** Linux's USER_HZ: the unit of /proc's CPU times. */
    private static final int TICKS = 100;
    private static final Pattern TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern CATEGORY = Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB");

    /** One sample; -1 where a figure could not be read. Bytes. */
    record Sample(double seconds, String phase, long answered, long rss, long rssAnon, long rssFile, long heapLive, long nmtCommitted,
                  long nmtHeap, long nmtOther, long threads, long cpuTicks) {
        /** NMT committed without the Java heap (fixed by -Xms = -Xmx): the JVM's and the library's native memory. */
        long nmtNative() {
            return nmtCommitted < 0 || nmtHeap < 0 ? -1 : nmtCommitted - nmtHeap;
        }
    }

    static final List<Check<Sample>> CHECKS = List.of(
            new Check<>("Java heap, live after a full GC", Sample::heapLive, 8 * MIB, true),
            new Check<>("RSS (VmRSS)", Sample::rss, 16 * MIB, true),
            new Check<>("NMT committed without the heap", Sample::nmtNative, 16 * MIB, true),
            new Check<>("NMT Other (arena allocations)", Sample::nmtOther, 16 * MIB, true));

    private final long pid;
    private final String jcmd;
    private final URI metrics;
    private final HttpClient http;
    private final Path commands;

    ServerMemory(long pid, String jcmd, URI base, HttpClient http) throws IOException {
        this.pid = pid;
        this.jcmd = jcmd;
        this.metrics = base.resolve("/metrics");
        this.http = http;
        commands = Files.createTempFile("serve-soak-jcmd", ".txt");
        commands.toFile().deleteOnExit();
        Files.writeString(commands, "GC.run\nVM.native_memory summary scale=KB\n");
    }

    /** Takes a sample (about half a second: jcmd starts a JVM). */
    Sample take(double seconds, String phase, long answered) throws InterruptedException {
        String nmt = run();
        long total = -1, heap = -1, other = -1;
        if (nmt != null) {
            for (String line : nmt.split("\n")) {
                Matcher t = TOTAL.matcher(line), c = CATEGORY.matcher(line);
                if (t.find()) {
                    total = Long.parseLong(t.group(2)) * 1024;
                } else if (c.find()) {
                    long committed = Long.parseLong(c.group(3)) * 1024;
                    if (c.group(1).equals("Java Heap")) heap = committed;
                    else if (c.group(1).equals("Other")) other = committed;
                }
            }
        }
        long[] status = status();
        long live = -1, threads = -1;
        try {
            String text = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()).body();
            live = metric(text, "jvm_gc_live_data_size_bytes");
            threads = metric(text, "jvm_threads_live_threads");
        } catch (IOException e) {
            // -1: reported as not measured
        }
        return new Sample(seconds, phase, answered, status[0], status[1], status[2], live, total, heap, other, threads, cpuTicks());
    }

    /** The server's user + system CPU time in clock ticks ({@code /proc/PID/stat} fields 14 and 15), or -1. */
    private long cpuTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // f[0] is field 3 (state)
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Runs one jcmd command on the server, e.g. {@code VM.native_memory baseline} at the end of the warm-up and
     * {@code VM.native_memory summary.diff scale=KB} at the end (where the native memory went, for the log).
     *
     * @return its output, or null when it failed
     */
    String jcmd(String... command) throws InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(jcmd, Long.toString(pid)));
        cmd.addAll(List.of(command));
        return exec(cmd);
    }

    /** The output of the sample's jcmd commands, or null when it failed. */
    private String run() throws InterruptedException {
        return exec(List.of(jcmd, Long.toString(pid), "-f", commands.toString()));
    }

    private static String exec(List<String> cmd) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroy();
            return p.exitValue() == 0 ? out : null;
        } catch (IOException | IllegalThreadStateException e) {
            return null;
        }
    }

    /** VmRSS, RssAnon, RssFile in bytes. */
    private long[] status() {
        long[] r = {-1, -1, -1};
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                String[] p = line.split("\\s+");
                if (p.length != 3 || !p[2].equals("kB")) continue;
                int i = switch (p[0]) {
                    case "VmRSS:" -> 0;
                    case "RssAnon:" -> 1;
                    case "RssFile:" -> 2;
                    default -> -1;
                };
                if (i >= 0) r[i] = Long.parseLong(p[1]) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or the server is gone: -1
        }
        return r;
    }

    /** The sum of a Prometheus metric's series, or -1. */
    static long metric(String text, String name) {
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (!line.startsWith(name) || (line.length() > name.length() && line.charAt(name.length()) != ' ' && line.charAt(name.length()) != '{')) continue;
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            found = true;
        }
        return found ? (long) sum : -1;
    }

    /** The judged rows over the samples at or after {@code warmup} seconds; empty with fewer than two. */
    static List<Row> judge(List<Sample> samples, double warmup) {
        return Flatness.judge(samples.stream().filter(s -> s.seconds() >= warmup).toList(), Sample::seconds, CHECKS);
    }

    /** The verdict table. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder("| figure (MiB) | after warm-up | end | growth | limit | max | slope (per min) | |\n|---|--:|--:|--:|--:|--:|--:|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %+.1f | %s | %s | %+.2f | %s |%n", r.check().name(), mib(r.warm()), mib(r.end()),
                    (r.end() - r.warm()) / (double) MIB, mib(r.limit()), mib(r.max()), r.slopePerMin(), r.ok() ? "flat" : "**GREW**"));
        }
        return b.toString();
    }

    /** Every sample, one row each. */
    static String samples(List<Sample> samples) {
        StringBuilder b = new StringBuilder("| t (s) | phase | answered | req/s since last | server CPU (cores) | RSS | RssAnon | RssFile | heap live | NMT committed | NMT w/o heap | NMT Other | RSS − NMT | threads |\n");
        b.append("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        Sample last = null;
        for (Sample s : samples) {
            boolean interval = last != null && s.seconds() > last.seconds();
            String rate = interval ? String.format(Locale.ROOT, "%.0f", (s.answered() - last.answered()) / (s.seconds() - last.seconds())) : "";
            String cpu = interval && s.cpuTicks() >= 0 && last.cpuTicks() >= 0
                    ? String.format(Locale.ROOT, "%.2f", (s.cpuTicks() - last.cpuTicks()) / (double) TICKS / (s.seconds() - last.seconds())) : "";
            b.append(String.format(Locale.ROOT, "| %.0f | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |%n", s.seconds(), s.phase(), s.answered(), rate, cpu,
                    mib(s.rss()), mib(s.rssAnon()), mib(s.rssFile()), mib(s.heapLive()), mib(s.nmtCommitted()), mib(s.nmtNative()), mib(s.nmtOther()),
                    s.rss() < 0 || s.nmtCommitted() < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", (s.rss() - s.nmtCommitted()) / (double) MIB), s.threads()));
            last = s;
        }
        return b.toString();
    }
}
