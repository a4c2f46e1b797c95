package dev.panamarnn.bench;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.panamarnn.Backend;
import dev.panamarnn.Platform;
import dev.panamarnn.openblas.OpenBlas;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Shared set-up for the benchmarks: seeded data, thread settings, the platform line. */
final class BenchSupport {
    private BenchSupport() {}

    /** A 64-byte aligned segment of {@code n} floats, uniform in [-scale, scale), from {@code seed}. */
    static MemorySegment random(Arena arena, long n, long seed, float scale) {
        MemorySegment s = arena.allocate(Math.max(1, n) * Float.BYTES, 64);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < n; i++) s.setAtIndex(JAVA_FLOAT, i, (float) ((r.nextDouble() * 2 - 1) * scale));
        return s;
    }

    /** The backend by name, with OpenBLAS set to {@code threads} threads; prints the platform once per fork. */
    static Backend backend(String name, int threads) {
        if (OpenBlas.isAvailable()) OpenBlas.setThreads(threads);
        Backend b = name.equals("auto") ? Backend.defaultBackend() : Backend.get(name); // auto: as this machine was tuned
        printPlatformOnce();
        return b;
    }

    private static boolean printed;

    static synchronized void printPlatformOnce() {
        if (printed) return;
        printed = true;
        System.out.println("# platform: " + Platform.summary());
        System.out.println("# openblas: " + (OpenBlas.isAvailable() ? OpenBlas.describe() : "not available"));
    }

    /** Max |a - b| over n floats. */
    static double maxAbsDiff(MemorySegment a, MemorySegment b, long n) {
        double m = 0;
        for (long i = 0; i < n; i++) m = Math.max(m, Math.abs(a.getAtIndex(JAVA_FLOAT, i) - b.getAtIndex(JAVA_FLOAT, i)));
        return m;
    }
}
