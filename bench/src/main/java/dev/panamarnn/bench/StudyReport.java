package dev.panamarnn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panamarnn.Platform;
import dev.panamarnn.openblas.OpenBlas;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The layer study's report, from one run of {@code scripts/bench layers}: JMH JSON files of
 * {@link LayerBenchmark}, {@link OrtBenchmark} and {@link CeilingBenchmark}, PyTorch's timings
 * ({@code bench/models/torch-timings.json}) and the difference files the benchmarks wrote in set-up.
 * Writes {@code layers-<stamp>.md} (table: config × threads), {@code layers-<stamp>.png} (chart, see
 * {@link StudyChart}) and {@code summary.json} into the output folder. All times are medians: JMH's
 * {@code scorePercentiles["50.0"]} over the measurement iterations, PyTorch's median of iteration means.
 *
 * <p>Usage: {@code StudyReport --out DIR --stamp STAMP --torch FILE --diffs DIR [--command TEXT] JMH.json...}
 */
public final class StudyReport {
    /** One JMH result: median in ms per call, error in % of the score, heap bytes per call (NaN if not profiled). */
    record Jmh(String bench, Map<String, String> params, double ms, double errorPct, double allocBytes) {
        String param(String k) {
            return params.getOrDefault(k, "");
        }
    }

    /** One table row; absent figures are NaN and absent names null. */
    record Row(StudyConfig config, int threads, Jmh auto, Jmh openblas, Jmh simd, Jmh ort, Jmh onnx, double torchMs, String torchPolicy,
               double ceilingGflops, double stepGflops, double oursDiff, double ortDiff, double torchDiff, double onnxDiff) {
        /** Our fastest: the default backend as tuned ({@code auto}), openblas or simd. */
        Jmh ours() {
            Jmh best = null;
            for (Jmh j : new Jmh[] {auto, openblas, simd}) if (j != null && (best == null || j.ms < best.ms)) best = j;
            return best;
        }

        /** Whether {@code j} is our fastest and there was another of ours to beat. */
        boolean oursAmong(Jmh j) {
            int n = (auto != null ? 1 : 0) + (openblas != null ? 1 : 0) + (simd != null ? 1 : 0);
            return j != null && j == ours() && n > 1;
        }

        String oursBackend() {
            Jmh o = ours();
            return o == null ? null : o.param("backend");
        }

        double oursMs() {
            return ours() == null ? Double.NaN : ours().ms;
        }

        double ortMs() {
            return ort == null ? Double.NaN : ort.ms;
        }

        double gflops() {
            return config.flops() / (oursMs() * 1e6);
        }

        /** The faster peer's name and time, or null. */
        Map.Entry<String, Double> bestPeer() {
            if (Double.isNaN(ortMs()) && Double.isNaN(torchMs)) return null;
            if (Double.isNaN(torchMs) || ortMs() <= torchMs) return Map.entry("ORT", ortMs());
            return Map.entry("PyTorch", torchMs);
        }
    }

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, String> opt = new TreeMap<>();
        List<Path> jsons = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--") && i + 1 < args.length) opt.put(args[i].substring(2), args[++i]);
            else jsons.add(Path.of(args[i]));
        }
        if (jsons.isEmpty() || !opt.containsKey("stamp")) {
            System.err.println("usage: StudyReport --stamp STAMP [--out bench/results] [--torch bench/models/torch-timings.json]"
                    + " [--diffs bench/results/tmp] [--command TEXT] JMH.json...");
            System.exit(2);
        }
        Path out = Path.of(opt.getOrDefault("out", "bench/results"));
        Path torchFile = Path.of(opt.getOrDefault("torch", "bench/models/torch-timings.json"));
        Path diffs = Path.of(opt.getOrDefault("diffs", "bench/results/tmp"));
        String stamp = opt.get("stamp");

        ObjectMapper json = new ObjectMapper();
        List<Jmh> results = new ArrayList<>();
        JsonNode firstRun = null;
        List<Server> servers = new ArrayList<>();
        for (Path p : jsons) {
            JsonNode root = json.readTree(p.toFile());
            for (JsonNode n : root) {
                if (n.path("benchmark").asText().endsWith("ServerBenchmark.request")) {
                    servers.add(server(n));
                    continue;
                }
                if (firstRun == null) firstRun = n;
                results.add(jmh(n));
            }
        }
        JsonNode torch = Files.exists(torchFile) ? json.readTree(torchFile.toFile()) : null;
        List<Row> rows = rows(results, torch, diffs);

        Files.createDirectories(out);
        Path md = out.resolve("layers-" + stamp + ".md"), png = out.resolve("layers-" + stamp + ".png");
        String text = markdown(rows, results, torch, firstRun, opt.getOrDefault("command", "scripts/bench layers"), png.getFileName().toString())
                + targetsMarkdown(rows, results) + serverMarkdown(servers);
        Files.writeString(md, text);
        ArrayNode summary = summary(json, rows);
        serverSummary(summary, servers);
        Files.writeString(out.resolve("summary.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        StudyChart.write(rows, png, "panama-rnn layer study " + stamp);
        System.out.print(text);
        System.err.println("panama-rnn: wrote " + md + ", " + png + ", " + out.resolve("summary.json"));
    }

    static Jmh jmh(JsonNode n) {
        Map<String, String> params = new TreeMap<>();
        n.path("params").fields().forEachRemaining(f -> params.put(f.getKey(), f.getValue().asText()));
        JsonNode pm = n.path("primaryMetric");
        double toMs = switch (pm.path("scoreUnit").asText()) {
            case "s/op" -> 1e3;
            case "ms/op" -> 1;
            case "us/op" -> 1e-3;
            case "ns/op" -> 1e-6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + pm.path("scoreUnit").asText() + " (expected time per op)");
        };
        double score = pm.path("score").asDouble();
        double median = pm.path("scorePercentiles").path("50.0").asDouble(score);
        JsonNode sec = n.path("secondaryMetrics"); // JMH 1.37 says "gc.alloc.rate.norm", older ones "·gc.alloc.rate.norm"
        JsonNode alloc = (sec.has("gc.alloc.rate.norm") ? sec.path("gc.alloc.rate.norm") : sec.path("·gc.alloc.rate.norm")).path("score");
        String bench = n.path("benchmark").asText();
        return new Jmh(bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1), params, median * toMs,
                100 * pm.path("scoreError").asDouble(Double.NaN) / score, alloc.isMissingNode() ? Double.NaN : alloc.asDouble());
    }

    private static List<Row> rows(List<Jmh> results, JsonNode torch, Path diffs) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (StudyConfig c : StudyConfig.values()) {
            for (int t = 1; t <= 16; t++) {
                final int th = t;
                Jmh au = find(results, "LayerBenchmark.forward", c, th, "auto");
                Jmh ob = find(results, "LayerBenchmark.forward", c, th, "openblas");
                Jmh sd = find(results, "LayerBenchmark.forward", c, th, "simd");
                Jmh ort = find(results, "OrtBenchmark.run", c, th, null);
                Jmh onnx = find(results, "OnnxModelBenchmark.run", c, th, null);
                JsonNode tr = null;
                if (torch != null) {
                    for (JsonNode r : torch.path("results")) {
                        if (r.path("config").asText().equals(c.name()) && r.path("threads").asInt() == th) tr = r;
                    }
                }
                if (au == null && ob == null && sd == null && ort == null && onnx == null && tr == null) continue;
                Row probe = new Row(c, th, au, ob, sd, null, null, 0, null, 0, 0, 0, 0, 0, 0);
                String oursBackend = probe.oursBackend();
                rows.add(new Row(c, th, au, ob, sd, ort, onnx, tr == null ? Double.NaN : tr.path("median_ms").asDouble(),
                        tr == null ? null : tr.path("omp_wait_policy").asText(null),
                        ceiling(results, "2048x2048x2048:NN", th), ceiling(results, c.stepShape(), th),
                        oursBackend == null ? Double.NaN : diff(diffs, c, oursBackend, th), diff(diffs, c, "ort", th),
                        tr == null ? Double.NaN : tr.path("max_abs_diff").asDouble(Double.NaN), diff(diffs, c, "onnx", th)));
            }
        }
        return rows;
    }

    /** The matching result; where several ways of using the threads were measured (split = blas, team), the fastest. */
    private static Jmh find(List<Jmh> results, String bench, StudyConfig c, int threads, String backend) {
        Jmh found = null;
        for (Jmh r : results) {
            if (r.bench.equals(bench) && r.param("config").equals(c.name()) && r.param("threads").equals(Integer.toString(threads))
                    && (backend == null || r.param("backend").equals(backend)) && (found == null || r.ms < found.ms)) found = r;
        }
        return found;
    }

    /** GFLOP/s of plain cblas_sgemm at that shape and thread count, or NaN. */
    private static double ceiling(List<Jmh> results, String shape, int threads) {
        for (Jmh r : results) {
            if (r.bench.equals("CeilingBenchmark.gemm") && r.param("shape").equals(shape) && r.param("threads").equals(Integer.toString(threads))) {
                String[] d = shape.split(":")[0].split("x");
                return 2.0 * Double.parseDouble(d[0]) * Double.parseDouble(d[1]) * Double.parseDouble(d[2]) / (r.ms * 1e6);
            }
        }
        return Double.NaN;
    }

    private static double diff(Path dir, StudyConfig c, String system, int threads) throws IOException {
        Path f = dir.resolve("diff-" + c + "-" + system + "-t" + threads + ".txt");
        return Files.exists(f) ? Double.parseDouble(Files.readString(f).trim()) : Double.NaN;
    }

    private static String markdown(List<Row> rows, List<Jmh> results, JsonNode torch, JsonNode run, String command, String png) {
        StringBuilder s = new StringBuilder();
        s.append("# panama-rnn layer study\n\n");
        s.append("Command: `").append(command).append("`  \n");
        s.append("Platform: ").append(Platform.summary()).append("  \n");
        s.append("OpenBLAS: ").append(OpenBlas.isAvailable() ? OpenBlas.describe() : "not available").append("  \n");
        s.append("ONNX Runtime (Java API): ").append(ortVersion()).append("; PyTorch: ")
                .append(torch == null ? "not measured" : torch.path("torch").asText()).append("  \n");
        if (run != null) {
            s.append(String.format(Locale.ROOT, "JMH: %s forks, %s × %s warm-up, %s × %s measurement (first run; the script sizes iterations per config); JDK %s%n%n",
                    run.path("forks").asText(), run.path("warmupIterations").asText(), run.path("warmupTime").asText(),
                    run.path("measurementIterations").asText(), run.path("measurementTime").asText(), run.path("jdkVersion").asText()));
        }
        s.append("| config | threads | ours: auto ms | ours: openblas ms | ours: simd ms | ORT ms | PyTorch ms | best peer ÷ ours | our GFLOP/s | % of sgemm 2048³ | sgemm at step shape, GFLOP/s | max abs diff ours / ORT / PyTorch | heap B/op ours / ORT |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
        for (Row r : rows) {
            var peer = r.bestPeer();
            s.append("| ").append(r.config).append(" | ").append(r.threads)
                    .append(" | ").append(ms(r.auto, r.oursAmong(r.auto)))
                    .append(" | ").append(ms(r.openblas, r.oursAmong(r.openblas)))
                    .append(" | ").append(ms(r.simd, r.oursAmong(r.simd)))
                    .append(" | ").append(ms(r.ort, false))
                    .append(" | ").append(fmt(r.torchMs)).append(r.torchPolicy != null && r.torchPolicy.equals("PASSIVE") ? "ᵖ" : "")
                    .append(" | ").append(peer == null || Double.isNaN(r.oursMs()) ? "–"
                            : String.format(Locale.ROOT, "%.2f× (%s)", peer.getValue() / r.oursMs(), peer.getKey()))
                    .append(" | ").append(fmt(r.gflops()))
                    .append(" | ").append(Double.isNaN(r.gflops() / r.ceilingGflops) ? "–" : String.format(Locale.ROOT, "%.0f %%", 100 * r.gflops() / r.ceilingGflops))
                    .append(" | ").append(fmt(r.stepGflops))
                    .append(" | ").append(sci(r.oursDiff)).append(" / ").append(sci(r.ortDiff)).append(" / ").append(sci(r.torchDiff))
                    .append(" | ").append(bytes(r.ours())).append(" / ").append(bytes(r.ort))
                    .append(" |\n");
        }
        s.append("\n| threads | sgemm 2048³ GFLOP/s |\n|---:|---:|\n");
        for (Jmh r : results) {
            if (r.bench.equals("CeilingBenchmark.gemm") && r.param("shape").startsWith("2048x")) {
                s.append("| ").append(r.param("threads")).append(" | ").append(fmt(2.0 * 2048 * 2048 * 2048 / (r.ms * 1e6))).append(" |\n");
            }
        }
        s.append("""

                - Times are medians per forward call (JMH AverageTime, median over measurement iterations; PyTorch:
                  median of 10 iteration means), with JMH's 99.9 % error in % of the score (⚠: 3 % or more, too noisy
                  to quote). **Bold**: our fastest. "auto" is the default backend as `panama-rnn tune` measured this
                  machine (products routed per step shape, fused steps where they won); "openblas" and "simd" are
                  those backends chosen by name, with their own fixed policies.
                  "best peer ÷ ours" > 1 means we are faster. GFLOP/s use BENCHMARKS.md's FLOP count; the ceiling is plain
                  `cblas_sgemm` at 2048³ at the same thread count, measured in the same run.
                - Threads. THREADS_NOTE The scalar backend is left out (seconds to minutes per call at these sizes). ORT: `intra_op_num_threads` = threads, `inter_op_num_threads` = 1, sequential
                  execution, optimisation level ALL. PyTorch: `torch.set_num_threads(n)`, `OMP_NUM_THREADS` =
                  `OPENBLAS_NUM_THREADS` = n, `torch.inference_mode()`; above 1 thread the faster of `OMP_WAIT_POLICY`
                  default and PASSIVE is kept (ᵖ: PASSIVE was faster).
                - max abs diff: of `output` against PyTorch's at 1 thread (ours and ORT once in JMH set-up; PyTorch at the
                  row's thread count). heap B/op: JMH `-prof gc` `gc.alloc.rate.norm`; ours writes into buffers allocated once.
                """);
        boolean team = results.stream().anyMatch(r -> "team".equals(r.param("split")));
        String note = team
                ? "Ours at 2 threads is measured two ways and the faster is shown: OpenBLAS's own 2 threads\n"
                  + "  (`openblas_set_num_threads`), or ᵗ our two threads (`panama.rnn.threads=2`: projection split by rows,\n"
                  + "  directions one per thread, steps split by hidden units) with OpenBLAS at 1 thread; the simd backend has\n"
                  + "  only the latter."
                : "Ours: `threads` = OpenBLAS threads (`openblas_set_num_threads`); the simd backend ran at 1 thread only.";
        int at = s.indexOf("THREADS_NOTE");
        if (at >= 0) s.replace(at, at + "THREADS_NOTE".length(), note);
        s.append("\n![chart](").append(png).append(")\n");
        s.append(onnxMarkdown(rows));
        return s.toString();
    }

    /** The same .onnx file run by ONNX Runtime and by us ({@link OnnxModelBenchmark}), when measured. */
    static String onnxMarkdown(List<Row> rows) {
        if (rows.stream().noneMatch(r -> r.onnx != null)) return "";
        StringBuilder s = new StringBuilder("""

                ## The same .onnx file: ours against ONNX Runtime

                `bench/models/<config>.onnx` (PyTorch's export, native recurrent operators) loaded by `OnnxModel` on the
                default backend as tuned, and by ONNX Runtime, each call returning the graph's outputs. ᵗ: our two threads
                with OpenBLAS at 1, else OpenBLAS's. "ours, layer" is the fastest of the table above: the difference is
                the graph around the layer (its plumbing per call, copies into ONNX's layout).

                | config | threads | ours on the .onnx ms | ORT ms | ORT ÷ ours | ours, layer ms | max abs diff to PyTorch |
                |---|---:|---:|---:|---:|---:|---|
                """);
        for (Row r : rows) {
            if (r.onnx == null) continue;
            s.append("| ").append(r.config).append(" | ").append(r.threads)
                    .append(" | ").append(ms(r.onnx, false)).append(r.onnx.param("split").equals("team") ? "ᵗ" : "")
                    .append(" | ").append(ms(r.ort, false))
                    .append(" | ").append(Double.isNaN(r.ortMs()) ? "–" : String.format(Locale.ROOT, "%.2f×", r.ortMs() / r.onnx.ms))
                    .append(" | ").append(fmt(r.oursMs()))
                    .append(" | ").append(sci(r.onnxDiff)).append(" |\n");
        }
        return s.toString();
    }

    /**
     * What each target asks of this run's figures: the time it needs, that time as GFLOP/s and as a share of
     * the 2048³ ceiling, and the <em>BLAS estimate</em>: the call's products alone on OpenBLAS at this run's
     * rates (projection at the 2048³ rate, each step at the faster of sgemm and, for batch 1, sgemv at the
     * step shape; at 2 threads also the 1-thread rate on each core), gates, copies and barriers free. It is
     * optimistic; a target below it needs products faster than OpenBLAS's own at these shapes.
     */
    private static String targetsMarkdown(List<Row> rows, List<Jmh> results) {
        StringBuilder s = new StringBuilder("""

                ## What the targets need

                Target time: faster than the best peer and, for L1, G1 and R1, 1.4× it; for L2 and L3, 90 % of the sgemm
                2048³ ceiling (and faster than the best peer). *BLAS estimate*: the call's products alone at this run's
                OpenBLAS rates (projection at the 2048³ rate; each of the T·layers·directions steps at the faster of
                `cblas_sgemm` and, for batch 1, `cblas_sgemv` at the step shape; at 2 threads also half the 1-thread
                step time), with gates, copies and barriers free: optimistic. A target below it asks for products
                faster than OpenBLAS's own at these shapes.

                | config | threads | best peer ms | target ms | target GFLOP/s | target, % of sgemm 2048³ | BLAS estimate ms | ours ms | met |
                |---|---:|---:|---:|---:|---:|---:|---:|---|
                """);
        for (Row r : rows) {
            var peer = r.bestPeer();
            if (peer == null || Double.isNaN(r.oursMs())) continue;
            StudyConfig c = r.config;
            double target = peer.getValue();
            String kind = "peer";
            if (c == StudyConfig.L1 || c == StudyConfig.G1 || c == StudyConfig.R1) {
                target = peer.getValue() / 1.4;
                kind = "1.4× peer";
            } else if (!Double.isNaN(r.ceilingGflops)) {
                double ceilingMs = c.flops() / (0.90 * r.ceilingGflops * 1e6);
                if (ceilingMs < target) {
                    target = ceilingMs;
                    kind = "90 %";
                }
            }
            double targetGflops = c.flops() / (target * 1e6);
            s.append("| ").append(c).append(" | ").append(r.threads)
                    .append(" | ").append(fmt(peer.getValue())).append(" (").append(peer.getKey()).append(")")
                    .append(" | ").append(fmt(target)).append(" (").append(kind).append(")")
                    .append(" | ").append(fmt(targetGflops))
                    .append(" | ").append(Double.isNaN(r.ceilingGflops) ? "–" : String.format(Locale.ROOT, "%.0f %%", 100 * targetGflops / r.ceilingGflops))
                    .append(" | ").append(fmt(blasEstimateMs(r, results)))
                    .append(" | ").append(fmt(r.oursMs()))
                    .append(" | ").append(r.oursMs() <= target ? "yes" : String.format(Locale.ROOT, "no (%.2f× short)", r.oursMs() / target))
                    .append(" |\n");
        }
        return s.toString();
    }

    /** The BLAS estimate in ms (see {@link #targetsMarkdown}), or NaN when a figure is missing. */
    static double blasEstimateMs(Row r, List<Jmh> results) {
        StudyConfig c = r.config;
        String gemv = c.batch == 1 ? c.stepShape().replace(":NT", ":GEMV") : null;
        double stepFlops = 2.0 * c.batch * c.mode.gates() * c.hiddenSize * c.hiddenSize;
        double stepMs = stepMs(results, c.stepShape(), gemv, r.threads, stepFlops);
        if (r.threads > 1) stepMs = Math.min(stepMs, stepMs(results, c.stepShape(), gemv, 1, stepFlops) / r.threads);
        return c.projectionFlops() / (r.ceilingGflops * 1e6) + c.stepCount() * stepMs;
    }

    private static double stepMs(List<Jmh> results, String shape, String gemv, int threads, double flops) {
        double best = ceiling(results, shape, threads);
        if (gemv != null) {
            double g = ceiling(results, gemv, threads);
            if (!Double.isNaN(g) && (Double.isNaN(best) || g > best)) best = g;
        }
        return flops / (best * 1e6);
    }

    /** One S1 measurement: N caller threads, one system; latencies per request in ms. */
    record Server(String system, int threads, double meanMs, double p50Ms, double p99Ms, double errorPct) {
        double perSecond() {
            return threads * 1000 / meanMs;
        }
    }

    static Server server(JsonNode n) {
        JsonNode pm = n.path("primaryMetric");
        double toMs = switch (pm.path("scoreUnit").asText()) {
            case "ms/op" -> 1;
            case "us/op" -> 1e-3;
            case "ns/op" -> 1e-6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + pm.path("scoreUnit").asText());
        };
        double mean = pm.path("score").asDouble();
        return new Server(n.path("params").path("system").asText(), n.path("threads").asInt(), mean * toMs,
                pm.path("scorePercentiles").path("50.0").asDouble() * toMs, pm.path("scorePercentiles").path("99.0").asDouble() * toMs,
                100 * pm.path("scoreError").asDouble(Double.NaN) / mean);
    }

    private static Server server(List<Server> list, String system, int threads) {
        for (Server s : list) if (s.system.equals(system) && s.threads == threads) return s;
        return null;
    }

    private static String serverMarkdown(List<Server> servers) {
        if (servers.isEmpty()) return "";
        StringBuilder s = new StringBuilder("""

                ## S1: server scenario

                One shared LSTM (I = H = 512), N caller threads, each request one sequence of a length uniform in 10..100
                (seeded), one compute thread per caller (ours: OpenBLAS at 1 thread; ORT: intra-op 1). Ours: each request its
                own batch-1 forward pass; batched: the same layer behind a `BatchingExecutor` (requests share each step's
                W_hh product). JMH sample mode; sequences/s = N / mean latency.

                | callers N | ours seq/s | batched seq/s | ORT seq/s | ours ÷ ORT | batched ÷ ORT | ours p50 / p99 ms | batched p50 / p99 ms | ORT p50 / p99 ms |
                |---:|---:|---:|---:|---:|---:|---|---|---|
                """);
        for (int n = 1; n <= 64; n++) {
            Server o = server(servers, "ours", n), b = server(servers, "batched", n), r = server(servers, "ort", n);
            if (o == null && b == null && r == null) continue;
            s.append("| ").append(n)
                    .append(" | ").append(o == null ? "–" : fmt(o.perSecond()))
                    .append(" | ").append(b == null ? "–" : fmt(b.perSecond()))
                    .append(" | ").append(r == null ? "–" : fmt(r.perSecond()))
                    .append(" | ").append(ratio(o, r))
                    .append(" | ").append(ratio(b, r))
                    .append(" | ").append(latencies(o))
                    .append(" | ").append(latencies(b))
                    .append(" | ").append(latencies(r))
                    .append(" |\n");
        }
        return s.toString();
    }

    private static String ratio(Server a, Server b) {
        return a == null || b == null ? "–" : String.format(Locale.ROOT, "%.2f×", a.perSecond() / b.perSecond());
    }

    private static String latencies(Server s) {
        return s == null ? "–" : fmt(s.p50Ms) + " / " + fmt(s.p99Ms);
    }

    private static void serverSummary(ArrayNode list, List<Server> servers) {
        for (int n = 1; n <= 64; n++) {
            Server o = server(servers, "ours", n), b = server(servers, "batched", n), r = server(servers, "ort", n);
            if (o == null && b == null && r == null) continue;
            ObjectNode e = list.addObject();
            e.put("config", "S1");
            e.put("threads", n);
            num(e, "ours_ms", o == null ? Double.NaN : o.meanMs);
            num(e, "ours_seq_per_s", o == null ? Double.NaN : o.perSecond());
            num(e, "ours_p50_ms", o == null ? Double.NaN : o.p50Ms);
            num(e, "ours_p99_ms", o == null ? Double.NaN : o.p99Ms);
            num(e, "batched_ms", b == null ? Double.NaN : b.meanMs);
            num(e, "batched_seq_per_s", b == null ? Double.NaN : b.perSecond());
            num(e, "batched_p50_ms", b == null ? Double.NaN : b.p50Ms);
            num(e, "batched_p99_ms", b == null ? Double.NaN : b.p99Ms);
            ObjectNode peers = e.putObject("peers");
            num(peers, "ort", r == null ? Double.NaN : r.meanMs);
            num(peers, "ort_seq_per_s", r == null ? Double.NaN : r.perSecond());
            num(peers, "ort_p50_ms", r == null ? Double.NaN : r.p50Ms);
            num(peers, "ort_p99_ms", r == null ? Double.NaN : r.p99Ms);
        }
    }

    private static ArrayNode summary(ObjectMapper json, List<Row> rows) {
        ArrayNode list = json.createArrayNode();
        for (Row r : rows) {
            ObjectNode o = list.addObject();
            o.put("config", r.config.name());
            o.put("threads", r.threads);
            num(o, "ours_ms", r.oursMs());
            if (r.oursBackend() != null) o.put("ours_backend", r.oursBackend());
            num(o, "gflops", r.gflops());
            num(o, "ceiling_gflops", r.ceilingGflops);
            ObjectNode peers = o.putObject("peers");
            num(peers, "ort", r.ortMs());
            num(peers, "torch", r.torchMs);
        }
        return list;
    }

    private static void num(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) o.putNull(key);
        else o.put(key, Double.parseDouble(String.format(Locale.ROOT, "%.6g", v)));
    }

    private static String ortVersion() {
        try {
            return ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static String ms(Jmh r, boolean bold) {
        if (r == null) return "–";
        String v = fmt(r.ms) + ("team".equals(r.param("split")) ? "ᵗ" : "")
                + (Double.isNaN(r.errorPct) ? "" : String.format(Locale.ROOT, " ±%.1f%%", r.errorPct)) + (r.errorPct >= 3 ? " ⚠" : "");
        return bold ? "**" + v + "**" : v;
    }

    private static String bytes(Jmh r) {
        return r == null || Double.isNaN(r.allocBytes) ? "–" : String.format(Locale.ROOT, "%.0f", r.allocBytes);
    }

    private static String sci(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.1e", v);
    }

    static String fmt(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return "–";
        return String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.3g", v);
    }
}
