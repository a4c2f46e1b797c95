package dev.panamarnn.bench.serve;

import dev.panamarnn.bench.soak.Flatness;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The server soak's client ({@code scripts/bench serve-soak}): for a given time it keeps {@code --in-flight}
 * requests (64) in flight on virtual threads, each sending its next request when the last is answered, a mix
 * of translations, generations (plain and streamed) and classifications ({@link SoakCases}) whose answers it
 * computed beforehand in process, and checks every response. Every {@code --sample-seconds} (10) it samples the
 * server's memory ({@link ServerMemory}). Exit status 0 when every request was answered, every answer right,
 * no unexpected status (a 503 is expected only when more requests are in flight than a model's threads and
 * queue together), the server counted what was sent and holds nothing after the load, and memory stayed flat
 * after the warm-up (the first minute, or a third of a shorter run); 1 otherwise; 2 for a bad command line.
 *
 * <p>Usage: {@code ServeSoak --url http://127.0.0.1:PORT --pid PID --root DIR [--minutes M | --seconds S]
 * [--in-flight N] [--max-batch N --max-queue N] [--sample-seconds S] [--warmup-seconds S] [--seed N]
 * [--machine TEXT] [--server-flags TEXT] [--out FILE.md] [--command TEXT]}
 */
public final class ServeSoak {
    private ServeSoak() {}

    /**
     * Runs the soak.
     *
     * @param args the options above
     * @throws Exception if the cases cannot be computed
     */
    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    static int run(String[] args) throws Exception {
        double seconds = 600, sampleSeconds = 10, warmup = -1;
        int inFlight = 64, maxBatch = 64, maxQueue = 1024;
        long pid = -1, seed = 2026;
        URI url = null;
        Path root = null, out = null;
        String machine = "?", serverFlags = "", command = "ServeSoak";
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--url" -> url = URI.create(value(args, ++i));
                    case "--pid" -> pid = Long.parseLong(value(args, ++i));
                    case "--root" -> root = Path.of(value(args, ++i));
                    case "--minutes" -> seconds = 60 * Double.parseDouble(value(args, ++i));
                    case "--seconds" -> seconds = Double.parseDouble(value(args, ++i));
                    case "--in-flight" -> inFlight = Integer.parseInt(value(args, ++i));
                    case "--max-batch" -> maxBatch = Integer.parseInt(value(args, ++i));
                    case "--max-queue" -> maxQueue = Integer.parseInt(value(args, ++i));
                    case "--sample-seconds" -> sampleSeconds = Double.parseDouble(value(args, ++i));
                    case "--warmup-seconds" -> warmup = Double.parseDouble(value(args, ++i));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i));
                    case "--machine" -> machine = value(args, ++i);
                    case "--server-flags" -> serverFlags = value(args, ++i);
                    case "--out" -> out = Path.of(value(args, ++i));
                    case "--command" -> command = value(args, ++i);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (url == null || pid < 0 || root == null) throw new IllegalArgumentException("--url, --pid and --root are required");
        } catch (IllegalArgumentException e) {
            System.err.println("serve-soak: " + e.getMessage() + " (options: see the class comment of " + ServeSoak.class.getName() + ")");
            return 2;
        }
        if (warmup < 0) warmup = Math.min(60, seconds / 3);
        boolean may503 = inFlight > maxBatch + maxQueue;
        List<String> head = new ArrayList<>();
        head.add("panama-rnn server soak, " + Instant.now());
        head.add("machine: " + machine);
        head.add("server: ServeMain ours (seq2seq, charlm, classifier; continuous batching), max batch " + maxBatch + ", max queue " + maxQueue
                + " per model; JVM " + Runtime.version() + (serverFlags.isEmpty() ? "" : ", " + serverFlags));
        head.add(String.format(Locale.ROOT, "run: %.0f s, %d requests in flight (closed loop, virtual threads, java.net.http), a sample every %.0f s, "
                + "warm-up %.0f s, seed %d; 503 %s", seconds, inFlight, sampleSeconds, warmup, seed,
                may503 ? "allowed (more in flight than a model's threads and queue)" : "not expected (the limits are above the load): counted as failures"));
        head.forEach(System.out::println);

        long c0 = System.nanoTime();
        SoakCases cases = SoakCases.build(root, seed);
        StringBuilder mix = new StringBuilder();
        for (int k = 0; k < SoakCases.KINDS.size(); k++) {
            mix.append(k == 0 ? "" : ", ").append(SoakCases.KINDS.get(k)).append(' ').append(SoakLoad.WEIGHTS[k]).append(" % (")
                    .append(cases.byKind.get(k).size()).append(" distinct)");
        }
        head.add(String.format(Locale.ROOT, "mix: %s; expected answers computed in process in %.1f s", mix, (System.nanoTime() - c0) / 1e9));
        System.out.println(head.getLast());

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        ServerMemory memory = new ServerMemory(pid, jcmd, url, http);
        SoakLoad load = new SoakLoad(http, url, cases, may503);
        List<ServerMemory.Sample> samples = new ArrayList<>();
        boolean baseline = false;
        long t0 = System.nanoTime();
        load.start(inFlight, seed, t0 + (long) (warmup * 1e9), t0 + (long) (seconds * 1e9));
        for (int k = 0; ; k++) {
            double at = Math.min(k * sampleSeconds, seconds);
            long wait = t0 + (long) (at * 1e9) - System.nanoTime();
            if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
            double t = (System.nanoTime() - t0) / 1e9;
            ServerMemory.Sample s = memory.take(t, t < warmup ? "warm-up" : "measured", load.answered());
            if (!baseline && t >= warmup) baseline = memory.jcmd("VM.native_memory", "baseline") != null;
            samples.add(s);
            System.out.printf(Locale.ROOT, "t=%4.0fs %-8s answered %8d  wrong %d  lost %d  RSS %6s  heap live %5s  NMT w/o heap %6s  Other %5s  threads %d%n",
                    t, s.phase(), s.answered(), load.wrong(), load.lost(), Flatness.mib(s.rss()), Flatness.mib(s.heapLive()),
                    Flatness.mib(s.nmtNative()), Flatness.mib(s.nmtOther()), s.threads());
            if (at >= seconds) break;
        }
        String nmtDiff = baseline ? memory.jcmd("VM.native_memory", "summary.diff", "scale=KB") : null;
        boolean stopped = load.join(Duration.ofSeconds(90));
        double elapsed = (System.nanoTime() - t0) / 1e9;
        SoakLoad.ServerCounts server = load.serverCounts();
        ServerMemory.Sample idle = memory.take(elapsed, "after the load", load.answered());
        samples.add(idle);

        List<Flatness.Row> rows = ServerMemory.judge(samples.stream().filter(s -> !s.phase().equals("after the load")).toList(), warmup);
        List<String> why = new ArrayList<>();
        if (!stopped) why.add("requests still unanswered 90 s after the end");
        if (load.sent() != load.answered() + load.lost()) why.add(load.sent() + " sent but " + load.answered() + " answered and " + load.lost() + " lost");
        if (load.lost() > 0) why.add(load.lost() + " request(s) lost (no response)");
        if (load.wrong() > 0) why.add(load.wrong() + " wrong answer(s)");
        if (load.unexpected() > 0) why.add(load.unexpected() + " unexpected status(es)");
        if (server.requests() != load.sent()) why.add("the server counted " + server.requests() + " requests, the client sent " + load.sent());
        if (server.inFlight() != 0 || server.queued() != 0) why.add("after the load the server still holds " + server.inFlight() + " in flight, " + server.queued() + " queued");
        if (rows.size() < ServerMemory.CHECKS.size()) why.add("memory not measured (fewer than two samples after the warm-up, or a figure unreadable: NMT on?)");
        for (Flatness.Row r : rows) {
            if (!r.ok()) why.add(r.check().name() + " grew by " + Flatness.mib(r.end() - r.warm()) + " MiB (limit " + Flatness.mib(r.limit()) + " MiB)");
        }
        String verdict = why.isEmpty() ? "PASS: every request answered and right, no unexpected status, memory flat after the warm-up"
                : "FAIL: " + String.join("; ", why);

        StringBuilder md = new StringBuilder("# Server soak\n\n`").append(command).append("`\n\n");
        for (String h : head) md.append("- ").append(h).append('\n');
        md.append("\n**").append(verdict).append("**\n\n");
        md.append(String.format(Locale.ROOT, "## Requests\n\n%d sent, %d answered, %d lost in %.0f s: %.0f req/s (%.0f req/s after the warm-up). "
                + "The server counted %d (`panama_requests_total`), rejected %d (`panama_rejected_total`), timed out %d; after the load: %d in flight, %d queued.%n%n",
                load.sent(), load.answered(), load.lost(), elapsed, load.answered() / elapsed, postWarmupRate(samples, warmup), server.requests(), server.rejected(),
                server.timedOut(), server.inFlight(), server.queued()));
        md.append(load.table()).append('\n');
        md.append("Right: status 200 and the expected answer (text exact; classify: labels exact, logits and probability within ")
                .append(SoakCases.LOGIT_TOLERANCE).append("; streamed: every line a token, the tokens adding up to the final text).\n\n");
        md.append("## Memory\n\n").append(ServerMemory.table(rows)).append('\n');
        md.append("Growth limit: ").append((int) Flatness.GROWTH_PCT).append(" % of the after-warm-up level or the floor, whichever is larger; "
                + "after warm-up = median of the first three samples after the warm-up, end = median of the last three (the idle sample after the load "
                + "is not judged). Each sample: `jcmd PID GC.run` and `VM.native_memory summary` (one full GC every sample, under load), "
                + "then /proc/PID/status and /metrics.\n\n");
        md.append("## Samples (MiB)\n\n").append(ServerMemory.samples(samples));
        if (!load.failures().isEmpty()) {
            md.append("\n## Failures (first ").append(load.failures().size()).append(")\n\n```\n");
            load.failures().forEach(f -> md.append(f).append('\n'));
            md.append("```\n");
        }
        System.out.println();
        System.out.println(md);
        if (nmtDiff != null) System.out.println("Server's NMT summary.diff, end of the load against the end of the warm-up:\n" + nmtDiff);
        if (out != null) {
            Files.writeString(out, md);
            System.out.println("wrote " + out);
        }
        System.out.println(verdict);
        return why.isEmpty() ? 0 : 1;
    }

    private static double postWarmupRate(List<ServerMemory.Sample> samples, double warmup) {
        List<ServerMemory.Sample> post = samples.stream().filter(s -> s.seconds() >= warmup && !s.phase().equals("after the load")).toList();
        if (post.size() < 2) return Double.NaN;
        ServerMemory.Sample a = post.getFirst(), b = post.getLast();
        return (b.answered() - a.answered()) / (b.seconds() - a.seconds());
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }
}
