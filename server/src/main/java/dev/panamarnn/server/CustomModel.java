package dev.panamarnn.server;

import java.util.concurrent.Callable;

/**
 * A model the server runs that is not one of the library's (for example another runtime's, to compare
 * with it under the same HTTP server): the server gives it the same admission limit, threads, deadlines
 * and metrics as its own models.
 */
public interface CustomModel extends AutoCloseable {
    /**
     * The name in {@code /v1/models/{name}/…}.
     *
     * @return the name
     */
    String name();

    /**
     * The one operation served, e.g. {@code translate}.
     *
     * @return the operation
     */
    String operation();

    /**
     * Requests computing at once (threads), as {@link ModelSpec#maxBatch()}.
     *
     * @return the number of threads
     */
    int maxBatch();

    /**
     * Requests waiting beyond them, as {@link ModelSpec#maxQueue()}.
     *
     * @return the queue's length
     */
    int maxQueue();

    /**
     * Checks a request body on the request's thread and returns its computation, which returns the JSON
     * response body and runs on one of the model's threads.
     *
     * @param body the request body
     * @return the computation
     * @throws IllegalArgumentException for a bad request (400, its message the response's error)
     */
    Callable<byte[]> prepare(byte[] body);
}
