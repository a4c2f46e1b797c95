package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.nn.PyTorchFixtureTest;
import dev.panamarnn.nn.RecurrentLayerRandomTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/** The layer tests of core (PyTorch fixtures, random configurations) on the OpenBLAS backend. */
class OpenBlasLayerTest {
    @BeforeAll
    static void requireOpenBlas() {
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
}
