package dev.panamarnn.nn;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What a load does with tensors in its scope that it has no use for, as PyTorch's
 * {@code load_state_dict(strict=...)}. The scope: for {@link RecurrentLayer}, {@link Embedding} and
 * {@link Linear}, every tensor whose name starts with the load's prefix (all of them for the prefix
 * {@code ""}; a tensor outside the prefix belongs to someone else); for an application model
 * ({@code SequenceClassifier}, {@code LanguageModel}, {@code Seq2Seq}), every tensor of its weights file.
 * <ul>
 *   <li>{@link #strict()}, what every load without options does: such tensors (PyTorch's "unexpected
 *       keys") are an {@link IllegalArgumentException} naming them, the first 10
 *       and how many more;</li>
 *   <li>{@link #lenient(Consumer)}: they are skipped, and their names, sorted, are passed to the callback
 *       once per load, before any weights are copied (not at all when there are none).</li>
 * </ul>
 * Either way a missing tensor, one of another shape, one that is not floating-point, or one named like a
 * part of the layer that the layer has no place for ({@code weight_ih_l2} beside a 2-layer layer,
 * {@code bias_ih_l0} beside no other bias, {@code _reverse} for one direction, {@code weight_hr} without
 * projection) is an error: lenient loading skips what it does not know, never what looks like a part of
 * the model. Immutable.
 */
public final class LoadOptions {
    private static final LoadOptions STRICT = new LoadOptions(null);

    private final Consumer<? super List<String>> onIgnored;

    private LoadOptions(Consumer<? super List<String>> onIgnored) {
        this.onIgnored = onIgnored;
    }

    /**
     * Tensors in the load's scope that it does not use are an error naming them. The default.
     *
     * @return the strict options
     */
    public static LoadOptions strict() {
        return STRICT;
    }

    /**
     * Tensors in the load's scope that it does not use are skipped and reported: {@code onIgnored} gets their
     * names, sorted, in an unmodifiable list, for example {@code LoadOptions.lenient(ignored::addAll)} or
     * {@code LoadOptions.lenient(names -> log.warning("ignored " + names))}. An exception it throws ends the
     * load, with nothing allocated.
     *
     * @param onIgnored called with the names of the tensors skipped
     * @return the lenient options
     */
    public static LoadOptions lenient(Consumer<? super List<String>> onIgnored) {
        return new LoadOptions(Objects.requireNonNull(onIgnored, "onIgnored"));
    }

    /**
     * Whether these options refuse unused tensors.
     *
     * @return true for {@link #strict()}
     */
    public boolean isStrict() {
        return onIgnored == null;
    }

    /**
     * Applies these options to {@code unused}, the tensors in a loader's scope it has no use for (nothing
     * happens when there are none): strict, an {@link IllegalArgumentException} "{@code <what>} does not use
     * these tensors: 'a', 'b', … (N more) …"; lenient, the callback. Loaders call this before they copy
     * anything; a model made of parts loads the parts leniently, then calls this with what no part used.
     *
     * @param what   the loader, for the message, e.g. {@code "nn.Linear under the prefix 'fc.'"}
     * @param unused the names of the tensors not used
     * @throws IllegalArgumentException when strict and {@code unused} is not empty
     */
    public void unused(String what, Collection<String> unused) {
        if (unused.isEmpty()) return;
        List<String> sorted = new ArrayList<>(unused);
        Collections.sort(sorted);
        if (onIgnored != null) {
            onIgnored.accept(Collections.unmodifiableList(sorted));
            return;
        }
        throw new IllegalArgumentException(what + " does not use " + (sorted.size() == 1 ? "this tensor: " : "these " + sorted.size() + " tensors: ")
                + Names.list(sorted) + " (unexpected keys, as PyTorch's load_state_dict(strict=True) calls them; LoadOptions.lenient skips them)");
    }

    @Override
    public String toString() {
        return isStrict() ? "LoadOptions.strict()" : "LoadOptions.lenient(" + onIgnored + ")";
    }
}
