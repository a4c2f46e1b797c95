package dev.panamarnn.app;

import dev.panamarnn.Tensor;
import dev.panamarnn.nn.BatchingExecutor;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching for decoding (a batching view's generation and greedy translation): one thread per
 * view owns every sequence being decoded and runs one step for all of them at a time: the rows' tokens
 * embedded, one forward of one step over the batch, the head, a token picked per row; a sequence that
 * reaches the end token or its budget leaves, a new one joins, between steps. A caller hands over its
 * sequence (the state after its prompt or encoder, its first input token) and waits; its tokens are the
 * ones it would get alone (greedy: equal; sampled: the same draws from its own random stream), up to the
 * float32 rounding of a batched product.
 *
 * <p>Per step nothing is allocated; the batch's state lives in buffers of the largest batch seen, laid out
 * for the current batch (re-laid when it changes, between steps).
 */
final class DecodeLoop implements AutoCloseable {
    /**
     * One loop per core: a call's sequences go to the loop with the fewest, so the cores share the decoding
     * (a loop computes on its own thread).
     */
    static final class Pool implements AutoCloseable {
        private final DecodeLoop[] loops;
        /**
         * Prompts and sources computing at once: at most one per core, so that callers' prompts (a server
         * may have many request threads) do not crowd the loops off the cores.
         */
        private final java.util.concurrent.Semaphore prefill;

        Pool(Network net, BatchingExecutor.StepListener listener) {
            int k = Math.max(1, Runtime.getRuntime().availableProcessors());
            prefill = new java.util.concurrent.Semaphore(k);
            loops = new DecodeLoop[k];
            try {
                for (int i = 0; i < k; i++) loops[i] = new DecodeLoop(net, listener);
            } catch (Throwable e) {
                close();
                throw e;
            }
        }

        Request request(Tensor h, Tensor c, int b, int first, int count, int[] out, Decoding d, SplittableRandom rnd, int maxNew, int eos,
                        LanguageModel.TokenSink sink) {
            return loops[0].request(h, c, b, first, count, out, d, rnd, maxNew, eos, sink);
        }

        /** Callers running alone now (see {@link #trySolo}). */
        private final java.util.concurrent.atomic.AtomicInteger solo = new java.util.concurrent.atomic.AtomicInteger();

        /**
         * Whether a caller should run alone, on its own thread, as the model does: yes while no sequence is
         * in the loops and fewer callers than cores run alone (a hand-over to a loop costs more than it
         * saves without company). A true answer must be followed by {@link #endSolo}.
         */
        boolean trySolo() {
            for (DecodeLoop l : loops) if (l.load.get() > 0) return false;
            if (solo.incrementAndGet() <= loops.length) return true;
            solo.decrementAndGet();
            return false;
        }

        void endSolo() {
            solo.decrementAndGet();
        }

        /** Runs a caller's prompt or encoder work once a core's turn is free (interrupts are kept for later). */
        <T> T prefill(java.util.function.Supplier<T> work) {
            prefill.acquireUninterruptibly();
            try {
                return work.get();
            } finally {
                prefill.release();
            }
        }

        void writeBack(Request q, Tensor h, Tensor c) {
            loops[0].writeBack(q, h, c);
        }

        void decode(Request... rs) {
            DecodeLoop best = loops[0];
            for (DecodeLoop l : loops) if (l.load.get() < best.load.get()) best = l;
            best.load.addAndGet(rs.length);
            try {
                best.decode(rs);
            } finally {
                best.load.addAndGet(-rs.length);
            }
        }

        @Override
        public void close() {
            for (DecodeLoop l : loops) if (l != null) l.close();
        }
    }

    /** Sequences handed to this loop and not yet returned. */
    private final java.util.concurrent.atomic.AtomicInteger load = new java.util.concurrent.atomic.AtomicInteger();

    /** One sequence being decoded. */
    static final class Request {
        final float[] h, c; // the state, (L·D, P) and (L·D, H), copied in on joining
        int next;            // the token to feed next
        final Decoding decoding;
        final SplittableRandom rnd;
        final int maxNew, eos;
        final LanguageModel.TokenSink sink;
        final int sample;
        int[] out;
        int count;
        volatile boolean done, cancelled;
        Throwable failure;
        Thread owner;

        Request(float[] h, float[] c, int first, int count, int[] out, Decoding decoding, SplittableRandom rnd, int maxNew, int eos,
                LanguageModel.TokenSink sink, int sample) {
            this.sample = sample;
            this.h = h;
            this.c = c;
            this.next = first;
            this.count = count;
            this.out = out;
            this.decoding = decoding;
            this.rnd = rnd;
            this.maxNew = maxNew;
            this.eos = eos;
            this.sink = sink;
        }
    }

    private final Network net;
    private final BatchingExecutor.StepListener listener;
    private final int LD, P, H, E, V;
    private final boolean lstm;
    private final Arena arena = Arena.ofShared();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Request> pending = new ArrayDeque<>();
    private Request[] rows = new Request[0];
    private int n;
    private boolean closing;
    private final Thread thread;
    // Buffers for the largest batch seen: state (two, for re-laying), input, output, logits.
    private int cap;
    private MemorySegment hBuf, cBuf, hAlt, cAlt, xBuf, oBuf, lBuf;

    DecodeLoop(Network net, BatchingExecutor.StepListener listener) {
        this.net = net;
        this.listener = listener;
        LayerSpec s = net.spec();
        LD = s.numLayers() * s.directions();
        P = s.outputSize();
        H = s.hiddenSize();
        E = net.embedding.dim();
        V = net.head.outFeatures();
        lstm = s.mode() == Mode.LSTM;
        thread = Thread.ofPlatform().daemon(true).name("panama-rnn-decode").unstarted(this::loop);
        thread.start();
    }

    /**
     * Decodes the sequences in the shared batch; blocks until they end. Their tokens are in {@code out[0..count)}, their final states in {@code h}, {@code c}.
     *
     * @throws CancellationException if the calling thread is interrupted first (it leaves at the next step)
     */
    void decode(Request... rs) {
        Thread me = Thread.currentThread();
        lock.lock();
        try {
            if (closing) throw new IllegalStateException("the model's batching view is closed");
            for (Request r : rs) {
                r.owner = me;
                pending.add(r);
            }
            work.signal();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        for (Request r : rs) {
            while (!r.done) {
                if (interrupted || me.isInterrupted()) {
                    boolean marked = false;
                    for (Request x : rs) {
                        if (!x.cancelled) {
                            x.cancelled = true;
                            marked = true;
                        }
                    }
                    if (marked) {
                        lock.lock();
                        try {
                            work.signal();
                        } finally {
                            lock.unlock();
                        }
                    }
                }
                java.util.concurrent.locks.LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
        }
        if (interrupted) me.interrupt();
        for (Request r : rs) {
            if (r.failure instanceof RuntimeException e) throw e;
            if (r.failure instanceof Error e) throw e;
            if (r.failure != null) throw new IllegalStateException(r.failure);
        }
    }

    /** A request for sample b of the state tensors h (L·D, B, P) and c (L·D, B, H, or null). */
    Request request(Tensor h, Tensor c, int b, int first, int count, int[] out, Decoding d, SplittableRandom rnd, int maxNew, int eos,
                    LanguageModel.TokenSink sink) {
        int B = h.dim(1);
        float[] hb = new float[LD * P], cb = lstm ? new float[LD * H] : null;
        for (int l = 0; l < LD; l++) {
            MemorySegment.copy(h.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, (h.offset() + (long) (l * B + b) * h.ld()) * Float.BYTES, hb, l * P, P);
            if (lstm) MemorySegment.copy(c.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, (c.offset() + (long) (l * B + b) * c.ld()) * Float.BYTES, cb, l * H, H);
        }
        return new Request(hb, cb, first, count, out, d, rnd, maxNew, eos, sink, b);
    }

    /** The request's final state back into row {@code sample} of h and c. */
    void writeBack(Request q, Tensor h, Tensor c) {
        int B = h.dim(1);
        for (int l = 0; l < LD; l++) {
            MemorySegment.copy(q.h, l * P, h.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, (h.offset() + (long) (l * B + q.sample) * h.ld()) * Float.BYTES, P);
            if (lstm) MemorySegment.copy(q.c, l * H, c.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, (c.offset() + (long) (l * B + q.sample) * c.ld()) * Float.BYTES, H);
        }
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                while (n == 0 && pending.isEmpty() && !closing) work.awaitUninterruptibly();
                if (closing && n == 0 && pending.isEmpty()) return;
                admit();
            } finally {
                lock.unlock();
            }
            dropCancelled();
            if (n == 0) continue;
            long t0 = System.nanoTime();
            int batch = n;
            try {
                step();
            } catch (Throwable e) {
                for (int r = 0; r < n; r++) finish(rows[r], e);
                n = 0;
                continue;
            }
            if (listener != null) {
                try {
                    listener.step(batch, batch, System.nanoTime() - t0);
                } catch (Throwable ignored) {
                    // the listener's exceptions are its own
                }
            }
        }
    }

    /** Moves the pending sequences into the batch (under the lock). */
    private void admit() {
        if (pending.isEmpty()) return;
        int want = n + pending.size();
        if (want > cap) grow(want);
        int before = n, after = want;
        if (before > 0) relayout(before, after);
        while (!pending.isEmpty()) {
            Request q = pending.poll();
            int r = n++;
            rows[r] = q;
            for (int l = 0; l < LD; l++) {
                MemorySegment.copy(q.h, l * P, hBuf, java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) l * after + r) * P * Float.BYTES, P);
                if (lstm) MemorySegment.copy(q.c, l * H, cBuf, java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) l * after + r) * H * Float.BYTES, H);
            }
        }
    }

    /** The state rows of a batch of {@code from} laid out for {@code to} rows per layer (rows keep their index). */
    private void relayout(int from, int to) {
        if (from == to) return;
        for (int l = 0; l < LD; l++) {
            MemorySegment.copy(hBuf, (long) l * from * P * Float.BYTES, hAlt, (long) l * to * P * Float.BYTES, (long) Math.min(from, to) * P * Float.BYTES);
            if (lstm) MemorySegment.copy(cBuf, (long) l * from * H * Float.BYTES, cAlt, (long) l * to * H * Float.BYTES, (long) Math.min(from, to) * H * Float.BYTES);
        }
        MemorySegment t = hBuf;
        hBuf = hAlt;
        hAlt = t;
        t = cBuf;
        cBuf = cAlt;
        cAlt = t;
    }

    private void grow(int want) {
        int c = Math.max(want, Math.max(8, 2 * cap));
        MemorySegment h2 = arena.allocate((long) LD * c * P * Float.BYTES, 64), c2 = lstm ? arena.allocate((long) LD * c * H * Float.BYTES, 64) : null;
        MemorySegment hA = arena.allocate((long) LD * c * P * Float.BYTES, 64), cA = lstm ? arena.allocate((long) LD * c * H * Float.BYTES, 64) : null;
        if (n > 0) {
            MemorySegment.copy(hBuf, 0, h2, 0, (long) LD * n * P * Float.BYTES);
            if (lstm) MemorySegment.copy(cBuf, 0, c2, 0, (long) LD * n * H * Float.BYTES);
        }
        hBuf = h2;
        cBuf = c2;
        hAlt = hA;
        cAlt = cA;
        xBuf = arena.allocate((long) c * E * Float.BYTES, 64);
        oBuf = arena.allocate((long) c * P * Float.BYTES, 64);
        lBuf = arena.allocate((long) c * V * Float.BYTES, 64);
        Request[] r2 = java.util.Arrays.copyOf(rows, c);
        rows = r2;
        cap = c;
    }

    // Views of the buffers for the current batch, made again only when the batch or the buffers change.
    private Tensor vx, vo, vo2, vh, vc, vl;
    private int viewB = -1;
    private MemorySegment viewH;

    /** One step for every row: embed, forward one step, head, pick; finished rows leave. */
    private void step() {
        int B = n;
        if (B != viewB || hBuf != viewH) {
            vx = Tensor.wrap(xBuf, 0, E, 1, B, E);
            vo = Tensor.wrap(oBuf, 0, P, 1, B, P);
            vo2 = vo.reshape(B, P);
            vh = Tensor.wrap(hBuf, 0, P, LD, B, P);
            vc = lstm ? Tensor.wrap(cBuf, 0, H, LD, B, H) : null;
            vl = Tensor.wrap(lBuf, 0, V, B, V);
            viewB = B;
            viewH = hBuf;
        }
        for (int r = 0; r < B; r++) net.embedding.copyRow(rows[r].next, xBuf, (long) r * E);
        net.rnn.forward(vx, vh, vc, null, vo, vh, vc, null);
        net.head.forward(vo2, vl);
        for (int r = 0; r < B; r++) {
            Request q = rows[r];
            int tok = q.decoding.pick(lBuf, (long) r * V, V, q.rnd);
            q.out = ModelConfig.roomForOne(q.out, q.count, q.maxNew);
            q.out[q.count++] = tok;
            q.next = tok;
            if (q.sink != null) {
                try {
                    q.sink.token(q.sample, tok);
                } catch (Throwable e) {
                    q.failure = e;
                    q.cancelled = true;
                }
            }
        }
        // Leave: the end token, the budget, a sink that threw (rows scanned downwards: the last row moves into a freed place).
        int before = B;
        for (int r = B - 1; r >= 0; r--) {
            Request q = rows[r];
            if (q.next == q.eos || q.count >= q.maxNew || q.failure != null) retire(r, q.failure, before);
        }
        if (n != before) relayout(before, n);
    }

    /** At a step boundary: the rows of interrupted callers leave. */
    private void dropCancelled() {
        int before = n;
        for (int r = n - 1; r >= 0; r--) {
            if (rows[r].cancelled) retire(r, rows[r].failure != null ? rows[r].failure
                    : new CancellationException("generate: the calling thread was interrupted; its sequence left the batch"), before);
        }
        if (n != before) relayout(before, n);
    }

    /**
     * Row r leaves, its final state copied to its request; the last row takes its place. {@code B}: the
     * rows per layer of the current layout (several rows may leave before the batch is re-laid).
     */
    private void retire(int r, Throwable failure, int B) {
        Request q = rows[r];
        for (int l = 0; l < LD; l++) {
            MemorySegment.copy(hBuf, java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) l * B + r) * P * Float.BYTES, q.h, l * P, P);
            if (lstm) MemorySegment.copy(cBuf, java.lang.foreign.ValueLayout.JAVA_FLOAT, ((long) l * B + r) * H * Float.BYTES, q.c, l * H, H);
        }
        int last = --n;
        if (r != last) {
            for (int l = 0; l < LD; l++) {
                MemorySegment.copy(hBuf, ((long) l * B + last) * P * Float.BYTES, hBuf, ((long) l * B + r) * P * Float.BYTES, (long) P * Float.BYTES);
                if (lstm) MemorySegment.copy(cBuf, ((long) l * B + last) * H * Float.BYTES, cBuf, ((long) l * B + r) * H * Float.BYTES, (long) H * Float.BYTES);
            }
            rows[r] = rows[last];
        }
        rows[last] = null;
        finish(q, failure);
    }

    private static void finish(Request q, Throwable failure) {
        q.failure = failure;
        q.done = true;
        java.util.concurrent.locks.LockSupport.unpark(q.owner);
    }

    /** Waits for the sequences being decoded, then stops the thread and frees the buffers. */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        arena.close();
    }
}
