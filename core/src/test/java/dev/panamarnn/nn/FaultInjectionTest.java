package dev.panamarnn.nn;

import static dev.panamarnn.FaultSweep.sweep;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.FaultSweep;
import dev.panamarnn.Faults;
import dev.panamarnn.Faults.Kind;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * Every native allocation, thread start and OpenBLAS call of a load, a forward pass (1 and 2 threads,
 * pooled and own workspace), a cell step and the batching executor made to fail in turn
 * ({@link FaultSweep}): each failure surfaces as itself, the model then gives the same bits as before,
 * the caller's state (h0/c0 passed as h_n/c_n, a cell's h and c) is untouched, close() returns within a
 * second, and the library's native memory returns to where it was.
 */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
public class FaultInjectionTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return !backend.equals("openblas");
    }

    /** Whether the backend calls OpenBLAS (so a sweep of BLAS calls must find some). */
    private static boolean callsBlas(Backend b) {
        return b.name().equals("openblas");
    }

    private int threadsBefore;

    @BeforeEach
    void saveThreads() {
        threadsBefore = Parallelism.threads();
    }

    @AfterEach
    void restore() {
        Faults.reset();
        Parallelism.setThreads(threadsBefore);
    }

    /** Two layers so a failure can come after the first layer-direction wrote its final state; 64 units: two partitions. */
    private static final LayerSpec LSTM = LayerSpec.of(Mode.LSTM, 8, 64).withLayers(2);
    private static final LayerSpec GRU_BI = LayerSpec.of(Mode.GRU, 8, 64).withLayers(2).withBidirectional(true);
    private static final LayerSpec LSTM_PROJ = LayerSpec.of(Mode.LSTM, 8, 32).withProjSize(16).withBidirectional(true);
    private static final int T = 16, B = 4;

    @TestFactory
    Stream<DynamicTest> sweeps() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            Backend b = Backend.get(s.name());
            for (LayerSpec spec : List.of(LSTM, GRU_BI, LSTM_PROJ)) {
                String n = s.name() + " " + spec.mode() + (spec.bidirectional() ? " bi" : "") + (spec.projSize() > 0 ? " proj" : "");
                tests.add(DynamicTest.dynamicTest(n + ": load", () -> load(b, spec, WeightFormat.F32)));
                for (int threads : new int[] {1, 2}) {
                    for (boolean own : new boolean[] {false, true}) {
                        tests.add(DynamicTest.dynamicTest(n + ": forward, " + threads + " thread(s), " + (own ? "own" : "pooled") + " workspace",
                                () -> forward(b, spec, threads, own)));
                    }
                }
            }
            tests.add(DynamicTest.dynamicTest(s.name() + ": load bf16", () -> load(b, LSTM, WeightFormat.BF16)));
            for (Mode m : Mode.values()) tests.add(DynamicTest.dynamicTest(s.name() + " " + m + ": cell step", () -> cell(b, m)));
            if (!s.name().equals("scalar")) {
                tests.add(DynamicTest.dynamicTest(s.name() + ": batching executor", () -> executor(b, LSTM)));
                tests.add(DynamicTest.dynamicTest(s.name() + ": batching executor, GRU bi", () -> executor(b, GRU_BI)));
            }
        }
        return tests.stream();
    }

    private static StateDict weights(LayerSpec spec) {
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = RecurrentLayerRandomTest.randomWeights(spec, new Random(spec.hashCode()), shapes);
        return StateDict.of(w, shapes);
    }

    /** Inputs, initial states and result buffers of one call, in a shared arena (close() runs on another thread). */
    private static final class Call {
        final Arena arena = Arena.ofShared();
        final Tensor x, h, c, out;
        final float[] h0, c0;

        Call(LayerSpec spec) {
            Random r = new Random(5);
            int LD = spec.numLayers() * spec.directions();
            x = Tensor.of(arena, random(r, T * B * spec.inputSize()), T, B, spec.inputSize());
            h0 = random(r, LD * B * spec.outputSize());
            h = Tensor.of(arena, h0, LD, B, spec.outputSize());
            c0 = spec.mode() == Mode.LSTM ? random(r, LD * B * spec.hiddenSize()) : null;
            c = c0 == null ? null : Tensor.of(arena, c0, LD, B, spec.hiddenSize());
            out = Tensor.allocate(arena, T, B, spec.directions() * spec.outputSize());
        }

        /** Restores the initial state (after a call that carried it forward). */
        void resetState() {
            h.copyFrom(h0);
            if (c != null) c.copyFrom(c0);
        }
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 0.5);
        return a;
    }

    /** output, h_n, c_n of a fault-free call with state carried in place (h_n = h0, c_n = c0). */
    private static float[][] reference(RecurrentLayer layer, LayerSpec spec, Workspace ws) {
        Call c = new Call(spec);
        try {
            layer.forward(c.x, c.h, c.c, null, c.out, c.h, c.c, ws);
            return new float[][] {c.out.toArray(), c.h.toArray(), c.c == null ? null : c.c.toArray()};
        } finally {
            c.arena.close();
        }
    }

    private static void assertSame(String what, float[][] want, float[][] got) {
        for (int i = 0; i < want.length; i++) {
            if (want[i] != null) assertArrayEquals(want[i], got[i], what + ": result " + i + " differs from the fault-free run");
        }
    }

    // ---------------------------------------------------------------- load

    private static final class Loaded {
        RecurrentLayer layer;
    }

    private void load(Backend b, LayerSpec spec, WeightFormat format) throws Exception {
        StateDict sd = weights(spec);
        float[][] want;
        try (RecurrentLayer ref = RecurrentLayer.create(spec, sd, "", b, format)) {
            want = reference(ref, spec, null);
        }
        int n = sweep("load " + spec, Kind.ALLOCATION, new FaultSweep.Trial<Loaded>() {
            public Loaded setUp() {
                return new Loaded();
            }

            public void run(Loaded t) {
                t.layer = RecurrentLayer.create(spec, sd, "", b, format);
            }

            public void check(Loaded t, boolean failed) {
                if (failed) t.layer = RecurrentLayer.create(spec, sd, "", b, format); // a failed load leaves nothing behind: load again
                assertSame("after a failed load", want, reference(t.layer, spec, null));
            }

            public void close(Loaded t) {
                if (t.layer != null) t.layer.close();
            }
        });
        assertTrue(n > 0, "a load allocates native memory");
    }

    // ---------------------------------------------------------------- forward

    private static final class Fwd {
        RecurrentLayer layer;
        Workspace ws;
        Call call;
    }

    private void forward(Backend b, LayerSpec spec, int threads, boolean ownWorkspace) throws Exception {
        StateDict sd = weights(spec);
        Parallelism.setThreads(threads);
        float[][] want;
        try (RecurrentLayer ref = RecurrentLayer.create(spec, sd, "", b)) {
            want = reference(ref, spec, null);
        }
        List<Kind> kinds = new ArrayList<>(List.of(Kind.ALLOCATION, Kind.BLAS_CALL));
        if (threads == 2) kinds.add(Kind.THREAD_START);
        for (Kind kind : kinds) {
            String what = "forward " + spec + " " + b.name() + " threads=" + threads + (ownWorkspace ? " own workspace" : "");
            int n = sweep(what, kind, new FaultSweep.Trial<Fwd>() {
                public Fwd setUp() {
                    if (kind == Kind.THREAD_START) dev.panamarnn.engine.Helper.forgetShared(); // so this call starts the helper thread
                    Fwd f = new Fwd();
                    f.layer = RecurrentLayer.create(spec, sd, "", b); // fresh: the call's scratch is allocated in it
                    f.ws = ownWorkspace ? new Workspace() : null;
                    f.call = new Call(spec);
                    return f;
                }

                public void run(Fwd f) {
                    f.layer.forward(f.call.x, f.call.h, f.call.c, null, f.call.out, f.call.h, f.call.c, f.ws);
                }

                public void check(Fwd f, boolean failed) {
                    if (failed) {
                        // The caller's state, passed as h_n/c_n to carry it, is as it was.
                        assertArrayEquals(f.call.h0, f.call.h.toArray(), what + ": h0 changed by a failed call");
                        if (f.call.c != null) assertArrayEquals(f.call.c0, f.call.c.toArray(), what + ": c0 changed by a failed call");
                    }
                    assertSame(what, want, reference(f.layer, spec, f.ws));
                }

                public void close(Fwd f) {
                    f.layer.close();
                    if (f.ws != null) f.ws.close();
                    f.call.arena.close();
                }
            });
            if (kind == Kind.ALLOCATION) assertTrue(n > 0, what + ": a first call allocates its scratch");
            if (kind == Kind.BLAS_CALL && callsBlas(b)) assertTrue(n > 0, what + ": calls OpenBLAS");
            if (kind == Kind.THREAD_START && T * B * spec.hiddenSize() >= 4096) assertTrue(n > 0, what + ": starts the helper thread");
        }
    }

    // ---------------------------------------------------------------- cell

    private static final class CellCase {
        RecurrentCell cell;
        Arena arena = Arena.ofShared();
        Tensor x, h, c;
        float[] h0, c0;
    }

    private void cell(Backend b, Mode mode) throws Exception {
        LayerSpec spec = LayerSpec.of(mode, 8, 64);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> lw = RecurrentLayerRandomTest.randomWeights(spec, new Random(11), shapes);
        Map<String, float[]> cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        lw.forEach((k, v) -> cw.put(k.replace("_l0", ""), v));
        shapes.forEach((k, v) -> cs.put(k.replace("_l0", ""), v));
        StateDict sd = StateDict.of(cw, cs);
        Mode hint = mode == Mode.RNN_TANH || mode == Mode.RNN_RELU ? mode : null;
        float[][] want = cellRun(RecurrentCell.load(sd, "", hint, b), mode, true);
        for (Kind kind : List.of(Kind.ALLOCATION, Kind.BLAS_CALL)) {
            String what = "cell " + mode + " " + b.name();
            int n = sweep(what, kind, new FaultSweep.Trial<CellCase>() {
                public CellCase setUp() {
                    CellCase t = new CellCase();
                    t.cell = RecurrentCell.load(sd, "", hint, b);
                    Random r = new Random(3);
                    t.x = Tensor.of(t.arena, random(r, 3 * 8), 3, 8);
                    t.h0 = random(r, 3 * 64);
                    t.h = Tensor.of(t.arena, t.h0, 3, 64);
                    t.c0 = random(r, 3 * 64);
                    t.c = mode == Mode.LSTM ? Tensor.of(t.arena, t.c0, 3, 64) : null;
                    return t;
                }

                public void run(CellCase t) {
                    t.cell.step(t.x, t.h, t.c);
                }

                public void check(CellCase t, boolean failed) {
                    if (failed) {
                        assertArrayEquals(t.h0, t.h.toArray(), what + ": h changed by a failed step");
                        if (t.c != null) assertArrayEquals(t.c0, t.c.toArray(), what + ": c changed by a failed step");
                    }
                    assertSame(what, want, cellRun(t.cell, mode, false));
                }

                public void close(CellCase t) {
                    t.cell.close();
                    t.arena.close();
                }
            });
            if (kind == Kind.ALLOCATION) assertTrue(n > 0, what + ": a first step allocates its scratch");
            if (kind == Kind.BLAS_CALL && callsBlas(b)) assertTrue(n > 0, what + ": calls OpenBLAS");
        }
    }

    /** h and c after one step from the trial's state. */
    private static float[][] cellRun(RecurrentCell cell, Mode mode, boolean closeAfter) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(3);
            Tensor x = Tensor.of(a, random(r, 3 * 8), 3, 8);
            Tensor h = Tensor.of(a, random(r, 3 * 64), 3, 64);
            float[] c0 = random(r, 3 * 64);
            Tensor c = mode == Mode.LSTM ? Tensor.of(a, c0, 3, 64) : null;
            cell.step(x, h, c);
            return new float[][] {h.toArray(), c == null ? null : c.toArray()};
        } finally {
            if (closeAfter) cell.close();
        }
    }

    // ---------------------------------------------------------------- batching executor

    private static final class Exec {
        RecurrentLayer layer;
        BatchingExecutor executor;
        Call call;
    }

    private void executor(Backend b, LayerSpec spec) throws Exception {
        StateDict sd = weights(spec);
        float[][] want;
        try (RecurrentLayer ref = RecurrentLayer.create(spec, sd, "", b); BatchingExecutor e = new BatchingExecutor(ref)) {
            want = executorRun(e, spec);
        }
        for (Kind kind : List.of(Kind.ALLOCATION, Kind.BLAS_CALL)) {
            String what = "executor " + spec + " " + b.name();
            int n = sweep(what, kind, new FaultSweep.Trial<Exec>() {
                public Exec setUp() {
                    Exec t = new Exec();
                    t.layer = RecurrentLayer.create(spec, sd, "", b);
                    t.call = new Call(spec);
                    return t;
                }

                public void run(Exec t) {
                    t.executor = new BatchingExecutor(t.layer);
                    t.executor.forward(t.call.x, t.call.h, t.call.c, null, t.call.out, t.call.h, t.call.c);
                }

                public void check(Exec t, boolean failed) {
                    if (failed) {
                        assertArrayEquals(t.call.h0, t.call.h.toArray(), what + ": h0 changed by a failed call");
                        if (t.call.c != null) assertArrayEquals(t.call.c0, t.call.c.toArray(), what + ": c0 changed by a failed call");
                    }
                    if (t.executor == null) t.executor = new BatchingExecutor(t.layer); // construction failed
                    assertSame(what, want, executorRun(t.executor, spec));
                }

                public void close(Exec t) {
                    if (t.executor != null) t.executor.close();
                    t.layer.close();
                    t.call.arena.close();
                }
            });
            // Its products are gemmPrepared over the gate kernels' panels on every backend (bit-identical rows
            // whatever the batch), so the executor makes no OpenBLAS call; the sweep finds none and stays as a guard.
            if (kind == Kind.ALLOCATION) assertTrue(n > 0, what + ": allocates its batch state");
        }
    }

    private static float[][] executorRun(BatchingExecutor e, LayerSpec spec) {
        Call c = new Call(spec);
        try {
            e.forward(c.x, c.h, c.c, null, c.out, c.h, c.c);
            return new float[][] {c.out.toArray(), c.h.toArray(), c.c == null ? null : c.c.toArray()};
        } finally {
            c.arena.close();
        }
    }
}
