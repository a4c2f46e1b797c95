package dev.panamarnn.openblas;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs each test with OpenBLAS at 1 thread and restores the count after it; skips the test when OpenBLAS
 * is absent. The backend's default is applied first, so that the count restored is the one the rest of
 * the run expects (read before it, OpenBLAS's own default would be restored and then held).
 */
final class OneOpenBlasThread implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(OneOpenBlasThread.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        assumeTrue(OpenBlas.isAvailable(), () -> "OpenBLAS not available: " + OpenBlasLibrary.status().reason());
        new OpenBlasKernelProvider().products();
        context.getStore(NS).put("before", OpenBlas.threads());
        OpenBlas.setThreads(1);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Integer before = context.getStore(NS).remove("before", Integer.class);
        if (before != null) OpenBlas.setThreads(before); // null: skipped, OpenBLAS absent
    }
}
