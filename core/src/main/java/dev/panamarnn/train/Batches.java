package dev.panamarnn.train;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;

/**
 * Seeded shuffling and batching of a data set's indices for one epoch: the same random source gives the same
 * batches. {@link #bucketed} groups sequences of similar length (less padding, as PyTorch users do with a
 * bucketing sampler) and still shuffles the order of the batches.
 */
public final class Batches {
    private Batches() {}

    /**
     * The indices {@code 0..n-1} shuffled (Fisher–Yates) and cut into batches of {@code batchSize} (the last may be
     * smaller).
     *
     * @param rng       the random source (advanced)
     * @param n         the number of items
     * @param batchSize items per batch, ≥ 1
     * @return the batches
     */
    public static int[][] shuffled(SplittableRandom rng, int n, int batchSize) {
        return cut(permutation(rng, n), batchSize);
    }

    /**
     * Batches of items of similar length: the shuffled indices are taken in pools of {@code 50·batchSize}, each
     * pool sorted by length and cut into batches, and the batches shuffled.
     *
     * @param rng       the random source (advanced)
     * @param n         the number of items
     * @param batchSize items per batch, ≥ 1
     * @param length    each item's length
     * @return the batches
     */
    public static int[][] bucketed(SplittableRandom rng, int n, int batchSize, IntUnaryOperator length) {
        int[] order = permutation(rng, n);
        int pool = Math.max(batchSize, 50 * batchSize);
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) boxed[i] = order[i];
        for (int from = 0; from < n; from += pool) {
            Arrays.sort(boxed, from, Math.min(n, from + pool), (a, b) -> Integer.compare(length.applyAsInt(a), length.applyAsInt(b)));
        }
        for (int i = 0; i < n; i++) order[i] = boxed[i];
        int[][] batches = cut(order, batchSize);
        int[] perm = permutation(rng, batches.length);
        int[][] shuffled = new int[batches.length][];
        for (int i = 0; i < batches.length; i++) shuffled[i] = batches[perm[i]];
        return shuffled;
    }

    /**
     * A random permutation of {@code 0..n-1} (Fisher–Yates).
     *
     * @param rng the random source (advanced)
     * @param n   the length
     * @return the permutation
     */
    public static int[] permutation(SplittableRandom rng, int n) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static int[][] cut(int[] order, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        int[][] b = new int[(order.length + batchSize - 1) / batchSize][];
        for (int i = 0; i < b.length; i++) b[i] = Arrays.copyOfRange(order, i * batchSize, Math.min(order.length, (i + 1) * batchSize));
        return b;
    }
}
