package dev.panamarnn.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** PyTorch's {@code nn.Embedding} being trained: rows looked up by id; backward adds each row's gradient to its id's. */
public final class TrainableEmbedding extends Trainable {
    private final int size, dim;
    private final Param weight;
    private int[] lastIds;

    private TrainableEmbedding(int size, int dim, String prefix, Backend backend) {
        super(backend);
        if (size < 1 || dim < 1) throw new IllegalArgumentException("Embedding needs size and dim >= 1, got " + size + ", " + dim);
        this.size = size;
        this.dim = dim;
        this.weight = param((prefix == null ? "" : prefix) + "weight", size, dim);
    }

    /**
     * A table initialised as PyTorch's: standard normal entries.
     *
     * @param size    the number of ids
     * @param dim     the row length
     * @param prefix  the names' prefix, such as {@code "embed."}
     * @param seed    the random seed
     * @param backend the backend ({@code null}: the default)
     * @return the table
     */
    public static TrainableEmbedding create(int size, int dim, String prefix, long seed, Backend backend) {
        TrainableEmbedding e = new TrainableEmbedding(size, dim, prefix, backend);
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[size * dim];
        for (int i = 0; i < v.length; i++) v[i] = (float) gaussian(rng);
        e.weight.value().copyFrom(v);
        return e;
    }

    static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble(), w = rng.nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * w);
    }

    /**
     * The number of ids.
     *
     * @return the number of ids
     */
    public int size() {
        return size;
    }

    /**
     * The row length.
     *
     * @return the row length
     */
    public int dim() {
        return dim;
    }

    /**
     * Looks up {@code ids} (kept for {@link #backward}).
     *
     * @param ids the ids, each in {@code 0..size-1}
     * @return {@code [ids.length × dim]}, a buffer of this table valid until its next forward
     * @throws IllegalArgumentException naming the position of an id out of range
     */
    public Tensor forward(int[] ids) {
        checkOpen();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= size) throw new IllegalArgumentException("ids[" + i + "] = " + ids[i] + " is outside 0.." + (size - 1));
        }
        Tensor y = buffers.get("y", ids.length, dim);
        MemorySegment w = weight.value().segment();
        for (int i = 0; i < ids.length; i++) MemorySegment.copy(w, (long) ids[i] * dim * 4, y.segment(), (long) i * dim * 4, (long) dim * 4);
        lastIds = ids.clone();
        return y;
    }

    /**
     * Adds each output row's gradient to its id's row of the weight's gradient.
     *
     * @param dy the gradient of the last forward's output {@code [ids × dim]} (any leading dimension)
     * @throws IllegalStateException if no forward ran
     * @throws IllegalArgumentException if dy's shape does not fit the last forward
     */
    public void backward(Tensor dy) {
        checkOpen();
        if (lastIds == null) throw new IllegalStateException("backward needs a forward pass first");
        if (dy.rows() != lastIds.length || dy.cols() != dim) {
            throw new IllegalArgumentException("Embedding dy: expected [" + lastIds.length + " × " + dim + "], got " + dy.shapeString());
        }
        MemorySegment g = weight.grad().segment(), d = dy.segment();
        for (int i = 0; i < lastIds.length; i++) {
            long go = (long) lastIds[i] * dim, dOff = dy.offset() + (long) i * dy.ld();
            for (int j = 0; j < dim; j++) {
                g.setAtIndex(JAVA_FLOAT, go + j, g.getAtIndex(JAVA_FLOAT, go + j) + d.getAtIndex(JAVA_FLOAT, dOff + j));
            }
        }
        lastIds = null;
    }
}
