package dev.panamarnn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The study report's arithmetic: the FLOP split and the BLAS estimate of "What the targets need". */
class StudyReportTest {
    @ParameterizedTest
    @EnumSource(StudyConfig.class)
    void projectionAndStepsAddUpToTheConfigsFlops(StudyConfig c) {
        double step = 2.0 * c.batch * c.mode.gates() * c.hiddenSize * c.hiddenSize;
        double sum = c.projectionFlops() + c.stepCount() * step;
        assertEquals(c.flops(), sum, 1e-12 * c.flops(), c + ": projection + steps");
    }

    @Test
    void g1ProjectionCountsBothDirectionsAndTheWiderSecondLayer() {
        StudyConfig c = StudyConfig.G1; // I=128, H=256, T=128, B=32, 2 layers, bidirectional, GRU
        double want = 2.0 * 128 * 32 * 3 * 256 * 2 * (128 + 512);
        assertEquals(want, c.projectionFlops(), 0);
        assertEquals(128 * 2 * 2, c.stepCount());
    }

    @Test
    void estimateTakesTheFasterOfSgemmAndSgemvForBatchOne() {
        List<StudyReport.Jmh> results = new ArrayList<>();
        results.add(ceiling("2048x2048x2048:NN", 1, 2.0 * 2048 * 2048 * 2048 / 100e9 * 1e3)); // 100 GFLOP/s
        results.add(ceiling("1x1024x256:NT", 1, 0.100));   // 100 µs
        results.add(ceiling("1x1024x256:GEMV", 1, 0.020)); // 20 µs
        StudyConfig c = StudyConfig.L1;
        double want = c.projectionFlops() / 100e9 * 1e3 + 64 * 0.020;
        assertEquals(want, StudyReport.blasEstimateMs(row(c, 1, 100), results), 1e-9);

        results.remove(2); // no sgemv row: the sgemm figure
        assertEquals(c.projectionFlops() / 100e9 * 1e3 + 64 * 0.100, StudyReport.blasEstimateMs(row(c, 1, 100), results), 1e-9);
    }

    @Test
    void atTwoThreadsTheEstimateMayHalveTheOneThreadStep() {
        StudyConfig c = StudyConfig.R1; // step 32x512x512, 128 steps
        List<StudyReport.Jmh> results = new ArrayList<>();
        results.add(ceiling("32x512x512:NT", 1, 0.300));
        results.add(ceiling("32x512x512:NT", 2, 0.200)); // OpenBLAS's 2 threads gain less than a split would
        double want = c.projectionFlops() / 180e9 * 1e3 + 128 * 0.150;
        assertEquals(want, StudyReport.blasEstimateMs(row(c, 2, 180), results), 1e-9);

        results.set(1, ceiling("32x512x512:NT", 2, 0.120)); // now they gain more
        assertEquals(c.projectionFlops() / 180e9 * 1e3 + 128 * 0.120, StudyReport.blasEstimateMs(row(c, 2, 180), results), 1e-9);
    }

    @Test
    void aMissingFigureGivesNoEstimate() {
        List<StudyReport.Jmh> results = List.of(ceiling("2048x2048x2048:NN", 1, 200));
        assertTrue(Double.isNaN(StudyReport.blasEstimateMs(row(StudyConfig.L2, 1, 85), results)));
    }

    @Test
    void theOnnxTableComparesTheSameFileOnBothSystems() {
        StudyReport.Jmh ort = new StudyReport.Jmh("OrtBenchmark.run", Map.of("config", "L2", "threads", "1"), 300, 1, Double.NaN);
        StudyReport.Jmh onnx = new StudyReport.Jmh("OnnxModelBenchmark.run", Map.of("config", "L2", "threads", "1", "split", "blas"), 250, 1, Double.NaN);
        StudyReport.Jmh layer = new StudyReport.Jmh("LayerBenchmark.forward", Map.of("config", "L2", "threads", "1", "backend", "auto"), 240, 1, Double.NaN);
        StudyReport.Row r = new StudyReport.Row(StudyConfig.L2, 1, layer, null, null, ort, onnx, Double.NaN, null, Double.NaN, Double.NaN,
                Double.NaN, Double.NaN, Double.NaN, 2e-7);
        String md = StudyReport.onnxMarkdown(List.of(r));
        assertTrue(md.contains("| L2 | 1 | 250 ±1.0% | 300 ±1.0% | 1.20× | 240 | 2.0e-07 |"), md);
        assertEquals("", StudyReport.onnxMarkdown(List.of(row(StudyConfig.L2, 1, 100))));
    }

    private static StudyReport.Jmh ceiling(String shape, int threads, double ms) {
        return new StudyReport.Jmh("CeilingBenchmark.gemm", Map.of("shape", shape, "threads", Integer.toString(threads)), ms, 1, Double.NaN);
    }

    private static StudyReport.Row row(StudyConfig c, int threads, double ceilingGflops) {
        return new StudyReport.Row(c, threads, null, null, null, null, null, Double.NaN, null, ceilingGflops, Double.NaN,
                Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
}
