package dev.panamarnn;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What this machine offers, read at run time: CPU model and SIMD features ({@code /proc/cpuinfo}), what
 * HotSpot made of them ({@code UseAVX}), and the Vector API's preferred species. Machines of one kind
 * differ (some AVX-512 with BF16, some AVX2 only), so benchmarks print this beside every result.
 */
public final class Platform {
    /** The features that matter to our kernels, in the order printed. */
    private static final List<String> INTERESTING = List.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
            "avx512vl", "avx512dq", "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_bf16", "asimd", "sve");

    private Platform() {}

    /**
     * The CPU's model name from {@code /proc/cpuinfo}, or the architecture ({@code os.arch}) when it has none.
     *
     * @return the model
     */
    public static String cpuModel() {
        return cpuinfoField("model name").orElse(System.getProperty("os.arch"));
    }

    /**
     * The CPU's identity from {@code /proc/cpuinfo}: vendor, family, model and stepping, e.g.
     * {@code AuthenticAMD family 25 model 17 stepping 1}; empty where the file has none of them.
     *
     * @return the identity, or {@code ""}
     */
    public static String cpuIdentity() {
        String vendor = cpuinfoField("vendor_id").orElse("");
        if (vendor.isEmpty()) return "";
        return vendor + " family " + cpuinfoField("cpu family").orElse("?") + " model " + cpuinfoField("model").orElse("?")
                + " stepping " + cpuinfoField("stepping").orElse("?");
    }

    /**
     * Whether the CPU has the AVX-512 subsets that 512-bit float kernels use (F, BW, VL, DQ: what
     * OpenBLAS's SkylakeX kernels need).
     *
     * @return true on such a CPU
     */
    public static boolean hasAvx512() {
        return simdFeatures().containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq"));
    }

    /**
     * The SIMD-relevant CPU flags present, e.g. {@code [sse4_2, avx, avx2, fma, f16c]}.
     *
     * @return the features, in a fixed order
     */
    public static Set<String> simdFeatures() {
        Set<String> flags = cpuinfoField("flags").or(() -> cpuinfoField("Features"))
                .map(f -> Set.of(f.trim().split("\\s+"))).orElse(Set.of());
        return INTERESTING.stream().filter(flags::contains).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    /**
     * HotSpot's {@code UseAVX} level (0–3), or -1 when the VM does not have the flag.
     *
     * @return the level
     */
    public static int hotspotUseAvx() {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return Integer.parseInt(bean.getVMOption("UseAVX").getValue());
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /**
     * The Vector API's preferred float species, or why it is unavailable.
     *
     * @return e.g. {@code FloatVector.SPECIES_PREFERRED = 512 bits (16 floats)}, or why it is unavailable
     */
    public static String preferredSpecies() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "unavailable (JVM started without --add-modules jdk.incubator.vector)";
        }
        return dev.panamarnn.kernel.simd.VectorInfo.describe();
    }

    /**
     * One line: model and identity, cores, features, UseAVX, species.
     *
     * @return the summary
     */
    public static String summary() {
        String id = cpuIdentity();
        return cpuModel() + (id.isEmpty() ? "" : " (" + id + ")") + ", " + Runtime.getRuntime().availableProcessors() + " cores, features " + simdFeatures()
                + ", HotSpot UseAVX=" + hotspotUseAvx() + ", " + preferredSpecies();
    }

    private static java.util.Optional<String> cpuinfoField(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                    return java.util.Optional.of(line.substring(colon + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: report nothing rather than fail
        }
        return java.util.Optional.empty();
    }

}
