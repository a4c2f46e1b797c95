package dev.panamarnn.onnx;

import java.io.IOException;

/**
 * An {@code .onnx} file panama-rnn cannot run: malformed (truncated, not protobuf, sizes that do not agree),
 * hostile (dimensions past what memory could hold, a cycle, external data outside the model's directory) or
 * outside what is supported (an operator, attribute or element type, named with its node). The message is
 * one line: the file, the node or tensor at fault, what was expected and what was found.
 */
public final class OnnxException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A model that cannot be run, described by {@code message}.
     *
     * @param message the file, the node or tensor at fault, what was expected and found
     */
    public OnnxException(String message) {
        super(message);
    }

    /**
     * A model that cannot be run, described by {@code message}, found through {@code cause}.
     *
     * @param message the file, the node or tensor at fault, what was expected and found
     * @param cause   the underlying failure (for example protobuf's)
     */
    public OnnxException(String message, Throwable cause) {
        super(message, cause);
    }
}
