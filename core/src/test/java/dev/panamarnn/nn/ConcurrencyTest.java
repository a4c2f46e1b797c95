package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * One shared, loaded model used by 8 threads at once, for many calls of mixed shapes, lengths and
 * initial states, gives bit-identical results to the same calls made one after another on one thread:
 * the model is immutable, every call's scratch is its own (pooled workspaces, or one per thread), and no
 * kernel's arithmetic depends on timing, JIT state or which calls run beside it. Run with our own second
 * thread off and on ({@link Parallelism} 1 and 2: then the calls compete for the one helper thread, and
 * a call's bits must not depend on whether it got it).
 */
public class ConcurrencyTest {
    private static final int THREADS = 8;

    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    @TestFactory
    Stream<DynamicTest> eightThreadsGiveTheBitsOfOne() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name()) || s.name().equals("scalar")) continue;
            for (int threads : new int[] {1, 2}) {
                for (boolean ownWorkspace : new boolean[] {false, true}) {
                    tests.add(DynamicTest.dynamicTest(s.name() + ", threads per call " + threads + (ownWorkspace ? ", a workspace per thread" : ", pooled workspaces"),
                            () -> run(Backend.get(s.name()), threads, ownWorkspace, 32, 2)));
                }
            }
        }
        return tests.stream();
    }

    private record CallSpec(int model, Tensor input, Tensor h0, Tensor c0, int[] lengths) {}

    /** {@code calls} distinct calls, each made by each of 8 threads {@code rounds} times in shuffled orders. */
    protected static void run(Backend backend, int threadsPerCall, boolean ownWorkspace, int CALLS, int ROUNDS) throws Exception {
        LayerSpec[] specs = {
                LayerSpec.of(Mode.LSTM, 12, 64).withLayers(2).withBidirectional(true),
                LayerSpec.of(Mode.GRU, 8, 96),
                LayerSpec.of(Mode.LSTM, 16, 96).withProjSize(40).withBatchFirst(true),
                LayerSpec.of(Mode.RNN_RELU, 5, 70).withLayers(3)};
        int before = Parallelism.threads();
        List<RecurrentLayer> layers = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(42);
            for (LayerSpec spec : specs) {
                Map<String, int[]> shapes = new HashMap<>();
                Map<String, float[]> w = randomWeights(spec, r, shapes);
                layers.add(RecurrentLayer.create(spec, StateDict.of(w, shapes), "", backend));
            }
            List<CallSpec> calls = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                int m = i % specs.length;
                LayerSpec spec = specs[m];
                boolean batch1 = r.nextInt(3) == 0;
                int T = 1 + r.nextInt(batch1 ? 60 : 20), B = batch1 ? 1 : 2 + r.nextInt(6);
                int LD = spec.numLayers() * spec.directions();
                Tensor in = random(arena, r, spec.batchFirst() ? new int[] {B, T, spec.inputSize()} : new int[] {T, B, spec.inputSize()});
                Tensor h0 = r.nextBoolean() ? random(arena, r, LD, B, spec.outputSize()) : null;
                Tensor c0 = spec.mode() == Mode.LSTM && r.nextBoolean() ? random(arena, r, LD, B, spec.hiddenSize()) : null;
                int[] lengths = null;
                if (B > 1 && r.nextBoolean()) {
                    lengths = new int[B];
                    for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
                }
                calls.add(new CallSpec(m, in, h0, c0, lengths));
            }
            Parallelism.setThreads(threadsPerCall);
            // One thread, one call after another: the reference bits.
            List<float[][]> expected = new ArrayList<>();
            try (Workspace ws = new Workspace()) {
                for (CallSpec c : calls) expected.add(call(layers.get(c.model()), c, ownWorkspace ? ws : null));
            }
            long helperJobs = dev.panamarnn.engine.Helper.shared().jobs();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    long seed = t;
                    done.add(pool.submit(() -> {
                        List<Integer> order = new ArrayList<>();
                        for (int i = 0; i < CALLS; i++) order.add(i);
                        int checked = 0;
                        try (Workspace ws = new Workspace()) {
                            for (int round = 0; round < ROUNDS; round++) {
                                Collections.shuffle(order, new Random(seed * 31 + round));
                                for (int i : order) {
                                    CallSpec c = calls.get(i);
                                    float[][] got = call(layers.get(c.model()), c, ownWorkspace ? ws : null);
                                    for (int k = 0; k < got.length; k++) {
                                        assertArrayEquals(expected.get(i)[k], got[k], "call " + i + " (" + specs[c.model()] + ") result " + k);
                                    }
                                    checked++;
                                }
                            }
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : done) total += f.get(5, TimeUnit.MINUTES);
                assertEquals(THREADS * CALLS * ROUNDS, total);
            } finally {
                pool.shutdownNow();
            }
            if (threadsPerCall == 2) assertTrue(dev.panamarnn.engine.Helper.shared().jobs() > helperJobs, "some calls used the helper thread");
        } finally {
            Parallelism.setThreads(before);
            for (RecurrentLayer l : layers) l.close();
        }
    }

    /** Output, h_n and (LSTM) c_n of one call, in arrays of a confined arena of the calling thread. */
    private static float[][] call(RecurrentLayer layer, CallSpec c, Workspace ws) {
        LayerSpec spec = layer.spec();
        int D = spec.directions(), P = spec.outputSize(), LD = spec.numLayers() * D;
        int T = spec.batchFirst() ? c.input().dim(1) : c.input().dim(0), B = spec.batchFirst() ? c.input().dim(0) : c.input().dim(1);
        try (Arena a = Arena.ofShared()) {
            Tensor out = spec.batchFirst() ? Tensor.allocate(a, B, T, D * P) : Tensor.allocate(a, T, B, D * P);
            Tensor hN = Tensor.allocate(a, LD, B, P);
            Tensor cN = spec.mode() == Mode.LSTM ? Tensor.allocate(a, LD, B, spec.hiddenSize()) : null;
            layer.forward(c.input(), c.h0(), c.c0(), c.lengths(), out, hN, cN, ws);
            return cN == null ? new float[][] {out.toArray(), hN.toArray()} : new float[][] {out.toArray(), hN.toArray(), cN.toArray()};
        }
    }

    private static Tensor random(Arena arena, Random r, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] a = new float[(int) t.size()];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        t.copyFrom(a);
        return t;
    }
}
