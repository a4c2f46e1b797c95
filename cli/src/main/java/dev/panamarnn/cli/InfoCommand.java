package dev.panamarnn.cli;

import dev.panamarnn.Backend;
import dev.panamarnn.Platform;
import dev.panamarnn.Tensor;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panama-rnn info}: the machine, the backends and why one was chosen, and a quick GEMM per backend. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the CPU features, the backends (and which is active, and why), OpenBLAS' core and threads, and time a small GEMM on each backend.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--size", description = "M = N = K of the timed GEMM (default ${DEFAULT-VALUE}).", defaultValue = "256")
    int size;

    @Option(names = "--no-timing", description = "Skip the GEMM timing.")
    boolean noTiming;

    @Option(names = "--model", paramLabel = "M.onnx",
            description = "Instead: load this ONNX model and list what it holds (inputs, outputs, operators, how each recurrent node runs).")
    java.nio.file.Path model;

    @Override
    public Integer call() throws java.io.IOException {
        if (size < 1 || size > 4096) throw new IllegalArgumentException("--size must be in 1..4096, got " + size);
        PrintWriter out = spec.commandLine().getOut();
        if (model != null) {
            Inputs.requireFile("--model", model);
            try (dev.panamarnn.onnx.OnnxModel m = dev.panamarnn.onnx.OnnxModel.load(model)) {
                out.println(m.explain());
            }
            out.flush();
            return 0;
        }
        out.println("panama-rnn");
        out.println("  JVM:        " + System.getProperty("java.vm.name") + " " + Runtime.version() + " (" + System.getProperty("java.home") + ")");
        String id = Platform.cpuIdentity();
        out.println("  CPU:        " + Platform.cpuModel() + (id.isEmpty() ? "" : " (" + id + ")") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
        out.println("  features:   " + String.join(" ", Platform.simdFeatures()) + "; HotSpot UseAVX=" + Platform.hotspotUseAvx());
        out.println("  Vector API: " + Platform.preferredSpecies());
        out.println();
        out.println("Backends (highest priority first):");
        for (Backend.Status s : Backend.list()) {
            out.printf("  %-9s %-13s %s%n", s.name(), s.available() ? "available" : "UNAVAILABLE",
                    s.available() ? s.description() : s.reason());
        }
        Backend active = Backend.defaultBackend();
        out.println();
        out.println("Active backend: " + active.name() + " (" + active.selectionReason() + ")");
        out.println("  override with -Dpanama.rnn.backend=scalar|simd|openblas (PANAMA_RNN_JAVA_OPTS for scripts/panama-rnn)");
        out.println("Threads per forward call: " + dev.panamarnn.Parallelism.threads()
                + " (-Dpanama.rnn.threads=1|2); OpenBLAS' own threads: 1 unless -Dpanama.rnn.openblas.threads=N or OPENBLAS_NUM_THREADS is set");
        if (!noTiming) {
            out.println();
            timeGemm(out);
        }
        out.flush();
        return 0;
    }

    /** A rough single-shot timing for orientation; the real figures come from JMH (scripts/bench). */
    private void timeGemm(PrintWriter out) {
        int n = size;
        double flop = 2.0 * n * n * n;
        out.printf("GEMM %d × %d × %d (C = A·Bᵀ, the RNN step form), best call after a warm-up — rough; JMH (scripts/bench) gives the real figures:%n", n, n, n);
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(42);
            float[] data = new float[n * n];
            for (int i = 0; i < data.length; i++) data[i] = rnd.nextFloat() * 2 - 1;
            Tensor a = Tensor.of(arena, data, n, n);
            for (int i = 0; i < data.length; i++) data[i] = rnd.nextFloat() * 2 - 1;
            Tensor b = Tensor.of(arena, data, n, n);
            Tensor ref = Tensor.allocate(arena, n, n);
            Backend.get("scalar").gemm(false, true, 1f, a, b, 0f, ref);
            float[] expected = ref.toArray();
            for (Backend.Status s : Backend.list()) {
                if (!s.available()) continue;
                Backend be = Backend.get(s.name());
                Tensor c = Tensor.allocate(arena, n, n);
                // Warm up first: until the JIT has compiled the Vector API code, a call runs interpreted
                // and is hundreds of times slower.
                long warm = System.nanoTime();
                for (int i = 0; i < 200 && System.nanoTime() - warm < 1_500_000_000L; i++) be.gemm(false, true, 1f, a, b, 0f, c);
                long budgetNanos = 300_000_000L;
                long best = Long.MAX_VALUE, start = System.nanoTime();
                int calls = 0;
                do {
                    long t0 = System.nanoTime();
                    be.gemm(false, true, 1f, a, b, 0f, c);
                    best = Math.min(best, System.nanoTime() - t0);
                    calls++;
                } while (System.nanoTime() - start < budgetNanos && calls < 200);
                float[] got = c.toArray();
                double maxDiff = 0;
                for (int i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
                out.printf("  %-9s %9.3f ms %8.1f GFLOP/s  (%d calls; max |diff| vs scalar %.2g)%n",
                        s.name(), best / 1e6, flop / best, calls, maxDiff);
            }
        }
    }
}
