package dev.panamarnn.train;

import dev.panamarnn.Tensor;
import java.util.Arrays;

/**
 * One trainable tensor: its value and its gradient, both float32 in native memory owned by the module
 * that holds the parameter, under PyTorch's {@code state_dict} name. Gradients accumulate (as PyTorch's
 * {@code .grad}) until {@link Trainable#zeroGrad()}.
 */
public final class Param {
    private final String name;
    private final int[] shape;
    private final Tensor value;
    private final Tensor grad;

    Param(String name, int[] shape, Tensor value, Tensor grad) {
        this.name = name;
        this.shape = shape.clone();
        this.value = value;
        this.grad = grad;
    }

    /**
     * The name, as in PyTorch's {@code state_dict} (with the module's prefix).
     *
     * @return the name, as in PyTorch's {@code state_dict} (with the module's prefix)
     */
    public String name() {
        return name;
    }

    /**
     * PyTorch's shape of the tensor.
     *
     * @return PyTorch's shape of the tensor
     */
    public int[] shape() {
        return shape.clone();
    }

    /**
     * The value, contiguous, seen as a matrix (a vector is one row).
     *
     * @return the value, contiguous, seen as a matrix (a vector is one row)
     */
    public Tensor value() {
        return value;
    }

    /**
     * The accumulated gradient, the value's shape.
     *
     * @return the accumulated gradient, the value's shape
     */
    public Tensor grad() {
        return grad;
    }

    /**
     * The number of elements.
     *
     * @return the number of elements
     */
    public long size() {
        return value.size();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
