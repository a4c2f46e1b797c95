package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.flat;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.rand;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
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
import org.junit.jupiter.api.TestFactory;

/**
 * Step products over W_hh prepared at load ({@code Weights#prepare}), on the backends that prefer
 * them for some batch sizes ({@link dev.panamarnn.kernel.Kernels#prefersPreparedSteps}; OpenBLAS for 2 to
 * 32 rows): against the same layer with panels switched off ({@code Config.withStepPanels(false)}) and
 * against the scalar reference, within 1e-5 relative (float32 sums in another order; the layers' other
 * tests use the same bound), and between one and two threads (which share the partitions' panels; the
 * input projection is still split, and OpenBLAS's GEMM rounds differently for another shape). Backends
 * that never prefer panels generate no cases.
 */
public class StepPanelsTest {
    protected boolean runsOn(String backend) {
        return true;
    }

    /** True where the backends this class runs on must prefer panels (a subclass for one backend): then no case is skipped silently. */
    protected boolean expectsPanels() {
        return false;
    }

    @TestFactory
    Stream<DynamicTest> panelsAgreeWithTheGemmAndAcrossThreads() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            boolean prefers = KernelAccess.of(Backend.get(s.name())).prefersPreparedSteps(8);
            if (expectsPanels()) assertTrue(prefers, s.name() + " should prefer prepared W_hh for 8-row steps");
            if (!prefers) continue;
            int[] batches = {1, 2, 7, 32, 33};
            for (int i = 0; i < 10; i++) {
                long seed = 7700 + i;
                int B = batches[i % batches.length];
                tests.add(DynamicTest.dynamicTest(s.name() + " case " + i + " B=" + B + " seed " + seed, () -> runCase(Backend.get(s.name()), B, seed)));
            }
        }
        return tests.stream();
    }

    private static void runCase(Backend backend, int B, long seed) {
        Random r = new Random(seed);
        Mode mode = Mode.values()[(int) (seed % 4)];
        int H = r.nextBoolean() ? 96 : 130; // two partitions
        LayerSpec spec = new LayerSpec(mode, 1 + r.nextInt(40), H, 1 + r.nextInt(2), r.nextInt(3) == 0, r.nextInt(5) != 0, false, 0);
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
        int T = 12 + r.nextInt(6);
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
        lengths[r.nextInt(B)] = T;
        float[] x = flat(rand(r, T, B, spec.inputSize(), 2));
        int before = Parallelism.threads();
        String ctx = backend.name() + " " + spec + " B=" + B;
        try (Arena arena = Arena.ofShared();
             RecurrentLayer panels = RecurrentLayer.create(spec, sd, "", backend);
             RecurrentLayer plain = withoutPanels(spec, sd, backend);
             RecurrentLayer scalar = RecurrentLayer.create(spec, sd, "", Backend.get("scalar"))) {
            org.junit.jupiter.api.Assertions.assertTrue(panels.resources().weights().hasPanels(), ctx + ": panels prepared");
            org.junit.jupiter.api.Assertions.assertFalse(plain.resources().weights().hasPanels(), ctx + ": panels switched off");
            Tensor in = Tensor.of(arena, x, T, B, spec.inputSize());
            Parallelism.setThreads(1);
            RecurrentLayer.Result one = panels.forward(arena, in, null, null, lengths);
            RecurrentLayer.Result gemm = plain.forward(arena, in, null, null, lengths);
            RecurrentLayer.Result ref = scalar.forward(arena, in, null, null, lengths);
            close("output vs panels off", gemm.output().toArray(), one.output().toArray(), ctx);
            close("h_n vs panels off", gemm.hN().toArray(), one.hN().toArray(), ctx);
            close("output vs scalar", ref.output().toArray(), one.output().toArray(), ctx);
            Parallelism.setThreads(2);
            RecurrentLayer.Result two = panels.forward(arena, in, null, null, lengths);
            close("output, 2 threads vs 1", one.output().toArray(), two.output().toArray(), ctx);
            close("h_n, 2 threads vs 1", one.hN().toArray(), two.hN().toArray(), ctx);
        } finally {
            Parallelism.setThreads(before);
        }
    }

    /** The layer with panels switched off ({@link dev.panamarnn.Config#stepPanels()}), run at one thread per call. */
    private static RecurrentLayer withoutPanels(LayerSpec spec, StateDict sd, Backend backend) {
        dev.panamarnn.Config off = dev.panamarnn.Config.defaults().withStepPanels(false).withThreadsPerCall(1);
        return RecurrentLayer.loader().spec(spec).backend(backend).config(off).load(sd);
    }

    private static void close(String what, float[] want, float[] got, String ctx) {
        assertEquals(want.length, got.length, ctx + " " + what + ": length");
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= 1e-5 * (1 + Math.abs(want[i])), ctx + " " + what + " at " + i + ": " + got[i] + " vs " + want[i]);
        }
    }
}
