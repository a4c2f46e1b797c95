package dev.panamarnn.bench.soak;

import dev.panamarnn.Backend;
import dev.panamarnn.Platform;
import dev.panamarnn.openblas.OpenBlas;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The memory soak: for a given time, worker threads make mixed calls on the public API
 * ({@link Workload}, {@link Rejections}) while a loader thread loads and closes models ({@link Loader}),
 * on every backend at once. Every few seconds the callers pause between calls and the memory is sampled
 * ({@link MemorySample}); at the end
 * the report ({@link SoakReport}) says whether heap, RSS and native memory stayed flat after the
 * warm-up, and whether closing everything returned the library's native memory. Exit status 0 when
 * flat and no call failed unexpectedly, 1 otherwise, 2 for a bad command line.
 *
 * <p>Run it with {@code scripts/soak}, which starts the JVM with Native Memory Tracking, a fixed heap
 * ({@code -Xms = -Xmx}) touched at start-up (so the heap's pages are resident from the first sample and
 * RSS moves only with native memory), and OpenBLAS at one thread.
 *
 * <p>Usage: {@code Soak [--minutes M | --seconds S] [--threads N] [--sample-seconds S] [--warmup-seconds S]
 * [--models DIR] [--backends a,b] [--seed N] [--out FILE.md] [--command TEXT]}
 */
public final class Soak {
    private Soak() {}

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    static int run(String[] args) throws Exception {
        double seconds = 600, sampleSeconds = -1, warmup = -1;
        int threads = 4;
        long seed = 2026;
        Path models = null, out = null;
        String command = "Soak", backendNames = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--minutes" -> seconds = 60 * Double.parseDouble(value(args, ++i));
                    case "--seconds" -> seconds = Double.parseDouble(value(args, ++i));
                    case "--threads" -> threads = Integer.parseInt(value(args, ++i));
                    case "--sample-seconds" -> sampleSeconds = Double.parseDouble(value(args, ++i));
                    case "--warmup-seconds" -> warmup = Double.parseDouble(value(args, ++i));
                    case "--models" -> models = Path.of(value(args, ++i));
                    case "--backends" -> backendNames = value(args, ++i);
                    case "--seed" -> seed = Long.parseLong(value(args, ++i));
                    case "--out" -> out = Path.of(value(args, ++i));
                    case "--command" -> command = value(args, ++i);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
        } catch (IllegalArgumentException e) { // NumberFormatException too
            System.err.println("soak: " + e.getMessage() + " (options: see the class comment of " + Soak.class.getName() + ")");
            return 2;
        }
        if (sampleSeconds <= 0) sampleSeconds = seconds >= 300 ? 10 : 5;
        if (warmup < 0) warmup = Math.min(60, seconds / 3);
        if (models == null) models = defaultModels();
        List<Backend> backends = new ArrayList<>();
        if (backendNames == null) {
            // Every backend that can run here but the scalar reference, which is only there to check the others.
            for (Backend.Status s : Backend.list()) if (s.available() && !s.name().equals("scalar")) backends.add(Backend.get(s.name()));
        } else {
            for (String n : backendNames.split(",")) backends.add(Backend.get(n.trim()));
        }

        List<String> head = new ArrayList<>();
        head.add("panama-rnn memory soak, " + Instant.now());
        head.add("machine: " + Platform.summary());
        head.add("JVM: " + Runtime.version() + ", " + String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        head.add("glibc malloc arenas: " + (System.getenv("MALLOC_ARENA_MAX") != null ? "MALLOC_ARENA_MAX=" + System.getenv("MALLOC_ARENA_MAX")
                : "glibc's default (8 per core)"));
        head.add("backends: " + backends.stream().map(Backend::name).toList() + (OpenBlas.isAvailable() ? "; OpenBLAS " + OpenBlas.describe() : ""));
        head.add(String.format(Locale.ROOT, "run: %.0f s, %d worker threads and a loader thread, a sample every %.0f s, warm-up %.0f s, seed %d",
                seconds, threads, sampleSeconds, warmup, seed));
        head.forEach(System.out::println);
        if (MemorySample.nmtSummary() == null) System.out.println("WARNING: Native Memory Tracking is off: run with -XX:NativeMemoryTracking=summary");

        Tally tally = new Tally();
        List<MemorySample> samples = new ArrayList<>();
        MemorySample before, afterClose, afterTrim;
        String nmtDiff;
        try (Fixtures fx = Fixtures.create(models, seed)) {
            before = MemorySample.take(0, "before loading", 0, 0);
            print(before);
            Shared shared = new Shared(fx, backends);
            SplittableRandom rnd = new SplittableRandom(seed);
            List<Workload> workloads = new ArrayList<>();
            List<Thread> running = new ArrayList<>();
            Gate gate = new Gate();
            for (int i = 0; i < threads; i++) {
                Workload w = new Workload(shared, fx, tally, rnd.split());
                workloads.add(w);
                running.add(start("soak-worker-" + i, gate, tally, w::next));
            }
            Loader loader = new Loader(shared, fx, tally, rnd.split());
            running.add(start("soak-loader", gate, tally, loader::next));

            long t0 = System.nanoTime();
            boolean baseline = false;
            for (int k = 0; ; k++) {
                double at = Math.min(k * sampleSeconds, seconds);
                long wait = t0 + (long) (at * 1e9) - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                boolean paused = gate.pause();
                if (!paused) tally.unexpected("callers did not pause within 120 s (a hang or a deadlock?)", null);
                MemorySample s;
                try {
                    double t = (System.nanoTime() - t0) / 1e9;
                    long ws = workloads.stream().mapToLong(w -> w.workspace.byteSize()).sum();
                    s = MemorySample.take(t, t < warmup ? "warm-up" : "measured", tally.total(), ws);
                    if (!baseline && t >= warmup) baseline = MemorySample.diagnostic("baseline") != null;
                } finally {
                    if (paused) gate.resume();
                }
                samples.add(s);
                print(s);
                if (at >= seconds) break;
            }
            nmtDiff = MemorySample.diagnostic("summary.diff", "scale=KB");
            gate.stop();
            for (Thread th : running) {
                th.join(TimeUnit.SECONDS.toMillis(120));
                if (th.isAlive()) tally.unexpected(th.getName() + " did not stop within 120 s (a hang or a deadlock)", stackOf(th));
            }
            for (Workload w : workloads) w.close();
            shared.close();
            // Per-thread scratch of ended threads is freed by the GC's cleaners: give them a moment.
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(500);
            }
            afterClose = MemorySample.take((System.nanoTime() - t0) / 1e9, "after closing everything", tally.total(), 0);
            print(afterClose);
            // What RSS keeps beyond that is glibc's free chunks: trimming gives them back.
            afterTrim = Glibc.trim() ? MemorySample.take((System.nanoTime() - t0) / 1e9, "after malloc_trim(0)", tally.total(), 0) : null;
            if (afterTrim != null) print(afterTrim);
        }

        SoakReport report = new SoakReport(samples, before, afterClose, afterTrim, warmup);
        String verdict = report.verdictLine(tally.unexpectedCount());
        StringBuilder md = new StringBuilder("# Memory soak\n\n");
        md.append("`").append(command).append("`\n\n");
        for (String h : head) md.append("- ").append(h).append('\n');
        md.append("\n**").append(verdict).append("**\n\n");
        md.append(report.verdictTable()).append('\n');
        md.append("Growth limit: ").append((int) Flatness.GROWTH_PCT).append(" % of the after-warm-up level or the floor in the limit column, "
                + "whichever is larger; after warm-up = median of the first three samples after the warm-up, end = median of the last three.\n\n");
        md.append("## Calls (").append(tally.total()).append(" in all, ").append(tally.unexpectedCount()).append(" unexpected exceptions)\n\n");
        md.append(SoakReport.callsTable(tally.snapshot())).append('\n');
        double every = seconds >= 300 ? 60 : 0;
        md.append("## Samples (MiB").append(every > 0 ? "; one a minute; every sample is in the log, one line each" : "")
                .append("; taken with the callers paused between calls; heap used after System.gc(); NMT committed)\n\n")
                .append(report.samplesTable(every));
        if (!tally.failures().isEmpty()) {
            md.append("\n## Unexpected exceptions (first ").append(tally.failures().size()).append(")\n\n```\n");
            tally.failures().forEach(md::append);
            md.append("```\n");
        }
        System.out.println();
        System.out.println(md);
        if (nmtDiff != null) System.out.println("NMT summary.diff, end of run against the end of the warm-up:\n" + nmtDiff);
        if (out != null) {
            Files.writeString(out, md);
            System.out.println("wrote " + out);
        }
        System.out.println(verdict);
        return report.flat() && tally.unexpectedCount() == 0 ? 0 : 1;
    }

    interface Step {
        void run() throws Exception;
    }

    /**
     * Lets the sampler pause the callers between calls: each call holds the read side; a sample takes
     * the write side (fair, so it waits only for the calls running), so memory is measured at rest,
     * without the scratch of calls in flight, which would only add noise.
     */
    static final class Gate {
        private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock(true);
        private volatile boolean stopped;

        /** False when the calls running did not end within two minutes. */
        boolean pause() throws InterruptedException {
            return lock.writeLock().tryLock(120, TimeUnit.SECONDS);
        }

        void resume() {
            lock.writeLock().unlock();
        }

        void stop() {
            stopped = true;
        }
    }

    private static Thread start(String name, Gate gate, Tally tally, Step step) {
        Thread t = new Thread(() -> {
            while (!gate.stopped) {
                gate.lock.readLock().lock();
                try {
                    step.run();
                } catch (Throwable e) {
                    tally.unexpected(name, e);
                } finally {
                    gate.lock.readLock().unlock();
                }
            }
        }, name);
        t.start();
        return t;
    }

    private static Throwable stackOf(Thread t) {
        Throwable e = new Throwable("stack of " + t.getName());
        e.setStackTrace(t.getStackTrace());
        return e;
    }

    private static void print(MemorySample s) {
        System.out.printf(Locale.ROOT, "t=%5.0fs %-24s calls %8d  heap %5s  RSS %5s (anon %5s, file %4s, %d maps)  NMT %5s  Other %5s (%d blocks)  glibc %5s (free %5s)  threads %d%n",
                s.seconds(), s.phase(), s.calls(), Flatness.mib(s.heapUsed()), Flatness.mib(s.rss()), Flatness.mib(s.rssAnon()),
                Flatness.mib(s.rssFile()), s.mappings(), Flatness.mib(s.nmtCommitted()), Flatness.mib(s.nmtOther()), s.otherCount(),
                Flatness.mib(s.glibcSystem()), Flatness.mib(s.glibcFree()), s.threads());
        System.out.flush();
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }

    /** models/ of the checkout: PANAMA_RNN_ROOT, else found from the working directory upwards. */
    private static Path defaultModels() throws IOException {
        String env = System.getenv("PANAMA_RNN_ROOT");
        if (env != null && Files.isDirectory(Path.of(env, "models"))) return Path.of(env, "models");
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models/classifier/model.json"))) return p.resolve("models");
        }
        throw new IOException("cannot find the example models (models/ of the checkout); pass --models DIR");
    }
}
