package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.flat;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.rand;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Config;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * A layer whose steps run fused ({@code fusedSteps=on}) computes what the same layer unfused ({@code off})
 * computes, within float32 rounding (2e-5 relative, as {@link RecurrentLayerRandomTest} against the
 * double-precision reference: the fused product sums in the packed kernels' order, the unfused one in the
 * GEMM's or GEMV's), and the same bits on every call: every cell, 1–2 layers, both directions, batch-first, h0/c0, per-sample lengths (the rows that
 * start from zero state skip the product either way), batches that cover each row block, hidden sizes
 * with several chunks and partial ones, and one and two threads per call (partitions, h in place or
 * double-buffered). The unfused layer is checked against PyTorch and the double-precision reference by the
 * other suites.
 */
class FusedStepLayerTest {

    @Test
    void theSettingReachesTheLayer() {
        assumeTrue(Backend.list().stream().anyMatch(s -> s.name().equals("simd") && s.available()), "simd not available");
        Random r = new Random(1);
        LayerSpec spec = LayerSpec.of(Mode.GRU, 4, 40);
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
        Config base = Config.defaults().withFusedSteps("on");
        try (RecurrentLayer on = RecurrentLayer.loader().spec(spec).backend(Backend.get("simd")).config(base).load(sd);
             RecurrentLayer off = RecurrentLayer.loader().spec(spec).backend(Backend.get("simd")).config(base.withFusedSteps("off")).load(sd)) {
            assertTrue(on.explain().contains("fused"), on.explain());
            assertFalse(off.explain().contains("fused"), off.explain());
        }
    }

    @TestFactory
    Stream<DynamicTest> fusedEqualsUnfused() {
        assumeTrue(Backend.list().stream().anyMatch(s -> s.name().equals("simd") && s.available()), "simd not available");
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long seed = 9100 + i;
            tests.add(DynamicTest.dynamicTest("seed " + seed, () -> check(seed)));
        }
        return tests.stream();
    }

    private static void check(long seed) {
        Random r = new Random(seed);
        Mode mode = Mode.values()[(int) (seed % 4)];
        int hidden = r.nextBoolean() ? 1 + r.nextInt(40) : 60 + r.nextInt(200);
        LayerSpec spec = new LayerSpec(mode, 1 + r.nextInt(24), hidden, 1 + r.nextInt(2), r.nextBoolean(), r.nextInt(4) != 0, r.nextBoolean(), 0);
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
        int T = 1 + r.nextInt(6), B = 1 + r.nextInt(14), LD = spec.numLayers() * spec.directions(), H = spec.hiddenSize();
        double[][][] x = rand(r, T, B, spec.inputSize(), 1);
        double[][][] h0 = r.nextBoolean() ? rand(r, LD, B, H, 1) : null;
        double[][][] c0 = mode == Mode.LSTM && r.nextBoolean() ? rand(r, LD, B, H, 1) : null;
        int[] lengths = null;
        if (r.nextBoolean()) {
            lengths = new int[B];
            for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
        }
        int threads = r.nextBoolean() ? 2 : 1;
        Config base = Config.defaults().withThreadsPerCall(threads);
        String ctx = spec + " T=" + T + " B=" + B + " threads=" + threads + " lengths=" + java.util.Arrays.toString(lengths) + " seed=" + seed;
        Backend simd = Backend.get("simd");
        try (Arena arena = Arena.ofConfined();
             RecurrentLayer on = RecurrentLayer.loader().spec(spec).backend(simd).config(base.withFusedSteps("on")).load(sd);
             RecurrentLayer off = RecurrentLayer.loader().spec(spec).backend(simd).config(base.withFusedSteps("off")).load(sd)) {
            assertTrue(KernelAccess.of(simd).withFusedSteps(true).hasFusedSteps(), "simd has a fused step");
            Tensor in = spec.batchFirst() ? Tensor.of(arena, flat(RecurrentLayerRandomTest.transpose01(x)), B, T, spec.inputSize())
                    : Tensor.of(arena, flat(x), T, B, spec.inputSize());
            Tensor th0 = h0 == null ? null : Tensor.of(arena, flat(h0), LD, B, H), tc0 = c0 == null ? null : Tensor.of(arena, flat(c0), LD, B, H);
            RecurrentLayer.Result a = on.forward(arena, in, th0, tc0, lengths), b = off.forward(arena, in, th0, tc0, lengths);
            RecurrentLayerRandomTest.compare("output", b.output().toArray(), a.output().toArray(), ctx);
            RecurrentLayerRandomTest.compare("h_n", b.hN().toArray(), a.hN().toArray(), ctx);
            if (mode == Mode.LSTM) RecurrentLayerRandomTest.compare("c_n", b.cN().toArray(), a.cN().toArray(), ctx);
            RecurrentLayer.Result again = on.forward(arena, in, th0, tc0, lengths);
            assertArrayEquals(a.output().toArray(), again.output().toArray(), "fused, called again: " + ctx);
            assertArrayEquals(a.hN().toArray(), again.hN().toArray(), "fused, called again: " + ctx);
        }
    }
}
