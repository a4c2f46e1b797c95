package dev.panamarnn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.panamarnn.app.ModelCases;
import dev.panamarnn.io.SafeTensors;
import dev.panamarnn.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --output} never destroys what is not ours: only a regular file is written (created, or replaced
 * atomically with its permissions kept; a link is written through to the regular file it names), a
 * device, FIFO, socket, directory or an input is refused, and all of it is checked before any work.
 */
class OutputSafetyTest {
    @TempDir
    Path dir;

    private LayerFiles layer;
    private Path garbage;

    @BeforeEach
    void files() throws Exception {
        layer = LayerFiles.rnnTanh(dir);
        garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, new byte[] {1, 2, 3});
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    private static void assertOneLineError(CliRun r, String... fragments) {
        assertEquals(1, r.code(), r.out() + r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("panama-rnn: error: "), r.err());
        for (String f : fragments) assertTrue(lines.get(0).contains(f), "'" + f + "' in: " + lines.get(0));
        assertFalse(r.out().contains("wrote"), r.out());
    }

    /**
     * {@code forward --output out} is refused with {@code fragments}, and before anything is loaded: with
     * unreadable weights the output error still comes first.
     */
    private void refusedBeforeWork(Path out, String... fragments) {
        assertOneLineError(CliRun.of(layer.forward(out)), fragments);
        String[] args = layer.forward(out);
        args[2] = garbage.toString();
        assertOneLineError(CliRun.of(args), fragments);
    }

    /** Nothing but the given names in {@code dir}: no temporary file left behind. */
    private void onlyFiles(String... names) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> want = Stream.concat(Stream.of(names), Stream.of("w.safetensors", "in.safetensors", "garbage.safetensors")).sorted().toList();
            assertEquals(want, s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aFifoIsRefusedAndStaysAFifo() throws Exception {
        Path fifo = dir.resolve("fifo.safetensors");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assumeTrue(p.waitFor() == 0, "mkfifo is available");
        refusedBeforeWork(fifo, "--output " + fifo, "refusing to write", "FIFO");
        assertEquals(0010000, mode(fifo) & 0170000, "still a FIFO");
        onlyFiles("fifo.safetensors");
    }

    @Test
    void aDirectoryIsRefused() throws Exception {
        Path d = Files.createDirectory(dir.resolve("out.safetensors"));
        refusedBeforeWork(d, "--output " + d, "it is a directory");
        assertTrue(Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS));
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(0, s.count());
        }
        onlyFiles("out.safetensors");
    }

    @Test
    void aLinkToADeviceIsRefusedAndTheDeviceAndLinkStay() throws Exception {
        Path dev = Path.of("/dev/null");
        assumeTrue(Files.exists(dev) && (mode(dev) & 0170000) == 0020000, "/dev/null is a character device");
        Path link = Files.createSymbolicLink(dir.resolve("null.safetensors"), dev);
        refusedBeforeWork(link, "--output " + link, "symbolic link to /dev/null", "character device");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals(dev, Files.readSymbolicLink(link));
        assertEquals(0020000, mode(dev) & 0170000, "/dev/null is still a character device");
        onlyFiles("null.safetensors");
    }

    @Test
    void aDanglingLinkIsRefused() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("dangling.safetensors"), dir.resolve("nowhere/x.safetensors"));
        refusedBeforeWork(link, "--output " + link, "symbolic link", "does not exist");
        assertTrue(Files.isSymbolicLink(link));
        assertFalse(Files.exists(dir.resolve("nowhere")));
    }

    @Test
    void aLinkToARegularFileIsWrittenThroughAndStaysALink() throws Exception {
        Path real = Files.createDirectory(dir.resolve("real")).resolve("out.safetensors");
        Files.writeString(real, "old");
        Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rw-r-----"));
        Path link = Files.createSymbolicLink(dir.resolve("link.safetensors"), real);
        CliRun r = CliRun.of(layer.forward(link));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals(real, Files.readSymbolicLink(link));
        try (SafeTensors st = SafeTensors.open(real)) {
            assertTrue(st.contains("output") && st.contains("h_n"), st.names().toString());
        }
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(real)));
        try (Stream<Path> s = Files.list(real.getParent())) {
            assertEquals(List.of("out.safetensors"), s.map(p -> p.getFileName().toString()).toList(), "no temporary file left");
        }
    }

    @Test
    void anInputIsNeverTheOutput() throws Exception {
        byte[] w = Files.readAllBytes(layer.weights()), x = Files.readAllBytes(layer.input());
        assertOneLineError(CliRun.of(layer.forward(layer.weights())), "same file as the input " + layer.weights());
        assertOneLineError(CliRun.of(layer.forward(layer.input())), "same file as the input " + layer.input());
        // Also through a symbolic link and a hard link.
        Path sym = Files.createSymbolicLink(dir.resolve("sym.safetensors"), layer.weights());
        assertOneLineError(CliRun.of(layer.forward(sym)), "same file as the input " + layer.weights());
        Path hard = Files.createLink(dir.resolve("hard.safetensors"), layer.input());
        assertOneLineError(CliRun.of(layer.forward(hard)), "same file as the input " + layer.input());
        assertArrayEquals(w, Files.readAllBytes(layer.weights()), "weights unchanged, byte for byte");
        assertArrayEquals(x, Files.readAllBytes(layer.input()), "input unchanged, byte for byte");
        assertTrue(Files.isSymbolicLink(sym));
        onlyFiles("sym.safetensors", "hard.safetensors");
    }

    @Test
    void classifyNeverOverwritesItsInputOrItsModel() throws Exception {
        // A copy of the example classifier: a bug here must not destroy the committed model.
        Path m = Files.createDirectory(dir.resolve("classifier"));
        for (String f : List.of("model.json", "weights.safetensors")) Files.copy(ModelCases.model("classifier").resolve(f), m.resolve(f));
        Path in = features();
        byte[] weights = Files.readAllBytes(m.resolve("weights.safetensors")), json = Files.readAllBytes(m.resolve("model.json")),
                input = Files.readAllBytes(in);
        for (Path out : List.of(m.resolve("weights.safetensors"), m.resolve("model.json"), in)) {
            CliRun r = CliRun.of("classify", "--model", m.toString(), "--input", in.toString(), "--output", out.toString());
            assertOneLineError(r, "--output " + out, "same file as the input");
        }
        assertArrayEquals(weights, Files.readAllBytes(m.resolve("weights.safetensors")));
        assertArrayEquals(json, Files.readAllBytes(m.resolve("model.json")));
        assertArrayEquals(input, Files.readAllBytes(in));
    }

    /** Two feature sequences the example classifier takes. */
    private Path features() throws IOException {
        int size = ModelCases.cases("classifier").shape("inputs")[2];
        Path in = dir.resolve("features.safetensors");
        new SafeTensorsWriter().add("inputs", new float[2 * 5 * size], 2, 5, size).write(in);
        return in;
    }

    @Test
    void permissionsOfTheReplacedFileAreKept() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Files.writeString(out, "old");
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-------"));
        CliRun r = CliRun.of(layer.forward(out));
        assertEquals(0, r.code(), r.err());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        try (SafeTensors st = SafeTensors.open(out)) {
            assertTrue(st.contains("output"), st.names().toString());
        }
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-rw-r--"));
        assertEquals(0, CliRun.of(layer.forward(out)).code());
        assertEquals("rw-rw-r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        onlyFiles("out.safetensors");
    }

    @Test
    void aMissingOutputDirectoryIsFoundBeforeTheModelIsLoaded() throws Exception {
        Path out = dir.resolve("missing/out.safetensors");
        Path in = features();
        // The model directory does not exist either: the output's error comes first, before any loading.
        for (String model : List.of(ModelCases.model("classifier").toString(), dir.resolve("no-model").toString())) {
            CliRun r = CliRun.of("classify", "--model", model, "--input", in.toString(), "--output", out.toString());
            assertOneLineError(r, "--output " + out, "the directory " + dir.resolve("missing") + " does not exist");
        }
        refusedBeforeWork(out, "--output " + out, "does not exist");
        // A regular file where the directory should be.
        Path notDir = dir.resolve("in.safetensors/out.safetensors");
        refusedBeforeWork(notDir, "--output " + notDir, layer.input() + " is not a directory");
    }

    @Test
    void anUnwritableOutputDirectoryIsFoundBeforeWork() throws Exception {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-x------"));
        try {
            Path target = ro;
            if (Files.isWritable(ro)) {
                // Root (CAP_DAC_OVERRIDE) may write anywhere the permissions forbid; sysfs refuses new files to anyone.
                target = Path.of("/sys");
                assumeTrue(Files.isDirectory(target), "/sys exists");
            }
            Path out = target.resolve("panama-rnn-test-out.safetensors");
            assumeTrue(!Files.exists(out));
            refusedBeforeWork(out, "--output " + out, "cannot", target.toString());
            assertFalse(Files.exists(out));
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void aNewOutputIsARegularFileAndNothingElseIsLeft() throws Exception {
        Path out = dir.resolve("new.safetensors");
        CliRun r = CliRun.of(layer.forward(out));
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS));
        onlyFiles("new.safetensors");
        assertFalse(Arrays.asList(r.err().split("\n")).stream().anyMatch(l -> l.startsWith("panama-rnn: error")), r.err());
    }
}
