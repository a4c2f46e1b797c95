package dev.panamarnn.nn;

import dev.panamarnn.engine.Scratch;

/**
 * Scratch memory for forward passes, reused from call to call so that steady-state calls allocate
 * nothing. A workspace grows to the largest call it has served and owns its native memory until
 * {@link #close()}.
 *
 * <p>Pass one explicitly to keep scratch per thread, or let a layer borrow one from its own pool. A
 * workspace serves one call at a time: using one from two threads at once is an error that it detects
 * and reports.
 */
public final class Workspace implements AutoCloseable {
    private final Scratch scratch = new Scratch();

    /** An empty workspace; it allocates on first use. */
    public Workspace() {}

    /**
     * Bytes of native memory held now.
     *
     * @return the bytes
     */
    public long byteSize() {
        return scratch.byteSize();
    }

    /** The engine's scratch this workspace holds. */
    Scratch scratch() {
        return scratch;
    }

    /**
     * Frees the native memory; idempotent.
     *
     * @throws IllegalStateException if a call is running on it
     */
    @Override
    public void close() {
        scratch.close();
    }
}
