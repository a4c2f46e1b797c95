package dev.panamarnn.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Messages for failures of the operating system that name the file and what was being done. The JDK's own
 * are often the path alone ({@link NoSuchFileException}) or a reason without the path ("Is a directory",
 * "No such device"); these read {@code <path>: cannot <operation>: <reason>}, for example
 * {@code /m/weights.safetensors: cannot open safetensors file: no such file}.
 */
public final class FileErrors {
    private FileErrors() {}

    /**
     * {@code e} restated as {@code <file>: cannot <operation>: <reason>}, of the same kind where it matters
     * to a caller ({@link NoSuchFileException}, {@link AccessDeniedException}, else {@link FileSystemException}
     * for a file system's refusal, else a plain {@link IOException}), with {@code e} as its cause.
     *
     * @param file      the file
     * @param operation what was being done, e.g. {@code "open safetensors file"}
     * @param e         the failure
     * @return the restated exception, to throw
     */
    public static IOException wrap(Path file, String operation, IOException e) {
        String f = file.toString();
        String reason = "cannot " + operation + ": " + reason(e);
        IOException w;
        if (e instanceof NoSuchFileException) w = new NoSuchFileException(f, null, reason);
        else if (e instanceof AccessDeniedException) w = new AccessDeniedException(f, null, reason);
        else if (e instanceof FileSystemException) w = new FileSystemException(f, null, reason);
        else return new IOException(f + ": " + reason, e);
        w.initCause(e);
        return w;
    }

    /**
     * A refusal found before asking the operating system, e.g. {@code "is a directory"}.
     *
     * @param file      the file
     * @param operation what was to be done
     * @param reason    why not
     * @return the exception, to throw
     */
    public static FileSystemException refused(Path file, String operation, String reason) {
        return new FileSystemException(file.toString(), null, "cannot " + operation + ": " + reason);
    }

    /** What went wrong, without the path the JDK often puts in the message. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NotDirectoryException) return "not a directory";
        if (e instanceof FileSystemLoopException) return "too many levels of symbolic links";
        if (e instanceof FileSystemException fe) {
            String r = fe.getReason();
            return r == null ? e.getClass().getSimpleName() : lowerFirst(r);
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : lowerFirst(m);
    }

    private static String lowerFirst(String s) {
        return s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))
                ? Character.toLowerCase(s.charAt(0)) + s.substring(1) : s;
    }
}
