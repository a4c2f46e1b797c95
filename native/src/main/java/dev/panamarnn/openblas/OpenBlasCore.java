package dev.panamarnn.openblas;

import dev.panamarnn.Config;
import dev.panamarnn.Platform;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Set;

/**
 * Which of OpenBLAS' CPU kernel sets ("cores") to use, chosen before the library loads. A build with
 * {@code DYNAMIC_ARCH} (Debian's) picks its core at load from the CPU it sees, or from the environment
 * variable {@code OPENBLAS_CORETYPE}. Its detection is wrong on CPUs newer than the release: 0.3.21 runs
 * its Haswell (AVX2) kernels on AMD's AVX-512 CPUs (Zen 4), at half the speed of its SkylakeX kernels
 * there (sgemm 2048³ at one thread: 102 against 213 GFLOP/s on an AVX-512 EPYC). So, unless told
 * otherwise ({@link Config#openblasCore()}):
 * <ul>
 *   <li>{@code OPENBLAS_CORETYPE} already in the environment: left as it is;</li>
 *   <li>{@code auto} (the default): on an AMD CPU with AVX-512 (F, BW, VL, DQ), {@code SkylakeX}; elsewhere
 *       OpenBLAS' own detection, which knows Intel's AVX-512 CPUs;</li>
 *   <li>{@code library}: OpenBLAS' own detection, always;</li>
 *   <li>a core name: that core.</li>
 * </ul>
 * The choice is put in the process environment with libc's {@code setenv} (the JVM's own environment map
 * is a copy and cannot do it), before the library is loaded, so it also works for a program that embeds
 * the library; after loading, {@link #check} compares it with {@code openblas_get_corename}.
 */
final class OpenBlasCore {
    /** The environment variable OpenBLAS reads at load: {@value}. */
    static final String ENV = "OPENBLAS_CORETYPE";
    /** OpenBLAS's AVX2-only x86 cores: on a CPU with AVX-512 these leave half of each vector unused. */
    private static final Set<String> AVX2_CORES = Set.of("haswell", "zen", "excavator", "steamroller", "piledriver", "bulldozer");

    /**
     * What was decided: the core asked for (null to leave OpenBLAS' detection alone) and why.
     *
     * @param core   the core name put in {@code OPENBLAS_CORETYPE}, or null
     * @param reason why, for {@code info}
     * @param set    whether this process set the variable (false when it was already there, or no core)
     */
    record Choice(String core, String reason, boolean set) {}

    private OpenBlasCore() {}

    /**
     * The decision, from the setting, the environment and the CPU; no side effect.
     *
     * @param setting    {@link Config#openblasCore()}
     * @param env        {@code OPENBLAS_CORETYPE} as found in the environment, or null
     * @param vendor     the CPU vendor ({@code AuthenticAMD}, {@code GenuineIntel}), or {@code ""}
     * @param avx512     whether the CPU has AVX-512 F, BW, VL and DQ
     * @return the choice
     */
    static Choice decide(String setting, String env, String vendor, boolean avx512) {
        if (env != null && !env.isBlank()) return new Choice(env.trim(), ENV + "=" + env.trim() + " was in the environment", false);
        if (setting.equalsIgnoreCase("library")) return new Choice(null, "OpenBLAS' own detection (-D" + Config.OPENBLAS_CORE + "=library)", false);
        if (!setting.equalsIgnoreCase("auto")) return new Choice(setting, "-D" + Config.OPENBLAS_CORE + "=" + setting, true);
        if (avx512 && vendor.equals("AuthenticAMD")) {
            return new Choice("SkylakeX", "an AMD CPU with AVX-512, which OpenBLAS 0.3.21 does not detect (it would run AVX2 kernels)", true);
        }
        return new Choice(null, "OpenBLAS' own detection", false);
    }

    /** Decides and, when a core is chosen and the variable is not already set, sets it. Before the library loads; never throws. */
    static Choice applyBeforeLoad() {
        Choice c;
        try {
            c = decide(Config.defaults().openblasCore(), System.getenv(ENV), vendor(), Platform.hasAvx512());
        } catch (RuntimeException e) {
            return new Choice(null, "not chosen: " + e.getMessage(), false);
        }
        if (!c.set()) return c;
        try {
            setenv(ENV, c.core());
            return c;
        } catch (Throwable e) {
            return new Choice(null, "could not set " + ENV + " (" + e + "); OpenBLAS' own detection", false);
        }
    }

    /**
     * After loading: the core OpenBLAS reports, with how it was chosen, and a warning when it is not the
     * one asked for, or is an AVX2 core on an AVX-512 CPU.
     *
     * @param choice   what {@link #applyBeforeLoad} decided
     * @param reported {@code openblas_get_corename()}
     * @param avx512   whether the CPU has AVX-512
     * @return one line for {@code info}
     */
    static String check(Choice choice, String reported, boolean avx512) {
        StringBuilder s = new StringBuilder("core ").append(reported).append(" (").append(choice.reason()).append(')');
        if (choice.core() != null && !choice.core().equalsIgnoreCase(reported)) {
            s.append("; WARNING: ").append(choice.core()).append(" was asked for but OpenBLAS runs ").append(reported);
        } else if (avx512 && AVX2_CORES.contains(reported.toLowerCase(Locale.ROOT))) {
            s.append("; WARNING: AVX2 kernels on a CPU with AVX-512: try -D").append(Config.OPENBLAS_CORE).append("=SkylakeX");
        }
        return s.toString();
    }

    private static String vendor() {
        String id = Platform.cpuIdentity();
        int sp = id.indexOf(' ');
        return sp < 0 ? id : id.substring(0, sp);
    }

    /** libc's {@code setenv(name, value, 1)}. */
    private static void setenv(String name, String value) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MemorySegment fn = linker.defaultLookup().find("setenv").orElseThrow(() -> new IllegalStateException("libc has no setenv"));
        MethodHandle h = linker.downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) h.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 1);
            if (rc != 0) throw new IllegalStateException("setenv returned " + rc);
        }
    }
}
