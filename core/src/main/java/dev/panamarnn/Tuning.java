package dev.panamarnn;

import dev.panamarnn.io.OutputFile;
import dev.panamarnn.kernel.Kernels;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * This machine's kernel choices, measured once and kept in a file ({@link Config#tuning()}): for each step
 * shape, which backend's product is fastest and whether steps should multiply by W_hh prepared once
 * ({@link ProductTrial}). The default backend ({@link Backend#defaultBackend()}) reads them: with them, a
 * process takes the measured route for each shape; without them (never measured here, or measured under
 * another CPU, JDK or library) it takes the available backend of highest priority and says so.
 *
 * <p>Measuring takes 5–10 s (the Vector API kernels must be compiled by C2 before they are timed), so it is
 * not done at start-up: {@code scripts/panama-rnn tune} runs it (the launcher does on first use), or a
 * program calls {@link #measure()}. The file is keyed by what the times depend on: the CPU (identity,
 * features), the JVM, and every fast backend's description (OpenBLAS' version, core and threads).
 */
public final class Tuning {
    private Tuning() {}

    /** Whether a backend is one to choose among: any but the scalar reference, which is never the faster. */
    static boolean isFast(String backend) {
        return !backend.equals("scalar");
    }

    /**
     * The available backends to choose among (the scalar reference aside), highest priority first.
     *
     * @return their names
     */
    public static List<String> candidates() {
        return Backend.list().stream().filter(s -> s.available() && isFast(s.name())).map(Backend.Status::name).toList();
    }

    /**
     * What was measured, as kept.
     *
     * @param file    where it is kept
     * @param key     what the times depend on
     * @param routes  per bucket of rows (1, 2–32, more), the fastest backend's name
     * @param prepared per bucket, whether a step over prepared weights was faster still
     * @param fused   per step shape ({@code Kernels.stepShape}), whether the fused step beat the faster of those
     *                followed by the gate kernel
     * @param bf16    per step shape, whether the step over W_hh in bfloat16 beat the fastest float32 step (one-row
     *                shapes only; taken by layers loaded with {@code bf16-if-faster})
     * @param report  the times, for people
     */
    public record Measured(Path file, String key, List<String> routes, List<Boolean> prepared, List<Boolean> fused, List<Boolean> bf16,
                           String report) {}

    /**
     * What the measurement depends on, on this machine now: CPU identity and features, the JVM, the fast
     * backends available and their descriptions.
     *
     * @return the key
     */
    public static String key() {
        StringBuilder k = new StringBuilder(Platform.cpuModel()).append(" | ").append(Platform.cpuIdentity()).append(" | ")
                .append(Platform.simdFeatures()).append(" | ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.vm.version"));
        for (Backend.Status s : Backend.list()) {
            if (s.available() && isFast(s.name())) k.append(" | ").append(s.name()).append(": ").append(s.description());
        }
        return Text.oneLine(k.toString(), 4000);
    }

    /**
     * The file the choices are kept in, or null when {@link Config#tuning()} is {@code off}.
     *
     * @return the path, or null
     */
    public static Path file() {
        String t = Config.defaults().tuning();
        return t.equals("off") ? null : Path.of(t);
    }

    /**
     * Measures this machine's fastest product per step shape and keeps it in {@link #file()} (written
     * atomically; its directory is made). Several seconds.
     *
     * @return what was measured
     * @throws IOException if the file cannot be written
     * @throws IllegalStateException if tuning is {@code off}, or fewer than two fast backends are available (nothing to choose)
     */
    public static Measured measure() throws IOException {
        Path f = file();
        if (f == null) throw new IllegalStateException("tuning is off (-D" + Config.TUNING + "=off)");
        List<Kernels> fast = new ArrayList<>();
        for (String name : candidates()) fast.add(Backend.get(name).kernels());
        if (fast.isEmpty()) throw new IllegalStateException("nothing to measure: no fast backend is available");
        ProductTrial.Outcome o = ProductTrial.run(fast, Backend.get(Kernels.coreName()).kernels());
        Properties p = new Properties();
        String key = key();
        p.setProperty("key", key);
        List<String> routes = new ArrayList<>();
        List<Boolean> prepared = new ArrayList<>(), fused = new ArrayList<>(), bf16 = new ArrayList<>();
        for (int b = 0; b < o.gemm().length; b++) {
            routes.add(o.gemm()[b].name());
            prepared.add(o.prepared()[b]);
            p.setProperty("route." + b, o.gemm()[b].name());
            p.setProperty("prepared." + b, Boolean.toString(o.prepared()[b]));
        }
        for (int i = 0; i < o.fused().length; i++) {
            fused.add(o.fused()[i]);
            p.setProperty("fused." + i, Boolean.toString(o.fused()[i]));
            bf16.add(o.bf16()[i]);
            p.setProperty("bf16." + i, Boolean.toString(o.bf16()[i]));
        }
        p.setProperty("report", o.report());
        java.io.ByteArrayOutputStream w = new java.io.ByteArrayOutputStream(); // as an OutputStream: other than Latin-1 is escaped
        p.store(w, "panama-rnn: this machine's measured kernel choices (scripts/panama-rnn tune); remeasured when the key changes");
        if (f.toAbsolutePath().getParent() != null) Files.createDirectories(f.toAbsolutePath().getParent());
        try (OutputFile out = OutputFile.prepare("tuning file", f)) {
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(w.toByteArray());
            out.replace(ch -> {
                while (bytes.hasRemaining()) ch.write(bytes);
            });
        }
        return new Measured(f, key, List.copyOf(routes), List.copyOf(prepared), List.copyOf(fused), List.copyOf(bf16), o.report());
    }

    /**
     * The kept measurement when it was made under this machine's {@link #key()}, else null with the reason
     * in {@code why[0]}.
     *
     * @param why receives why there is none
     * @return the measurement, or null
     */
    public static Measured load(String[] why) {
        Path f = file();
        if (f == null) {
            why[0] = "tuning off";
            return null;
        }
        if (!Files.isRegularFile(f)) {
            why[0] = "not measured on this machine yet (scripts/panama-rnn tune)";
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.ISO_8859_1)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            why[0] = "the tuning file " + f + " could not be read (" + Text.oneLine(String.valueOf(e.getMessage()), 200) + "); scripts/panama-rnn tune rewrites it";
            return null;
        }
        if (!key().equals(p.getProperty("key"))) {
            why[0] = "measured under another CPU, JVM or library (scripts/panama-rnn tune measures again)";
            return null;
        }
        List<String> routes = new ArrayList<>();
        List<Boolean> prepared = new ArrayList<>(), fused = new ArrayList<>(), bf16 = new ArrayList<>();
        for (int b = 0; b < Kernels.BUCKETS; b++) {
            String r = p.getProperty("route." + b);
            if (r == null || Backend.list().stream().noneMatch(s -> s.available() && s.name().equals(r))) {
                why[0] = "the tuning file " + f + " names no available backend for bucket " + b;
                return null;
            }
            routes.add(r);
            prepared.add(Boolean.parseBoolean(p.getProperty("prepared." + b)));
        }
        for (int i = 0; i < Kernels.STEP_SHAPES; i++) {
            fused.add(Boolean.parseBoolean(p.getProperty("fused." + i)));
            bf16.add(Boolean.parseBoolean(p.getProperty("bf16." + i)));
        }
        return new Measured(f, p.getProperty("key"), List.copyOf(routes), List.copyOf(prepared), List.copyOf(fused), List.copyOf(bf16),
                p.getProperty("report", ""));
    }
}
