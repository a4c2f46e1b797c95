package dev.panamarnn.cli.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.app.ModelCases;
import dev.panamarnn.app.ModelConfig;
import dev.panamarnn.app.Vocabulary;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The Java port of train_models.py's data generation, checked against the held-out sets PyTorch stored. */
class TaskDataTest {
    private static ModelConfig config(String name) throws Exception {
        return ModelConfig.read(ModelCases.model(name).resolve("model.json"));
    }

    @Test
    void classifierSequencesAreBalancedInRangeAndDeterministic() throws Exception {
        ClassifierData.Samples a = ClassifierData.generate(7, 4000), b = ClassifierData.generate(7, 4000);
        assertArrayEquals(a.labels(), b.labels());
        assertTrue(Arrays.deepEquals(a.x(), b.x()));
        assertFalse(Arrays.deepEquals(a.x(), ClassifierData.generate(8, 4000).x()));
        int[] count = new int[4];
        for (int i = 0; i < a.labels().length; i++) {
            count[a.labels()[i]]++;
            assertTrue(a.x()[i].length >= 20 && a.x()[i].length <= 60, "length " + a.x()[i].length);
            for (float v : a.x()[i]) assertTrue(Float.isFinite(v));
        }
        assertArrayEquals(new int[] {1000, 1000, 1000, 1000}, count);
        assertNotEquals(List.of(0, 1, 2, 3), IntStream.of(a.labels()).limit(4).boxed().toList(), "shuffled");
        int[] lengths = Arrays.stream(a.x()).mapToInt(x -> x.length).toArray();
        assertEquals(20, IntStream.of(lengths).min().orElseThrow());
        assertEquals(60, IntStream.of(lengths).max().orElseThrow());
        // Same distribution as PyTorch's test set: mean |value| per class within a tolerance.
        ClassifierData.Samples test = HeldOut.classifier(ModelCases.model("classifier"));
        double[] java = meanAbs(a), python = meanAbs(test);
        for (int c = 0; c < 4; c++) assertEquals(python[c], java[c], 0.1, ClassifierData.LABELS.get(c));
    }

    private static double[] meanAbs(ClassifierData.Samples s) {
        double[] sum = new double[4], n = new double[4];
        for (int i = 0; i < s.labels().length; i++) {
            for (float v : s.x()[i]) sum[s.labels()[i]] += Math.abs(v);
            n[s.labels()[i]] += s.x()[i].length;
        }
        for (int c = 0; c < 4; c++) sum[c] /= n[c];
        return sum;
    }

    @Test
    void charlmSentencesAreGrammaticalAndTokenise() throws Exception {
        List<String> vocab = config("charlm").vocab();
        List<String> s = CharLmData.sentences(2002, 50000);
        assertEquals(s, CharLmData.sentences(2002, 50000));
        assertNotEquals(s, CharLmData.sentences(2003, 50000));
        int total = s.stream().mapToInt(String::length).sum();
        assertTrue(total >= 50000 && total - s.getLast().length() < 50000, "total " + total);
        assertEquals(1737, s.size(), 80, "Python's 50 k characters are 1737 sentences");
        Set<String> words = new HashSet<>();
        for (String t : s) {
            assertTrue(CharLmData.grammatical(t), t);
            int[] ids = CharLmData.encode(t, vocab);
            assertEquals(t.length() + 2, ids.length);
            assertEquals(1, ids[0]);
            assertEquals(2, ids[ids.length - 1]);
            assertEquals(t, new Vocabulary(vocab).decode(ids));
            words.addAll(List.of(t.substring(0, t.length() - 1).split(" ")));
        }
        Set<String> grammar = new HashSet<>(List.of("is"));
        CharLmData.WORDS.values().forEach(grammar::addAll);
        assertEquals(grammar, words, "every word of the grammar, nothing else");
        for (String bad : List.of("the cat", "the cat.", "cat sleeps.", "the cat sleeps  today.", "the cat is.", "the cat sees.",
                "the cat sleeps in the.", "the cat sleeps in a park.", "the cat sleeps today slowly.", "."))
            assertFalse(CharLmData.grammatical(bad), bad);
        for (String ok : List.of("the bird is loud.", "a big boy sees that big boy.", "a sailor sleeps behind the field.", "one bird smiles."))
            assertTrue(CharLmData.grammatical(ok), ok);
        // PyTorch's held-out sentences are sentences of this grammar, of the same mean length.
        HeldOut.Sentences test = HeldOut.charlm(ModelCases.model("charlm"));
        Vocabulary v = new Vocabulary(vocab);
        double mean = 0;
        for (int[] t : test.tokens()) {
            String text = v.decode(t);
            assertTrue(CharLmData.grammatical(text), text);
            assertArrayEquals(t, CharLmData.encode(text, vocab));
            mean += text.length() / (double) test.tokens().length;
        }
        assertEquals(total / (double) s.size(), mean, 1.5);
    }

    @Test
    void dateFormatsAreExactlyPythons() throws Exception {
        LocalDate d = LocalDate.of(2021, 3, 3);
        List<String> want = List.of("3 March 2021", "03/03/2021", "March 3, 2021", "3 Mar 2021", "Mar 3, 2021", "3.3.2021");
        for (int f = 0; f < 6; f++) assertEquals(want.get(f), DateData.format(f, d));
        assertEquals("2021-03-03", DateData.iso(d));
        assertEquals("September 30, 1955", DateData.format(2, LocalDate.of(1955, 9, 30)));
        assertEquals("25/12/1999", DateData.format(1, LocalDate.of(1999, 12, 25)));
        assertEquals("Sep 9, 2049", DateData.format(4, LocalDate.of(2049, 9, 9)));
        List<LocalDate> all = DateData.allDates();
        assertEquals(36525, all.size());
        assertEquals(LocalDate.of(1950, 1, 1), all.getFirst());
        assertEquals(LocalDate.of(2049, 12, 31), all.getLast());
        assertTrue(all.contains(LocalDate.of(2000, 2, 29)));
        // Python wrote test case i in format i % 6: the stored sources are exactly these strings.
        ModelConfig c = config("seq2seq");
        HeldOut.Pairs test = HeldOut.seq2seq(ModelCases.model("seq2seq"));
        List<String> iso = test.targetTexts(c.outputVocab());
        Vocabulary in = new Vocabulary(c.vocab());
        for (int i = 0; i < iso.size(); i++) {
            String src = DateData.format(i % 6, LocalDate.parse(iso.get(i)));
            assertEquals(in.decode(test.sources()[i]), src);
            assertArrayEquals(test.sources()[i], DateData.encodeSource(src, c.vocab()));
            assertArrayEquals(test.targets()[i], DateData.encodeTarget(iso.get(i), c.outputVocab()));
        }
    }

    @Test
    void trainingPairsNeverHoldATestOrValidationDate() throws Exception {
        ModelConfig c = config("seq2seq");
        Set<String> test = Set.copyOf(HeldOut.seq2seq(ModelCases.model("seq2seq")).targetTexts(c.outputVocab()));
        assertEquals(500, test.size());
        DateData.Split split = DateData.split(3003, test, 500);
        assertEquals(split, DateData.split(3003, test, 500));
        assertNotEquals(split.validation(), DateData.split(3004, test, 500).validation());
        assertEquals(36525 - 1000, split.train().size());
        Set<String> val = new HashSet<>();
        for (DateData.Pair p : split.validation()) {
            assertFalse(test.contains(p.target()), p.target());
            val.add(p.target());
        }
        assertEquals(500, val.size());
        for (LocalDate d : split.train()) assertFalse(test.contains(DateData.iso(d)) || val.contains(DateData.iso(d)), d.toString());
        List<DateData.Pair> pairs = split.sample(new SplittableRandom(1), 20000);
        assertEquals(pairs, split.sample(new SplittableRandom(1), 20000));
        int[] formats = new int[6];
        int notMay = 0;
        for (DateData.Pair p : pairs) {
            assertFalse(test.contains(p.target()) || val.contains(p.target()), p.target());
            LocalDate d = LocalDate.parse(p.target());
            int f = IntStream.range(0, 6).filter(k -> DateData.format(k, d).equals(p.source())).findFirst().orElseThrow();
            if (d.getMonthValue() != 5) { // "May" is its own abbreviation: formats 0/3 and 2/4 coincide
                formats[f]++;
                notMay++;
            }
            assertEquals(p.source().length(), DateData.encodeSource(p.source(), c.vocab()).length);
            int[] t = DateData.encodeTarget(p.target(), c.outputVocab());
            assertEquals(11, t.length);
            assertEquals(2, t[10]);
        }
        for (int n : formats) assertEquals(notMay / 6.0, n, 300);
        assertThrows(IllegalArgumentException.class, () -> DateData.split(1, Set.of("1949-12-31"), 500));
    }

    @Test
    void heldOutSetsHaveTheStoredShapes() throws Exception {
        ClassifierData.Samples cls = HeldOut.classifier(ModelCases.model("classifier"));
        assertEquals(500, cls.x().length);
        int[] count = new int[4];
        for (int i = 0; i < 500; i++) {
            count[cls.labels()[i]]++;
            assertTrue(cls.x()[i].length >= 20 && cls.x()[i].length <= 60);
        }
        assertArrayEquals(new int[] {125, 125, 125, 125}, count);
        HeldOut.Sentences lm = HeldOut.charlm(ModelCases.model("charlm"));
        assertEquals(300, lm.tokens().length);
        for (int[] t : lm.tokens()) {
            assertEquals(1, t[0]);
            assertEquals(2, t[t.length - 1]);
        }
        assertEquals(57, Arrays.stream(lm.tokens()).mapToInt(t -> t.length).max().orElseThrow());
        HeldOut.Pairs s2s = HeldOut.seq2seq(ModelCases.model("seq2seq"));
        assertEquals(500, s2s.sources().length);
        assertEquals(500, s2s.targets().length);
        assertEquals(18, Arrays.stream(s2s.sources()).mapToInt(t -> t.length).max().orElseThrow());
        for (int[] t : s2s.targets()) assertEquals(11, t.length);
    }
}
