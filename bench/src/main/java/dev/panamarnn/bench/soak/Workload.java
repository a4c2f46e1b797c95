package dev.panamarnn.bench.soak;

import dev.panamarnn.Tensor;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentCell;
import dev.panamarnn.nn.RecurrentLayer;
import dev.panamarnn.nn.Workspace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One caller thread's mix of calls on the public API: recurrent layers (every kind, random T, B and
 * lengths, with and without initial states, results in an arena or in the caller's buffers, with the
 * caller's {@link Workspace} or the layer's pool, confined or shared arenas, contiguous or strided
 * input), cell steps, the three application models, calls that must be rejected ({@link Rejections}),
 * arenas opened and closed, and short-lived platform and virtual threads that make a call and end.
 *
 * <p>A model may be closed by a reload between the moment a worker picks it and its call: that call
 * then throws {@link IllegalStateException}, which counts as "closed by a reload", not as a failure.
 */
final class Workload implements AutoCloseable {
    interface Use<M> {
        void accept(M model) throws Exception;
    }

    final Shared shared;
    final Fixtures fx;
    final Tally tally;
    final SplittableRandom rnd;
    /** This thread's own scratch, passed to some of the layer calls. */
    final Workspace workspace = new Workspace();
    private final Rejections rejections;

    Workload(Shared shared, Fixtures fx, Tally tally, SplittableRandom rnd) {
        this.shared = shared;
        this.fx = fx;
        this.tally = tally;
        this.rnd = rnd;
        this.rejections = new Rejections(this);
    }

    /** One call of a kind drawn by weight. */
    void next() throws Exception {
        int r = rnd.nextInt(100);
        if (r < 40) layer();
        else if (r < 50) cell();
        else if (r < 60) classify();
        else if (r < 72) languageModel();
        else if (r < 84) translate();
        else if (r < 90) rejections.next();
        else if (r < 97) arenas();
        else threads();
    }

    /** Runs {@code use} on the slot's current model and counts {@code kind}; a reload racing it is counted, not failed. */
    <M extends AutoCloseable> void on(Shared.Slot<M> slot, String kind, Use<M> use) throws Exception {
        M m = slot.get();
        try {
            use.accept(m);
        } catch (IllegalStateException e) {
            if (slot.get() != m && String.valueOf(e.getMessage()).contains("closed")) {
                tally.count("closed by a reload while called");
                return;
            }
            throw e;
        }
        tally.count(kind);
        tally.count("on " + slot.backend.name());
    }

    void layer() throws Exception {
        Shared.Slot<RecurrentLayer> slot = Shared.pick(shared.layers, rnd);
        int variant = rnd.nextInt(3);
        String kind = switch (variant) {
            case 0 -> "layer.forward, results in an arena";
            case 1 -> "layer.forward, caller's buffers and workspace";
            default -> "layer.forward, caller's buffers, pooled workspace";
        };
        on(slot, kind, layer -> {
            LayerSpec s = layer.spec();
            int T = 1 + rnd.nextInt(40), B = 1 + rnd.nextInt(8), D = s.directions(), P = s.outputSize(), LD = s.numLayers() * D;
            boolean lstm = s.mode() == Mode.LSTM;
            int[] lengths = rnd.nextInt(3) == 0 ? lengths(T, B) : null;
            try (Arena a = rnd.nextBoolean() ? Arena.ofConfined() : Arena.ofShared()) {
                int pad = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(7) : 0;
                Tensor x = s.batchFirst() ? random(a, pad, B, T, s.inputSize()) : random(a, pad, T, B, s.inputSize());
                Tensor h0 = rnd.nextBoolean() ? random(a, 0, LD, B, P) : null;
                Tensor c0 = lstm && rnd.nextBoolean() ? random(a, 0, LD, B, s.hiddenSize()) : null;
                if (variant == 0) {
                    layer.forward(a, x, h0, c0, lengths);
                    return;
                }
                Tensor out = s.batchFirst() ? Tensor.allocate(a, B, T, D * P) : Tensor.allocate(a, T, B, D * P);
                // The final state into h0's own storage (state carried across calls), a new tensor, or not wanted.
                Tensor hN = h0 != null && rnd.nextBoolean() ? h0 : rnd.nextBoolean() ? Tensor.allocate(a, LD, B, P) : null;
                Tensor cN = !lstm ? null : c0 != null && rnd.nextBoolean() ? c0 : rnd.nextBoolean() ? Tensor.allocate(a, LD, B, s.hiddenSize()) : null;
                layer.forward(x, h0, c0, lengths, out, hN, cN, variant == 1 ? workspace : null);
            }
        });
    }

    void cell() throws Exception {
        Shared.Slot<RecurrentCell> slot = Shared.pick(shared.cells, rnd);
        on(slot, "cell.step", cell -> {
            int B = 1 + rnd.nextInt(8), steps = 1 + rnd.nextInt(20), H = cell.hiddenSize();
            try (Arena a = Arena.ofConfined()) {
                Tensor x = random(a, 0, B, cell.inputSize());
                Tensor h = Tensor.allocate(a, B, H), c = cell.mode() == Mode.LSTM ? Tensor.allocate(a, B, H) : null;
                for (int t = 0; t < steps; t++) cell.step(x, h, c);
            }
        });
    }

    void classify() throws Exception {
        Shared.Slot<SequenceClassifier> slot = Shared.pick(shared.classifiers, rnd);
        float[][][] seqs = sample(fx.clsSequences, 1 + rnd.nextInt(32));
        if (rnd.nextBoolean()) {
            on(slot, "classifier.logits (arrays)", c -> c.logits(seqs));
            return;
        }
        on(slot, "classifier.logits (tensors)", c -> {
            int B = seqs.length, I = c.inputSize(), T = Arrays.stream(seqs).mapToInt(q -> q.length).max().orElseThrow();
            int[] lengths = Arrays.stream(seqs).mapToInt(q -> q.length).toArray();
            try (Arena a = Arena.ofConfined()) {
                Tensor x = Tensor.allocate(a, B, T, I), logits = Tensor.allocate(a, B, c.labels().size());
                for (int b = 0; b < B; b++) {
                    for (int t = 0; t < lengths[b]; t++) {
                        MemorySegment.copy(seqs[b][t], 0, x.segment(), ValueLayout.JAVA_FLOAT, (long) (b * T + t) * I * Float.BYTES, I);
                    }
                }
                c.logits(x, lengths, logits);
            }
        });
    }

    void languageModel() throws Exception {
        Shared.Slot<LanguageModel> slot = Shared.pick(shared.lms, rnd);
        Decoding dec = rnd.nextBoolean() ? Decoding.greedy() : Decoding.temperature(0.7, rnd.nextLong());
        switch (rnd.nextInt(4)) {
            case 0 -> on(slot, "lm.generate (text)", lm -> lm.generate("the ", dec, 1 + rnd.nextInt(fx.lmMaxNew)));
            case 1 -> on(slot, "lm.generate (batch)", lm -> lm.generate(sample(fx.lmPrompts, 1 + rnd.nextInt(8)), dec, 1 + rnd.nextInt(fx.lmMaxNew)));
            case 2 -> on(slot, "lm.feed (streaming) then generate", lm -> {
                int B = 1 + rnd.nextInt(4), V = lm.vocabulary().size();
                try (LanguageModel.State st = lm.newState(B)) {
                    for (int chunk = 1 + rnd.nextInt(3); chunk > 0; chunk--) {
                        int T = 1 + rnd.nextInt(16);
                        int[][] tokens = new int[B][T];
                        for (int[] row : tokens) for (int t = 0; t < T; t++) row[t] = rnd.nextInt(V);
                        lm.feed(st, tokens);
                    }
                    lm.generate(st, sample(fx.lmPrompts, B), dec, 1 + rnd.nextInt(20));
                }
            });
            default -> on(slot, "lm.logits", lm -> lm.logits(sample(fx.lmSentences, 1 + rnd.nextInt(16))));
        }
    }

    void translate() throws Exception {
        Shared.Slot<Seq2Seq> slot = Shared.pick(shared.translators, rnd);
        switch (rnd.nextInt(4)) {
            case 0 -> on(slot, "seq2seq.translate", s -> {
                int width = rnd.nextBoolean() ? 1 : 3;
                String got = s.translate("3 March 2021", width);
                if (!got.equals("2021-03-03")) throw new AssertionError("translate(\"3 March 2021\", " + width + ") gave \"" + got + "\"");
            });
            case 1 -> on(slot, "seq2seq.greedy (batch)", s -> s.greedy(sample(fx.s2sSources, 1 + rnd.nextInt(32)), s.maxOutputLength()));
            case 2 -> on(slot, "seq2seq.beamSearch", s -> s.beamSearch(Shared.pick(Arrays.asList(fx.s2sSources), rnd), 1 + rnd.nextInt(4), s.maxOutputLength()));
            default -> on(slot, "seq2seq.decoderLogits", s -> {
                int[][] src = sample(fx.s2sSources, 1 + rnd.nextInt(8));
                int T = 1 + rnd.nextInt(12), V = s.targetVocabulary().size();
                int[][] in = new int[src.length][T];
                for (int[] row : in) {
                    row[0] = s.config().bos();
                    for (int t = 1; t < T; t++) row[t] = rnd.nextInt(V);
                }
                s.decoderLogits(src, in);
            });
        }
    }

    /** Arenas opened, written and closed (confined and shared), or left to the GC (automatic, small). */
    void arenas() {
        int kind = rnd.nextInt(5);
        Arena a = kind < 2 ? Arena.ofConfined() : kind < 4 ? Arena.ofShared() : Arena.ofAuto();
        Tensor first = null;
        for (int n = 1 + rnd.nextInt(8); n > 0; n--) {
            int cols = 1 + rnd.nextInt(kind == 4 ? 64 : 1024), rows = 1 + rnd.nextInt(64);
            Tensor t = Tensor.allocateStrided(a, cols + rnd.nextInt(16), rows, cols);
            t.fill(1f);
            if (first == null) first = t;
        }
        if (kind == 4) {
            tally.count("arena.ofAuto (left to the GC)");
            return;
        }
        a.close();
        if (first.isAlive()) throw new AssertionError("a tensor of a closed arena is alive");
        tally.count(kind < 2 ? "arena.ofConfined opened and closed" : "arena.ofShared opened and closed");
    }

    /** A short-lived thread (platform or virtual) with its own workspace makes a layer call and a language-model call, then ends. */
    void threads() throws InterruptedException {
        boolean virtual = rnd.nextBoolean();
        SplittableRandom childRnd = rnd.split();
        Runnable job = () -> {
            try (Workload w = new Workload(shared, fx, tally, childRnd)) {
                w.layer();
                w.languageModel();
            } catch (Throwable e) {
                tally.unexpected("short-lived thread", e);
            }
        };
        Thread t = virtual ? Thread.ofVirtual().start(job) : Thread.ofPlatform().start(job);
        t.join();
        tally.count(virtual ? "thread.virtual started, called, ended" : "thread.platform started, called, ended");
    }

    int[] lengths(int T, int B) {
        int[] l = new int[B];
        for (int b = 0; b < B; b++) l[b] = 1 + rnd.nextInt(T);
        return l;
    }

    /** A tensor of uniform values in [-1, 1); rows padded by {@code pad} floats. */
    Tensor random(Arena a, int pad, int... shape) {
        Tensor t = Tensor.allocateStrided(a, shape[shape.length - 1] + pad, shape);
        t.copyFrom(Fixtures.random(rnd, (int) t.size(), 1f));
        return t;
    }

    <T> T[] sample(T[] from, int n) {
        int start = rnd.nextInt(from.length);
        T[] out = Arrays.copyOf(from, Math.min(n, from.length));
        for (int i = 0; i < out.length; i++) out[i] = from[(start + i) % from.length];
        return out;
    }

    @Override
    public void close() {
        workspace.close();
    }
}
