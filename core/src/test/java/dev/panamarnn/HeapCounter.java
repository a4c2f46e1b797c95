package dev.panamarnn;

/** Heap bytes the calling thread allocates (HotSpot's per-thread counter), for the tests that bound them. */
public final class HeapCounter {
    private HeapCounter() {}

    /** Heap bytes this thread allocates while {@code r} runs. */
    public static long heapAllocatedBy(Runnable r) {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        r.run();
        return mx.getCurrentThreadAllocatedBytes() - before;
    }
}
