package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/** The one error printer: every cause becomes one readable line, with the stack trace only on request. */
class ErrorsTest {
    private static String report(Throwable t, boolean trace) {
        StringWriter s = new StringWriter();
        Errors.report(t, trace, new PrintWriter(s));
        return s.toString();
    }

    /** One line, "panama-rnn: error: ...", holding every fragment, no stack trace. */
    private static String line(Throwable t, String... fragments) {
        String out = report(t, false);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith("panama-rnn: error: "), out);
        assertFalse(out.contains("\tat "), out);
        for (String f : fragments) assertTrue(out.contains(f), "'" + f + "' in: " + out);
        return out;
    }

    @Test
    void outOfMemoryIsOneLineSayingWhatRanOutAndWhatToChange() {
        line(new OutOfMemoryError("Java heap space"), "out of memory: the Java heap (Java heap space; the heap is at most ", " MiB)", "-Xmx",
                "PANAMA_RNN_JAVA_OPTS", "--samples", "--max");
        line(new OutOfMemoryError("Unable to allocate 17179869184 bytes"), "out of memory: native memory (Unable to allocate 17179869184 bytes)");
        line(new OutOfMemoryError("Cannot reserve 1048576 bytes of direct buffer memory (allocated: 1, limit: 2)"), "MaxDirectMemorySize");
        line(new OutOfMemoryError("unable to create native thread: possibly out of memory"), "fewer --openblas-threads");
        line(new OutOfMemoryError("Requested array size exceeds VM limit"), "larger than the JVM allows");
        line(new OutOfMemoryError(), "out of memory", "OutOfMemoryError");
        line(new StackOverflowError(), "stack overflow", "-Xss");
    }

    @Test
    void classInitialisationFailuresShowTheCause() {
        line(new ExceptionInInitializerError(new IllegalArgumentException("-Dpanama.rnn.threads must be 1 or 2, got 'abc'")),
                "error: -Dpanama.rnn.threads must be 1 or 2, got 'abc'");
        // The second use of the class: the JVM's NoClassDefFoundError holds the first failure only as text.
        NoClassDefFoundError later = new NoClassDefFoundError("Could not initialize class dev.panamarnn.Parallelism");
        later.initCause(new ExceptionInInitializerError(
                "Exception java.lang.IllegalArgumentException: -Dpanama.rnn.threads must be 1 or 2, got 'abc' [in thread \"main\"]"));
        String out = line(later, "error: -Dpanama.rnn.threads must be 1 or 2, got 'abc'");
        assertFalse(out.contains("[in thread") || out.contains("Exception"), out);
        NoClassDefFoundError bare = new NoClassDefFoundError("Could not initialize class dev.panamarnn.Parallelism");
        bare.initCause(new ExceptionInInitializerError("Exception java.lang.NullPointerException [in thread \"main\"]"));
        line(bare, "initialising class dev.panamarnn.Parallelism failed: NullPointerException");
        line(new NoClassDefFoundError("dev/panamarnn/Missing"), "class dev/panamarnn/Missing not found", "class path");
    }

    @Test
    void fileSystemErrorsNameThePathAndTheReason() {
        line(new NoSuchFileException("/models/x/weights.safetensors"), "/models/x/weights.safetensors: no such file or directory");
        line(new UncheckedIOException(new AccessDeniedException("/root/secret")), "/root/secret: permission denied");
        line(new MalformedInputException(1), "not valid UTF-8");
        line(new IOException("/out.safetensors: cannot write (temporary file /.out.tmp): No space left on device"),
                "/out.safetensors: cannot write", "No space left on device");
    }

    @Test
    void controlCharactersAreEscapedAndLongMessagesCut() {
        String out = line(new IllegalArgumentException("tensor 'a\u001b[2J\r\npanama-rnn: ok' \u0085 \u2028 tab\there \\n stays"),
                "tensor 'a\\u001b[2J\\r\\npanama-rnn: ok' \\u0085 \\u2028 tab\\there \\n stays");
        assertFalse(out.strip().contains("\r"), out);
        out = line(new IllegalArgumentException("x".repeat(100_000)), "…(" + (100_000 - Errors.MAX_MESSAGE) + " more characters)");
        assertTrue(out.length() < Errors.MAX_MESSAGE + 100, out.length() + "");
    }

    @Test
    void unexpectedExceptionsSayWhatKindAndWhereToLook() {
        line(new NullPointerException("Cannot read field \"x\""), "NullPointerException: Cannot read field \"x\"", "--stacktrace");
        line(new RuntimeException(), "RuntimeException", "--stacktrace");
    }

    @Test
    void theStackTraceOnlyWhenAsked() {
        String out = report(new OutOfMemoryError("Java heap space"), true);
        assertTrue(out.startsWith("panama-rnn: error: out of memory"), out);
        assertTrue(out.contains("\tat "), out);
    }

    @Test
    void everyErrorFromRunIsOneLine() {
        // Exit 1 with one line through the whole of Main.run, for an Error thrown inside a command.
        CliRun r = CliRun.of("generate", "--model", "/nonexistent-model-dir");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
