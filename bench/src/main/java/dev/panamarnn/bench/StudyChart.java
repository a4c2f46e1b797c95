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
 * (ours at its faster backend, ONNX Runtime, PyTorch), median ms per forward call; logarithmic when the
 * times span more than a factor 30, as they do across L1 and L3.
 */
final class StudyChart {
    private StudyChart() {}

    static void write(List<StudyReport.Row> rows, Path png, String title) throws IOException {
        List<String> x = new ArrayList<>();
        List<Double> ours = new ArrayList<>(), ort = new ArrayList<>(), torch = new ArrayList<>();
        double min = Double.POSITIVE_INFINITY, max = 0;
        for (StudyReport.Row r : rows) {
            x.add(r.config() + " · " + r.threads() + "t");
            for (double v : new double[] {r.oursMs(), r.ortMs(), r.torchMs()}) {
                if (!Double.isNaN(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            ours.add(orNull(r.oursMs()));
            ort.add(orNull(r.ortMs()));
            torch.add(orNull(r.torchMs()));
        }
        if (x.isEmpty()) return;
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(800, 110 * x.size())).height(560).title(title)
                .xAxisTitle("configuration · threads").yAxisTitle("ms per forward call, median (lower is better)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        // XChart rejects missing (null) points on a log axis: use it only when every series is complete.
        boolean complete = !ours.contains(null) && !ort.contains(null) && !torch.contains(null);
        chart.getStyler().setYAxisLogarithmic(complete && max / min > 30);
        chart.getStyler().setYAxisDecimalPattern("#,##0.###");
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setLabelsVisible(false);
        addIfAny(chart, "panama-rnn (faster backend)", x, ours);
        addIfAny(chart, "ONNX Runtime", x, ort);
        addIfAny(chart, "PyTorch", x, torch);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void addIfAny(CategoryChart chart, String name, List<String> x, List<Double> y) {
        if (y.stream().anyMatch(v -> v != null)) chart.addSeries(name, x, y);
    }

    private static Double orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
