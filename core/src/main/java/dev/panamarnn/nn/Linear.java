package dev.panamarnn.nn;

import dev.panamarnn.Backend;
import dev.panamarnn.Checks;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.internal.KernelAccess;
import dev.panamarnn.io.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

/**
 * PyTorch's {@code nn.Linear}: {@code y = x·Wᵀ + b} with {@code weight [out × in]} and optional
 * {@code bias [out]}, over every row of {@code x} (any leading dimensions). One GEMM per call.
 * Immutable and thread-safe; owns its weights until {@link #close()}.
 */
public final class Linear implements AutoCloseable {
    private final Arena arena;
    private final dev.panamarnn.engine.Lifecycle lifecycle = new dev.panamarnn.engine.Lifecycle("linear layer");
    private final MemorySegment weight, bias;
    private final int in, out;
    private final Backend backend;

    private Linear(Arena arena, MemorySegment weight, MemorySegment bias, int out, int in, Backend backend) {
        this.arena = arena;
        this.weight = weight;
        this.bias = bias;
        this.in = in;
        this.out = out;
        this.backend = backend;
    }

    /**
     * Loads {@code prefix + "weight"} and, if present, {@code prefix + "bias"} (floating-point tensors),
     * copied from the state dict straight into native memory. Any other tensor under {@code prefix} is an
     * error ({@link LoadOptions#strict()}).
     *
     * @param sd      the tensors
     * @param prefix  prepended to {@code weight} and {@code bias}; {@code ""} for none
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @return the layer, to close
     * @throws IllegalArgumentException if the weight is missing, a tensor has the wrong shape or is not
     *     floating-point, or another tensor lies under {@code prefix}
     */
    public static Linear load(StateDict sd, String prefix, Backend backend) {
        return load(sd, prefix, backend, LoadOptions.strict());
    }

    /**
     * {@link #load(StateDict, String, Backend)} with {@code options} for the other tensors under {@code prefix}.
     *
     * @param sd      the tensors
     * @param prefix  prepended to {@code weight} and {@code bias}; {@code ""} for none
     * @param backend the kernels to run on; null for {@link Backend#defaultBackend()}
     * @param options what to do with the other tensors under {@code prefix}
     * @return the layer, to close
     * @throws IllegalArgumentException if the weight is missing, a tensor has the wrong shape or is not
     *     floating-point, or (strict) another tensor lies under {@code prefix}
     */
    public static Linear load(StateDict sd, String prefix, Backend backend, LoadOptions options) {
        Objects.requireNonNull(sd, "weights");
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(options, "options");
        String wn = prefix + "weight", bn = prefix + "bias";
        if (!sd.contains(wn)) throw new IllegalArgumentException("missing tensor " + Text.quote(wn) + " (nn.Linear weight)");
        int[] ws = sd.shape(wn);
        if (ws.length != 2 || ws[0] < 1 || ws[1] < 1) {
            throw new IllegalArgumentException("tensor " + Text.quote(wn) + " must be [out_features, in_features], got " + Arrays.toString(ws));
        }
        floatingPoint(sd, wn);
        boolean hasBias = sd.contains(bn);
        if (hasBias) {
            int[] bs = sd.shape(bn);
            if (bs.length != 1 || bs[0] != ws[0]) {
                throw new IllegalArgumentException("tensor " + Text.quote(bn) + " must have shape [" + ws[0] + "], got " + Arrays.toString(bs));
            }
            floatingPoint(sd, bn);
        }
        options.unused("nn.Linear under the prefix " + Text.quote(prefix), Names.under(sd, prefix, Set.of(wn, bn)));
        Backend be = backend == null ? Backend.defaultBackend() : backend;
        Arena arena = dev.panamarnn.Arenas.shared();
        try {
            MemorySegment w = arena.allocate((long) ws[0] * ws[1] * Float.BYTES, Tensor.ALIGNMENT);
            sd.copyTo(wn, w, 0);
            MemorySegment b = null;
            if (hasBias) {
                b = arena.allocate((long) ws[0] * Float.BYTES, Tensor.ALIGNMENT);
                sd.copyTo(bn, b, 0);
            }
            return new Linear(arena, w, b, ws[0], ws[1], be);
        } catch (Throwable e) { // nothing of a failed load stays allocated
            arena.close();
            throw e;
        }
    }

    private static void floatingPoint(StateDict sd, String name) {
        DType t = sd.dtype(name);
        if (!t.isFloatingPoint()) throw new IllegalArgumentException(Names.notFloat(name, t));
    }

    /**
     * Whether the layer has a bias ({@code prefix + "bias"} was in the weights).
     *
     * @return whether there is a bias
     */
    public boolean hasBias() {
        return bias != null;
    }

    /**
     * Features per input row: {@code in_features}, the weight's columns.
     *
     * @return the input features
     */
    public int inFeatures() {
        return in;
    }

    /**
     * Features per output row: {@code out_features}, the weight's rows.
     *
     * @return the output features
     */
    public int outFeatures() {
        return out;
    }

    /**
     * {@code y[r] = x[r]·Wᵀ + b} for every row r; {@code x [N × in]}, {@code y [N × out]} as matrices.
     *
     * @param x the input, {@code [N × in]} as a matrix
     * @param y written: {@code [N × out]} as a matrix; must not overlap x
     * @throws IllegalArgumentException if a shape does not fit, or y overlaps x
     * @throws IllegalStateException if the layer was closed or a tensor's arena is
     */
    public void forward(Tensor x, Tensor y) {
        Checks.alive("linear", "x", x);
        if (x.cols() != in) throw new IllegalArgumentException("linear: x must have " + in + " features in its last dimension, got " + x.shapeString());
        Checks.shape("linear", "y", y, x.rows(), out);
        Checks.disjoint("linear", "y", y.segment(), y.offset(), Tensor.requiredFloats(y.rows(), out, y.ld()), "x", x.segment(), x.offset(),
                Tensor.requiredFloats(x.rows(), in, x.ld()));
        lifecycle.enter("linear");
        try {
            forwardUnchecked(x.rows(), x.segment(), x.offset(), x.ld(), y.segment(), y.offset(), y.ld());
        } finally {
            lifecycle.exit();
        }
    }

    /**
     * {@link #forward(Tensor, Tensor)} into a new tensor of shape {@code x.shape()[..-1] + [out]}.
     *
     * @param resultArena the arena the result is allocated in
     * @param x           the input, its last dimension {@code in}
     * @return the output
     */
    public Tensor forward(Arena resultArena, Tensor x) {
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = Tensor.allocate(resultArena, shape);
        forward(x, y);
        return y;
    }

    /** For callers in this package that validated already: rows of x at (xs, xo, ldx) → y at (ys, yo, ldy). */
    void forwardUnchecked(int rows, MemorySegment xs, long xo, int ldx, MemorySegment ys, long yo, int ldy) {
        if (bias != null) {
            for (int r = 0; r < rows; r++) MemorySegment.copy(bias, 0, ys, (yo + (long) r * ldy) * Float.BYTES, (long) out * Float.BYTES);
        }
        KernelAccess.of(backend).sgemm(false, true, rows, out, in, 1f, xs, xo, ldx, weight, 0, in, bias != null ? 1f : 0f, ys, yo, ldy);
    }

    /** Waits for running {@link #forward} calls, then frees the weights; idempotent. */
    @Override
    public void close() {
        lifecycle.close(arena::close);
    }
}
