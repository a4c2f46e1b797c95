package dev.panamarnn.app;

import dev.panamarnn.io.FileErrors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads small text files (model.json, a file of inputs) with errors that name the file and say what went
 * wrong where: {@code <file>: cannot read <what>: no such file}, {@code <file>: <what> is 20971520 bytes; at
 * most 16777216}, {@code <file>: not valid UTF-8 at byte 812 (line 14); <what> is UTF-8 text}. The JDK's
 * own readers say {@code Input length = 1} for the last, naming neither.
 */
public final class TextFiles {
    private TextFiles() {}

    /**
     * The lines of a UTF-8 text file of at most {@code maxBytes} (a leading byte-order mark skipped; lines end
     * at {@code \n}, {@code \r\n} or {@code \r}, as {@link String#lines()}).
     *
     * @param file     the file
     * @param what what the file is, for messages, e.g. {@code "input file"}
     * @param maxBytes the largest size accepted
     * @return the lines
     * @throws IOException naming the file: it cannot be read (a {@link java.nio.file.NoSuchFileException}
     *     when missing), is larger than {@code maxBytes}, or is not UTF-8 (with the byte and line)
     */
    public static List<String> readLines(Path file, String what, long maxBytes) throws IOException {
        return utf8(file, readBytes(file, what, maxBytes), "; " + what + " is UTF-8 text").lines().toList();
    }

    /** The file's bytes, at most {@code maxBytes}, with errors naming the file and the operation. */
    static byte[] readBytes(Path file, String what, long maxBytes) throws IOException {
        if (Files.isDirectory(file)) throw FileErrors.refused(file, "read " + what, "is a directory");
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw FileErrors.wrap(file, "read " + what, e);
        }
        if (size > maxBytes) throw new IOException(file + ": " + what + " is " + size + " bytes; at most " + maxBytes + " expected");
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1)); // the file may have grown since
        } catch (IOException e) {
            throw FileErrors.wrap(file, "read " + what, e);
        }
        if (bytes.length > maxBytes) throw new IOException(file + ": " + what + " is more than " + maxBytes + " bytes");
        return bytes;
    }

    /**
     * The text of UTF-8 {@code bytes}, a leading byte-order mark skipped; else an IOException
     * {@code <file>: not valid UTF-8 at byte N (line L)<hint>}.
     */
    static String utf8(Path file, byte[] bytes, String hint) throws IOException {
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf ? 3 : 0;
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
        try {
            return dec.decode(in).toString();
        } catch (CharacterCodingException e) {
            int at = in.position(), line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new IOException(file + ": not valid UTF-8 at byte " + at + " (line " + line + ")" + hint);
        }
    }
}
