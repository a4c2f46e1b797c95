package dev.panamarnn.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The application models' batching views (what the server runs): many threads calling one view with a
 * sequence each get what the plain model gives them alone (logits within float32 rounding, tokens equal),
 * their steps are shared (the step listener sees batches of more than one sample), the view's close leaves
 * the model usable, and an interrupted decoding stops between steps.
 */
class BatchingViewTest {
    private static final int THREADS = 8;
    /** Logits: the batch sums W_hh·h in another order than the unbatched call (float32 rounding). */
    private static final float LOGIT_TOL = 1e-4f;

    @TestFactory
    Stream<DynamicTest> viewsEqualThePlainModels() {
        List<DynamicTest> out = new ArrayList<>();
        for (Backend.Status s : Backend.list()) {
            if (!s.available()) continue;
            Backend b = Backend.get(s.name());
            out.add(DynamicTest.dynamicTest(s.name() + " classifier", () -> classifier(b)));
            out.add(DynamicTest.dynamicTest(s.name() + " language model", () -> languageModel(b)));
            out.add(DynamicTest.dynamicTest(s.name() + " seq2seq", () -> seq2seq(b)));
        }
        return out.stream();
    }

    /** Runs {@code task(i)} for i < n on THREADS threads released together; returns the results in order. */
    private static <T> List<T> concurrently(int n, java.util.function.IntFunction<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                fs.add(pool.submit(() -> {
                    go.await();
                    return task.apply(k);
                }));
            }
            go.countDown();
            List<T> r = new ArrayList<>();
            for (Future<T> f : fs) r.add(f.get());
            return r;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Counts the listener's steps and the largest batch it saw. */
    private static final class Steps implements dev.panamarnn.nn.BatchingExecutor.StepListener {
        final AtomicLong steps = new AtomicLong();
        final AtomicInteger maxRows = new AtomicInteger();

        @Override
        public void step(int rows, int calls, long nanos) {
            steps.incrementAndGet();
            maxRows.accumulateAndGet(rows, Math::max);
        }
    }

    private static void classifier(Backend backend) throws Exception {
        CaseFile c = ModelCases.cases("classifier");
        float[][][] seqs = Arrays.copyOf(c.sequences("inputs", "lengths"), 48);
        Steps steps = new Steps();
        try (SequenceClassifier m = SequenceClassifier.load(ModelCases.model("classifier"), backend)) {
            float[][] want = m.logits(seqs);
            try (SequenceClassifier v = m.batching(steps)) {
                List<float[]> got = concurrently(seqs.length, i -> v.logits(new float[][][] {seqs[i]})[0]);
                for (int i = 0; i < seqs.length; i++) {
                    for (int k = 0; k < want[i].length; k++) assertEquals(want[i][k], got.get(i)[k], LOGIT_TOL, "sample " + i + " logit " + k);
                }
            }
            assertTrue(steps.steps.get() > 0, "the listener saw the steps");
            // The view is closed, the model is not.
            float[] again = m.logits(new float[][][] {seqs[0]})[0];
            for (int k = 0; k < again.length; k++) assertEquals(want[0][k], again[k], LOGIT_TOL, "the model after its view closed, logit " + k);
        }
    }

    private static void languageModel(Backend backend) throws Exception {
        String[] prompts = {"the ", "a", "wh", "in the", "and ", "of", "to the ", "it"};
        try (LanguageModel m = LanguageModel.load(ModelCases.model("charlm"), backend)) {
            List<String> want = new ArrayList<>();
            for (String p : prompts) want.add(m.generate(p, Decoding.greedy(), 40));
            Steps steps = new Steps();
            try (LanguageModel v = m.batching(steps)) {
                // A lone caller runs alone, so sharing needs company: rounds until a step was shared.
                for (int round = 0; round < 10 && steps.maxRows.get() < 2; round++) {
                    List<String> got = concurrently(prompts.length * 3, i -> v.generate(prompts[i % prompts.length], Decoding.greedy(), 40));
                    for (int i = 0; i < got.size(); i++) assertEquals(want.get(i % prompts.length), got.get(i), "prompt " + Arrays.toString(prompts[i % prompts.length].toCharArray()));
                }
                assertTrue(steps.maxRows.get() > 1, "concurrent generations shared a step (largest batch " + steps.maxRows.get() + ")");
                // Interrupted: stops between tokens, interrupt status kept.
                Thread.currentThread().interrupt();
                try {
                    assertThrows(CancellationException.class, () -> v.generate("the ", Decoding.greedy(), 40));
                    assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
                } finally {
                    Thread.interrupted();
                }
                assertEquals(want.get(0), v.generate(prompts[0], Decoding.greedy(), 40), "usable after a cancelled call");
                // Streaming without a state of one's own (a call-confined state): the sink sees each token, in order.
                List<String> streamed = concurrently(prompts.length * 2, i -> {
                    List<Integer> seen = java.util.Collections.synchronizedList(new ArrayList<>());
                    int[] out = v.generate(new int[][] {v.prompt(prompts[i % prompts.length])}, Decoding.greedy(), 40, (b, tok) -> seen.add(tok))[0];
                    assertEquals(Arrays.stream(out).boxed().toList(), seen, "the sink's tokens");
                    return v.vocabulary().decode(out);
                });
                for (int i = 0; i < streamed.size(); i++) assertEquals(want.get(i % prompts.length), streamed.get(i), "streamed, prompt " + i);
            }
        }
    }

    private static void seq2seq(Backend backend) throws Exception {
        String[] dates = {"3 March 2021", "03/03/2021", "March 3, 2021", "3 Mar 2021", "Mar 3, 2021", "3.3.2021",
                "17 June 1999", "1 January 2000", "29 February 2024", "12/12/1950"};
        try (Seq2Seq m = Seq2Seq.load(ModelCases.model("seq2seq"), backend)) {
            List<String> want = new ArrayList<>();
            for (String d : dates) want.add(m.translate(d, 1));
            assertEquals("2021-03-03", want.get(0));
            Steps steps = new Steps();
            try (Seq2Seq v = m.batching(steps)) {
                for (int round = 0; round < 10 && steps.maxRows.get() < 2; round++) {
                    List<String> got = concurrently(dates.length * 3, i -> v.translate(dates[i % dates.length], 1));
                    for (int i = 0; i < got.size(); i++) assertEquals(want.get(i % dates.length), got.get(i), dates[i % dates.length]);
                }
                assertEquals(m.translate(dates[1], 3), v.translate(dates[1], 3), "beam search through the view");
                assertTrue(steps.maxRows.get() > 1, "concurrent translations shared a step (largest batch " + steps.maxRows.get() + ")");
            }
        }
    }
}
