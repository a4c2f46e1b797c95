package dev.panamarnn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.Platform;
import dev.panamarnn.openblas.OpenBlas;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a JMH JSON result file of the kernel benchmarks into a markdown report: every result (median
 * and 99.9 % error), then the ratios the project tracks, all from the one run in the file.
 * Usage: {@code KernelReport results.json > report.md}.
 */
public final class KernelReport {
    record Row(String bench, Map<String, String> params, double median, double score, double error, String unit) {
        String param(String k) {
            return params.getOrDefault(k, "");
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: KernelReport JMH-RESULT.json");
            System.exit(2);
        }
        List<Row> rows = read(Path.of(args[0]));
        StringBuilder out = new StringBuilder();
        out.append("Platform: ").append(Platform.summary()).append("  \n");
        out.append("OpenBLAS: ").append(OpenBlas.isAvailable() ? OpenBlas.describe() : "not available").append("\n\n");
        out.append("| benchmark | params | median | ± (99.9 %) | unit |\n|---|---|---:|---:|---|\n");
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "| %s | %s | %.4g | %.2g | %s |%n", r.bench, r.params, r.median, r.error, r.unit));
        }
        out.append("\n### Ratios (same run)\n\n");
        gemm(rows, out);
        cells(rows, out);
        steps(rows, out);
        System.out.print(out);
    }

    private static void gemm(List<Row> rows, StringBuilder out) {
        Map<String, Map<String, Row>> byShape = new TreeMap<>();
        for (Row r : rows) {
            if (!r.bench.endsWith("GemmBenchmark.gemm")) continue;
            byShape.computeIfAbsent(r.param("shape") + " threads=" + r.param("threads"), x -> new LinkedHashMap<>()).put(r.param("backend"), r);
        }
        if (byShape.isEmpty()) return;
        out.append("| GEMM shape (M×N×K) | threads | openblas µs | openblas GFLOP/s | simd µs | simd GFLOP/s | simd / openblas speed |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (var e : byShape.entrySet()) {
            Row o = e.getValue().get("openblas"), s = e.getValue().get("simd");
            Row any = o != null ? o : s;
            String[] d = any.param("shape").split(":")[0].split("x");
            double flop = 2.0 * Double.parseDouble(d[0]) * Double.parseDouble(d[1]) * Double.parseDouble(d[2]);
            out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", any.param("shape"), any.param("threads"),
                    o == null ? "–" : fmt(o.median), o == null ? "–" : fmt(flop / (o.median * 1e3)),
                    s == null ? "–" : fmt(s.median), s == null ? "–" : fmt(flop / (s.median * 1e3)),
                    o == null || s == null ? "–" : String.format(Locale.ROOT, "%.2f×", o.median / s.median)));
        }
        out.append("\n(simd is single-threaded: its threads=2 rows repeat the 1-thread kernel.)\n\n");
    }

    private static void cells(List<Row> rows, StringBuilder out) {
        Map<String, Map<String, Row>> byKey = new TreeMap<>();
        for (Row r : rows) {
            if (!r.bench.contains("CellBenchmark.")) continue;
            String name = r.bench.substring(r.bench.lastIndexOf('.') + 1);
            byKey.computeIfAbsent(name + " " + r.param("cell"), x -> new LinkedHashMap<>()).put(r.param("backend"), r);
        }
        if (byKey.isEmpty()) return;
        out.append("| gate kernel (batch×hidden) | scalar µs | simd µs | simd speed-up |\n|---|---:|---:|---:|\n");
        for (var e : byKey.entrySet()) {
            Row sc = e.getValue().get("scalar"), si = e.getValue().get("simd");
            out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", e.getKey(), sc == null ? "–" : fmt(sc.median),
                    si == null ? "–" : fmt(si.median), sc == null || si == null ? "–" : String.format(Locale.ROOT, "%.1f×", sc.median / si.median)));
        }
        out.append('\n');
    }

    /**
     * StepBenchmark: one step per shape, OpenBLAS's product, the prepared product and the fused step, each
     * with the gate kernel; and, when measured, the product over bfloat16 W_hh with the gate kernel.
     */
    private static void steps(List<Row> rows, StringBuilder out) {
        Map<String, Map<String, Row>> byShape = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.bench.endsWith("StepBenchmark.step")) byShape.computeIfAbsent(r.param("shape"), x -> new LinkedHashMap<>()).put(r.param("variant"), r);
        }
        if (byShape.isEmpty()) return;
        out.append("| step (cell:rows×hidden) | openblas µs | prepared µs | fused µs | bf16 µs | fused ÷ openblas time | fused ÷ prepared time | bf16 ÷ fastest float32 time |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var e : byShape.entrySet()) {
            Row o = e.getValue().get("openblas"), p = e.getValue().get("prepared"), f = e.getValue().get("fused"), b = e.getValue().get("bf16");
            double best = Math.min(o == null ? Double.MAX_VALUE : o.median, Math.min(p == null ? Double.MAX_VALUE : p.median, f == null ? Double.MAX_VALUE : f.median));
            out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", e.getKey(), o == null ? "–" : fmt(o.median),
                    p == null ? "–" : fmt(p.median), f == null ? "–" : fmt(f.median), b == null ? "–" : fmt(b.median),
                    o == null || f == null ? "–" : String.format(Locale.ROOT, "%.2f", f.median / o.median),
                    p == null || f == null ? "–" : String.format(Locale.ROOT, "%.2f", f.median / p.median),
                    b == null || best == Double.MAX_VALUE ? "–" : String.format(Locale.ROOT, "%.2f", b.median / best)));
        }
        out.append('\n');
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.3g", v);
    }

    static List<Row> read(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(Files.readString(file));
        List<Row> rows = new ArrayList<>();
        for (JsonNode n : root) {
            Map<String, String> params = new TreeMap<>();
            n.path("params").fields().forEachRemaining(f -> params.put(f.getKey(), f.getValue().asText()));
            JsonNode pm = n.path("primaryMetric");
            double median = pm.path("scorePercentiles").path("50.0").asDouble(pm.path("score").asDouble());
            rows.add(new Row(n.path("benchmark").asText(), params, median, pm.path("score").asDouble(),
                    pm.path("scoreError").asDouble(), pm.path("scoreUnit").asText()));
        }
        return rows;
    }
}
