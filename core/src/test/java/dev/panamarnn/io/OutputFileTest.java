package dev.panamarnn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SafeTensorsWriter#write(Path)} and {@link OutputFile}: only a regular file is written, replaced
 * atomically with its permissions kept; devices, FIFOs, directories, dangling links and inputs are refused
 * before anything is written; every error names the path and the operation.
 */
class OutputFileTest {
    @TempDir
    Path dir;

    private static SafeTensorsWriter small() {
        return new SafeTensorsWriter().add("x", new float[] {1, 2}, 2);
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    private List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static String refused(Path p, String... fragments) {
        IOException e = assertThrows(IOException.class, () -> small().write(p));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void aFifoIsRefusedAndStays() throws Exception {
        Path fifo = dir.resolve("fifo");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "mkfifo is available");
        refused(fifo, fifo + ": refusing to write: it is a FIFO (named pipe), not a regular file");
        assertEquals(0010000, mode(fifo) & 0170000);
        assertEquals(List.of("fifo"), names(dir));
    }

    @Test
    void aDirectoryIsRefused() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        refused(d, d + ": refusing to write: it is a directory");
        assertTrue(Files.isDirectory(d));
        assertEquals(List.of("d"), names(dir));
    }

    @Test
    void aLinkToADeviceIsRefused() throws Exception {
        Path dev = Path.of("/dev/null");
        assumeTrue(Files.exists(dev) && (mode(dev) & 0170000) == 0020000);
        Path link = Files.createSymbolicLink(dir.resolve("link"), dev);
        refused(link, link + ": refusing to write: it is a symbolic link to /dev/null, which is a character device");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(0020000, mode(dev) & 0170000);
        assertEquals(List.of("link"), names(dir));
    }

    @Test
    void aDanglingLinkIsRefused() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("missing"));
        refused(link, "symbolic link to " + dir.resolve("missing") + ", which does not exist");
        assertFalse(Files.exists(dir.resolve("missing"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aLinkToARegularFileIsWrittenThrough() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path real = sub.resolve("real.safetensors");
        Files.writeString(real, "old");
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        small().write(link);
        assertTrue(Files.isSymbolicLink(link));
        try (SafeTensors st = SafeTensors.open(real)) {
            assertEquals(List.of("x"), st.names());
        }
        assertEquals(List.of("real.safetensors"), names(sub));
    }

    @Test
    void permissionsAreKeptAndTheFileIsReplacedNotRewritten() throws Exception {
        Path p = dir.resolve("p.safetensors");
        Files.writeString(p, "old");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        Object before = Files.readAttributes(p, "unix:ino").get("ino");
        small().write(p);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        assertTrue(!before.equals(Files.readAttributes(p, "unix:ino").get("ino")), "a new file renamed over the old one");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-rw-r--"));
        small().write(p);
        assertEquals("rw-rw-r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        assertEquals(List.of("p.safetensors"), names(dir));
    }

    @Test
    void aReadOnlyFileIsRefusedUnlessThisUserMayWriteIt() throws Exception {
        Path p = dir.resolve("p.safetensors");
        Files.writeString(p, "old");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r--r-----"));
        if (Files.isWritable(p)) {
            small().write(p); // root: as with the shell's >, the permissions do not stop it; they are kept
        } else {
            refused(p, p + ": refusing to write: it is read-only for this user");
            assertEquals("old", Files.readString(p));
        }
        assertEquals("r--r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        assertEquals(List.of("p.safetensors"), names(dir));
    }

    @Test
    void anInputIsRefusedAlsoThroughLinks() throws Exception {
        Path in = dir.resolve("in.safetensors");
        small().write(in);
        byte[] bytes = Files.readAllBytes(in);
        Path sym = Files.createSymbolicLink(dir.resolve("sym"), in), hard = Files.createLink(dir.resolve("hard"), in);
        for (Path p : List.of(in, sym, hard)) {
            IOException e = assertThrows(IOException.class, () -> OutputFile.prepare("--output", p, dir.resolve("other"), in));
            assertTrue(e.getMessage().startsWith("--output " + p + ": refusing to write: it is the same file as the input " + in), e.getMessage());
        }
        assertArrayEquals(bytes, Files.readAllBytes(in));
        assertEquals(List.of("hard", "in.safetensors", "sym"), names(dir));
    }

    @Test
    void aMissingDirectoryIsNamed() {
        Path p = dir.resolve("no/such/dir/x.safetensors");
        refused(p, p + ": cannot write: the directory " + dir.resolve("no/such/dir") + " does not exist");
    }

    @Test
    void aFailedWriteNamesThePathLeavesTheOldFileAndNoTemporaryFile() throws Exception {
        Path p = dir.resolve("p.safetensors");
        Files.writeString(p, "old");
        try (OutputFile out = OutputFile.prepare("--output", p)) {
            IOException e = assertThrows(IOException.class, () -> out.replace(ch -> {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                throw new IOException("No space left on device");
            }));
            assertTrue(e.getMessage().startsWith("--output " + p + ": cannot write (temporary file " + dir + "/.p.safetensors."), e.getMessage());
            assertTrue(e.getMessage().endsWith(": No space left on device"), e.getMessage());
        }
        assertEquals("old", Files.readString(p));
        assertEquals(List.of("p.safetensors"), names(dir));
    }

    @Test
    void thePreparedTemporaryFileIsRemovedWhenNothingIsWritten() throws Exception {
        Path p = dir.resolve("p.safetensors");
        try (OutputFile out = OutputFile.prepare(p)) {
            assertEquals(1, names(dir).size(), "the temporary file exists while the work runs");
        }
        assertEquals(List.of(), names(dir));
    }

    @Test
    void aPathThatBecameAFifoMeanwhileIsRefusedAtTheRename() throws Exception {
        Path p = dir.resolve("p.safetensors");
        try (OutputFile out = OutputFile.prepare(p)) {
            assumeTrue(new ProcessBuilder("mkfifo", p.toString()).start().waitFor() == 0, "mkfifo is available");
            IOException e = assertThrows(IOException.class, () -> small().write(out));
            assertTrue(e.getMessage().contains("FIFO"), e.getMessage());
        }
        assertEquals(0010000, mode(p) & 0170000);
        assertEquals(List.of("p.safetensors"), names(dir));
    }

    @Test
    void tensorNamesInMessagesAreEscaped() {
        SafeTensorsWriter w = new SafeTensorsWriter().add("a\u001b[2J\r\nforged", new float[] {1}, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.add("a\u001b[2J\r\nforged", new float[] {1}, 1));
        assertEquals("tensor 'a\\u001b[2J\\r\\nforged' was already added", e.getMessage());
        String longName = "n".repeat(10_000);
        e = assertThrows(IllegalArgumentException.class, () -> w.add(longName, new float[] {1, 2}, 3));
        assertTrue(e.getMessage().length() < 400 && e.getMessage().contains("more)"), e.getMessage());
    }

    /** A long but valid file name (243 characters): its temporary file's name is cut, not refused as too long. */
    @Test
    void aLongFileNameIsWritten() throws IOException {
        Path p = dir.resolve("a".repeat(238) + ".safe");
        small().write(p);
        assertTrue(Files.isRegularFile(p));
        small().write(p); // and replaced
        assertEquals(List.of(p.getFileName().toString()), names(dir));
    }

    /**
     * In a sticky, world-writable directory (like /tmp), a link someone else planted is not followed: as
     * root it would replace any file it names (Linux's fs.protected_symlinks rule, which may be off).
     */
    @Test
    void aForeignLinkInASharedDirectoryIsNotFollowed() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give the link away");
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setAttribute(shared, "unix:mode", 01777);
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "precious");
        Path link = Files.createSymbolicLink(shared.resolve("out.safetensors"), victim);
        var nobody = shared.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.getFileAttributeView(link, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setOwner(nobody);
        refused(link, "symbolic link owned by nobody", "shared directory");
        assertEquals("precious", Files.readString(victim));
        // A link of this user's own is written through as anywhere else.
        Files.delete(link);
        Files.createSymbolicLink(link, victim);
        small().write(link);
        assertTrue(Files.isSymbolicLink(link));
        assertTrue(Files.size(victim) > 8);
    }
}
