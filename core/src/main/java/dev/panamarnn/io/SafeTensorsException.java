package dev.panamarnn.io;

import java.io.IOException;

/**
 * A file is not a valid safetensors file. {@link SafeTensors#open} throws it for every malformed byte
 * sequence; the message names the file, the tensor or header field at fault, and what was expected and
 * found. Failures of the operating system (missing file, no permission) stay plain {@link IOException}s.
 */
public final class SafeTensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A malformed file, described by {@code message}.
     *
     * @param message the file, the field at fault, what was expected and found
     */
    public SafeTensorsException(String message) {
        super(message);
    }

    /**
     * A malformed file, described by {@code message}, found through {@code cause}.
     *
     * @param message the file, the field at fault, what was expected and found
     * @param cause   the underlying failure (for example the JSON parser's)
     */
    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
