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
                Backend chosen = BackendRegistry.get(requested);
                Backend named = new Backend(chosen.kernels(), "chosen by -D" + PROPERTY + "=" + requested);
                LOG.log(System.Logger.Level.INFO, "panama-rnn: backend " + named.name() + " (" + named.selectionReason() + ")");
                return named;
            }
            StringBuilder skipped = new StringBuilder();
            List<Backend> available = new ArrayList<>();
            for (KernelProvider p : Providers.ALL) {
                KernelProvider.Availability a = p.availability();
                if (a.available()) {
                    available.add(BackendRegistry.get(p.name()));
                } else {
                    if (!skipped.isEmpty()) skipped.append("; ");
                    skipped.append(p.name()).append(": ").append(a.reason());
                }
            }
            if (available.isEmpty()) throw new IllegalStateException("no kernel backend is available: " + skipped);
            String unavailable = skipped.isEmpty() ? "" : "; unavailable: " + skipped;
            // The scalar reference is never the faster one; it runs only when nothing else can.
            List<Backend> fast = available.stream().filter(b -> Tuning.isFast(b.name())).toList();
            Backend chosen;
            if (fast.isEmpty()) {
                chosen = new Backend(available.getFirst().kernels(), "automatic: the only backend available" + unavailable);
            } else {
                chosen = measured(fast, unavailable);
            }
            // Said once, at first use: which backend runs, and why.
            LOG.log(skipped.isEmpty() ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                    "panama-rnn: using backend " + chosen.name() + " (" + chosen.selectionReason() + ")");
            return chosen;
        }

        /**
         * The default among the fast backends: as measured on this machine ({@link Tuning}), one backend when
         * it won every step shape (and its own policy on prepared weights agrees), else products routed per shape,
         * with the fused step for the rows where it won (and bfloat16 W_hh where that won, for the layers that
         * allow it); when not measured here, the available backend of highest
         * priority, saying why.
         */
        private static Backend measured(List<Backend> fast, String unavailable) {
            String[] why = new String[1];
            Tuning.Measured m = Tuning.load(why);
            if (m == null) {
                String which = fast.size() == 1 ? "the only fast backend available" : "highest-priority available backend";
                return new Backend(fast.getFirst().kernels(), "automatic: " + which + "; " + why[0] + unavailable);
            }
            Kernels[] routes = new Kernels[Kernels.BUCKETS];
            boolean[] prepared = new boolean[Kernels.BUCKETS], fused = new boolean[Kernels.STEP_SHAPES], bf16 = new boolean[Kernels.STEP_SHAPES];
            boolean one = true;
            for (int b = 0; b < Kernels.BUCKETS; b++) {
                routes[b] = BackendRegistry.get(m.routes().get(b)).kernels();
                prepared[b] = m.prepared().get(b);
                one &= routes[b] == routes[0] && routes[0].prefersPreparedSteps(Kernels.rowsOf(b)) == prepared[b];
            }
            for (int i = 0; i < fused.length; i++) {
                fused[i] = m.fused().get(i);
                bf16[i] = m.bf16().get(i);
            }
            String reason = "automatic, as measured on this machine (" + m.file() + "): " + m.report() + unavailable;
            return new Backend((one ? routes[0] : Kernels.routed("auto", routes, prepared)).withFusedSteps(fused).withBf16Steps(bf16), reason);
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
