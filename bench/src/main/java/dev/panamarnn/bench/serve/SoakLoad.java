package dev.panamarnn.bench.serve;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server soak's load: virtual threads, each sending a request, waiting for its answer, checking it
 * ({@link SoakCases#check}) and sending the next, until the deadline. Counts per kind: sent, right, wrong,
 * 503, other statuses, lost (no response: a connection error or 60 s without an answer); keeps every
 * latency and the first failures.
 */
final class SoakLoad {
    /** Percent of requests per kind, in {@link SoakCases#KINDS}' order. */
    static final int[] WEIGHTS = {30, 10, 30, 10, 20};
    private static final int MAX_FAILURES = 20;

    private final HttpClient http;
    private final URI base;
    private final SoakCases cases;
    private final boolean may503;
    private final int kinds = SoakCases.KINDS.size();
    private final LongAdder[] sent = adders(), right = adders(), wrong = adders(), busy = adders(), other = adders(), lost = adders();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger failureCount = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();
    private final List<long[][]> latencies = Collections.synchronizedList(new ArrayList<>());

    SoakLoad(HttpClient http, URI base, SoakCases cases, boolean may503) {
        this.http = http;
        this.base = base;
        this.cases = cases;
        this.may503 = may503;
    }

    private LongAdder[] adders() {
        LongAdder[] a = new LongAdder[SoakCases.KINDS.size()];
        for (int i = 0; i < a.length; i++) a[i] = new LongAdder();
        return a;
    }

    /**
     * Starts {@code n} virtual threads sending until {@code deadline} ({@link System#nanoTime()}); latencies are
     * kept for the requests sent from {@code measureFrom} on (after the warm-up).
     */
    void start(int n, long seed, long measureFrom, long deadline) {
        SplittableRandom root = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            SplittableRandom rnd = root.split();
            threads.add(Thread.ofVirtual().name("soak-client-" + i).start(() -> loop(rnd, measureFrom, deadline)));
        }
    }

    private void loop(SplittableRandom rnd, long measureFrom, long deadline) {
        long[][] lat = new long[kinds][1024]; // per kind: latencies in microseconds, count[k] of them
        int[] count = new int[kinds];
        while (System.nanoTime() < deadline) {
            int k = kind(rnd.nextInt(100));
            List<SoakCases.Case> list = cases.byKind.get(k);
            SoakCases.Case c = list.get(rnd.nextInt(list.size()));
            HttpRequest req = HttpRequest.newBuilder(base.resolve(c.path())).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(c.body())).build();
            sent[k].increment();
            long t = System.nanoTime();
            HttpResponse<String> r;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                lost[k].increment();
                fail(c, "lost: " + e);
                continue;
            } catch (InterruptedException e) {
                lost[k].increment();
                Thread.currentThread().interrupt();
                break;
            }
            if (t - measureFrom >= 0) {
                if (count[k] == lat[k].length) lat[k] = Arrays.copyOf(lat[k], 2 * count[k]);
                lat[k][count[k]++] = (System.nanoTime() - t) / 1000;
            }
            if (r.statusCode() == 200) {
                String why = SoakCases.check(c, r.body());
                if (why == null) {
                    right[k].increment();
                } else {
                    wrong[k].increment();
                    fail(c, "wrong: " + why);
                }
            } else if (r.statusCode() == 503) {
                busy[k].increment();
                if (!may503) fail(c, "503: " + r.body().strip());
            } else {
                other[k].increment();
                fail(c, "status " + r.statusCode() + ": " + r.body().strip());
            }
        }
        long[][] mine = new long[kinds][];
        for (int k = 0; k < kinds; k++) mine[k] = Arrays.copyOf(lat[k], count[k]);
        latencies.add(mine);
    }

    private int kind(int percent) {
        int acc = 0;
        for (int k = 0; k < kinds; k++) {
            acc += WEIGHTS[k];
            if (percent < acc) return k;
        }
        return kinds - 1;
    }

    private void fail(SoakCases.Case c, String what) {
        if (failureCount.incrementAndGet() <= MAX_FAILURES) {
            failures.add(c.kind() + " " + c.path() + " " + new String(c.body(), java.nio.charset.StandardCharsets.UTF_8) + "\n  -> " + what);
        }
    }

    /** Waits for the threads to finish their last request; false if some did not within {@code limit}. */
    boolean join(Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        for (Thread t : threads) {
            long left = end - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
        }
        return true;
    }

    private static long sum(LongAdder[] a) {
        return Arrays.stream(a).mapToLong(LongAdder::sum).sum();
    }

    long sent() {
        return sum(sent);
    }

    long answered() {
        return sum(right) + sum(wrong) + sum(busy) + sum(other);
    }

    long wrong() {
        return sum(wrong);
    }

    long lost() {
        return sum(lost);
    }

    /** Statuses that should not have come: any but 200, and 503 unless the limits ask for it. */
    long unexpected() {
        return sum(other) + (may503 ? 0 : sum(busy));
    }

    List<String> failures() {
        return failures;
    }

    /** What the server's /metrics says of the requests. */
    record ServerCounts(long requests, long rejected, long timedOut, long inFlight, long queued) {}

    /**
     * The server's counters, read until its request count reaches what was sent (a request is counted as its
     * response is written, which may follow the client's read by a moment) or for 5 s.
     */
    ServerCounts serverCounts() throws InterruptedException {
        ServerCounts c = new ServerCounts(-1, -1, -1, -1, -1);
        for (int i = 0; i < 50; i++) {
            try {
                String m = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                c = new ServerCounts(ServerMemory.metric(m, "panama_requests_total"), Math.max(0, ServerMemory.metric(m, "panama_rejected_total")),
                        Math.max(0, ServerMemory.metric(m, "panama_timed_out_total")), ServerMemory.metric(m, "panama_in_flight"),
                        ServerMemory.metric(m, "panama_queue_depth"));
                if (c.requests() == sent() && c.inFlight() == 0 && c.queued() == 0) return c;
            } catch (IOException e) {
                // keep the last reading
            }
            Thread.sleep(100);
        }
        return c;
    }

    /** Per kind: counts, and latency percentiles of the requests sent after the warm-up. */
    String table() {
        StringBuilder b = new StringBuilder("| kind | sent | right | wrong | 503 | other status | lost | p50 ms | p99 ms | max ms (after the warm-up) |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        for (int k = 0; k < kinds; k++) {
            int kk = k;
            long[] all = latencies.stream().flatMapToLong(l -> Arrays.stream(l[kk])).sorted().toArray();
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d | %s | %s | %s |%n", SoakCases.KINDS.get(k), sent[k].sum(), right[k].sum(),
                    wrong[k].sum(), busy[k].sum(), other[k].sum(), lost[k].sum(), pct(all, 50), pct(all, 99), pct(all, 100)));
        }
        return b.toString();
    }

    private static String pct(long[] sorted, double p) {
        if (sorted.length == 0) return "—";
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
        return String.format(Locale.ROOT, "%.1f", sorted[Math.max(0, i)] / 1000.0);
    }
}
