package dev.panamarnn;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The library's settings, in one object read once. Each setting can come from a system property, and
 * these are read here and nowhere else: {@link #fromSystemProperties()} reads and checks them all at once,
 * and {@link #defaults()} is that, read at first use. A model takes its own copy at load
 * ({@code RecurrentLayer.loader().config(...)}), so a call depends on what its model was given, not on
 * flags read in the middle of a computation.
 *
 * <table class="striped">
 *   <caption>Settings and the properties they are read from</caption>
 *   <thead><tr><th>setting</th><th>property</th><th>values</th><th>default</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@link #backend()}</td><td>{@code panama.rnn.backend}</td><td>{@code auto}, {@code scalar}, {@code simd}, {@code openblas}</td><td>{@code auto}: the highest-priority available</td></tr>
 *     <tr><td>{@link #threadsPerCall()}</td><td>{@code panama.rnn.threads}</td><td>1 or 2</td><td>1</td></tr>
 *     <tr><td>{@link #weights()}</td><td>{@code panama.rnn.weights}</td><td>{@code f32}, {@code bf16}, {@code bf16-if-faster}</td><td>{@code f32}</td></tr>
 *     <tr><td>{@link #stepPanels()}</td><td>{@code panama.rnn.stepPanels}</td><td>{@code true}, {@code false}</td><td>{@code true}</td></tr>
 *     <tr><td>{@link #fusedSteps()}</td><td>{@code panama.rnn.fusedSteps}</td><td>{@code auto}, {@code on}, {@code off}</td><td>{@code auto}: where this machine's measurement ({@link Tuning}) found the fused step faster</td></tr>
 *     <tr><td>{@link #openblasThreads()}</td><td>{@code panama.rnn.openblas.threads}</td><td>a whole number ≥ 1</td><td>0: 1, or OpenBLAS' own choice when {@code OPENBLAS_NUM_THREADS} or {@code OMP_NUM_THREADS} is set</td></tr>
 *     <tr><td>{@link #tuning()}</td><td>{@code panama.rnn.tuning}</td><td>a file, or {@code off}</td><td>{@code ~/.cache/panama-rnn/tuning.properties} ({@code $XDG_CACHE_HOME} when set)</td></tr>
 *     <tr><td>{@link #openblasCore()}</td><td>{@code panama.rnn.openblas.core}</td><td>{@code auto}, {@code library}, or an OpenBLAS core name ({@code SkylakeX}, {@code Haswell}, …)</td><td>{@code auto}: OpenBLAS' own detection, corrected where it is known to be wrong</td></tr>
 *   </tbody>
 * </table>
 *
 * @param backend         the backend to use by default: {@code auto} or a backend's name
 * @param threadsPerCall  threads one forward call may compute on: 1, or 2 with a shared helper thread
 * @param weights         how models loaded without a format store their matrices: {@code f32}; {@code bf16}
 *                        (rounded to bfloat16); or {@code bf16-if-faster}, bfloat16 for a layer whose batch-1
 *                        step this machine's measurement ({@link Tuning}) found faster with it, float32 otherwise
 * @param stepPanels      whether a layer's steps may multiply by W_hh prepared for its backend, where that
 *                        backend prefers it (off only for side-by-side measurements)
 * @param openblasThreads OpenBLAS' own threads, set once per process when it loads; 0 for its default
 * @param openblasCore    which of OpenBLAS' CPU kernel sets to use, given to it (as {@code OPENBLAS_CORETYPE})
 *                        before it loads: {@code auto}, {@code library} (its own detection, untouched) or a core name
 * @param tuning          where this machine's measured kernel choices are kept ({@link Tuning}): a file, or
 *                        {@code off} to ignore them
 * @param fusedSteps      whether a layer's steps run fused (product, gates and state update in one pass over
 *                        W_hh prepared at load): {@code auto} where measured faster for the step's rows,
 *                        {@code on} always, {@code off} never. Results agree within float32 rounding
 *                        either way; a given layer and step shape always takes the same path.
 */
public record Config(String backend, int threadsPerCall, String weights, boolean stepPanels, int openblasThreads, String openblasCore,
                     String tuning, String fusedSteps) {
    /** The property of {@link #backend()}: {@value}. */
    public static final String BACKEND = "panama.rnn.backend";
    /** The property of {@link #threadsPerCall()}: {@value}. */
    public static final String THREADS = "panama.rnn.threads";
    /** The property of {@link #weights()}: {@value}. */
    public static final String WEIGHTS = "panama.rnn.weights";
    /** The property of {@link #stepPanels()}: {@value}. */
    public static final String STEP_PANELS = "panama.rnn.stepPanels";
    /** The property of {@link #openblasThreads()}: {@value}. */
    public static final String OPENBLAS_THREADS = "panama.rnn.openblas.threads";
    /** The property of {@link #tuning()}: {@value}. */
    public static final String TUNING = "panama.rnn.tuning";
    /** The property of {@link #openblasCore()}: {@value}. */
    public static final String OPENBLAS_CORE = "panama.rnn.openblas.core";
    /** The property of {@link #fusedSteps()}: {@value}. */
    public static final String FUSED_STEPS = "panama.rnn.fusedSteps";
    /** The values {@link #weights()} takes. */
    public static final List<String> WEIGHT_FORMATS = List.of("f32", "bf16", "bf16-if-faster");

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException if {@code threadsPerCall} is not 1 or 2, {@code openblasThreads} is negative,
     *     {@code weights} is not one of {@link #WEIGHT_FORMATS}, or {@code fusedSteps} is not auto, on or off
     */
    public Config {
        Objects.requireNonNull(backend, "backend");
        if (!WEIGHT_FORMATS.contains(weights)) throw new IllegalArgumentException("weights must be f32, bf16 or bf16-if-faster, got '" + Text.escape(String.valueOf(weights), 40) + "'");
        Objects.requireNonNull(openblasCore, "openblasCore");
        Objects.requireNonNull(tuning, "tuning");
        if (!List.of("auto", "on", "off").contains(fusedSteps)) throw new IllegalArgumentException("fusedSteps must be auto, on or off, got '" + Text.escape(String.valueOf(fusedSteps), 40) + "'");
        if (!openblasCore.matches("[A-Za-z0-9_]{1,32}")) throw new IllegalArgumentException("openblasCore must be auto, library or a core name, got '" + Text.escape(openblasCore, 40) + "'");
        if (threadsPerCall < 1 || threadsPerCall > 2) throw new IllegalArgumentException("threadsPerCall must be 1 or 2, got " + threadsPerCall);
        if (openblasThreads < 0) throw new IllegalArgumentException("openblasThreads must be >= 0, got " + openblasThreads);
    }

    /** The properties as read at the first call of {@link #defaults()} that found them valid. */
    private static volatile Config defaults;

    /**
     * The settings from the system properties, read once: at the first call of this method that finds
     * them valid.
     *
     * @return the settings
     * @throws IllegalArgumentException (at this and every later call, until the property is fixed) if a
     *     property holds a value it does not take; the message names the property
     */
    public static Config defaults() {
        Config c = defaults;
        if (c == null) defaults = c = fromSystemProperties();
        return c;
    }

    /** Tests only: the next {@link #defaults()} reads the properties again. */
    static void forgetDefaults() {
        defaults = null;
    }

    /**
     * Reads every setting's property now (see the table in the class comment); an unset property gives the default.
     *
     * @return the settings
     * @throws IllegalArgumentException if a property holds a value it does not take; the message names the property
     */
    public static Config fromSystemProperties() {
        String backend = property(BACKEND);
        int threads = switch (property(THREADS)) {
            case "", "1" -> 1;
            case "2" -> 2;
            default -> throw bad(THREADS, "1 or 2");
        };
        String weights = switch (property(WEIGHTS).toLowerCase(Locale.ROOT)) {
            case "", "f32", "float32" -> "f32";
            case "bf16", "bfloat16" -> "bf16";
            case "bf16-if-faster" -> "bf16-if-faster";
            default -> throw bad(WEIGHTS, "f32, bf16 or bf16-if-faster");
        };
        boolean panels = switch (property(STEP_PANELS).toLowerCase(Locale.ROOT)) {
            case "", "true" -> true;
            case "false" -> false;
            default -> throw bad(STEP_PANELS, "true or false");
        };
        int blas = 0;
        String b = property(OPENBLAS_THREADS);
        if (!b.isEmpty()) {
            try {
                blas = Integer.parseInt(b);
            } catch (NumberFormatException e) {
                blas = -1;
            }
            if (blas < 1) throw bad(OPENBLAS_THREADS, "a whole number >= 1");
        }
        String core = property(OPENBLAS_CORE);
        if (!core.isEmpty() && !core.matches("[A-Za-z0-9_]{1,32}")) throw bad(OPENBLAS_CORE, "auto, library or an OpenBLAS core name such as SkylakeX");
        String tuning = property(TUNING), fused = property(FUSED_STEPS).toLowerCase(Locale.ROOT);
        if (!fused.isEmpty() && !List.of("auto", "on", "off").contains(fused)) throw bad(FUSED_STEPS, "auto, on or off");
        return new Config(backend.isEmpty() ? "auto" : backend, threads, weights, panels, blas, core.isEmpty() ? "auto" : core,
                tuning.isEmpty() ? defaultTuningFile() : tuning, fused.isEmpty() ? "auto" : fused);
    }

    /** {@code $XDG_CACHE_HOME/panama-rnn/tuning.properties}, else under {@code ~/.cache}. */
    private static String defaultTuningFile() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        String base = xdg != null && !xdg.isBlank() ? xdg : System.getProperty("user.home") + "/.cache";
        return base + "/panama-rnn/tuning.properties";
    }

    private static String property(String name) {
        String v = System.getProperty(name);
        return v == null ? "" : v.trim();
    }

    private static IllegalArgumentException bad(String property, String takes) {
        return new IllegalArgumentException("-D" + property + " must be " + takes + ", got '" + Text.escape(System.getProperty(property), 40) + "'");
    }

    /**
     * These settings with {@link #threadsPerCall()} set.
     *
     * @param n 1 or 2
     * @return the new settings
     * @throws IllegalArgumentException for another value
     */
    public Config withThreadsPerCall(int n) {
        return new Config(backend, n, weights, stepPanels, openblasThreads, openblasCore, tuning, fusedSteps);
    }

    /**
     * These settings with {@link #weights()} set.
     *
     * @param format {@code f32}, {@code bf16} or {@code bf16-if-faster}
     * @return the new settings
     * @throws IllegalArgumentException for another value
     */
    public Config withWeights(String format) {
        return new Config(backend, threadsPerCall, format, stepPanels, openblasThreads, openblasCore, tuning, fusedSteps);
    }

    /**
     * These settings with {@link #stepPanels()} set.
     *
     * @param panels whether steps may use prepared W_hh
     * @return the new settings
     */
    public Config withStepPanels(boolean panels) {
        return new Config(backend, threadsPerCall, weights, panels, openblasThreads, openblasCore, tuning, fusedSteps);
    }

    /**
     * These settings with {@link #fusedSteps()} set.
     *
     * @param fused {@code auto}, {@code on} or {@code off}
     * @return the new settings
     * @throws IllegalArgumentException for another value
     */
    public Config withFusedSteps(String fused) {
        return new Config(backend, threadsPerCall, weights, stepPanels, openblasThreads, openblasCore, tuning, fused);
    }
}
