package dev.panamarnn.kernel;

import java.lang.foreign.MemorySegment;

/**
 * Products routed by the rows of the product, to the implementation measured fastest for that many rows
 * on this machine (see {@code Backend.defaultBackend()}): one row (a step of one sample, a GEMV), 2 to 32
 * rows (a step of a small batch), more (larger batches, input projections). The route depends on the rows
 * only, never on the columns, so a step computed whole or split by hidden units between two threads takes
 * the same implementation, and within a process a given call always takes the same path.
 */
final class RoutedProducts implements MatrixProducts {
    private final MatrixProducts[] byBucket;
    private final String[] names;
    private final boolean[] prepared;

    /**
     * @param byBucket the products for 1, 2–32 and more rows
     * @param names    their backends' names
     * @param prepared per bucket, whether a step multiplies by W_hh prepared once instead
     */
    RoutedProducts(MatrixProducts[] byBucket, String[] names, boolean[] prepared) {
        if (byBucket.length != Kernels.BUCKETS || names.length != Kernels.BUCKETS || prepared.length != Kernels.BUCKETS) {
            throw new IllegalArgumentException(Kernels.BUCKETS + " buckets");
        }
        this.byBucket = byBucket.clone();
        this.names = names.clone();
        this.prepared = prepared.clone();
    }

    /** The name of the backend whose products serve m rows. */
    String name(int m) {
        return names[bucket(m)];
    }

    /** The bucket of a product of m rows: 0 for one row, 1 for 2 to 32, 2 above. */
    static int bucket(int m) {
        return m <= 1 ? 0 : m <= 32 ? 1 : 2;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                      MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        byBucket[bucket(m)].sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** A matrix-vector product: the one-row route. */
    @Override
    public void sgemv(boolean transA, int m, int n, float alpha, MemorySegment a, long aOff, int lda, MemorySegment x, long xOff,
                      float beta, MemorySegment y, long yOff) {
        byBucket[0].sgemv(transA, m, n, alpha, a, aOff, lda, x, xOff, beta, y, yOff);
    }

    @Override
    public boolean prefersPreparedSteps(int m) {
        return prepared[bucket(m)];
    }
}
