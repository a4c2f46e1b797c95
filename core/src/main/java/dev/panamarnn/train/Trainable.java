package dev.panamarnn.train;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import dev.panamarnn.nn.StateDict;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A module being trained: parameters under PyTorch's names, their gradients, and the memory of both and of
 * what its forward pass keeps for the backward pass, all in one arena the module owns and {@link #close()}
 * frees. A module is used by one thread at a time (training mutates it); for inference, export
 * {@link #stateDict()} and load the inference layers, which are immutable and shared.
 */
public abstract class Trainable implements AutoCloseable {
    /** The arena of parameters, gradients and saved activations; closed by {@link #close()}. */
    final Arena arena = Arena.ofShared();
    /** Reusable buffers for forward and backward, grown when a batch needs more. */
    final Buffers buffers = new Buffers();
    /** The backend of every product and activation. */
    final Backend backend;
    private final List<Param> params = new ArrayList<>();
    private boolean closed;

    Trainable(Backend backend) {
        this.backend = backend == null ? Backend.defaultBackend() : backend;
    }

    final Param param(String name, int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("parameter " + name + " " + Arrays.toString(shape) + " is too large");
        int rows = shape.length == 2 ? shape[0] : 1, cols = shape.length == 2 ? shape[1] : (int) n;
        Param p = new Param(name, shape, Tensor.allocate(arena, rows, cols), Tensor.allocate(arena, rows, cols));
        params.add(p);
        return p;
    }

    /**
     * The parameters, in PyTorch's {@code state_dict} order.
     *
     * @return the parameters, in PyTorch's {@code state_dict} order
     */
    public List<Param> parameters() {
        return Collections.unmodifiableList(params);
    }

    /**
     * The backend of this module's products and activations.
     *
     * @return the backend of this module's products and activations
     */
    public Backend backend() {
        return backend;
    }

    /** Sets every gradient to zero, as PyTorch's {@code zero_grad(set_to_none=False)}. */
    public void zeroGrad() {
        checkOpen();
        for (Param p : parameters()) p.grad().fill(0f);
    }

    /**
     * A copy of the parameters as a state dict under PyTorch's names and shapes: what
     * {@link dev.panamarnn.nn.RecurrentLayer#load}, {@link dev.panamarnn.nn.Linear#load} and
     * {@link Checkpoint} take.
     *
     * @return the copy
     */
    public StateDict stateDict() {
        checkOpen();
        return copyOf(parameters());
    }

    /** A copy of {@code params}' values as a state dict under their names. */
    static StateDict copyOf(List<Param> params) {
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Param p : params) {
            data.put(p.name(), p.value().toArray());
            shapes.put(p.name(), p.shape());
        }
        return StateDict.of(data, shapes);
    }

    /**
     * Copies every parameter from {@code sd} (PyTorch's names and shapes); every tensor is checked first, so a
     * refused state dict changes nothing.
     *
     * @param sd the weights
     * @throws IllegalArgumentException naming the tensor if one is missing or has another shape
     */
    public void load(StateDict sd) {
        check(sd);
        for (Param p : parameters()) p.value().copyFrom(sd.floats(p.name()));
    }

    /** Checks that {@code sd} has every parameter in its shape (what {@link #load} does first). */
    final void check(StateDict sd) {
        checkOpen();
        Objects.requireNonNull(sd, "state dict");
        for (Param p : parameters()) {
            if (!sd.contains(p.name())) throw new IllegalArgumentException("state dict has no tensor " + p.name() + " " + Arrays.toString(p.shape()));
            int[] s = sd.shape(p.name());
            if (!Arrays.equals(s, p.shape())) {
                throw new IllegalArgumentException("tensor " + p.name() + ": expected shape " + Arrays.toString(p.shape()) + ", got " + Arrays.toString(s));
            }
            dev.panamarnn.io.DType t = sd.dtype(p.name());
            if (!t.isFloatingPoint()) {
                throw new IllegalArgumentException("tensor " + p.name() + " is " + t + ", expected a floating-point type (F32, F16, BF16 or F64)");
            }
        }
    }

    final void checkOpen() {
        if (closed) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    }

    /** Frees the parameters, gradients and buffers; the module cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        buffers.close();
        arena.close();
    }
}
