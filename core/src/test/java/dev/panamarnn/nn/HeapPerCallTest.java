package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.flat;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.rand;
import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.kernel.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * A warm {@code forward} into the caller's buffers, with the caller's workspace, allocates no heap on the
 * calling thread (docs/performance.md: zero when the caller passes its own output buffers), at one thread and
 * with our helper thread. Not a timing: the calling thread's allocated-byte counter
 * ({@code com.sun.management.ThreadMXBean}) over a round of calls. Before the JIT has compiled the
 * kernels, the Vector API boxes vectors, so the test runs rounds until one allocates nothing and fails
 * only if none does for 90 s: a call path that allocates once compiled never reaches zero. The sizes make
 * the two-thread cases large enough for the helper thread to take half.
 */
public class HeapPerCallTest {
    private static final int CALLS_PER_ROUND = 20;
    /** Time for the JIT: C2 compiles in the background, slowly on a loaded machine. */
    private static final long WARM_UP_NANOS = 90_000_000_000L;

    protected boolean runsOn(String backend) {
        return !backend.equals("scalar");
    }

    @TestFactory
    Stream<DynamicTest> warmForwardAllocatesNothing() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (int threads : new int[] {1, 2}) {
                tests.add(DynamicTest.dynamicTest(s.name() + " LSTM B=1, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.LSTM, 48, 64, 1, false, true, false, 0), 1, 64, threads)));
                tests.add(DynamicTest.dynamicTest(s.name() + " GRU 2 layers bidirectional B=4, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.GRU, 32, 48, 2, true, true, false, 0), 4, 24, threads)));
                tests.add(DynamicTest.dynamicTest(s.name() + " RNN tanh B=8, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.RNN_TANH, 40, 160, 1, false, true, false, 0), 8, 16, threads)));
                // The same through the fused step (forced on: the measured default may not take it here).
                tests.add(DynamicTest.dynamicTest(s.name() + " fused LSTM B=1, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.LSTM, 48, 64, 1, false, true, false, 0), 1, 64, threads, "on")));
                tests.add(DynamicTest.dynamicTest(s.name() + " fused GRU 2 layers bidirectional B=7, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.GRU, 32, 150, 2, true, true, false, 0), 7, 24, threads, "on")));
                tests.add(DynamicTest.dynamicTest(s.name() + " fused RNN tanh B=8, " + threads + " thread(s)",
                        () -> check(s.name(), new LayerSpec(Mode.RNN_TANH, 40, 160, 1, false, true, false, 0), 8, 16, threads, "on")));
            }
        }
        return tests.stream();
    }

    /** A cell's step (the 1-vs-N generation loop's unit of work) allocates nothing either. */
    @TestFactory
    Stream<DynamicTest> warmCellStepAllocatesNothing() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            for (Mode mode : new Mode[] {Mode.LSTM, Mode.GRU, Mode.RNN_TANH}) {
                for (int B : new int[] {1, 3}) {
                    tests.add(DynamicTest.dynamicTest(s.name() + " " + mode + " cell B=" + B, () -> checkCell(s.name(), mode, B)));
                }
            }
        }
        return tests.stream();
    }

    /**
     * An activation over a length with a partial last vector allocates nothing even when most calls have
     * none, as in the suite, where layers whose gate blocks are whole vectors run first and an LSTM cell of
     * 72 units (partitions of 40 and 32: σ over 80, then over 40) comes later. The loops' profile is shared
     * by all callers; had the tail its own call site of the activation, that site would be cold and C2
     * would call the helper instead of inlining it, boxing its vector argument and result (192 bytes a
     * tail at 512 bits). n = 64 is whole vectors at 4, 8 and 16 lanes, n = 67 has a tail at each.
     */
    @TestFactory
    Stream<DynamicTest> activationTailsAllocateNothingWhenRare() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            tests.add(DynamicTest.dynamicTest(s.name() + " activations, one call in five with a tail", () -> checkRareTails(s.name())));
        }
        return tests.stream();
    }

    private static void checkRareTails(String backendName) {
        Kernels k = KernelAccess.of(Backend.get(backendName));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(JAVA_FLOAT, 128), y = arena.allocate(JAVA_FLOAT, 128);
            for (int i = 0; i < 128; i++) x.setAtIndex(JAVA_FLOAT, i, (i - 64) / 8f);
            Runnable whole = () -> {
                k.sigmoid(64, x, 0, y, 0);
                k.tanh(64, x, 0, y, 0);
                k.relu(64, x, 0, y, 0);
            };
            for (int i = 0; i < 100_000; i++) whole.run(); // compiled before the first tail is seen
            assertWarmCallsAllocateNothing(backendName + " activations with rare tails", () -> {
                for (int i = 0; i < 4; i++) whole.run();
                k.sigmoid(67, x, 0, y, 0);
                k.tanh(67, x, 0, y, 0);
                k.relu(67, x, 0, y, 0);
            });
        }
    }

    private static void checkCell(String backendName, Mode mode, int B) {
        LayerSpec spec = new LayerSpec(mode, 40, 72, 1, false, true, false, 0);
        Random r = new Random(57 + B);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> layerWeights = randomWeights(spec, r, shapes);
        Map<String, float[]> cellWeights = new HashMap<>();
        Map<String, int[]> cellShapes = new HashMap<>();
        for (var e : layerWeights.entrySet()) { // nn.LSTM's "weight_ih_l0" is nn.LSTMCell's "weight_ih"
            String name = e.getKey().replace("_l0", "");
            cellWeights.put(name, e.getValue());
            cellShapes.put(name, shapes.get(e.getKey()));
        }
        try (Arena arena = Arena.ofShared();
             RecurrentCell cell = RecurrentCell.load(StateDict.of(cellWeights, cellShapes), "", mode, Backend.get(backendName))) {
            Tensor x = Tensor.of(arena, flat(rand(r, 1, B, spec.inputSize(), 1)), B, spec.inputSize());
            Tensor h = Tensor.allocate(arena, B, spec.hiddenSize());
            Tensor c = mode == Mode.LSTM ? Tensor.allocate(arena, B, spec.hiddenSize()) : null;
            assertWarmCallsAllocateNothing(backendName + " " + mode + " cell B=" + B, () -> cell.step(x, h, c));
        }
    }

    private static void check(String backendName, LayerSpec spec, int B, int T, int threads) {
        check(backendName, spec, B, T, threads, null);
    }

    /** {@code fused}: the layer's own fused-step setting, or null for the process's settings. */
    private static void check(String backendName, LayerSpec spec, int B, int T, int threads, String fused) {
        Random r = new Random(31 + B);
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
        int before = Parallelism.threads();
        Parallelism.setThreads(threads);
        try (Arena arena = Arena.ofShared();
             RecurrentLayer layer = fused == null ? RecurrentLayer.create(spec, sd, "", Backend.get(backendName))
                     : RecurrentLayer.loader().spec(spec).backend(Backend.get(backendName))
                             .config(dev.panamarnn.Config.defaults().withThreadsPerCall(threads).withFusedSteps(fused)).load(sd);
             Workspace ws = new Workspace()) {
            int D = spec.directions(), LD = spec.numLayers() * D;
            Tensor input = Tensor.of(arena, flat(rand(r, T, B, spec.inputSize(), 1)), T, B, spec.inputSize());
            Tensor output = Tensor.allocate(arena, T, B, D * spec.outputSize());
            Tensor hN = Tensor.allocate(arena, LD, B, spec.outputSize());
            Tensor cN = spec.mode() == Mode.LSTM ? Tensor.allocate(arena, LD, B, spec.hiddenSize()) : null;
            assertWarmCallsAllocateNothing(backendName + " " + spec + " B=" + B + " at " + threads + " thread(s)" + (fused == null ? "" : ", fused " + fused),
                    () -> layer.forward(input, null, null, null, output, hN, cN, ws));
        } finally {
            Parallelism.setThreads(before);
        }
    }

    /**
     * The named-options call, {@code layer.forward(input, request)}, with one {@link Forward} kept and its
     * parts set again before every call (initial states, buffers, workspace), allocates nothing either.
     */
    @TestFactory
    Stream<DynamicTest> warmRequestForwardAllocatesNothing() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            tests.add(DynamicTest.dynamicTest(s.name() + " LSTM B=1 with h0/c0 carried, request reused, 1 thread",
                    () -> checkRequest(s.name(), new LayerSpec(Mode.LSTM, 48, 64, 1, false, true, false, 0), 1, 64, 1)));
            tests.add(DynamicTest.dynamicTest(s.name() + " GRU 2 layers bidirectional B=4, request reused, 2 threads",
                    () -> checkRequest(s.name(), new LayerSpec(Mode.GRU, 32, 48, 2, true, true, false, 0), 4, 24, 2)));
        }
        return tests.stream();
    }

    private static void checkRequest(String backendName, LayerSpec spec, int B, int T, int threads) {
        Random r = new Random(41 + B);
        Map<String, int[]> shapes = new HashMap<>();
        StateDict sd = StateDict.of(randomWeights(spec, r, shapes), shapes);
        int before = Parallelism.threads();
        Parallelism.setThreads(threads);
        try (Arena arena = Arena.ofShared();
             RecurrentLayer layer = RecurrentLayer.loader().spec(spec).backend(Backend.get(backendName)).load(sd);
             Workspace ws = new Workspace()) {
            int D = spec.directions(), LD = spec.numLayers() * D;
            Tensor input = Tensor.of(arena, flat(rand(r, T, B, spec.inputSize(), 1)), T, B, spec.inputSize());
            Tensor output = Tensor.allocate(arena, T, B, D * spec.outputSize());
            Tensor h = Tensor.allocate(arena, LD, B, spec.outputSize()); // h0 and h_n at once: the state carried from call to call
            Tensor c = spec.mode() == Mode.LSTM ? Tensor.allocate(arena, LD, B, spec.hiddenSize()) : null;
            Forward request = new Forward();
            assertWarmCallsAllocateNothing(backendName + " " + spec + " B=" + B + " request at " + threads + " thread(s)",
                    () -> layer.forward(input, request.clear().h0(h).c0(c).into(output, h, c).workspace(ws)));
        } finally {
            Parallelism.setThreads(before);
        }
    }

    /**
     * Rounds of {@code call} until one allocates no byte on this thread; fails after {@link #WARM_UP_NANOS}.
     * The lambda is made once, before the rounds: calling it allocates nothing.
     */
    private static void assertWarmCallsAllocateNothing(String what, Runnable call) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long last = -1, start = System.nanoTime();
        while (System.nanoTime() - start < WARM_UP_NANOS) {
            long b0 = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < CALLS_PER_ROUND; i++) call.run();
            last = mx.getCurrentThreadAllocatedBytes() - b0;
            if (last == 0) return;
        }
        fail(what + ": every round of " + CALLS_PER_ROUND + " warm calls for " + WARM_UP_NANOS / 1_000_000_000
                + " s allocated heap; the last one " + last + " bytes (" + last / CALLS_PER_ROUND + " per call)");
    }
}
