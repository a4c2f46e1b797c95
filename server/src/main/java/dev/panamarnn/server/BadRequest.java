package dev.panamarnn.server;

/** A request the server refuses with {@code 400}: the message is one line naming the field. */
final class BadRequest extends RuntimeException {
    BadRequest(String message) {
        super(message, null, false, false);
    }
}
