package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix {@code W} of {@code [n × k]} prepared once by {@link PreparedProducts#prepare} for many
 * {@link PreparedProducts#gemmPrepared} calls of a few rows each: the recurrent step of a small batch,
 * {@code h·W_hhᵀ}, where a general GEMM would pack W again on every call. Opaque to callers: only the
 * backend that made it reads it. Holds no native memory of its own (a backend's packed copy lives on the
 * heap), so there is nothing to close.
 */
public abstract class PreparedWeights {
    private final int n, k;

    /**
     * For subclasses: a prepared matrix of {@code [n × k]}.
     *
     * @param n rows of W
     * @param k columns of W
     */
    protected PreparedWeights(int n, int k) {
        this.n = n;
        this.k = k;
    }

    /**
     * Rows of W: columns of each product.
     *
     * @return n
     */
    public final int n() {
        return n;
    }

    /**
     * Columns of W: the reduction length.
     *
     * @return k
     */
    public final int k() {
        return k;
    }

    /** W itself, not copied: what {@link PreparedProducts#prepare} keeps by default. W must outlive it, unchanged. */
    public static final class RowMajor extends PreparedWeights {
        final MemorySegment w;
        final long off;
        final int ld;

        /**
         * W as it is stored.
         *
         * @param w   W's memory
         * @param off W's first element, in floats
         * @param ld  W's leading dimension, in floats
         * @param n   rows of W
         * @param k   columns of W
         */
        public RowMajor(MemorySegment w, long off, int ld, int n, int k) {
            super(n, k);
            this.w = w;
            this.off = off;
            this.ld = ld;
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + n + " × " + k + "]";
    }
}
