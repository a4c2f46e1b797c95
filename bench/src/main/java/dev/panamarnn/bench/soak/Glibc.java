package dev.panamarnn.bench.soak;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * What glibc's allocator holds, to tell a leak from the allocator keeping freed memory: NMT counts the
 * bytes the JVM asked {@code malloc} for, RSS also counts the free chunks glibc keeps in its arenas
 * (one arena per thread, up to 8 per core) instead of returning them to the system. {@code mallinfo2}
 * (glibc ≥ 2.33) gives both; {@code malloc_trim(0)} returns the free pages. Absent on other C
 * libraries: then {@link #info()} gives null.
 */
final class Glibc {
    private Glibc() {}

    /** struct mallinfo2: ten size_t fields. */
    private static final StructLayout MALLINFO2 = MemoryLayout.structLayout(JAVA_LONG.withName("arena"), JAVA_LONG.withName("ordblks"),
            JAVA_LONG.withName("smblks"), JAVA_LONG.withName("hblks"), JAVA_LONG.withName("hblkhd"), JAVA_LONG.withName("usmblks"),
            JAVA_LONG.withName("fsmblks"), JAVA_LONG.withName("uordblks"), JAVA_LONG.withName("fordblks"), JAVA_LONG.withName("keepcost"));
    private static final MethodHandle INFO = find("mallinfo2", FunctionDescriptor.of(MALLINFO2));
    private static final MethodHandle TRIM = find("malloc_trim", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));

    /** Bytes: {obtained from the system (arena + mmapped chunks), in use, free but kept}; null without glibc. */
    static long[] info() {
        if (INFO == null) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = (MemorySegment) INFO.invokeExact((SegmentAllocator) a);
            long arena = m.get(JAVA_LONG, 0), hblkhd = m.get(JAVA_LONG, 32), used = m.get(JAVA_LONG, 56), free = m.get(JAVA_LONG, 64);
            return new long[] {arena + hblkhd, used + hblkhd, free};
        } catch (Throwable e) {
            return null;
        }
    }

    /** {@code malloc_trim(0)}: gives glibc's free pages back to the system; false without glibc. */
    static boolean trim() {
        if (TRIM == null) return false;
        try {
            int ignored = (int) TRIM.invokeExact(0L);
            return true;
        } catch (Throwable e) {
            return false;
        }
    }

    private static MethodHandle find(String name, FunctionDescriptor fd) {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(s -> linker.downcallHandle(s, fd)).orElse(null);
    }
}
