package dev.panamarnn.nn;

/** Runs the two parts of a {@link Team.Job} and returns when both are done. */
interface Halves {
    void runBoth(Team.Job j);

    /**
     * Both parts on the calling thread, one after the other: what a call does when the helper is busy or
     * may not touch its memory. The work is cut exactly as with the helper, so a call's bits never
     * depend on whether the helper was free (a BLAS may sum a row in another order for another shape).
     */
    Halves ALONE = j -> {
        j.run(0);
        j.run(1);
    };
}
