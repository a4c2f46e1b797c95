package dev.panamarnn.nn;

import static dev.panamarnn.nn.RecurrentLayerRandomTest.randomWeights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.TestBackends;
import dev.panamarnn.Tensor;
import dev.panamarnn.kernel.Bf16Products;
import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.MatrixProducts;
import dev.panamarnn.kernel.PreparedProducts;
import dev.panamarnn.kernel.PreparedWeights;
import dev.panamarnn.kernel.simd.SimdKernelProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.Test;

/**
 * {@link BatchingExecutor}'s argument checks (the messages of {@link RecurrentLayer#forward}, nothing
 * written, the executor usable after), a step that fails (its batch's calls get the failure, later calls
 * work), and close: idle, with calls in flight (they finish or are refused, never anything else), and
 * the layer closed under it.
 */
class BatchingExecutorLifecycleTest {
    private static final float SENTINEL = -7.25f;

    private static RecurrentLayer layer(LayerSpec spec, Backend be, long seed) {
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, new Random(seed), shapes);
        return RecurrentLayer.create(spec, StateDict.of(w, shapes), "", be);
    }

    @Test
    void badArgumentsAreRejectedBeforeAnythingIsWritten() {
        LayerSpec spec = new LayerSpec(Mode.GRU, 6, 8, 2, true, true, false, 0); // 2 layers × 2 directions
        try (Arena arena = Arena.ofConfined(); RecurrentLayer layer = layer(spec, Backend.get("simd"), 1);
             BatchingExecutor exec = new BatchingExecutor(layer)) {
            Tensor in = Tensor.allocate(arena, 5, 3, 6), out = Tensor.allocate(arena, 5, 3, 16), hN = Tensor.allocate(arena, 4, 3, 8);
            out.fill(SENTINEL);
            hN.fill(SENTINEL);
            rejects("forward: input must be (seq_len, batch, input_size=6) with seq_len, batch >= 1, got [5, 3, 7]",
                    () -> exec.forward(Tensor.allocate(arena, 5, 3, 7), null, null, null, out, hN, null));
            rejects("forward: h0 must be (num_layers·directions, batch, hidden_size) = [4, 3, 8], got [2, 3, 8]",
                    () -> exec.forward(in, Tensor.allocate(arena, 2, 3, 8), null, null, out, hN, null));
            rejects("forward: c0 is only for LSTM, this layer is GRU",
                    () -> exec.forward(in, null, Tensor.allocate(arena, 4, 3, 8), null, out, hN, null));
            rejects("forward: lengths must have one entry per sample (3), got 2", () -> exec.forward(in, null, null, new int[] {1, 2}, out, hN, null));
            rejects("forward: lengths[1] must be in 1..5 (seq_len), got 6", () -> exec.forward(in, null, null, new int[] {1, 6, 2}, out, hN, null));
            rejects("forward: output must be (seq_len, batch, directions·hidden_size) = [5, 3, 16], got [5, 3, 8]",
                    () -> exec.forward(in, null, null, null, Tensor.allocate(arena, 5, 3, 8), hN, null));
            rejects("forward: output h_n overlaps input output", () -> exec.forward(in, null, null, null, out, Tensor.wrap(out.segment(), 0, 8, 4, 3, 8), null));
            Tensor dead;
            try (Arena gone = Arena.ofConfined()) {
                dead = Tensor.allocate(gone, 5, 3, 6);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> exec.forward(dead, null, null, null, out, hN, null));
            assertTrue(e.getMessage().startsWith("forward: input [5, 3, 6] is unusable: its arena was closed"), e.getMessage());
            for (float v : out.toArray()) assertEquals(SENTINEL, v, "a rejected call wrote output");
            for (float v : hN.toArray()) assertEquals(SENTINEL, v, "a rejected call wrote h_n");
            // Still usable, and right.
            RecurrentLayer.Result want = layer.forward(arena, in), got = exec.forward(arena, in);
            BatchingExecutorTest.close("output", want.output().toArray(), got.output().toArray(), "after rejected calls");
        }
    }

    private static void rejects(String message, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertEquals(message, e.getMessage());
    }

    /**
     * A step that throws fails the calls of its batch, with the cause; the executor then works again. (A
     * caller's own first projection chunk failing is an exception on its own thread, as in forward.)
     */
    @Test
    void aFailedStepFailsItsBatchAndLeavesTheExecutorUsable() throws Exception {
        AtomicBoolean armed = new AtomicBoolean();
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 4, 16);
        Backend failing = TestBackends.of(hooked(w -> {
            if (armed.get() && w.k() == spec.hiddenSize()) throw new ArithmeticException("injected"); // in a step's h·W_hhᵀ
        }));
        try (Arena arena = Arena.ofShared(); RecurrentLayer layer = layer(spec, failing, 2); BatchingExecutor exec = new BatchingExecutor(layer)) {
            Tensor in = Tensor.allocate(arena, 12, 1, 4);
            in.fill(0.5f);
            float[] want = exec.forward(arena, in).output().toArray();
            armed.set(true);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try (Arena a = Arena.ofConfined()) {
                        exec.forward(a, in);
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread t : ts) t.join();
            assertEquals(4, failures.size(), "every call saw the failure");
            for (Throwable e : failures) {
                assertTrue(e instanceof IllegalStateException && e.getMessage().startsWith("forward: the batched step failed: "), e.toString());
                assertTrue(e.getCause() instanceof ArithmeticException && e.getCause().getMessage().equals("injected"), String.valueOf(e.getCause()));
            }
            armed.set(false);
            BatchingExecutorTest.identical("output after a failure", want, exec.forward(arena, in).output().toArray(), "");
        }
    }

    /**
     * Calls that arrive while a step runs join the batch at the next boundary and leave when they end,
     * while the long one goes on; each gets its alone result bit for bit. The first call's second step is
     * held (its product is the first to run: step one of a zero state skips it) until the others wait.
     */
    @Test
    void callsJoinARunningBatchAndLeaveWhenTheyEnd() throws Exception {
        CountDownLatch holding = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicBoolean hold = new AtomicBoolean();
        LayerSpec spec = new LayerSpec(Mode.LSTM, 5, 70, 1, false, true, true, 0); // batch-first, two partitions
        Backend gated = TestBackends.of(hooked(w -> {
            if (w.k() == spec.hiddenSize() && hold.compareAndSet(true, false)) { // the first step product
                holding.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        }));
        Random r = new Random(6);
        BatchingExecutorTest.Request[] reqs = {BatchingExecutorTest.Request.plain(spec, r, 40), BatchingExecutorTest.Request.random(spec, r, 3, 2),
                BatchingExecutorTest.Request.plain(spec, r, 1), BatchingExecutorTest.Request.random(spec, r, 7, 3)};
        try (RecurrentLayer layer = layer(spec, gated, 7); BatchingExecutor exec = new BatchingExecutor(layer)) {
            float[][][] alone = new float[reqs.length][][];
            for (int i = 0; i < reqs.length; i++) alone[i] = reqs[i].run(exec);
            float[][][] got = new float[reqs.length][][];
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            Thread[] ts = new Thread[reqs.length];
            hold.set(true);
            for (int i = 0; i < reqs.length; i++) {
                int q = i;
                ts[i] = Thread.ofPlatform().unstarted(() -> {
                    try {
                        got[q] = reqs[q].run(exec);
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                ts[i].start();
                if (i == 0) holding.await(); // the first call leads and is held inside its second step
            }
            for (int i = 1; i < reqs.length; i++) {
                while (ts[i].getState() != Thread.State.WAITING && ts[i].getState() != Thread.State.TERMINATED) Thread.onSpinWait();
            }
            release.countDown();
            for (Thread t : ts) t.join();
            assertTrue(errors.isEmpty(), () -> "failed: " + errors);
            for (int i = 0; i < reqs.length; i++) {
                for (int j = 0; j < got[i].length; j++) {
                    BatchingExecutorTest.identical(BatchingExecutorTest.Request.NAMES[j] + " of request " + i, alone[i][j], got[i][j], reqs[i].toString());
                }
            }
            assertEquals(reqs.length, exec.stats().maxCalls(), "all calls shared steps: " + exec.stats());
        }
    }

    /**
     * A caller whose thread is interrupted leaves the batch at the next step boundary with a
     * CancellationException (interrupt status kept); the other calls' results are as if it had never been
     * there; a caller interrupted before it calls never joins.
     */
    @Test
    void interruptedCallsLeaveTheBatch() throws Exception {
        LayerSpec spec = new LayerSpec(Mode.LSTM, 5, 64, 2, true, true, false, 0);
        Random r = new Random(9);
        BatchingExecutorTest.Request longOne = BatchingExecutorTest.Request.plain(spec, r, 20_000), other = BatchingExecutorTest.Request.plain(spec, r, 2_000);
        try (RecurrentLayer layer = layer(spec, Backend.defaultBackend(), 8); BatchingExecutor exec = new BatchingExecutor(layer)) {
            float[][] alone = other.run(exec);
            long stepsAlone = exec.stats().steps();
            AtomicReference<Throwable> longResult = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean keptInterrupt = new java.util.concurrent.atomic.AtomicBoolean();
            Thread a = Thread.ofPlatform().start(() -> {
                try {
                    longOne.run(exec);
                } catch (Throwable e) {
                    longResult.set(e);
                    keptInterrupt.set(Thread.currentThread().isInterrupted());
                }
            });
            float[][][] got = new float[1][][];
            Thread b = Thread.ofPlatform().start(() -> got[0] = other.run(exec));
            while (exec.stats().steps() < stepsAlone + 500 && a.isAlive()) Thread.onSpinWait(); // stepping (20000 steps take far longer)
            assertTrue(a.isAlive(), "the long call is still running");
            a.interrupt();
            a.join(60_000);
            b.join(60_000);
            assertTrue(longResult.get() instanceof java.util.concurrent.CancellationException, "the interrupted call: " + longResult.get());
            assertTrue(keptInterrupt.get(), "its interrupt status is kept");
            // It left early: the steps since are far fewer than its 20000 × 2 directions × 2 layers.
            assertTrue(exec.stats().steps() - stepsAlone < 40_000, "steps after the interrupt: " + exec.stats());
            for (int j = 0; j < alone.length; j++) {
                BatchingExecutorTest.identical(BatchingExecutorTest.Request.NAMES[j] + " of the other call", alone[j], got[0][j], other.toString());
            }
            // Interrupted before calling: never joins.
            AtomicReference<Throwable> early = new AtomicReference<>();
            Thread c = Thread.ofPlatform().unstarted(() -> {
                Thread.currentThread().interrupt();
                try {
                    other.run(exec);
                } catch (Throwable e) {
                    early.set(e);
                }
            });
            c.start();
            c.join(60_000);
            assertTrue(early.get() instanceof java.util.concurrent.CancellationException, "interrupted before the call: " + early.get());
            // The executor is usable after.
            float[][] again = other.run(exec);
            for (int j = 0; j < alone.length; j++) BatchingExecutorTest.identical("after the cancellations", alone[j], again[j], other.toString());
        }
    }

    @Test
    void closeWhileIdle() {
        try (Arena arena = Arena.ofConfined(); RecurrentLayer layer = layer(LayerSpec.of(Mode.RNN_TANH, 3, 5), Backend.get("simd"), 3)) {
            BatchingExecutor exec = new BatchingExecutor(layer);
            Tensor in = Tensor.allocate(arena, 4, 2, 3);
            exec.forward(arena, in);
            exec.close();
            exec.close(); // idempotent
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> exec.forward(arena, in));
            assertEquals("forward: batching executor is closed", e.getMessage());
            layer.forward(arena, in); // the layer is not the executor's
        }
    }

    /** Callers in flight when close() comes finish with correct results, or are refused; nothing else. */
    @Test
    void closeWhileInUse() throws Exception {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 8, 24);
        try (Arena arena = Arena.ofShared(); RecurrentLayer layer = layer(spec, Backend.get("simd"), 4)) {
            BatchingExecutor exec = new BatchingExecutor(layer);
            Tensor in = Tensor.allocate(arena, 20, 1, 8);
            in.fill(0.25f);
            float[] want = layer.forward(arena, in).output().toArray();
            AtomicInteger done = new AtomicInteger(), refused = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> other = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(6);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; ; i++) {
                        try (Arena a = Arena.ofConfined()) {
                            float[] got = exec.forward(a, in).output().toArray();
                            BatchingExecutorTest.close("output", want, got, "call in flight at close");
                            done.incrementAndGet();
                        } catch (IllegalStateException e) {
                            if (!e.getMessage().equals("forward: batching executor is closed")) other.add(e);
                            refused.incrementAndGet();
                            return;
                        } catch (Throwable e) {
                            other.add(e);
                            return;
                        } finally {
                            if (i < 2) started.countDown();
                        }
                    }
                }));
            }
            started.await();
            exec.close();
            for (Thread t : ts) t.join();
            assertTrue(other.isEmpty(), () -> "unexpected: " + other);
            assertEquals(3, refused.get(), "every caller was refused once closed");
            assertTrue(done.get() >= 6);
        }
    }

    @Test
    void aClosedLayerRefusesTheExecutorsCalls() {
        try (Arena arena = Arena.ofConfined()) {
            RecurrentLayer layer = layer(LayerSpec.of(Mode.GRU, 3, 5), Backend.get("simd"), 5);
            try (BatchingExecutor exec = new BatchingExecutor(layer)) {
                Tensor in = Tensor.allocate(arena, 4, 1, 3);
                exec.forward(arena, in);
                layer.close();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> exec.forward(arena, in));
                assertEquals("forward: layer is closed", e.getMessage());
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> new BatchingExecutor(layer));
            assertEquals("BatchingExecutor: layer is closed", e.getMessage());
        }
    }

    @Test
    void bfloat16WeightsAreRefusedWithTheFix() {
        LayerSpec spec = LayerSpec.of(Mode.LSTM, 4, 8);
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> w = randomWeights(spec, new Random(6), shapes);
        try (RecurrentLayer layer = RecurrentLayer.create(spec, StateDict.of(w, shapes), "", Backend.get("simd"), WeightFormat.BF16)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BatchingExecutor(layer));
            assertTrue(e.getMessage().contains("bfloat16") && e.getMessage().contains("WeightFormat.F32"), e.getMessage());
        }
    }

    /**
     * The simd kernels, with {@code hook} run before every product over prepared weights (the projection's
     * and the step's: the hook tells them apart by W's shape) to fail or hold one.
     */
    private static Kernels hooked(java.util.function.Consumer<PreparedWeights> hook) {
        KernelProvider simd = new SimdKernelProvider();
        MatrixProducts products = simd.products();
        return new Kernels("hooked", products, (Bf16Products) products, new HookedProducts((PreparedProducts) products, hook),
                simd.cellMath().orElseThrow());
    }

    /** {@code p}'s products, {@code hook} run before each over prepared weights. */
    private record HookedProducts(PreparedProducts p, java.util.function.Consumer<PreparedWeights> hook) implements PreparedProducts {
        @Override
        public PreparedWeights prepare(MemorySegment w, long wOff, int ldw, int n, int kk) {
            return p.prepare(w, wOff, ldw, n, kk);
        }

        @Override
        public void gemmPrepared(int m, PreparedWeights w, MemorySegment a, long aOff, int lda, float beta, MemorySegment c, long cOff, int ldc) {
            hook.accept(w);
            p.gemmPrepared(m, w, a, aOff, lda, beta, c, cOff, ldc);
        }

        @Override
        public void sgemm(boolean ta, boolean tb, int m, int n, int kk, float alpha, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
            p.sgemm(ta, tb, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }

        @Override
        public void sgemv(boolean ta, int m, int n, float alpha, MemorySegment a, long aOff, int lda, MemorySegment x, long xOff,
                          float beta, MemorySegment y, long yOff) {
            p.sgemv(ta, m, n, alpha, a, aOff, lda, x, xOff, beta, y, yOff);
        }
    }
}
