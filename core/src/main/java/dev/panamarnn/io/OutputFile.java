package dev.panamarnn.io;

import dev.panamarnn.Text;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file about to be written whole, safely: {@link #prepare} checks the target and creates a temporary
 * file beside it (so a missing or read-only directory is found before any work is done), {@link #replace}
 * fills the temporary file, flushes it to disk and renames it over the target, and {@link #close} removes
 * the temporary file when nothing was committed.
 *
 * <p>The rules, so that nothing that is not ours is destroyed:
 * <ul>
 *   <li>Only a regular file is written: a missing file is created, an existing regular file is replaced
 *       atomically (readers see the old file or the new one, never half a file) with its permission bits
 *       kept (and, where the process may, its owner and group). A file this user may not write
 *       ({@link Files#isWritable}) is refused, as the shell's {@code >} would refuse it.</li>
 *   <li>A device, FIFO, socket or directory is refused before anything is written.</li>
 *   <li>A symbolic link is followed to the regular file it names, which is replaced as above in its own
 *       directory; the link stays a link. A link whose target is missing (dangling) or not a regular
 *       file is refused.</li>
 *   <li>The target may not be the same file ({@link Files#isSameFile}, so also through links and hard
 *       links) as any of the {@code inputs} given to {@link #prepare}.</li>
 * </ul>
 * The target is checked again just before the rename, so a path that became a FIFO or a device while the
 * data was computed is still refused. Every error names the path and the operation.
 */
public final class OutputFile implements AutoCloseable {
    /** Writes the whole content into the (empty, new) temporary file. */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the content.
         *
         * @param channel the temporary file, open for writing
         * @throws IOException if writing fails
         */
        void writeTo(FileChannel channel) throws IOException;
    }

    private final String what;
    private final Path path;
    private final Path target;
    private final Path temp;
    private final PosixFileAttributes existing;
    private boolean committed;
    private boolean closed;

    private OutputFile(String what, Path path, Path target, Path temp, PosixFileAttributes existing) {
        this.what = what;
        this.path = path;
        this.target = target;
        this.temp = temp;
        this.existing = existing;
    }

    /**
     * Checks {@code file} by the rules above and creates the temporary file beside the regular file it
     * names. {@code what} names the file in messages (for example {@code "--output"}), or is null;
     * {@code inputs} (null entries and missing files are skipped) must all be other files.
     *
     * @param what   the file's name in messages, or null
     * @param file   the path to write
     * @param inputs files it must not be
     * @return the prepared output, to {@link #replace} or {@link #close}
     * @throws IOException if the path is refused or the temporary file cannot be created; the message names the path
     */
    public static OutputFile prepare(String what, Path file, Path... inputs) throws IOException {
        Objects.requireNonNull(file, "file");
        String name = label(what, file);
        Path target = resolve(name, file.toAbsolutePath());
        if (Files.exists(target)) {
            for (Path in : inputs) {
                if (in == null || !Files.exists(in)) continue;
                if (Files.isSameFile(target, in)) {
                    throw new IOException(name + ": refusing to write: it is the same file as the input " + show(in)
                            + "; writing it would destroy that input (give another output path)");
                }
            }
        }
        PosixFileAttributes existing = null;
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(target)) {
            // As the shell's > would: a file its owner made read-only is not replaced (root may, as there).
            throw new IOException(name + ": refusing to write: " + (target.equals(file.toAbsolutePath()) ? "it" : show(target))
                    + " is read-only for this user (make it writable, or give another output path)");
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            try {
                existing = Files.readAttributes(target, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (UnsupportedOperationException e) {
                existing = null; // not a POSIX file system: nothing to keep beyond what the rename keeps
            }
        }
        Path temp = createTemp(name, target, existing != null);
        return new OutputFile(what, file, target, temp, existing);
    }

    /**
     * {@link #prepare(String, Path, Path...)} without a name for messages.
     *
     * @param file   the path to write
     * @param inputs files it must not be
     * @return the prepared output
     * @throws IOException if the path is refused or the temporary file cannot be created
     */
    public static OutputFile prepare(Path file, Path... inputs) throws IOException {
        return prepare(null, file, inputs);
    }

    /**
     * Also removes the temporary file if the JVM exits (Ctrl-C, SIGTERM) before {@link #replace} or
     * {@link #close}: for a command-line tool, where the file lives while a long computation runs. (A
     * long-running program should not: each call keeps a path in memory until the JVM exits.)
     *
     * @return this
     */
    public OutputFile deleteTemporaryOnExit() {
        temp.toFile().deleteOnExit();
        return this;
    }

    /**
     * The path as given.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * The regular file that {@link #replace} replaces: the path itself, or the file a symbolic link names.
     *
     * @return the regular file's path
     */
    public Path target() {
        return target;
    }

    /**
     * Writes {@code content} into the temporary file, flushes it to disk, gives it the permissions of the
     * file it replaces (if any), checks the target again and renames the temporary file over it. On any
     * failure the target is left as it was and the temporary file is removed. Once only.
     *
     * @param content writes the data
     * @throws IOException if writing, flushing or renaming fails, or the target is refused now; the message names the path
     * @throws IllegalStateException if already written or closed
     */
    public void replace(Content content) throws IOException {
        Objects.requireNonNull(content, "content");
        if (committed || closed) throw new IllegalStateException(label(what, path) + ": already written or closed");
        String name = label(what, path);
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(ch);
                ch.force(true);
            } catch (IOException e) {
                throw failure(name + ": cannot write (temporary file " + show(temp) + ")", e);
            }
            if (existing != null) keepAttributes(name);
            // The path may have changed while the data was computed (become a FIFO, a link elsewhere).
            Path now = resolve(name, path.toAbsolutePath());
            if (!now.equals(target)) {
                throw new IOException(name + ": refusing to write: it now names " + show(now) + ", not " + show(target) + " as when it was checked");
            }
            try {
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (IOException e) {
                throw failure(name + ": cannot rename the temporary file " + show(temp) + " over " + show(target), e);
            }
            committed = true;
            syncDirectory(target.getParent()); // the rename itself survives a crash only once the directory is on disk
        } finally {
            if (!committed) close();
        }
    }

    /** Flushes a directory's entries (the rename); where the file system cannot, nothing more is possible. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not supported here (some file systems refuse fsync on a directory): the data itself was forced
        }
    }

    /** Removes the temporary file unless {@link #replace} renamed it. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (committed) return;
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // the failure that led here matters more; a stray temporary file is named after the target
        }
    }

    private void keepAttributes(String name) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class);
        if (view == null) return;
        try {
            view.setPermissions(existing.permissions()); // chmod: the umask does not apply
        } catch (IOException e) {
            throw failure(name + ": cannot give the temporary file " + show(temp) + " the permissions of " + show(target), e);
        }
        try {
            // Only a privileged process may give a file away; elsewhere the new file is the writer's.
            if (!view.readAttributes().owner().equals(existing.owner())) view.setOwner(existing.owner());
            if (!view.readAttributes().group().equals(existing.group())) view.setGroup(existing.group());
        } catch (IOException | SecurityException e) {
            // not permitted: the file keeps the writer's owner and group, like any file the writer creates
        }
    }

    /**
     * Linux's {@code fs.protected_symlinks} rule, applied whether or not the kernel has it on: in a sticky,
     * world-writable directory (such as /tmp) a link is followed only when its owner is this user or the
     * directory's owner. Else anyone could plant a link there and have a privileged writer replace a file
     * of its choosing.
     */
    private static void refuseForeignLinkInStickyDirectory(String name, Path link) throws IOException {
        Path dir = link.getParent();
        if (dir == null || !dir.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        Object mode;
        try {
            mode = Files.getAttribute(dir, "unix:mode");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return; // no unix view: no sticky bit to read
        }
        int m = (Integer) mode;
        boolean sticky = (m & 01000) != 0, worldWritable = (m & 0002) != 0;
        if (!sticky || !worldWritable) return;
        java.nio.file.attribute.UserPrincipal linkOwner = Files.getOwner(link, LinkOption.NOFOLLOW_LINKS);
        java.nio.file.attribute.UserPrincipal dirOwner = Files.getOwner(dir);
        String me = System.getProperty("user.name");
        if (linkOwner.getName().equals(me) || linkOwner.equals(dirOwner)) return;
        throw new IOException(name + ": refusing to write: it is a symbolic link owned by " + linkOwner.getName() + " in the shared directory "
                + show(dir) + " (sticky and world-writable); following it could replace another user's file (give the real path)");
    }

    /**
     * The regular file to replace for {@code p} (absolute): {@code p} itself when it is missing or a
     * regular file, the file a symbolic link names when that is a regular file; anything else is refused.
     */
    private static Path resolve(String name, Path p) throws IOException {
        BasicFileAttributes a = attributes(p, LinkOption.NOFOLLOW_LINKS);
        Path target = p;
        if (a != null && a.isSymbolicLink()) {
            refuseForeignLinkInStickyDirectory(name, p);
            BasicFileAttributes t = attributes(p);
            if (t == null) {
                throw new IOException(name + ": refusing to write: it is a symbolic link to " + show(Files.readSymbolicLink(p))
                        + ", which does not exist (a link is only written through to an existing regular file)");
            }
            if (!t.isRegularFile()) {
                throw new IOException(name + ": refusing to write: it is a symbolic link to " + show(p.toRealPath()) + ", which is "
                        + kind(p.toRealPath(), t) + ", not a regular file");
            }
            target = p.toRealPath();
            a = t;
        }
        if (a != null && !a.isRegularFile()) {
            throw new IOException(name + ": refusing to write: it is " + kind(p, a) + ", not a regular file"
                    + (a.isDirectory() ? " (give a file name inside it)" : ""));
        }
        Path dir = target.getParent();
        if (dir == null) throw new IOException(name + ": refusing to write: it names no file");
        BasicFileAttributes d = attributes(dir);
        if (d == null) throw new IOException(name + ": cannot write: the directory " + show(dir) + " does not exist");
        if (!d.isDirectory()) throw new IOException(name + ": cannot write: " + show(dir) + " is not a directory");
        return target;
    }

    private static BasicFileAttributes attributes(Path p, LinkOption... options) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, options);
        } catch (NoSuchFileException e) {
            return null;
        } catch (FileSystemException e) {
            // ENOTDIR for a path through a regular file, EACCES for a directory we may not search
            if (e.getReason() != null && e.getReason().contains("Not a directory")) return null;
            throw failure(show(p) + ": cannot read its attributes", e);
        }
    }

    /** "a directory", "a FIFO (named pipe)", "a character device", ... */
    private static String kind(Path p, BasicFileAttributes a) {
        if (a.isDirectory()) return "a directory";
        if (a.isSymbolicLink()) return "a symbolic link";
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "a special file (device, FIFO or socket)";
        }
    }

    /**
     * A new empty file beside {@code target}. When it will replace an existing file it starts readable by
     * the owner only, and gets that file's permissions before the rename; a new file gets the default
     * permissions any new file gets.
     */
    /**
     * A file name cut so that the temporary file's name (22 characters longer) stays within the 255 bytes
     * a file name may have: at most 200 bytes of UTF-8, cut on a character boundary.
     */
    static String shortened(String fileName) {
        byte[] b = fileName.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length <= 200) return fileName;
        int n = 0, bytes = 0;
        while (n < fileName.length()) {
            int cp = fileName.codePointAt(n);
            int len = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes + len > 200) break;
            bytes += len;
            n += Character.charCount(cp);
        }
        return fileName.substring(0, n);
    }

    private static Path createTemp(String name, Path target, boolean replacing) throws IOException {
        Path dir = target.getParent();
        FileAttribute<?>[] attrs = {};
        if (replacing && dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
            attrs = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(ownerOnly)};
        }
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + shortened(target.getFileName().toString()) + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                Files.createFile(tmp, attrs);
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) throw failure(name + ": cannot create a temporary file in " + show(dir), e);
            } catch (AccessDeniedException e) {
                throw new IOException(name + ": cannot write: no permission to create files in " + show(dir), e);
            } catch (IOException e) {
                throw failure(name + ": cannot create a temporary file in " + show(dir), e);
            }
        }
    }

    /** {@code what path}, or just the path. */
    private static String label(String what, Path file) {
        return what == null ? show(file) : what + " " + show(file);
    }

    /** A path for a message: control characters escaped, nothing cut. */
    static String show(Path p) {
        return Text.escape(p.toString(), Integer.MAX_VALUE);
    }

    /** {@code context: reason}, where the reason is the OS's ("No space left on device"), without the path repeated. */
    static IOException failure(String context, IOException e) {
        return new IOException(context + ": " + Text.escape(reason(e), 500), e);
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            if (f.getReason() != null && !f.getReason().isBlank()) return f.getReason();
            if (e instanceof NoSuchFileException) return "no such file or directory";
            if (e instanceof AccessDeniedException) return "permission denied";
            if (e instanceof FileAlreadyExistsException) return "the file already exists";
            return e.getClass().getSimpleName();
        }
        return e.getMessage() != null && !e.getMessage().isBlank() ? e.getMessage() : e.getClass().getSimpleName();
    }
}
