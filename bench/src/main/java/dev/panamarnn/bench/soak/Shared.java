package dev.panamarnn.bench.soak;

import dev.panamarnn.Backend;
import dev.panamarnn.app.LanguageModel;
import dev.panamarnn.app.Seq2Seq;
import dev.panamarnn.app.SequenceClassifier;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.nn.RecurrentCell;
import dev.panamarnn.nn.RecurrentLayer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The long-lived models every worker calls, one of each per backend, each in a {@link Slot} the loader
 * thread may reload at any time: it loads a fresh instance, swaps it in and closes the old one, which
 * waits for the calls running on it (a server reloading its models while serving).
 */
final class Shared implements AutoCloseable {
    interface Factory<M> {
        M load() throws IOException;
    }

    /** One model in service; {@link #reload()} swaps in a new instance and closes the old one. */
    static final class Slot<M extends AutoCloseable> {
        final String kind;
        final Backend backend;
        private final Factory<M> factory;
        private final AtomicReference<M> current;

        Slot(String kind, Backend backend, Factory<M> factory) throws IOException {
            this.kind = kind;
            this.backend = backend;
            this.factory = factory;
            this.current = new AtomicReference<>(factory.load());
        }

        M get() {
            return current.get();
        }

        void reload() throws Exception {
            M old = current.getAndSet(factory.load());
            old.close();
        }

        void close() throws Exception {
            current.get().close();
        }
    }

    final List<Backend> backends;
    final List<Slot<RecurrentLayer>> layers = new ArrayList<>();
    final List<Slot<RecurrentCell>> cells = new ArrayList<>();
    final List<Slot<SequenceClassifier>> classifiers = new ArrayList<>();
    final List<Slot<LanguageModel>> lms = new ArrayList<>();
    final List<Slot<Seq2Seq>> translators = new ArrayList<>();
    final List<Slot<?>> all = new ArrayList<>();

    Shared(Fixtures fx, List<Backend> backends) throws IOException {
        this.backends = List.copyOf(backends);
        for (Backend be : backends) {
            for (Fixtures.LayerFix f : fx.layers) add(layers, new Slot<>("layer " + f.name(), be, () -> loadLayer(f, be)));
            for (Fixtures.CellFix c : fx.cells) add(cells, new Slot<>("cell " + c.name(), be, () -> loadCell(c, be)));
            add(classifiers, new Slot<>("classifier", be, () -> SequenceClassifier.load(fx.model("classifier"), be)));
            add(lms, new Slot<>("charlm", be, () -> LanguageModel.load(fx.model("charlm"), be)));
            add(translators, new Slot<>("seq2seq", be, () -> Seq2Seq.load(fx.model("seq2seq"), be)));
        }
    }

    private <M extends AutoCloseable> void add(List<Slot<M>> list, Slot<M> s) {
        list.add(s);
        all.add(s);
    }

    static RecurrentLayer loadLayer(Fixtures.LayerFix f, Backend be) throws IOException {
        try (SafeTensors st = SafeTensors.open(f.file())) {
            return RecurrentLayer.load(st.asStateDict(), "", f.spec().mode(), f.spec().batchFirst(), be);
        }
    }

    static RecurrentCell loadCell(Fixtures.CellFix c, Backend be) throws IOException {
        try (SafeTensors st = SafeTensors.open(c.file())) {
            return RecurrentCell.load(st.asStateDict(), "", c.mode(), be);
        }
    }

    static <T> T pick(List<T> list, SplittableRandom rnd) {
        return list.get(rnd.nextInt(list.size()));
    }

    /** Closes every model in service (after the workers stopped). */
    @Override
    public void close() throws Exception {
        for (Slot<?> s : all) s.close();
    }
}
