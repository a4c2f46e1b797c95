package dev.panamarnn.openblas;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Finds and loads the OpenBLAS shared library, once, so that the generated bindings (which look their
 * symbols up through {@link SymbolLookup#loaderLookup()}) can bind. Where it looks, in order:
 * <ol>
 *   <li>the file named by the system property {@code panama.rnn.openblas} or the environment variable
 *       {@code PANAMA_RNN_OPENBLAS} (when given, nothing else is tried);</li>
 *   <li>Debian's paths: {@code /usr/lib/<arch>-linux-gnu/openblas-pthread/libopenblas.so.0}, then the
 *       openmp and serial variants, then {@code /usr/lib/<arch>-linux-gnu/libopenblas.so.0};</li>
 *   <li>the system search path: {@code java.library.path} (which includes {@code LD_LIBRARY_PATH}), then
 *       the dynamic linker's cache ({@code ldconfig -p}).</li>
 * </ol>
 * A library is accepted only if it exports every symbol we bind. Before the first load, the CPU kernels
 * OpenBLAS is to use are chosen ({@link OpenBlasCore}).
 */
public final class OpenBlasLibrary {
    /** The system property naming the library file to load: {@value}. */
    public static final String PROPERTY = "panama.rnn.openblas";
    /** The environment variable naming the library file to load, after the property: {@value}. */
    public static final String ENV = "PANAMA_RNN_OPENBLAS";
    static final List<String> REQUIRED_SYMBOLS = List.of("cblas_sgemm", "cblas_sgemv", "openblas_get_corename",
            "openblas_get_config", "openblas_get_num_threads", "openblas_set_num_threads", "openblas_get_parallel");

    /**
     * The outcome of the search: loaded from {@code path}, or not, with the reason.
     *
     * @param loaded whether a library was loaded
     * @param path   the file loaded, or null
     * @param reason what was loaded (version, core) or why nothing was
     */
    public record Status(boolean loaded, String path, String reason) {}

    private OpenBlasLibrary() {}

    private static final class Holder {
        /** Decided, and put in the environment, before anything is loaded. */
        static final OpenBlasCore.Choice CORE = OpenBlasCore.applyBeforeLoad();
        static final Status STATUS = load();
    }

    /** How OpenBLAS' core was chosen (see {@link OpenBlasCore}); decided before the library loaded. */
    static OpenBlasCore.Choice coreChoice() {
        return Holder.CORE;
    }

    /**
     * Loads the library on first call; later calls return the same status. Never throws.
     *
     * @return the outcome of the search
     */
    public static Status status() {
        return Holder.STATUS;
    }

    private static Status load() {
        try {
            String explicit = System.getProperty(PROPERTY);
            String source = "-D" + PROPERTY;
            if (explicit == null || explicit.isBlank()) {
                explicit = System.getenv(ENV);
                source = ENV;
            }
            if (explicit != null && !explicit.isBlank()) {
                Path p = Path.of(explicit.trim());
                if (!Files.isRegularFile(p)) {
                    return new Status(false, null, source + "=" + explicit + ": no such file");
                }
                return tryLoad(p, source);
            }
            List<String> tried = new ArrayList<>();
            for (Path p : debianPaths()) {
                if (Files.isRegularFile(p)) {
                    Status s = tryLoad(p, "Debian path");
                    if (s.loaded()) return s;
                    tried.add(s.reason());
                }
            }
            try {
                System.loadLibrary("openblas");
                Status s = checkSymbols("libopenblas from java.library.path", "found on java.library.path");
                if (s.loaded()) return s;
                tried.add(s.reason());
            } catch (UnsatisfiedLinkError e) {
                // not on java.library.path: try the linker cache
            }
            for (Path p : ldconfigPaths()) {
                Status s = tryLoad(p, "ldconfig cache");
                if (s.loaded()) return s;
                tried.add(s.reason());
            }
            return new Status(false, null, "libopenblas.so.0 not found (looked at -D" + PROPERTY + ", " + ENV + ", "
                    + debianPaths().getFirst() + " and variants, java.library.path, ldconfig -p)"
                    + (tried.isEmpty() ? "" : "; rejected: " + String.join("; ", tried))
                    + ". Install it with: apt-get install libopenblas0-pthread");
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, null, "loading OpenBLAS failed: " + e);
        }
    }

    private static Status tryLoad(Path p, String how) {
        try {
            System.load(p.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            return new Status(false, null, p + " (" + how + "): " + e.getMessage());
        }
        return checkSymbols(p.toString(), how);
    }

    private static Status checkSymbols(String path, String how) {
        SymbolLookup lookup = SymbolLookup.loaderLookup();
        List<String> missing = REQUIRED_SYMBOLS.stream().filter(s -> lookup.find(s).isEmpty()).toList();
        if (!missing.isEmpty()) {
            return new Status(false, null, path + " (" + how + ") is not OpenBLAS: missing " + missing);
        }
        return new Status(true, path, "loaded " + path + " (" + how + ")");
    }

    private static List<Path> debianPaths() {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64" -> "aarch64";
            default -> System.getProperty("os.arch");
        };
        String dir = "/usr/lib/" + arch + "-linux-gnu/";
        return List.of(Path.of(dir + "openblas-pthread/libopenblas.so.0"), Path.of(dir + "openblas-openmp/libopenblas.so.0"),
                Path.of(dir + "openblas-serial/libopenblas.so.0"), Path.of(dir + "libopenblas.so.0"));
    }

    private static List<Path> ldconfigPaths() {
        List<Path> out = new ArrayList<>();
        for (String exe : new String[] {"/sbin/ldconfig", "/usr/sbin/ldconfig"}) {
            if (!Files.isExecutable(Path.of(exe))) continue;
            try {
                Process proc = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        // "	libopenblas.so.0 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libopenblas.so.0"
                        int arrow = line.indexOf("=>");
                        if (line.trim().startsWith("libopenblas.so") && arrow > 0) out.add(Path.of(line.substring(arrow + 2).trim()));
                    }
                }
                proc.waitFor(5, TimeUnit.SECONDS);
                proc.destroy();
            } catch (Exception e) {
                // no ldconfig cache to read: nothing more to try
            }
            break;
        }
        return out;
    }
}
