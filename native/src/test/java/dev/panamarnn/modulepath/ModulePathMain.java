package dev.panamarnn.modulepath;

import dev.panamarnn.Backend;
import dev.panamarnn.Tensor;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * Run by {@code dev.panamarnn.openblas.ModulePathTest} in a JVM of its own, on the class path, with core and
 * native on the module path: prints what the module descriptors give an application, one fact a line.
 */
public final class ModulePathMain {
    private ModulePathMain() {}

    /**
     * Prints the modules, which packages core exports, the backends and a small product on each available one.
     *
     * @param args none
     */
    public static void main(String[] args) {
        Module core = Backend.class.getModule();
        System.out.println("core module: " + core.getName());
        for (String p : List.of("dev.panamarnn", "dev.panamarnn.nn", "dev.panamarnn.app", "dev.panamarnn.io",
                "dev.panamarnn.kernel", "dev.panamarnn.kernel.simd", "dev.panamarnn.kernel.scalar", "dev.panamarnn.internal",
                "dev.panamarnn.engine")) {
            System.out.println("exported " + p + ": " + core.isExported(p));
        }
        Module openblas = core.getLayer().findModule("dev.panamarnn.openblas").orElseThrow();
        System.out.println("kernel exported to " + openblas.getName() + ": " + core.isExported("dev.panamarnn.kernel", openblas));
        for (Backend.Status s : Backend.list()) System.out.println("backend " + s.name() + ": " + s.available());
        System.out.println("default: " + Backend.defaultBackend().name());
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.of(arena, new float[] {1, 2, 3, 4}, 2, 2), c = Tensor.allocate(arena, 2, 2);
            for (Backend.Status s : Backend.list()) {
                if (!s.available()) continue;
                Backend.get(s.name()).gemm(false, false, 1f, a, a, 0f, c);
                System.out.println("gemm " + s.name() + ": " + java.util.Arrays.toString(c.toArray()));
            }
        }
    }
}
