package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.app.ApplicationModelsTest;
import dev.panamarnn.nn.BatchingExecutorTest;
import dev.panamarnn.nn.PyTorchFixtureTest;
import dev.panamarnn.nn.RecurrentLayerRandomTest;
import dev.panamarnn.nn.TwoThreadForwardTest;
import dev.panamarnn.train.OptimizerFixtureTest;
import dev.panamarnn.train.TrainFixtureTest;
import org.junit.jupiter.api.Nested;

/**
 * The layer tests of core (PyTorch fixtures, random configurations, two threads, the batching executor, training)
 * on the OpenBLAS backend. Without OpenBLAS the nested classes find no such backend and generate nothing;
 * {@link #libraryLoaded} reports the skip.
 */
class OpenBlasLayerTest {
    /** Shows up as skipped, with the loader's reason, when OpenBLAS is absent. */
    @org.junit.jupiter.api.Test
    void libraryLoaded() {
        assumeTrue(OpenBlas.isAvailable(), () -> "OpenBLAS not available: " + OpenBlasLibrary.status().reason());
    }

    /** The backend's default of 1 OpenBLAS thread never overrides a count the program set itself. */
    @org.junit.jupiter.api.Test
    void anExplicitThreadCountWins() {
        assumeTrue(OpenBlas.isAvailable(), () -> "OpenBLAS not available: " + OpenBlasLibrary.status().reason());
        new OpenBlasKernelProvider().products(); // the default applies first (1 thread here), as in any other test
        int before = OpenBlas.threads();
        try {
            OpenBlas.setThreads(2);
            new OpenBlasKernelProvider().products();
            new OpenBlasKernelProvider().describe();
            org.junit.jupiter.api.Assertions.assertEquals(2, OpenBlas.threads());
        } finally {
            OpenBlas.setThreads(before);
        }
    }

    @Nested
    class Fixtures extends PyTorchFixtureTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class Training extends TrainFixtureTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class TrainingRuns extends OptimizerFixtureTest {
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
    class Validation extends dev.panamarnn.nn.LayerValidationTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    /**
     * OpenBLAS called from 8 Java threads at once gives the same bits as one thread (see ConcurrencyTest),
     * with OpenBLAS at 1 thread, the setting for servers whose request threads do the computing (each
     * call then runs on its caller; OpenBLAS' own threads would only compete with the other callers).
     */
    @Nested
    @org.junit.jupiter.api.extension.ExtendWith(OneOpenBlasThread.class)
    class Concurrency extends dev.panamarnn.nn.ConcurrencyTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }

        /** OpenBLAS' own threads (2 here) under 8 concurrent callers: still correct, only slower. */
        @org.junit.jupiter.api.Test
        void withOpenBlasThreadsToo() throws Exception {
            OpenBlas.setThreads(2);
            run(dev.panamarnn.Backend.get("openblas"), 1, false, 12, 1);
        }
    }

    /** Closing models and arenas under running OpenBLAS calls: exceptions, never a crash. */
    @Nested
    class CloseRaces extends dev.panamarnn.nn.CloseRaceTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class Bf16 extends dev.panamarnn.nn.Bf16WeightsTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    /**
     * Every OpenBLAS call of a forward pass, a cell step and the batching executor made to fail in turn
     * (and every allocation and thread start): no hang, no leak, same bits after, caller state untouched.
     */
    @Nested
    class Faults extends dev.panamarnn.nn.FaultInjectionTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }

    @Nested
    class ApplicationFaults extends dev.panamarnn.app.ApplicationFaultTest {
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

    /** Panels are for OpenBLAS at 1 thread (the default; another test may have changed it). */
    @Nested
    @org.junit.jupiter.api.extension.ExtendWith(OneOpenBlasThread.class)
    class StepPanels extends dev.panamarnn.nn.StepPanelsTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }

        @Override
        protected boolean expectsPanels() {
            return true;
        }
    }

    @Nested
    class HeapPerCall extends dev.panamarnn.nn.HeapPerCallTest {
        @Override
        protected boolean runsOn(String backend) {
            return backend.equals("openblas");
        }
    }
}
