package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.flat;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.rand;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomSpec;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
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
 * A layer loaded with bfloat16 weights computes exactly what a float32 layer computes with the weights
 * rounded to bfloat16 first: bit for bit on scalar and simd (same summation order, and widening
 * bfloat16 is exact), within 1e-5 relative on openblas (whose float32 GEMMs sum in another order).
 */
public class Bf16WeightsTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    @TestFactory
    Stream<DynamicTest> bf16LayerIsTheFloatLayerOfRoundedWeights() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (int i = 0; i < 24; i++) {
                long seed = 8100 + i;
                tests.add(DynamicTest.dynamicTest(s.name() + " seed " + seed, () -> check(Backend.get(s.name()), seed)));
            }
        }
        return tests.stream();
    }

    private static void check(Backend backend, long seed) {
        Random r = new Random(seed);
        LayerSpec spec = randomSpec(r);
        if (seed % 3 == 0) spec = LayerSpec.of(spec.mode(), spec.inputSize(), 64 + r.nextInt(40)).withBidirectional(spec.bidirectional()); // two partitions
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes), rounded = new HashMap<>();
        for (var e : w.entrySet()) {
            float[] a = e.getValue().clone();
            if (e.getKey().startsWith("weight_")) for (int i = 0; i < a.length; i++) a[i] = Float.intBitsToFloat(WeightFormat.toBf16(a[i]) << 16);
            rounded.put(e.getKey(), a);
        }
        int T = 1 + r.nextInt(9), B = r.nextBoolean() ? 1 : 1 + r.nextInt(5);
        double[][][] x = rand(r, T, B, spec.inputSize(), 2);
        try (Arena arena = Arena.ofConfined();
             RecurrentLayer l16 = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", backend, WeightFormat.BF16);
             RecurrentLayer l32 = RecurrentLayer.create(spec, StateDict.of(rounded, shapes), "", backend, WeightFormat.F32)) {
            assertEquals(WeightFormat.BF16, l16.weightFormat());
            Tensor in = spec.batchFirst() ? Tensor.of(arena, flat(RecurrentLayerRandomTest.transpose01(x)), B, T, spec.inputSize())
                    : Tensor.of(arena, flat(x), T, B, spec.inputSize());
            float[] a = l16.forward(arena, in).output().toArray(), b = l32.forward(arena, in).output().toArray();
            String ctx = spec + " T=" + T + " B=" + B + " on " + backend.name();
            // The fused step sums h·W_hhᵀ in another order than the bfloat16 GEMV it would be compared with.
            if (backend.name().equals("openblas") || dev.panamarnn.internal.KernelAccess.of(backend).hasFusedSteps()) {
                for (int i = 0; i < a.length; i++) assertTrue(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), ctx + " at " + i + ": " + a[i] + " vs " + b[i]);
            } else {
                assertArrayEquals(b, a, ctx);
            }
        }
    }

    /**
     * {@code bf16-if-faster} takes bfloat16 exactly where the kernels measured the one-row step faster with
     * it, for the layer's W_hh size (small: at most 1 MiB; large: more), computes then what a BF16 layer
     * computes, bit for bit, and says which it took; unmeasured kernels keep float32.
     */
    @Test
    void bf16IfFasterFollowsTheMeasurement() {
        dev.panamarnn.kernel.Kernels simd = dev.panamarnn.internal.KernelAccess.of(Backend.get("simd"));
        boolean[] onlySmall = new boolean[dev.panamarnn.kernel.Kernels.STEP_SHAPES];
        onlySmall[dev.panamarnn.kernel.Kernels.BUCKETS] = true;
        Backend measured = dev.panamarnn.TestBackends.of(simd.withBf16Steps(onlySmall));
        Random r = new Random(8200);
        LayerSpec small = LayerSpec.of(Mode.LSTM, 8, 64), large = LayerSpec.of(Mode.GRU, 8, 300); // W_hh 16 Ki floats; 270 Ki > 256 Ki
        for (LayerSpec spec : List.of(small, large)) {
            Map<String, int[]> shapes = new HashMap<>();
            StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
            double[][][] x = rand(r, 5, 1, spec.inputSize(), 2);
            try (Arena arena = Arena.ofConfined();
                 RecurrentLayer auto = RecurrentLayer.create(spec, sd, "", measured, WeightFormat.BF16_IF_FASTER);
                 RecurrentLayer bf16 = RecurrentLayer.create(spec, sd, "", measured, WeightFormat.BF16);
                 RecurrentLayer f32 = RecurrentLayer.create(spec, sd, "", measured, WeightFormat.F32);
                 RecurrentLayer unmeasured = RecurrentLayer.create(spec, sd, "", Backend.get("simd"), WeightFormat.BF16_IF_FASTER)) {
                boolean takes = spec == small;
                assertEquals(takes ? WeightFormat.BF16 : WeightFormat.F32, auto.weightFormat(), spec.toString());
                assertEquals(WeightFormat.F32, unmeasured.weightFormat());
                assertTrue(auto.explain().contains(takes ? "bf16-if-faster: this machine measured" : "bf16-if-faster: the one-sample step was not measured faster"), auto.explain());
                Tensor in = Tensor.of(arena, flat(x), 5, 1, spec.inputSize());
                assertArrayEquals((takes ? bf16 : f32).forward(arena, in).output().toArray(), auto.forward(arena, in).output().toArray());
                // Measured at one thread: a layer computing on two per call keeps float32.
                try (RecurrentLayer two = RecurrentLayer.loader().spec(spec).backend(measured).weightFormat(WeightFormat.BF16_IF_FASTER)
                        .config(dev.panamarnn.Config.defaults().withThreadsPerCall(2)).load(sd)) {
                    assertEquals(WeightFormat.F32, two.weightFormat());
                    assertTrue(two.explain().contains(takes ? "bf16-if-faster: two threads per call" : "not measured faster"), two.explain());
                }
            }
        }
        assertEquals(WeightFormat.BF16_IF_FASTER, WeightFormat.of("bf16-if-faster"));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> WeightFormat.of("fp8"));
    }

    @Test
    void roundingIsToNearestEven() {
        assertEquals((short) 0x3F80, WeightFormat.toBf16(1f));
        assertEquals((short) 0x3F80, WeightFormat.toBf16(Float.intBitsToFloat(0x3F808000))); // tie: to even (down)
        assertEquals((short) 0x3F82, WeightFormat.toBf16(Float.intBitsToFloat(0x3F818000))); // tie: to even (up)
        assertEquals((short) 0x3F81, WeightFormat.toBf16(Float.intBitsToFloat(0x3F808001)));
        assertEquals((short) 0x7F80, WeightFormat.toBf16(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(Float.intBitsToFloat(WeightFormat.toBf16(Float.NaN) << 16)));
        assertEquals((short) 0x7F80, WeightFormat.toBf16(Float.MAX_VALUE), "rounds up to infinity, as IEEE");
    }
}
