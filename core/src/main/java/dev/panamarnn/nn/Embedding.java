package dev.panamarnn.nn;

import dev.panamarnn.Checks;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

/** PyTorch's {@code nn.Embedding}: row {@code id} of {@code weight [num_embeddings × embedding_dim]}. Thread-safe. */
public final class Embedding implements AutoCloseable {
    private final Arena arena;
    private final dev.panamarnn.engine.Lifecycle lifecycle = new dev.panamarnn.engine.Lifecycle("embedding");
    private final MemorySegment weight;
    private final int count, dim;

    private Embedding(Arena arena, MemorySegment weight, int count, int dim) {
        this.arena = arena;
        this.weight = weight;
        this.count = count;
        this.dim = dim;
    }

    /**
     * Loads {@code prefix + "weight"}, a floating-point {@code [num_embeddings, embedding_dim]} tensor,
     * copied from the state dict straight into native memory. Any other tensor under {@code prefix} is an
     * error ({@link LoadOptions#strict()}).
     *
     * @param sd     the tensors
     * @param prefix prepended to {@code weight}; {@code ""} for none
     * @return the embedding, to close
     * @throws IllegalArgumentException if the tensor is missing, not 2-D, not floating-point, or not alone under {@code prefix}
     */
    public static Embedding load(StateDict sd, String prefix) {
        return load(sd, prefix, LoadOptions.strict());
    }

    /**
     * {@link #load(StateDict, String)} with {@code options} for the other tensors under {@code prefix}.
     *
     * @param sd      the tensors
     * @param prefix  prepended to {@code weight}; {@code ""} for none
     * @param options what to do with the other tensors under {@code prefix}
     * @return the embedding, to close
     * @throws IllegalArgumentException if the tensor is missing, not 2-D or not floating-point, or (strict) not alone
     */
    public static Embedding load(StateDict sd, String prefix, LoadOptions options) {
        Objects.requireNonNull(sd, "weights");
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(options, "options");
        String wn = prefix + "weight";
        if (!sd.contains(wn)) throw new IllegalArgumentException("missing tensor " + Text.quote(wn) + " (nn.Embedding weight)");
        int[] s = sd.shape(wn);
        if (s.length != 2 || s[0] < 1 || s[1] < 1) {
            throw new IllegalArgumentException("tensor " + Text.quote(wn) + " must be [num_embeddings, embedding_dim], got " + Arrays.toString(s));
        }
        DType t = sd.dtype(wn);
        if (!t.isFloatingPoint()) throw new IllegalArgumentException(Names.notFloat(wn, t));
        options.unused("nn.Embedding under the prefix " + Text.quote(prefix), Names.under(sd, prefix, Set.of(wn)));
        Arena arena = dev.panamarnn.Arenas.shared();
        try {
            MemorySegment w = arena.allocate((long) s[0] * s[1] * Float.BYTES, Tensor.ALIGNMENT);
            sd.copyTo(wn, w, 0);
            return new Embedding(arena, w, s[0], s[1]);
        } catch (Throwable e) { // nothing of a failed load stays allocated
            arena.close();
            throw e;
        }
    }

    /**
     * The number of embeddings: {@code num_embeddings}, ids run {@code 0..size()-1}.
     *
     * @return the table's rows
     */
    public int size() {
        return count;
    }

    /**
     * The embedding's length: {@code embedding_dim}.
     *
     * @return the table's columns
     */
    public int dim() {
        return dim;
    }

    /**
     * Writes the embedding of {@code ids[i]} into row {@code i} of {@code out [ids.length × dim]}.
     *
     * @param ids the token ids, each in {@code 0..size()-1}
     * @param out written: {@code [ids.length × dim]}
     * @throws IllegalArgumentException if an id is out of range (naming it and its position) or out has another shape
     * @throws IllegalStateException if the embedding was closed
     */
    public void lookup(int[] ids, Tensor out) {
        Objects.requireNonNull(ids, "ids");
        Checks.shape("embedding", "out", out, ids.length, dim);
        for (int i = 0; i < ids.length; i++) checkId(ids[i], i);
        lifecycle.enter("embedding");
        try {
            for (int i = 0; i < ids.length; i++) copyRow(ids[i], out.segment(), out.offset() + (long) i * out.ld());
        } finally {
            lifecycle.exit();
        }
    }

    void checkId(int id, int position) {
        if (id < 0 || id >= count) {
            throw new IllegalArgumentException("embedding: token id " + id + " at position " + position + " is outside 0.." + (count - 1));
        }
    }

    /**
     * Copies the embedding of {@code id} to {@code dst} at float offset {@code off} (a bounds-checked copy;
     * an id outside the table is an error naming it).
     *
     * @param id  the token id, in {@code 0..size()-1}
     * @param dst the destination
     * @param off where in {@code dst}, in floats
     * @throws IllegalArgumentException if the id is out of range
     */
    public void copyRow(int id, MemorySegment dst, long off) {
        if (id < 0 || id >= count) throw new IllegalArgumentException("embedding: token id " + id + " is outside 0.." + (count - 1));
        MemorySegment.copy(weight, (long) id * dim * Float.BYTES, dst, off * Float.BYTES, (long) dim * Float.BYTES);
    }

    /** Waits for running {@link #lookup} calls, then frees the weights; idempotent. */
    @Override
    public void close() {
        lifecycle.close(arena::close);
    }
}
