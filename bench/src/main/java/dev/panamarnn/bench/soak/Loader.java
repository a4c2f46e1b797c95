package dev.panamarnn.bench.soak;

import static dev.panamarnn.bench.soak.Rejections.expect;

import dev.panamarnn.Backend;
import dev.panamarnn.Faults;
import dev.panamarnn.Parallelism;
import dev.panamarnn.Tensor;
import dev.panamarnn.app.CaseFile;
import dev.panamarnn.app.Decoding;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsException;
import dev.panamarnn.nn.Mode;
import dev.panamarnn.nn.RecurrentCell;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The load-and-close loop, on its own thread: models in service reloaded (a new instance swapped in,
 * the old one closed while workers may be calling it), layers, cells and application models loaded
 * from safetensors, called once and closed (then called again, which must throw), safetensors files
 * opened, read and closed, files and model folders that must be rejected, and the process-wide
 * two-thread mode switched on and off every few seconds.
 */
final class Loader {
    private static final long TOGGLE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Shared shared;
    private final Fixtures fx;
    private final Tally tally;
    private final SplittableRandom rnd;
    private long nextToggle = System.nanoTime() + TOGGLE_NANOS;

    Loader(Shared shared, Fixtures fx, Tally tally, SplittableRandom rnd) {
        this.shared = shared;
        this.fx = fx;
        this.tally = tally;
        this.rnd = rnd;
    }

    void next() throws Exception {
        if (System.nanoTime() >= nextToggle) {
            Parallelism.setThreads(3 - Parallelism.threads());
            nextToggle = System.nanoTime() + TOGGLE_NANOS;
            tally.count("load: panama.rnn.threads switched (1 <-> 2)");
        }
        Backend be = Shared.pick(shared.backends, rnd);
        if (Faults.ENABLED && rnd.nextInt(4) == 0) {
            faulted(be);
            return;
        }
        switch (rnd.nextInt(9)) {
            case 0, 1 -> {
                Shared.pick(shared.all, rnd).reload();
                tally.count("load: model in service reloaded (new one swapped in, old one closed)");
            }
            case 2 -> layer(be);
            case 3 -> cell(be);
            case 4 -> application(be);
            case 5 -> readFile();
            case 6 -> rejectedLoads(be);
            case 7 -> {
                Fixtures.LayerFix f = Shared.pick(fx.layers, rnd);
                CaseFile.read(fx.model(rnd.nextBoolean() ? "classifier" : "charlm").resolve("cases.safetensors"));
                tally.count("load: case file read");
                try (SafeTensors st = SafeTensors.open(f.file())) {
                    st.asStateDict().floats(st.names().get(0));
                }
            }
            default -> {
                // A model loaded and closed without ever being called.
                try (Seq2Seq s = Seq2Seq.load(fx.model("seq2seq"), be)) {
                    tally.count("load: seq2seq loaded and closed unused");
                }
            }
        }
    }

    /** Allocations per load seen so far, per kind of load: where to aim the next injected failure. */
    private final int[] allocationsSeen = {8, 8, 8, 8};

    /**
     * The fault phase (with {@code -Dpanama.rnn.faults=true}): a load and first call with one native
     * allocation or OpenBLAS call of this thread made to fail (the Nth, N drawn up to a little past what a
     * load has). The failure must be the injected one; the model, when it loaded, is closed; nothing
     * may be left behind (the soak's memory verdict covers it), and a clean load right after must work.
     */
    private void faulted(Backend be) throws Exception {
        int which = rnd.nextInt(4);
        Faults.Kind kind = rnd.nextInt(3) == 0 ? Faults.Kind.BLAS_CALL : Faults.Kind.ALLOCATION;
        int n = 1 + rnd.nextInt(allocationsSeen[which] + 2);
        Throwable thrown = null;
        Faults.failAtOnThisThread(kind, n);
        try {
            loadAndCall(which, be);
        } catch (Throwable e) {
            thrown = e;
        } finally {
            long events = Faults.count(kind);
            Faults.reset();
            if (kind == Faults.Kind.ALLOCATION) allocationsSeen[which] = (int) Math.max(allocationsSeen[which], events);
            boolean injected = events >= n;
            if (injected != (thrown != null) || (thrown != null && !isInjected(thrown))) {
                tally.unexpected("fault phase: " + kind + " #" + n + (injected ? " injected" : " not reached"), thrown);
                return;
            }
        }
        loadAndCall(which, be); // and clean right after
        tally.count(thrown != null ? "fault phase: " + kind.name().toLowerCase() + " failure injected in a load or first call, then a clean load"
                : "fault phase: load and first call ran past the armed " + kind.name().toLowerCase());
    }

    private static boolean isInjected(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c.getMessage() != null && c.getMessage().startsWith("injected fault")) return true;
        }
        return false;
    }

    private void loadAndCall(int which, Backend be) throws Exception {
        switch (which) {
            case 0 -> {
                Fixtures.LayerFix f = Shared.pick(fx.layers, rnd);
                try (RecurrentLayer layer = Shared.loadLayer(f, be); Arena a = Arena.ofConfined()) {
                    layer.forward(a, Tensor.allocate(a, 7, 3, f.spec().inputSize()));
                }
            }
            case 1 -> {
                try (SequenceClassifier c = SequenceClassifier.load(fx.model("classifier"), be)) {
                    c.logits(new float[][][] {fx.clsSequences[rnd.nextInt(fx.clsSequences.length)]});
                }
            }
            case 2 -> {
                try (LanguageModel lm = LanguageModel.load(fx.model("charlm"), be)) {
                    lm.generate("a ", Decoding.greedy(), 4);
                }
            }
            default -> {
                try (Seq2Seq s = Seq2Seq.load(fx.model("seq2seq"), be)) {
                    s.translate("1 Jan 2000", 1);
                }
            }
        }
    }

    private void layer(Backend be) throws Exception {
        Fixtures.LayerFix f = Shared.pick(fx.layers, rnd);
        RecurrentLayer layer = Shared.loadLayer(f, be);
        try (Arena a = Arena.ofConfined()) {
            int I = f.spec().inputSize();
            Tensor x = Tensor.allocate(a, 7, 3, I);
            try {
                layer.forward(a, x);
            } finally {
                layer.close();
            }
            expect("forward on a closed layer", IllegalStateException.class, "closed", () -> layer.forward(a, x));
        }
        tally.count("load: layer loaded, called, closed, called again (rejected)");
    }

    private void cell(Backend be) throws Exception {
        Fixtures.CellFix c = Shared.pick(fx.cells, rnd);
        RecurrentCell cell = Shared.loadCell(c, be);
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(a, 2, c.inputSize()), h = Tensor.allocate(a, 2, c.hiddenSize());
            Tensor cs = c.mode() == Mode.LSTM ? Tensor.allocate(a, 2, c.hiddenSize()) : null;
            try {
                cell.step(x, h, cs);
            } finally {
                cell.close();
            }
            expect("step on a closed cell", IllegalStateException.class, "closed", () -> cell.step(x, h, cs));
        }
        tally.count("load: cell loaded, stepped, closed, stepped again (rejected)");
    }

    private void application(Backend be) throws Exception {
        switch (rnd.nextInt(3)) {
            case 0 -> {
                SequenceClassifier c = SequenceClassifier.load(fx.model("classifier"), be);
                try (c) {
                    c.logits(new float[][][] {fx.clsSequences[rnd.nextInt(fx.clsSequences.length)]});
                }
                expect("classify on a closed model", IllegalStateException.class, "closed", () -> c.logits(fx.clsSequences));
                tally.count("load: classifier loaded, called, closed, called again (rejected)");
            }
            case 1 -> {
                LanguageModel lm = LanguageModel.load(fx.model("charlm"), be);
                try (lm) {
                    lm.generate("a ", Decoding.greedy(), 10);
                }
                expect("generate on a closed model", IllegalStateException.class, "closed", () -> lm.generate("a ", Decoding.greedy(), 10));
                tally.count("load: charlm loaded, called, closed, called again (rejected)");
            }
            default -> {
                Seq2Seq s = Seq2Seq.load(fx.model("seq2seq"), be);
                try (s) {
                    s.translate("1 Jan 2000", 1);
                }
                expect("translate on a closed model", IllegalStateException.class, "closed", () -> s.translate("1 Jan 2000", 1));
                tally.count("load: seq2seq loaded, called, closed, called again (rejected)");
            }
        }
    }

    /** Every tensor of a weight file read into an arena; a zero-copy view taken, then read after close (rejected). */
    private void readFile() throws Exception {
        Fixtures.LayerFix f = Shared.pick(fx.layers, rnd);
        MemorySegment view;
        try (SafeTensors st = SafeTensors.open(f.file()); Arena a = Arena.ofConfined()) {
            for (String n : st.names()) st.toTensor(n, a);
            view = st.view(st.names().get(0));
        }
        expect("read a view of a closed file", IllegalStateException.class, "closed", () -> view.get(ValueLayout.JAVA_BYTE, 0));
        tally.count("load: safetensors opened, read whole, closed, view read after close (rejected)");
    }

    private void rejectedLoads(Backend be) throws Exception {
        switch (rnd.nextInt(5)) {
            case 0 -> {
                expect("open a truncated file", SafeTensorsException.class, "truncated.safetensors", () -> SafeTensors.open(fx.truncated).close());
                tally.count("load rejected: truncated safetensors file");
            }
            case 1 -> {
                expect("load a layer as the wrong cell type", IllegalArgumentException.class, "was asked for", () -> {
                    try (SafeTensors st = SafeTensors.open(fx.layers.get(0).file())) {
                        RecurrentLayer.load(st.asStateDict(), "", Mode.GRU, false, be).close();
                    }
                });
                tally.count("load rejected: layer of the wrong cell type");
            }
            case 2 -> {
                expect("load a language model as a classifier", IOException.class, "structure", () -> SequenceClassifier.load(fx.model("charlm"), be).close());
                tally.count("load rejected: model folder of another structure");
            }
            case 3 -> {
                expect("load a classifier with a label too many", IllegalArgumentException.class, "labels", () -> SequenceClassifier.load(fx.badClassifier, be).close());
                tally.count("load rejected: classifier, after its weights were loaded");
            }
            default -> {
                expect("load a seq2seq without its decoder head", IllegalArgumentException.class, "decoder.missing.", () -> Seq2Seq.load(fx.badSeq2Seq, be).close());
                tally.count("load rejected: seq2seq, after its encoder was loaded");
            }
        }
    }
}
