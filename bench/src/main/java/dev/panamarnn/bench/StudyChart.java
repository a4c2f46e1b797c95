package dev.panamarnn.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The layer study's chart (XChart): grouped bars, one group per config × threads, one bar per system
 * (ours at its faster backend, ONNX Runtime, PyTorch): median time per forward call relative to the fastest
 * system of that group (1 = fastest), so that L1's milliseconds and L3's seconds share one linear axis (XChart's
 * logarithmic axis rejects bar charts).
 */
final class StudyChart {
    private StudyChart() {}

    static void write(List<StudyReport.Row> rows, Path png, String title) throws IOException {
        List<String> x = new ArrayList<>();
        List<Double> ours = new ArrayList<>(), ort = new ArrayList<>(), torch = new ArrayList<>();
        for (StudyReport.Row r : rows) {
            double best = Double.POSITIVE_INFINITY;
            for (double v : new double[] {r.oursMs(), r.ortMs(), r.torchMs()}) if (v > 0) best = Math.min(best, v);
            if (best == Double.POSITIVE_INFINITY) continue;
            x.add(r.config() + " · " + r.threads() + "t");
            ours.add(relative(r.oursMs(), best));
            ort.add(relative(r.ortMs(), best));
            torch.add(relative(r.torchMs(), best));
        }
        if (x.isEmpty()) return;
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(800, 110 * x.size())).height(560).title(title)
                .xAxisTitle("configuration · threads").yAxisTitle("time per forward call ÷ fastest system's (1 = fastest; lower is better)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setYAxisDecimalPattern("#,##0.##");
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setLabelsFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 10));
        addIfAny(chart, "panama-rnn (faster backend)", x, ours);
        addIfAny(chart, "ONNX Runtime", x, ort);
        addIfAny(chart, "PyTorch", x, torch);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void addIfAny(CategoryChart chart, String name, List<String> x, List<Double> y) {
        if (y.stream().anyMatch(v -> v != null)) chart.addSeries(name, x, y);
    }

    private static Double relative(double v, double best) {
        return v > 0 ? v / best : 0.0; // a system not measured gets no bar
    }
}
