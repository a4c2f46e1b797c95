package dev.panamarnn.cli.tasks;

import dev.panamarnn.app.Vocabulary;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The character language model's training text, as scripts/python/train_models.py makes it
 * ({@code LM_WORDS}, {@code lm_sentence}, {@code lm_valid}, {@code charlm_data}): sentences of a small English
 * grammar, lowercase, ending with ".".
 */
public final class CharLmData {
    private CharLmData() {}

    /** The padding token's id. */
    public static final int PAD = 0;
    /** The start token's id. */
    public static final int BOS = 1;
    /** The end token's id. */
    public static final int EOS = 2;

    private static final List<String> DET = List.of("the", "a", "my", "your", "this", "that", "every", "one");
    private static final List<String> ADJ = List.of("small", "big", "red", "green", "old", "young", "happy", "sad", "quick", "lazy",
            "tall", "brown", "quiet", "loud");
    private static final List<String> NOUN = List.of("cat", "dog", "bird", "fox", "horse", "child", "teacher", "farmer", "girl", "boy",
            "king", "queen", "baker", "sailor", "mouse", "rabbit");
    private static final List<String> PLACE = List.of("garden", "house", "forest", "park", "river", "kitchen", "village", "market",
            "field", "school");
    private static final List<String> VT = List.of("sees", "likes", "finds", "follows", "watches", "helps", "chases", "knows", "calls",
            "loves");
    private static final List<String> VI = List.of("sleeps", "runs", "sings", "waits", "smiles", "jumps", "walks", "dances", "laughs",
            "rests");
    private static final List<String> ADV = List.of("slowly", "quietly", "happily", "today", "again", "often", "early", "late");
    private static final List<String> PREP = List.of("in", "near", "behind", "by");

    /** The grammar's words by category, as Python's {@code LM_WORDS}: det, adj, noun, place, vt, vi, adv, prep. */
    public static final Map<String, List<String>> WORDS = Map.of("det", DET, "adj", ADJ, "noun", NOUN, "place", PLACE, "vt", VT,
            "vi", VI, "adv", ADV, "prep", PREP);

    /**
     * Sentences until they hold at least {@code minChars} characters together (Python: 50000, about 1740
     * sentences). Deterministic for a given seed.
     *
     * @param seed     the random seed
     * @param minChars the fewest characters in total
     * @return the sentences
     */
    public static List<String> sentences(long seed, int minChars) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (long total = 0; total < minChars; ) {
            String s = sentence(rng);
            out.add(s);
            total += s.length();
        }
        return out;
    }

    /**
     * One sentence ({@code lm_sentence}): noun phrase (determiner, adjective with probability 0.4, noun), then
     * with probability 0.4 a transitive verb and a noun phrase, 0.3 an intransitive verb and an adverb half the
     * time, 0.15 "is" and an adjective, 0.15 an intransitive verb; then "prep the place" with probability 0.3.
     *
     * @param rng the random source
     * @return the sentence, ending with "."
     */
    public static String sentence(SplittableRandom rng) {
        double r = rng.nextDouble();
        List<String> s = nounPhrase(rng);
        if (r < 0.4) {
            s.add(pick(rng, VT));
            s.addAll(nounPhrase(rng));
        } else if (r < 0.7) {
            s.add(pick(rng, VI));
            if (rng.nextDouble() < 0.5) s.add(pick(rng, ADV));
        } else if (r < 0.85) {
            s.add("is");
            s.add(pick(rng, ADJ));
        } else {
            s.add(pick(rng, VI));
        }
        if (rng.nextDouble() < 0.3) s.addAll(List.of(pick(rng, PREP), "the", pick(rng, PLACE)));
        return String.join(" ", s) + ".";
    }

    /**
     * Whether the grammar can produce {@code sentence} ({@code lm_valid}, a word-by-word recogniser).
     *
     * @param sentence the text
     * @return true if it is a sentence of the grammar
     */
    public static boolean grammatical(String sentence) {
        if (!sentence.endsWith(".") || sentence.contains("  ")) return false;
        String[] w = sentence.substring(0, sentence.length() - 1).split(" ", -1);
        int i = nounPhraseEnd(w, 0);
        if (i < 0 || i >= w.length) return false;
        if (VT.contains(w[i])) {
            i = nounPhraseEnd(w, i + 1);
            if (i < 0) return false;
        } else if (VI.contains(w[i])) {
            i++;
            if (i < w.length && ADV.contains(w[i])) i++;
        } else if (w[i].equals("is") && i + 1 < w.length && ADJ.contains(w[i + 1])) {
            i += 2;
        } else {
            return false;
        }
        return i == w.length || i + 3 == w.length && PREP.contains(w[i]) && w[i + 1].equals("the") && PLACE.contains(w[i + 2]);
    }

    /**
     * A sentence's tokens: {@code <bos>}, one id per character, {@code <eos>}.
     *
     * @param s     the sentence
     * @param vocab the vocabulary (models/charlm/model.json {@code vocab}: {@code <pad>}, {@code <bos>}, {@code <eos>}, characters)
     * @return the ids
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public static int[] encode(String s, List<String> vocab) {
        int[] chars = new Vocabulary(vocab).encode(s);
        int[] out = new int[chars.length + 2];
        out[0] = BOS;
        System.arraycopy(chars, 0, out, 1, chars.length);
        out[out.length - 1] = EOS;
        return out;
    }

    private static List<String> nounPhrase(SplittableRandom rng) {
        List<String> words = new ArrayList<>(List.of(pick(rng, DET)));
        if (rng.nextDouble() < 0.4) words.add(pick(rng, ADJ));
        words.add(pick(rng, NOUN));
        return words;
    }

    /** The index after the noun phrase starting at {@code i}, or -1 if none starts there. */
    private static int nounPhraseEnd(String[] w, int i) {
        if (i >= w.length || !DET.contains(w[i])) return -1;
        i++;
        if (i < w.length && ADJ.contains(w[i])) i++;
        return i < w.length && NOUN.contains(w[i]) ? i + 1 : -1;
    }

    private static String pick(SplittableRandom rng, List<String> words) {
        return words.get(rng.nextInt(words.size()));
    }
}
