package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.app.ApplicationModelsTest;
import dev.panamarnn.nn.BatchingExecutorTest;
import dev.panamarnn.nn.PyTorchFixtureTest;
import dev.panamarnn.nn.RecurrentLayerRandomTest;
import dev.panamarnn.nn.TwoThreadForwardTest;
import org.junit.jupiter.api.Nested;

/**
 * The layer tests of core (PyTorch fixtures, random configurations, two threads, the batching executor)
 * on the OpenBLAS backend. Without OpenBLAS the nested classes find no such backend and generate nothing;
 * {@link #libraryLoaded} reports the skip.
 */
class OpenBlasLayerTest {
    /** Shows up as skipped, with the loader's reason, when OpenBLAS is absent. */
    @org.junit.jupiter.api.Test
    void libraryLoaded() {
        assumeTrue(OpenBlas.isAvailable(), () -> "OpenBLAS not available: " + OpenBlasLibrary.status().reason());
    }

    @Nested
    class Fixtures extends PyTorchFixtureTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class Random extends RecurrentLayerRandomTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class Applications extends ApplicationModelsTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class TwoThreads extends TwoThreadForwardTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class Batching extends BatchingExecutorTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }
}
