package dev.panamarnn.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place where a failure becomes the line a user reads: {@code panama-rnn: error: <what>}, with
 * control characters escaped (a message holding ESC, CR or LF cannot forge output lines or move the
 * terminal's cursor) and cut at {@link #MAX_MESSAGE} characters. No stack trace unless asked for.
 */
final class Errors {
    private Errors() {}

    /** The longest message shown whole. */
    static final int MAX_MESSAGE = 2000;

    /** Prints the line for {@code t} (and its stack trace when {@code trace}); never throws. */
    static void report(Throwable t, boolean trace, PrintWriter err) {
        try {
            err.println("panama-rnn: error: " + oneLine(describe(t)));
            if (trace) t.printStackTrace(err);
        } catch (Throwable again) {
            // Out of memory even for the message: print what needs no allocation worth speaking of.
            err.println("panama-rnn: error: " + t.getClass().getName());
        }
        err.flush();
    }

    /** What went wrong, in words, from the exception that says most. */
    static String describe(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof OutOfMemoryError oom) return outOfMemory(oom);
        if (c instanceof StackOverflowError) {
            return "stack overflow (the input nests or recurses too deeply for the thread stack); a larger stack (-Xss16m in "
                    + "PANAMA_RNN_JAVA_OPTS for scripts/panama-rnn) may help";
        }
        if (c instanceof ExceptionInInitializerError e) return initFailure(e, null);
        if (c instanceof NoClassDefFoundError e) {
            if (e.getCause() instanceof ExceptionInInitializerError init) return initFailure(init, className(e.getMessage()));
            return "class " + message(e) + " not found: the class path is incomplete (rebuild with scripts/panama-rnn, which builds what is stale)";
        }
        if (c instanceof FileSystemException f) return fileSystem(f);
        if (c instanceof CharacterCodingException) {
            return "text is not valid UTF-8 (" + c.getClass().getSimpleName() + ": " + message(c) + ")";
        }
        if (c instanceof IOException || c instanceof IllegalArgumentException || c instanceof IllegalStateException
                || c instanceof UnsupportedOperationException || c instanceof SecurityException) {
            return message(c);
        }
        // Anything else is a bug or an unexpected condition: say what kind, where --stacktrace shows more.
        String m = c.getMessage();
        return c.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m) + " (--stacktrace shows where)";
    }

    /** The exception that carries the information: wrappers that only say "something failed inside" are removed. */
    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        for (int i = 0; i < 10; i++) {
            if (c instanceof UncheckedIOException && c.getCause() != null) c = c.getCause();
            else if (c instanceof ExceptionInInitializerError && c.getCause() != null) c = c.getCause();
            else if (c instanceof picocli.CommandLine.ExecutionException && c.getCause() != null) c = c.getCause();
            else if (c instanceof java.lang.reflect.InvocationTargetException && c.getCause() != null) c = c.getCause();
            else if (c instanceof java.util.concurrent.ExecutionException && c.getCause() != null) c = c.getCause();
            else break;
        }
        return c;
    }

    private static String outOfMemory(OutOfMemoryError e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        String lower = m.toLowerCase(Locale.ROOT);
        long max = Runtime.getRuntime().maxMemory();
        String heap = max == Long.MAX_VALUE ? "no set limit" : "at most " + mib(max);
        String what;
        String fix;
        if (lower.contains("direct buffer memory")) {
            what = "direct buffer memory (" + m + ")";
            fix = "raise -XX:MaxDirectMemorySize";
        } else if (lower.contains("native thread")) {
            what = "threads (" + m + ")";
            fix = "use fewer --openblas-threads or --threads 1";
        } else if (lower.contains("metaspace")) {
            what = "class metadata space (" + m + ")";
            fix = "raise -XX:MaxMetaspaceSize";
        } else if (lower.startsWith("unable to allocate") || lower.contains("native")) {
            what = "native memory (" + m + ")";
            fix = "free memory on the machine or ask for less";
        } else if (lower.contains("requested array size exceeds vm limit")) {
            what = "array size: an array larger than the JVM allows (2^31-1 elements) was asked for";
            fix = "ask for less";
        } else {
            what = "the Java heap (" + (m.isEmpty() ? "OutOfMemoryError" : m) + "; the heap is " + heap + ")";
            fix = "give the JVM more heap with -Xmx";
        }
        return "out of memory: " + what + ". " + capitalise(fix) + " (for scripts/panama-rnn: PANAMA_RNN_JAVA_OPTS=-Xmx8g and the like), "
                + "or ask for less: a smaller --input, fewer texts or prompts, a lower --samples, --max or --beam";
    }

    private static final Pattern INIT_MESSAGE = Pattern.compile("^Exception ([\\w.$]+)(?:: (.*?))?(?: \\[in thread \"[^\"]*\"\\])?$", Pattern.DOTALL);

    /**
     * A class initialiser failed: the cause's message, as if the cause had been thrown directly. On the
     * first use the error carries the cause (and {@link #unwrap} has removed the wrapper); on later uses
     * the JVM's NoClassDefFoundError carries only an ExceptionInInitializerError whose message is
     * "Exception <class>: <message> [in thread ...]".
     */
    private static String initFailure(ExceptionInInitializerError e, String className) {
        if (e.getCause() != null) return describe(e.getCause());
        String m = e.getMessage();
        Matcher x = m == null ? null : INIT_MESSAGE.matcher(m);
        if (x != null && x.matches() && x.group(2) != null && !x.group(2).isBlank()) return x.group(2);
        String what = x != null && x.matches() ? x.group(1).substring(x.group(1).lastIndexOf('.') + 1) : m != null ? m : "ExceptionInInitializerError";
        return "initialising " + (className != null ? "class " + className : "a class") + " failed: " + what;
    }

    private static String className(String noClassDefMessage) {
        if (noClassDefMessage == null) return null;
        String m = noClassDefMessage.replace("Could not initialize class ", "").strip();
        return m.isEmpty() ? null : m;
    }

    /**
     * "path: reason", as the operating system says it, for the file-system errors whose message is only
     * the path ({@link NoSuchFileException}) or the path and a terse reason.
     */
    static String fileSystem(FileSystemException f) {
        String file = f.getFile() == null ? "(a file)" : f.getFile();
        String other = f.getOtherFile() == null ? "" : " -> " + f.getOtherFile();
        return file + other + ": " + reason(f);
    }

    /** The operating system's reason ("no such file or directory"), lower case, without the path. */
    static String reason(FileSystemException f) {
        String reason = f.getReason();
        if (reason == null || reason.isBlank()) {
            return switch (f) {
                case NoSuchFileException x -> "no such file or directory";
                case AccessDeniedException x -> "permission denied";
                case FileAlreadyExistsException x -> "the file already exists";
                case NotDirectoryException x -> "not a directory";
                case DirectoryNotEmptyException x -> "the directory is not empty";
                case FileSystemLoopException x -> "symbolic links form a loop";
                default -> f.getClass().getSimpleName();
            };
        }
        return reason.substring(0, 1).toLowerCase(Locale.ROOT) + reason.substring(1);
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    private static String capitalise(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /** {@code s} as one line, cut past {@link #MAX_MESSAGE} characters ({@link dev.panamarnn.Text#oneLine}). */
    static String oneLine(String s) {
        return dev.panamarnn.Text.oneLine(s, MAX_MESSAGE);
    }
}
