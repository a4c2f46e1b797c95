package dev.panamarnn.bench.soak;

import dev.panamarnn.Tensor;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.nn.LayerSpec;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.Workspace;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;

/**
 * Calls that must be rejected: wrong shapes, lengths out of range, token ids outside the vocabulary,
 * an empty source, a tensor whose arena was closed, a closed workspace. Each must throw the documented
 * exception with a message naming the fault; one that returns, or throws something else, fails the run.
 * Several are rejected only after the call has started (a model's lock taken, a state or an arena
 * allocated, a workspace being acquired), so a leak on an error path would show in the soak's figures.
 */
final class Rejections {
    interface Call {
        void run() throws Exception;
    }

    private final Workload w;
    private final SplittableRandom rnd;

    Rejections(Workload w) {
        this.w = w;
        this.rnd = w.rnd;
    }

    /** Throws {@link AssertionError} unless {@code call} throws {@code type} with {@code fragment} in its message. */
    static void expect(String what, Class<? extends Exception> type, String fragment, Call call) throws Exception {
        try {
            call.run();
        } catch (Exception e) {
            if (type.isInstance(e) && String.valueOf(e.getMessage()).contains(fragment)) return;
            throw e;
        }
        throw new AssertionError(what + " did not throw " + type.getSimpleName());
    }

    void next() throws Exception {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        switch (rnd.nextInt(11)) {
            case 0 -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: layer input of the wrong size", l -> {
                try (Arena a = Arena.ofConfined()) {
                    Tensor x = Tensor.allocate(a, 3, 2, l.spec().inputSize() + 1);
                    expect("forward with a wrong input size", iae, "input must be", () -> l.forward(a, x));
                }
            });
            case 1 -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: layer lengths out of range", l -> {
                LayerSpec s = l.spec();
                try (Arena a = Arena.ofShared()) {
                    Tensor x = s.batchFirst() ? Tensor.allocate(a, 2, 5, s.inputSize()) : Tensor.allocate(a, 5, 2, s.inputSize());
                    expect("forward with lengths > T", iae, "lengths[1]", () -> l.forward(a, x, null, null, new int[] {5, 6}));
                }
            });
            case 2 -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: layer output of the wrong shape (caller's workspace)", l -> {
                LayerSpec s = l.spec();
                try (Arena a = Arena.ofConfined()) {
                    Tensor x = Tensor.allocate(a, 4, 4, s.inputSize());
                    Tensor out = Tensor.allocate(a, 4, 4, s.directions() * s.outputSize() + 1);
                    expect("forward into a wrong output", iae, "output must be", () -> l.forward(x, null, null, null, out, null, null, w.workspace));
                }
            });
            case 3 -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: layer h0 of the wrong shape", l -> {
                LayerSpec s = l.spec();
                try (Arena a = Arena.ofConfined()) {
                    Tensor x = Tensor.allocate(a, 4, 3, s.inputSize());
                    Tensor h0 = Tensor.allocate(a, s.numLayers() * s.directions() + 1, 3, s.outputSize());
                    expect("forward with a wrong h0", iae, "h0 must be", () -> l.forward(a, x, h0, null, null));
                }
            });
            case 4 -> w.on(Shared.pick(w.shared.cells, rnd), "rejected: cell input of the wrong size", c -> {
                try (Arena a = Arena.ofConfined()) {
                    Tensor x = Tensor.allocate(a, 2, c.inputSize() + 3), h = Tensor.allocate(a, 2, c.hiddenSize());
                    Tensor cs = c.mode() == Mode.LSTM ? Tensor.allocate(a, 2, c.hiddenSize()) : null;
                    expect("step with a wrong x", iae, "x must be", () -> c.step(x, h, cs));
                }
            });
            case 5 -> w.on(Shared.pick(w.shared.classifiers, rnd), "rejected: classifier features of the wrong size", c -> {
                float[][][] seqs = {{new float[c.inputSize()], new float[c.inputSize() + 1]}};
                expect("classify with a wrong step", iae, "features", () -> c.logits(seqs));
            });
            case 6 -> w.on(Shared.pick(w.shared.lms, rnd), "rejected: language model token outside the vocabulary", lm -> {
                int[][] prompt = {{lm.bos(), lm.vocabulary().size() + 7}};
                expect("generate from a bad token", iae, "is not a token id", () -> lm.generate(prompt, Decoding.greedy(), 5));
            });
            case 7 -> w.on(Shared.pick(w.shared.lms, rnd), "rejected: language model chunk of the wrong batch", lm -> {
                try (LanguageModel.State st = lm.newState(2)) {
                    expect("feed 3 sequences into a state of 2", iae, "the state 2", () -> lm.feed(st, new int[][] {{1}, {1}, {1}}));
                }
            });
            case 8 -> w.on(Shared.pick(w.shared.translators, rnd), "rejected: seq2seq empty source in a batch", s -> {
                int[][] src = {w.fx.s2sSources[0], new int[0]};
                expect("greedy with an empty source", iae, "is empty", () -> s.greedy(src, s.maxOutputLength()));
            });
            case 9 -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: layer input whose arena was closed", l -> {
                LayerSpec s = l.spec();
                Tensor x;
                try (Arena gone = Arena.ofShared()) {
                    x = Tensor.allocate(gone, 2, 2, s.inputSize());
                }
                try (Arena a = Arena.ofConfined()) {
                    expect("forward on a freed input", IllegalStateException.class, "arena was closed", () -> l.forward(a, x));
                }
            });
            default -> w.on(Shared.pick(w.shared.layers, rnd), "rejected: closed workspace", l -> {
                LayerSpec s = l.spec();
                Workspace ws = new Workspace();
                ws.close();
                try (Arena a = Arena.ofConfined()) {
                    Tensor x = Tensor.allocate(a, 2, 2, s.inputSize());
                    Tensor out = Tensor.allocate(a, 2, 2, s.directions() * s.outputSize());
                    expect("forward with a closed workspace", IllegalStateException.class, "workspace is closed",
                            () -> l.forward(x, null, null, null, out, null, null, ws));
                }
            });
        }
    }
}
