package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamarnn.Backend;
import dev.panamarnn.modulepath.ModulePathMain;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * core and native as modules, the way an application on the module path meets them (the other tests run on
 * the class path): a JVM with the two jars' classes and Jackson on {@code --module-path} runs
 * {@link ModulePathMain}. The descriptors must resolve, export the public API and nothing else, bind the
 * OpenBLAS provider through {@code provides}, and leave the Vector API optional ({@code requires static}):
 * without {@code --add-modules jdk.incubator.vector} the library still runs, with its warning.
 */
class ModulePathTest {
    private static final List<String> EXPORTED = List.of("dev.panamarnn", "dev.panamarnn.nn", "dev.panamarnn.app", "dev.panamarnn.io");
    private static final List<String> HIDDEN = List.of("dev.panamarnn.kernel", "dev.panamarnn.kernel.simd", "dev.panamarnn.kernel.scalar",
            "dev.panamarnn.internal", "dev.panamarnn.engine");

    @Test
    void withTheVectorApi() throws Exception {
        String out = run(true);
        descriptors(out);
        assertTrue(out.contains("backend simd: true"), out);
        assertTrue(out.contains("default: " + (OpenBlas.isAvailable() ? "openblas" : "simd")), out);
        assertTrue(out.contains("gemm simd: [7.0, 10.0, 15.0, 22.0]"), out);
        if (OpenBlas.isAvailable()) assertTrue(out.contains("gemm openblas: [7.0, 10.0, 15.0, 22.0]"), out);
    }

    @Test
    void withoutTheVectorApi() throws Exception {
        String out = run(false);
        descriptors(out);
        assertTrue(out.contains("backend simd: false"), out);
        assertTrue(out.contains("the JVM was started without --add-modules jdk.incubator.vector"), out);
        assertTrue(out.contains("gemm scalar: [7.0, 10.0, 15.0, 22.0]"), out);
    }

    private static void descriptors(String out) {
        assertTrue(out.contains("core module: dev.panamarnn.core"), out);
        for (String p : EXPORTED) assertTrue(out.contains("exported " + p + ": true"), out);
        for (String p : HIDDEN) assertTrue(out.contains("exported " + p + ": false"), out);
        assertTrue(out.contains("kernel exported to dev.panamarnn.openblas: true"), out);
        assertTrue(out.contains("backend openblas: " + OpenBlas.isAvailable()), out); // found through provides
    }

    /** ModulePathMain's output and error output, after it exited with 0. */
    private static String run(boolean vector) throws Exception {
        String modulePath = String.join(File.pathSeparator, location(Backend.class), location(OpenBlas.class),
                location(com.fasterxml.jackson.core.JsonFactory.class));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dpanama.rnn.tuning=off", "--module-path", modulePath, "--add-modules", vector ? "dev.panamarnn.core,jdk.incubator.vector" : "dev.panamarnn.core",
                "--enable-native-access=dev.panamarnn.openblas", "-cp", location(ModulePathMain.class), ModulePathMain.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + out);
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + "\n" + out);
        return out;
    }

    private static String location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
