package dev.panamarnn.cli.tasks;

import dev.panamarnn.app.Vocabulary;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The seq2seq model's data, as scripts/python/train_models.py makes it ({@code all_dates}, {@code DATE_FORMATS},
 * {@code train_seq2seq}): dates {@value #FIRST_YEAR}-01-01..{@value #LAST_YEAR}-12-31 written in one of
 * {@value #FORMATS} formats, to translate into ISO 8601 ({@code 2021-03-03}).
 */
public final class DateData {
    private DateData() {}

    /** The first year. */
    public static final int FIRST_YEAR = 1950;
    /** The last year. */
    public static final int LAST_YEAR = 2049;
    /** The number of source formats. */
    public static final int FORMATS = 6;

    private static final List<String> MONTHS = List.of("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December");
    private static final int EOS = 2;

    /**
     * A source text and its ISO target.
     *
     * @param source the date in one of the formats, e.g. {@code "3 March 2021"}
     * @param target the date in ISO 8601, e.g. {@code "2021-03-03"}
     */
    public record Pair(String source, String target) {}

    /**
     * The dates left for training and validation once the test dates are held out.
     *
     * @param train      the training dates (never a held-out or validation date)
     * @param validation the validation pairs, one random format each
     */
    public record Split(List<LocalDate> train, List<Pair> validation) {
        /** The lists, copied. */
        public Split {
            train = List.copyOf(train);
            validation = List.copyOf(validation);
        }

        /**
         * {@code k} training pairs, as {@link DateData#sample}.
         *
         * @param rng the random source
         * @param k   how many pairs
         * @return the pairs
         */
        public List<Pair> sample(SplittableRandom rng, int k) {
            return DateData.sample(rng, train, k);
        }
    }

    /**
     * Every date from {@value #FIRST_YEAR}-01-01 to {@value #LAST_YEAR}-12-31, in order (36525).
     *
     * @return the dates
     */
    public static List<LocalDate> allDates() {
        return LocalDate.of(FIRST_YEAR, 1, 1).datesUntil(LocalDate.of(LAST_YEAR + 1, 1, 1)).toList();
    }

    /**
     * A date in one of the formats, for 2021-03-03: 0 {@code "3 March 2021"}, 1 {@code "03/03/2021"}
     * (day/month/year), 2 {@code "March 3, 2021"}, 3 {@code "3 Mar 2021"}, 4 {@code "Mar 3, 2021"},
     * 5 {@code "3.3.2021"}.
     *
     * @param format the format, 0..{@value #FORMATS}-1
     * @param date   the date
     * @return the text
     */
    public static String format(int format, LocalDate date) {
        int d = date.getDayOfMonth(), m = date.getMonthValue(), y = date.getYear();
        String month = MONTHS.get(m - 1), mon = month.substring(0, 3);
        return switch (format) {
            case 0 -> d + " " + month + " " + y;
            case 1 -> "%02d/%02d/%d".formatted(d, m, y);
            case 2 -> month + " " + d + ", " + y;
            case 3 -> d + " " + mon + " " + y;
            case 4 -> mon + " " + d + ", " + y;
            case 5 -> d + "." + m + "." + y;
            default -> throw new IllegalArgumentException("date format " + format + " is not 0.." + (FORMATS - 1));
        };
    }

    /**
     * A date in ISO 8601.
     *
     * @param date the date
     * @return {@code yyyy-mm-dd}
     */
    public static String iso(LocalDate date) {
        return "%04d-%02d-%02d".formatted(date.getYear(), date.getMonthValue(), date.getDayOfMonth());
    }

    /**
     * Holds out {@code heldOutIso} (the test dates) and {@code validationCount} other dates chosen by the seed,
     * each validation date in a random format; the rest are for training. Deterministic for a given seed.
     *
     * @param seed            the random seed
     * @param heldOutIso      the test dates in ISO 8601, never in the split
     * @param validationCount how many validation dates
     * @return the split
     * @throws IllegalArgumentException if a held-out string is not a date of the range, or too few dates remain
     */
    public static Split split(long seed, Set<String> heldOutIso, int validationCount) {
        List<LocalDate> rest = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (LocalDate d : allDates()) {
            String iso = iso(d);
            if (heldOutIso.contains(iso)) seen.add(iso);
            else rest.add(d);
        }
        if (seen.size() != heldOutIso.size()) {
            Set<String> unknown = new HashSet<>(heldOutIso);
            unknown.removeAll(seen);
            throw new IllegalArgumentException("held-out dates outside " + FIRST_YEAR + ".." + LAST_YEAR + ": " + unknown);
        }
        if (validationCount < 0 || validationCount >= rest.size()) {
            throw new IllegalArgumentException("validation count " + validationCount + " is not in 0.." + (rest.size() - 1));
        }
        SplittableRandom rng = new SplittableRandom(seed);
        Collections.shuffle(rest, rng);
        List<Pair> validation = new ArrayList<>(validationCount);
        for (LocalDate d : rest.subList(0, validationCount)) validation.add(new Pair(format(rng.nextInt(FORMATS), d), iso(d)));
        return new Split(rest.subList(validationCount, rest.size()), validation);
    }

    /**
     * {@code k} pairs (Python's {@code sample}): each a date drawn uniformly from {@code dates} (with
     * replacement) in a format drawn uniformly.
     *
     * @param rng   the random source
     * @param dates the dates to draw from
     * @param k     how many pairs
     * @return the pairs
     */
    public static List<Pair> sample(SplittableRandom rng, List<LocalDate> dates, int k) {
        List<Pair> out = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            LocalDate d = dates.get(rng.nextInt(dates.size()));
            out.add(new Pair(format(rng.nextInt(FORMATS), d), iso(d)));
        }
        return out;
    }

    /**
     * A source's tokens: one id per character, no {@code <bos>}/{@code <eos>}.
     *
     * @param source     the source text
     * @param inputVocab models/seq2seq/model.json {@code input_vocab}
     * @return the ids
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public static int[] encodeSource(String source, List<String> inputVocab) {
        return new Vocabulary(inputVocab).encode(source);
    }

    /**
     * A target's tokens: one id per character, then {@code <eos>} (11 for an ISO date), as Python's {@code enc_tgt}.
     *
     * @param target      the ISO text
     * @param outputVocab models/seq2seq/model.json {@code output_vocab}
     * @return the ids
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public static int[] encodeTarget(String target, List<String> outputVocab) {
        int[] chars = new Vocabulary(outputVocab).encode(target);
        int[] out = Arrays.copyOf(chars, chars.length + 1);
        out[chars.length] = EOS;
        return out;
    }
}
