package dev.panamarnn;

import dev.panamarnn.kernel.KernelProvider;
import dev.panamarnn.kernel.Kernels;
import dev.panamarnn.kernel.scalar.ScalarKernelProvider;
import dev.panamarnn.kernel.simd.SimdKernelProvider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the providers once, creates each backend once, and chooses the default once. */
final class BackendRegistry {
    static final String PROPERTY = Config.BACKEND;
    private static final System.Logger LOG = System.getLogger("dev.panamarnn");

    private BackendRegistry() {}

    /** Providers, highest priority first. Built-ins plus those found through ServiceLoader. */
    static final class Providers {
        static final List<KernelProvider> ALL = load();

        private static List<KernelProvider> load() {
            List<KernelProvider> list = new ArrayList<>(List.of(new SimdKernelProvider(), new ScalarKernelProvider()));
            var it = ServiceLoader.load(KernelProvider.class, BackendRegistry.class.getClassLoader()).iterator();
            while (true) {
                try {
                    if (!it.hasNext()) break;
                    KernelProvider p = it.next();
                    if (list.stream().noneMatch(q -> q.name().equals(p.name()))) list.add(p);
                } catch (ServiceConfigurationError e) {
                    LOG.log(System.Logger.Level.WARNING, "panama-rnn: skipping a kernel provider that failed to load: " + e.getMessage());
                }
            }
            list.sort(Comparator.comparingInt(KernelProvider::priority).reversed());
            return List.copyOf(list);
        }
    }

    private static final Map<String, Backend> CREATED = new ConcurrentHashMap<>();

    static Backend get(String name) {
        KernelProvider p = Providers.ALL.stream().filter(q -> q.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown backend '" + name + "'; known: " + names()));
        KernelProvider.Availability a = p.availability();
        if (!a.available()) {
            throw new IllegalStateException("backend '" + name + "' is not available: " + a.reason());
        }
        return CREATED.computeIfAbsent(name, n -> new Backend(Kernels.of(p), "requested by name"));
    }

    static List<String> names() {
        return Providers.ALL.stream().map(KernelProvider::name).toList();
    }

    /** The default backend, chosen at first use. */
    static final class Default {
        static final Backend BACKEND;
        static final RuntimeException FAILURE;

        static {
            Backend b = null;
            RuntimeException f = null;
            try {
                b = choose();
            } catch (RuntimeException e) {
                f = e;
            }
            BACKEND = b;
            FAILURE = f;
        }

        static Backend get() {
            if (FAILURE != null) throw new IllegalStateException(FAILURE.getMessage(), FAILURE);
            return BACKEND;
        }

        private static Backend choose() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                // Said once, as a warning: every backend's gate math then runs on the scalar reference.
                LOG.log(System.Logger.Level.WARNING, "panama-rnn: the JVM was started without --add-modules jdk.incubator.vector, so the gate math "
                        + "runs on the scalar reference (9-28x slower); add that flag to the java command line");
            }
            String requested = Config.defaults().backend();
            if (!requested.equals("auto")) {
                Backend chosen = BackendRegistry.get(requested.trim());
                Backend named = new Backend(chosen.kernels(), "chosen by -D" + PROPERTY + "=" + requested.trim());
                LOG.log(System.Logger.Level.INFO, "panama-rnn: backend " + named.name() + " (" + named.selectionReason() + ")");
                return named;
            }
            StringBuilder skipped = new StringBuilder();
            for (KernelProvider p : Providers.ALL) {
                KernelProvider.Availability a = p.availability();
                if (a.available()) {
                    String why = "automatic: highest-priority available backend"
                            + (skipped.isEmpty() ? "" : "; unavailable: " + skipped);
                    Backend b = new Backend(BackendRegistry.get(p.name()).kernels(), why);
                    // Said once, at first use: which backend runs, and why faster ones do not.
                    LOG.log(skipped.isEmpty() ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                            "panama-rnn: using backend " + p.name() + " (" + why + ")");
                    return b;
                }
                if (!skipped.isEmpty()) skipped.append("; ");
                skipped.append(p.name()).append(": ").append(a.reason());
            }
            throw new IllegalStateException("no kernel backend is available: " + skipped);
        }
    }

    /** A provider's description, and whose cell math it runs when it has none of its own. */
    static String describe(KernelProvider p, KernelProvider.Availability a) {
        String d = p.describe();
        return a.available() && p.cellMath().isEmpty() ? d + "; cell math: " + Kernels.coreName() : d;
    }

    static List<KernelProvider> providers() {
        return Providers.ALL;
    }
}
