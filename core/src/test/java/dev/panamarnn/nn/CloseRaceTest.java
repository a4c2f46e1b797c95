package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Closing things while other threads use them: a model closed under running calls waits for them and
 * makes later calls fail with {@link IllegalStateException}; a caller's shared arena closed while a
 * call reads it makes that call fail the same way (or the close itself is refused while a native
 * routine holds the memory). Never a crash, never another exception type, and the JVM carries on.
 */
public class CloseRaceTest {
    private static final int CALLERS = 4;

    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return true;
    }

    @TestFactory
    Stream<DynamicTest> races() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name()) || s.name().equals("scalar")) continue;
            Backend b = Backend.get(s.name());
            tests.add(DynamicTest.dynamicTest(s.name() + ": layer closed under running calls", () -> layerClosedUnderCalls(b)));
            tests.add(DynamicTest.dynamicTest(s.name() + ": cell closed under running calls", () -> cellClosedUnderCalls(b)));
            tests.add(DynamicTest.dynamicTest(s.name() + ": linear closed under running calls", () -> linearClosedUnderCalls(b)));
            tests.add(DynamicTest.dynamicTest(s.name() + ": caller's arena closed during calls", () -> callerArenaClosedDuringCalls(b)));
        }
        return tests.stream();
    }

    private static RecurrentLayer layer(Backend b) {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 32, 64).withBidirectional(true);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, new Random(9), shapes);
        return RecurrentLayer.create(spec, StateDict.of(w, shapes), "", b);
    }

    /** Runs {@code call} on CALLERS threads until it throws; returns how many calls succeeded. */
    private static int hammer(Runnable call, Runnable closer, String closedFragment) throws InterruptedException {
        AtomicInteger ok = new AtomicInteger();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(CALLERS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < CALLERS; t++) {
            Thread th = new Thread(() -> {
                started.countDown();
                while (true) {
                    try {
                        call.run();
                        ok.incrementAndGet();
                    } catch (IllegalStateException e) {
                        if (e.getMessage() == null || !e.getMessage().contains(closedFragment)) unexpected.compareAndSet(null, e);
                        return;
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                        return;
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        started.await();
        while (ok.get() < 2 * CALLERS) Thread.onSpinWait();
        closer.run();
        for (Thread th : threads) th.join(60_000);
        for (Thread th : threads) assertTrue(!th.isAlive(), "a caller is stuck");
        if (unexpected.get() != null) fail("unexpected " + unexpected.get(), unexpected.get());
        return ok.get();
    }

    private static void layerClosedUnderCalls(Backend b) throws InterruptedException {
        RecurrentLayer l = layer(b);
        try (Arena arena = Arena.ofShared()) {
            Tensor in = Tensor.allocate(arena, 8, 3, 32);
            in.fill(0.5f);
            hammer(() -> {
                try (Arena a = Arena.ofConfined()) {
                    l.forward(a, in);
                }
            }, l::close, "closed");
            l.close(); // idempotent
        }
    }

    private static void cellClosedUnderCalls(Backend b) throws InterruptedException {
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(LayerSpec.of(Mode.GRU, 16, 32), new Random(2), shapes), cw = new HashMap<>();
        Map<String, int[]> cs = new HashMap<>();
        for (String n : w.keySet()) { // nn.GRUCell names: no _l0
            cw.put(n.replace("_l0", ""), w.get(n));
            cs.put(n.replace("_l0", ""), shapes.get(n));
        }
        RecurrentCell cell = RecurrentCell.load(StateDict.of(cw, cs), "", null, b);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, 2, 16);
            hammer(() -> {
                try (Arena a = Arena.ofConfined()) {
                    cell.step(x, Tensor.allocate(a, 2, 32), null);
                }
            }, cell::close, "closed");
        }
    }

    private static void linearClosedUnderCalls(Backend b) throws InterruptedException {
        Map<String, float[]> w = new HashMap<>();
        Map<String, int[]> s = new HashMap<>();
        w.put("weight", new float[256 * 128]);
        s.put("weight", new int[] {256, 128});
        Linear lin = Linear.load(StateDict.of(w, s), "", b);
        Embedding emb = Embedding.load(StateDict.of(w, s), "");
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, 64, 128);
            hammer(() -> {
                try (Arena a = Arena.ofConfined()) {
                    lin.forward(x, Tensor.allocate(a, 64, 256));
                    emb.lookup(new int[] {1, 2, 3}, Tensor.allocate(a, 3, 128));
                }
            }, () -> {
                lin.close();
                emb.close();
            }, "closed");
        }
    }

    /** The caller closes its own (shared) input arena while calls read it. */
    private static void callerArenaClosedDuringCalls(Backend b) throws InterruptedException {
        try (RecurrentLayer l = layer(b)) {
            Arena shared = Arena.ofShared();
            Tensor in = Tensor.allocate(shared, 12, 2, 32);
            in.fill(0.25f);
            int done = hammer(() -> {
                try (Arena a = Arena.ofConfined()) {
                    l.forward(a, in);
                }
            }, () -> {
                // A native routine holding the memory makes close() refuse (IllegalStateException): retry.
                while (true) {
                    try {
                        shared.close();
                        return;
                    } catch (IllegalStateException busy) {
                        Thread.onSpinWait();
                    }
                }
            }, "");
            assertTrue(done >= 2 * CALLERS);
            // The model is intact: a fresh call gives the same bits as a call before the race would.
            try (Arena a = Arena.ofConfined(); Arena c = Arena.ofConfined()) {
                Tensor in2 = Tensor.allocate(a, 12, 2, 32);
                in2.fill(0.25f);
                float[] x = l.forward(a, in2).output().toArray(), y = l.forward(c, in2).output().toArray();
                assertEquals(x.length, y.length);
                org.junit.jupiter.api.Assertions.assertArrayEquals(x, y);
            }
        }
    }
}
