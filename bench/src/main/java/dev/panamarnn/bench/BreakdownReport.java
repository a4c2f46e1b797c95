package dev.panamarnn.bench;

import dev.panamarnn.Platform;
import dev.panamarnn.openblas.OpenBlas;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The "where the time goes" table from a {@link BreakdownBenchmark} JSON result: per configuration and
 * backend, the whole call and its parts (median ms and share), the rest as overhead, and the GFLOP/s of
 * the whole call beside the sgemm ceiling given on the command line.
 * Usage: {@code BreakdownReport breakdown.json [ceiling.json] > report.md}, the ceiling file a
 * {@link CeilingBenchmark} result with the 2048³ shape at 1 thread (µs per call).
 */
public final class BreakdownReport {
    private BreakdownReport() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: BreakdownReport BREAKDOWN.json [CEILING.json]");
            System.exit(2);
        }
        double ceiling = Double.NaN;
        if (args.length > 1) {
            for (KernelReport.Row r : KernelReport.read(Path.of(args[1]))) {
                if (r.bench().endsWith("CeilingBenchmark.sgemm") || r.bench().contains("CeilingBenchmark")) {
                    if (r.param("shape").startsWith("2048x2048x2048") && r.param("threads").equals("1")) ceiling = 2.0 * 2048 * 2048 * 2048 / (r.median() * 1e3);
                }
            }
        }
        Map<String, Map<String, Double>> cells = new TreeMap<>();
        for (KernelReport.Row r : KernelReport.read(Path.of(args[0]))) {
            if (!r.bench().endsWith("BreakdownBenchmark.run")) continue;
            cells.computeIfAbsent(r.param("config") + " " + r.param("backend"), x -> new LinkedHashMap<>()).put(r.param("part"), r.median());
        }
        StringBuilder out = new StringBuilder();
        out.append("Platform: ").append(Platform.summary()).append("  \n");
        out.append("OpenBLAS: ").append(OpenBlas.isAvailable() ? OpenBlas.describe() : "not available").append("\n\n");
        out.append(String.format(Locale.ROOT, "1 thread; median ms per forward call, and each part's share of it. sgemm 2048³ ceiling: %.1f GFLOP/s.%n%n", ceiling));
        out.append("| config | backend | call ms | GFLOP/s | % of ceiling | projection GEMM | step GEMMs | gate kernels | overhead (copies, dispatch) |\n");
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var e : cells.entrySet()) {
            Map<String, Double> m = e.getValue();
            Double layer = m.get("layer");
            if (layer == null) continue;
            String[] key = e.getKey().split(" ");
            double flops = StudyConfig.valueOf(key[0]).flops(), gf = flops / (layer * 1e6);
            double p = m.getOrDefault("projection", Double.NaN), s = m.getOrDefault("stepGemm", Double.NaN), g = m.getOrDefault("gates", Double.NaN);
            double rest = layer - p - s - g;
            out.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.1f | %s | %s | %s | %s | %s |%n", key[0], key[1], layer, gf,
                    Double.isNaN(ceiling) ? "" : String.format(Locale.ROOT, "%.0f %%", 100 * gf / ceiling),
                    share(p, layer), share(s, layer), share(g, layer), share(rest, layer)));
        }
        System.out.print(out);
    }

    private static String share(double part, double whole) {
        return Double.isNaN(part) ? "" : String.format(Locale.ROOT, "%.3f (%.0f %%)", part, 100 * part / whole);
    }
}
