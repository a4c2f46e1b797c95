package dev.panamarnn.app;

import static dev.panamarnn.FaultSweep.sweep;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.FaultSweep;
import dev.panamarnn.Faults;
import dev.panamarnn.Faults.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * The application models (N-vs-1 classifier, N-vs-N/1-vs-N language model, N-vs-M seq2seq) under
 * injected faults ({@link FaultSweep}): every native allocation of a load, and every allocation and
 * OpenBLAS call of a call, made to fail in turn. Each failure surfaces as itself, the model then answers
 * exactly as before, close() returns within a second and the native memory comes back.
 */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
public class ApplicationFaultTest {
    /** Which backends this class runs; the native module's subclass narrows it to openblas. */
    protected boolean runsOn(String backend) {
        return !backend.equals("openblas") && !backend.equals("scalar");
    }

    @AfterEach
    void disarm() {
        Faults.reset();
    }

    /** A model and what it answers to one fixed request. */
    private interface App<M extends AutoCloseable> {
        M load(Backend b) throws Exception;

        Object answer(M m) throws Exception;
    }

    private static final App<SequenceClassifier> CLASSIFIER = new App<>() {
        public SequenceClassifier load(Backend b) throws Exception {
            return SequenceClassifier.load(ModelCases.model("classifier"), b);
        }

        public Object answer(SequenceClassifier m) {
            float[][][] seqs = Arrays.copyOf(ModelCases.cases("classifier").sequences("inputs", "lengths"), 3);
            return m.logits(seqs);
        }
    };

    private static final App<LanguageModel> LM = new App<>() {
        public LanguageModel load(Backend b) throws Exception {
            return LanguageModel.load(ModelCases.model("charlm"), b);
        }

        public Object answer(LanguageModel m) {
            int[][] prompts = {m.prompt("the "), m.prompt("a")};
            return m.generate(prompts, Decoding.greedy(), 6);
        }
    };

    private static final App<Seq2Seq> S2S = new App<>() {
        public Seq2Seq load(Backend b) throws Exception {
            return Seq2Seq.load(ModelCases.model("seq2seq"), b);
        }

        public Object answer(Seq2Seq m) {
            Vocabulary v = m.sourceVocabulary();
            int[][] src = {v.encode("3 March 2021"), v.encode("12/12/1999")};
            return m.greedy(src, 8);
        }
    };

    @TestFactory
    Stream<DynamicTest> sweeps() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available() || !runsOn(s.name())) continue;
            Backend b = Backend.get(s.name());
            tests.add(DynamicTest.dynamicTest(s.name() + ": N-vs-1 classifier", () -> run("classifier", b, CLASSIFIER)));
            tests.add(DynamicTest.dynamicTest(s.name() + ": N-vs-N / 1-vs-N language model", () -> run("charlm", b, LM)));
            tests.add(DynamicTest.dynamicTest(s.name() + ": N-vs-M seq2seq", () -> run("seq2seq", b, S2S)));
        }
        return tests.stream();
    }

    private static final class Holder<M> {
        M model;
    }

    private static <M extends AutoCloseable> void run(String name, Backend b, App<M> app) throws Exception {
        Object want;
        try (M m = app.load(b)) {
            want = app.answer(m);
        }
        // Loads: every allocation.
        int loads = sweep(name + " load", Kind.ALLOCATION, new FaultSweep.Trial<Holder<M>>() {
            public Holder<M> setUp() {
                return new Holder<>();
            }

            public void run(Holder<M> h) throws Exception {
                h.model = app.load(b);
            }

            public void check(Holder<M> h, boolean failed) throws Exception {
                if (failed) h.model = app.load(b);
                assertSameAnswer(name + " after a failed load", want, app.answer(h.model));
            }

            public void close(Holder<M> h) throws Exception {
                if (h.model != null) h.model.close();
            }
        });
        assertTrue(loads > 0, name + ": a load allocates native memory");
        // Calls: every allocation and every OpenBLAS call, on a model loaded without faults.
        for (Kind kind : List.of(Kind.ALLOCATION, Kind.BLAS_CALL)) {
            int n = sweep(name + " call", kind, new FaultSweep.Trial<Holder<M>>() {
                public Holder<M> setUp() throws Exception {
                    Holder<M> h = new Holder<>();
                    h.model = app.load(b);
                    return h;
                }

                public void run(Holder<M> h) throws Exception {
                    app.answer(h.model);
                }

                public void check(Holder<M> h, boolean failed) throws Exception {
                    assertSameAnswer(name + " after a failed call", want, app.answer(h.model));
                }

                public void close(Holder<M> h) throws Exception {
                    h.model.close();
                }
            });
            if (kind == Kind.ALLOCATION) assertTrue(n > 0, name + ": a call allocates its buffers");
            if (kind == Kind.BLAS_CALL && b.name().equals("openblas")) assertTrue(n > 0, name + ": a call runs OpenBLAS");
        }
    }

    private static void assertSameAnswer(String what, Object want, Object got) {
        if (want instanceof float[][] w) {
            float[][] g = (float[][]) got;
            for (int i = 0; i < w.length; i++) assertArrayEquals(w[i], g[i], what + ": row " + i);
        } else {
            int[][] w2 = (int[][]) want, g = (int[][]) got;
            for (int i = 0; i < w2.length; i++) assertArrayEquals(w2[i], g[i], what + ": row " + i);
        }
    }
}
