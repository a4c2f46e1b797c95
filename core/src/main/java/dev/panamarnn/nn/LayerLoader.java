package dev.panamarnn.nn;

import dev.panamarnn.Backend;
import dev.panamarnn.Config;
import dev.panamarnn.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How to load a {@link RecurrentLayer}, by name instead of by position; made by {@link RecurrentLayer#loader()}.
 * <pre>{@code
 * try (RecurrentLayer rnn = RecurrentLayer.loader().prefix("encoder.rnn.").batchFirst(true).load(Path.of("model.safetensors"))) {
 *     ...
 * }
 * }</pre>
 * Every setting has the default the positional {@code load} overloads use: prefix {@code ""}, the mode read
 * from the weights, time-major, {@link Backend#defaultBackend()}, {@link WeightFormat#fromProperty()} (F32
 * unless {@code -Dpanama.rnn.weights=bf16}), {@link LoadOptions#strict()}. A loaded layer is the one
 * {@link RecurrentLayer#load(StateDict, String, Mode, boolean, Backend, WeightFormat, LoadOptions)} (or, with
 * a {@link #spec}, {@link RecurrentLayer#create(LayerSpec, StateDict, String, Backend, WeightFormat, LoadOptions)})
 * gives for the same settings: the same weights, the same bits out.
 *
 * <p>Immutable: each setter returns a new loader, so one can be kept in a constant and shared by threads.
 */
public final class LayerLoader {
    private static final LayerLoader DEFAULTS = new LayerLoader("", null, null, null, null, null, LoadOptions.strict(), null);

    private final String prefix;
    private final Mode mode;
    private final Boolean batchFirst; // null: not set (false, or the spec's)
    private final LayerSpec spec;
    private final Backend backend;
    private final WeightFormat weightFormat;
    private final LoadOptions loadOptions;
    private final Config config;

    private LayerLoader(String prefix, Mode mode, Boolean batchFirst, LayerSpec spec, Backend backend, WeightFormat weightFormat,
                        LoadOptions loadOptions, Config config) {
        this.config = config;
        this.prefix = prefix;
        this.mode = mode;
        this.batchFirst = batchFirst;
        this.spec = spec;
        this.backend = backend;
        this.weightFormat = weightFormat;
        this.loadOptions = loadOptions;
    }

    /** Every setting at its default. */
    static LayerLoader defaults() {
        return DEFAULTS;
    }

    /**
     * Prepended to every PyTorch name, e.g. {@code "encoder.rnn."}; {@code ""} (the default) for none.
     *
     * @param prefix the prefix, not null; {@code ""} for none
     * @return a new loader with this prefix and the other settings of this one
     */
    public LayerLoader prefix(String prefix) {
        return new LayerLoader(Objects.requireNonNull(prefix, "prefix"), mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * The cell type. Needed only for an Elman RNN ({@link Mode#RNN_TANH} or {@link Mode#RNN_RELU}: the
     * weights do not tell tanh from ReLU); for LSTM and GRU the weights' shapes tell, and a mode given is
     * insisted on. Null (the default) to read it from the weights.
     *
     * @param mode the cell type, or null to read it from the weights
     * @return a new loader with this mode and the other settings of this one
     */
    public LayerLoader mode(Mode mode) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * Inputs and outputs {@code (batch, seq_len, …)} as PyTorch's {@code batch_first=True}; false (the default)
     * for {@code (seq_len, batch, …)}.
     *
     * @param batchFirst true for {@code (batch, seq_len, …)}, false for {@code (seq_len, batch, …)}
     * @return a new loader with this setting and the other settings of this one
     */
    public LayerLoader batchFirst(boolean batchFirst) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * The layer's exact structure, instead of reading it from the weights' names and shapes: every tensor
     * it needs must then be there with its shape. The spec's mode and batch-first are the layer's; a
     * {@link #mode} or {@link #batchFirst} set as well must agree with them. Null (the default) to read
     * the structure from the weights.
     *
     * @param spec the layer's structure, or null to read it from the weights
     * @return a new loader with this spec and the other settings of this one
     */
    public LayerLoader spec(LayerSpec spec) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * The kernels to run on; null (the default) for {@link Backend#defaultBackend()}.
     *
     * @param backend the backend, or null for {@link Backend#defaultBackend()}
     * @return a new loader with this backend and the other settings of this one
     */
    public LayerLoader backend(Backend backend) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * How the weight matrices are stored; null (the default) for {@link WeightFormat#fromProperty()}, read at load.
     *
     * @param weightFormat {@link WeightFormat#F32}, {@link WeightFormat#BF16} or {@link WeightFormat#BF16_IF_FASTER}, or null for the property's
     * @return a new loader with this weight format and the other settings of this one
     */
    public LayerLoader weightFormat(WeightFormat weightFormat) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, config);
    }

    /**
     * What to do with tensors under the prefix that the layer does not use: {@link LoadOptions#strict()}
     * (the default) refuses them by name, {@link LoadOptions#lenient} skips and reports them.
     *
     * @param loadOptions the options, not null
     * @return a new loader with these options and the other settings of this one
     */
    public LayerLoader loadOptions(LoadOptions loadOptions) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, Objects.requireNonNull(loadOptions, "loadOptions"), config);
    }

    /**
     * The layer's own settings ({@link Config}): its threads per call (instead of following
     * {@link dev.panamarnn.Parallelism}), whether its steps may use prepared W_hh, and, where this loader
     * sets none, its weight format and backend ({@link Config#backend()} unless {@code auto}). Unset (the
     * default), the layer follows the process's: {@link Config#defaults()} and {@link dev.panamarnn.Parallelism}.
     *
     * @param config the settings, not null
     * @return a new loader with these settings and the others of this one
     */
    public LayerLoader config(Config config) {
        return new LayerLoader(prefix, mode, batchFirst, spec, backend, weightFormat, loadOptions, Objects.requireNonNull(config, "config"));
    }

    /**
     * The prefix set.
     *
     * @return the prefix prepended to every PyTorch name; {@code ""} for none (the default)
     */
    public String prefix() {
        return prefix;
    }

    /**
     * The mode set, or null.
     *
     * @return the mode, or null (read from the weights)
     */
    public Mode mode() {
        return mode;
    }

    /**
     * Batch-first as set, else the spec's, else false.
     *
     * @return whether the layer's inputs and outputs are {@code (batch, seq_len, …)}
     */
    public boolean batchFirst() {
        return batchFirst != null ? batchFirst : spec != null && spec.batchFirst();
    }

    /**
     * The spec set, or null.
     *
     * @return the spec, or null (the structure read from the weights)
     */
    public LayerSpec spec() {
        return spec;
    }

    /**
     * The backend set, or null (the default backend).
     *
     * @return the backend, or null ({@link Backend#defaultBackend()} at load)
     */
    public Backend backend() {
        return backend;
    }

    /**
     * The weight format set, or null ({@link WeightFormat#fromProperty()} at load).
     *
     * @return the weight format, or null
     */
    public WeightFormat weightFormat() {
        return weightFormat;
    }

    /**
     * The options for unused tensors.
     *
     * @return the options set; {@link LoadOptions#strict()} by default, never null
     */
    public LoadOptions loadOptions() {
        return loadOptions;
    }

    /**
     * Loads the layer from {@code weights} (a safetensors file's {@link SafeTensors#asStateDict()}, or
     * {@link StateDict#of} arrays). The weights are copied: {@code weights} may be closed afterwards.
     *
     * @param weights the tensors, by PyTorch's names ({@code weight_ih_l0}, …) under the prefix; copied
     * @return the layer, to close
     * @throws IllegalArgumentException if the weights do not make such a layer (missing, misshapen,
     *     non-float or, under {@link LoadOptions#strict()}, unused tensors), naming the tensor; or if a
     *     {@link #mode} or {@link #batchFirst} set disagrees with the {@link #spec}'s
     */
    public RecurrentLayer load(StateDict weights) {
        Objects.requireNonNull(weights, "weights");
        WeightFormat format = weightFormat != null ? weightFormat
                : config == null ? WeightFormat.fromProperty() : WeightFormat.of(config.weights());
        Backend be = backend != null || config == null || config.backend().equals("auto") ? backend : Backend.get(config.backend());
        LayerSpec spec = this.spec;
        if (spec == null) {
            Objects.requireNonNull(prefix, "prefix");
            spec = LayerWeights.infer(weights, prefix, mode, batchFirst());
            return RecurrentLayer.create(spec, weights, prefix, be, format, loadOptions, config);
        }
        if (mode != null && mode != spec.mode()) {
            throw new IllegalArgumentException("layer loader: mode " + mode + " disagrees with the spec's " + spec.mode());
        }
        if (batchFirst != null && batchFirst != spec.batchFirst()) {
            throw new IllegalArgumentException("layer loader: batchFirst " + batchFirst + " disagrees with the spec's " + spec.batchFirst());
        }
        return RecurrentLayer.create(spec, weights, prefix, be, format, loadOptions, config);
    }

    /**
     * Opens the safetensors file, loads the layer from it and closes the file (the weights are copied into
     * the layer). Under {@link LoadOptions#strict()} with prefix {@code ""} every tensor of the file must be
     * the layer's; give the layer's {@link #prefix} when the file holds other tensors too, or
     * {@link LoadOptions#lenient} options.
     *
     * @param file the safetensors file
     * @return the layer, to close
     * @throws IOException if the file cannot be read or is not a valid safetensors file; the message names it
     * @throws IllegalArgumentException if its tensors do not make such a layer; the message starts with the
     *     file's path
     */
    public RecurrentLayer load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (SafeTensors st = SafeTensors.open(file)) {
            return load(st.asStateDict());
        } catch (IllegalArgumentException e) {
            String f = file.toString(), m = e.getMessage();
            if (m != null && m.startsWith(f + ": ")) throw e; // already names it
            throw new IllegalArgumentException(f + ": " + m, e);
        }
    }

    @Override
    public String toString() {
        return "LayerLoader[prefix=" + dev.panamarnn.Text.quote(prefix) + (mode != null ? ", mode=" + mode : "") + ", batchFirst=" + batchFirst()
                + (spec != null ? ", spec=" + spec : "") + (backend != null ? ", backend=" + backend.name() : "")
                + (weightFormat != null ? ", weightFormat=" + weightFormat : "") + ", " + loadOptions + (config != null ? ", " + config : "") + "]";
    }
}
