package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomSpec;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link BatchingExecutor} on every backend: against {@link RecurrentLayer#forward} over random
 * configurations (1e-5 relative above magnitude 1: both compute in float32 and differ only in the
 * order of a step's sums), and many concurrent callers with mixed lengths, each result bit for bit what
 * the executor gives for that request alone: a sample's arithmetic must not depend on its batch. The native module runs this
 * class on OpenBLAS ({@code OpenBlasLayerTest}). Joining a running batch deterministically, errors,
 * failures and close are in {@link BatchingExecutorLifecycleTest}.
 */
public class BatchingExecutorTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    private List<Backend> backends() {
        List<Backend> list = new ArrayList<>();
        for (Backend.Status s : Backend.list()) if (s.available() && runsOn(s.name())) list.add(Backend.get(s.name()));
        return list;
    }

    @TestFactory
    Stream<DynamicTest> matchesForwardOnRandomConfigs() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend be : backends()) {
            for (int i = 0; i < 16; i++) {
                long seed = 31000 + i;
                tests.add(DynamicTest.dynamicTest(be.name() + " case " + i + " seed " + seed, () -> randomCase(be, seed)));
            }
        }
        return tests.stream();
    }

    private static void randomCase(Backend be, long seed) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L); // neighbouring seeds give java.util.Random correlated first draws
        LayerSpec spec = randomSpec(r);
        if (seed % 4 == 0) spec = new LayerSpec(spec.mode(), spec.inputSize(), seed % 8 == 0 ? 64 : 200, Math.min(2, spec.numLayers()),
                spec.bidirectional(), spec.bias(), spec.batchFirst(), 0); // the layer's two partitions; at 200 the step's parts cut them again
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes);
        try (RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", be);
             BatchingExecutor exec = new BatchingExecutor(layer)) {
            Request q = Request.random(spec, r, 1 + r.nextInt(9), r.nextInt(3) == 0 ? 1 : 1 + r.nextInt(3));
            String ctx = spec + " " + q + " backend=" + be.name() + " seed=" + seed;
            float[][] want = q.runLayer(layer), got = q.run(exec);
            for (int i = 0; i < want.length; i++) close(Request.NAMES[i], want[i], got[i], ctx);
        }
    }

    /**
     * 8 threads × many requests of mixed lengths, all at once; every result must have the bits of the
     * same request run alone. (How much they overlap is up to the scheduler; that calls do join a running
     * batch is {@code BatchingExecutorLifecycleTest.callsJoinARunningBatchAndLeaveWhenTheyEnd}.)
     */
    @TestFactory
    Stream<DynamicTest> concurrentCallersGetTheirAloneResultsBitForBit() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend be : backends()) {
            tests.add(DynamicTest.dynamicTest(be.name() + " LSTM 1 layer, batch-1 requests, 8 callers",
                    () -> concurrent(be, LayerSpec.of(Mode.LSTM, 16, 64), 8, 8, false, 41)));
            tests.add(DynamicTest.dynamicTest(be.name() + " GRU 2 layers bidirectional batch-first, mixed requests, 8 callers",
                    () -> concurrent(be, new LayerSpec(Mode.GRU, 9, 13, 2, true, true, true, 0), 8, 5, true, 42)));
            tests.add(DynamicTest.dynamicTest(be.name() + " LSTM with projection, mixed requests, 4 callers",
                    () -> concurrent(be, new LayerSpec(Mode.LSTM, 7, 20, 1, false, true, false, 6), 4, 8, true, 43)));
            tests.add(DynamicTest.dynamicTest(be.name() + " GRU hidden 200 (parts inside the layer's partitions), mixed requests, 3 callers",
                    () -> concurrent(be, new LayerSpec(Mode.GRU, 12, 200, 1, false, true, false, 0), 3, 6, true, 45)));
            tests.add(DynamicTest.dynamicTest(be.name() + " Elman relu, mixed requests, 2 callers",
                    () -> concurrent(be, new LayerSpec(Mode.RNN_RELU, 5, 64, 1, false, true, false, 0), 2, 16, true, 44)));
        }
        return tests.stream();
    }

    private static void concurrent(Backend be, LayerSpec spec, int threads, int perThread, boolean mixed, long seed) throws Exception {
        Random r = new Random(seed);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, r, shapes);
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < threads * perThread; i++) {
            int T = 1 + r.nextInt(24);
            reqs.add(mixed ? Request.random(spec, r, T, 1 + r.nextInt(3)) : Request.plain(spec, r, T));
        }
        try (RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", be);
             BatchingExecutor exec = new BatchingExecutor(layer)) {
            List<float[][]> alone = new ArrayList<>();
            for (Request q : reqs) alone.add(q.run(exec));
            for (int i = 0; i < reqs.size(); i += 7) { // and close to forward's
                float[][] f = reqs.get(i).runLayer(layer);
                for (int j = 0; j < f.length; j++) close(Request.NAMES[j], f[j], alone.get(i)[j], spec + " " + reqs.get(i));
            }
            CyclicBarrier start = new CyclicBarrier(threads);
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int from = t * perThread;
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int i = from; i < from + perThread; i++) {
                            float[][] got = reqs.get(i).run(exec);
                            String ctx = spec + " request " + i + " " + reqs.get(i) + " backend=" + be.name();
                            for (int j = 0; j < got.length; j++) identical(Request.NAMES[j] + " (batched vs alone)", alone.get(i)[j], got[j], ctx);
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread t : ts) t.join();
            if (!errors.isEmpty()) {
                Throwable e = errors.peek();
                errors.stream().skip(1).forEach(e::addSuppressed);
                throw new AssertionError(e);
            }
        }
    }

    static void close(String what, float[] expected, float[] actual, String ctx) {
        assertEquals(expected.length, actual.length, what + " length " + ctx);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (!(Math.abs(e - a) <= 1e-5 * Math.max(1, Math.abs(e)))) fail(String.format("%s[%d]: forward %.9g, executor %.9g (%s)", what, i, e, a, ctx));
        }
    }

    static void identical(String what, float[] expected, float[] actual, String ctx) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(String.format("%s[%d]: %s, expected %s (%s)", what, i, actual[i], expected[i], ctx));
            }
        }
    }

    /** One call's arguments as arrays; runs it through a layer or an executor in a fresh shared arena. */
    record Request(LayerSpec spec, int T, int B, float[] x, float[] h0, float[] c0, int[] lengths) {
        static final String[] NAMES = {"output", "h_n", "c_n"};

        static Request plain(LayerSpec spec, Random r, int T) {
            return new Request(spec, T, 1, data(r, T * spec.inputSize(), 2), null, null, null);
        }

        static Request random(LayerSpec spec, Random r, int T, int B) {
            int LD = spec.numLayers() * spec.directions();
            float[] h0 = r.nextBoolean() ? data(r, LD * B * spec.outputSize(), 1) : null;
            float[] c0 = spec.mode() == Mode.LSTM && r.nextBoolean() ? data(r, LD * B * spec.hiddenSize(), 1) : null;
            int[] lengths = null;
            if (r.nextBoolean()) {
                lengths = new int[B];
                for (int b = 0; b < B; b++) lengths[b] = 1 + r.nextInt(T);
            }
            return new Request(spec, T, B, data(r, T * B * spec.inputSize(), 2), h0, c0, lengths);
        }

        private static float[] data(Random r, int n, double scale) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
            return a;
        }

        float[][] runLayer(RecurrentLayer layer) {
            try (Arena arena = Arena.ofShared()) {
                return arrays(layer.forward(arena, input(arena), h0(arena), c0(arena), lengths));
            }
        }

        float[][] run(BatchingExecutor exec) {
            try (Arena arena = Arena.ofConfined()) { // the executor never touches a caller's tensors from another thread
                return arrays(exec.forward(arena, input(arena), h0(arena), c0(arena), lengths));
            }
        }

        Tensor input(Arena a) {
            return spec.batchFirst() ? Tensor.of(a, x, B, T, spec.inputSize()) : Tensor.of(a, x, T, B, spec.inputSize());
        }

        Tensor h0(Arena a) {
            return h0 == null ? null : Tensor.of(a, h0, spec.numLayers() * spec.directions(), B, spec.outputSize());
        }

        Tensor c0(Arena a) {
            return c0 == null ? null : Tensor.of(a, c0, spec.numLayers() * spec.directions(), B, spec.hiddenSize());
        }

        private static float[][] arrays(RecurrentLayer.Result res) {
            return res.cN() == null ? new float[][] {res.output().toArray(), res.hN().toArray()}
                    : new float[][] {res.output().toArray(), res.hN().toArray(), res.cN().toArray()};
        }

        @Override
        public String toString() {
            return "T=" + T + " B=" + B + " h0=" + (h0 != null) + " c0=" + (c0 != null) + " lengths=" + Arrays.toString(lengths);
        }
    }
}
