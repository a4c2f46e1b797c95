package dev.panamarnn.cli;

import dev.panamarnn.Text;
import dev.panamarnn.app.Vocabulary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** What the commands read besides model directories: files named by options, and text (checked, bounded). */
final class Inputs {
    private Inputs() {}

    /** The most bytes read from a text file (--file): 16 MiB, far more than any batch of texts to translate. */
    static final int MAX_TEXT_BYTES = 16 << 20;

    /** The most tokens a command may ask to hold at once (texts or samples × --max): 2^24, 64 MiB of token ids. */
    static final long MAX_TOKENS = 1L << 24;

    /** A path for a message: control characters escaped, not cut (the user gave it). */
    static String show(Path p) {
        return Text.escape(String.valueOf(p), Integer.MAX_VALUE);
    }

    /** {@code p} must be a readable regular file (or something that reads like one, such as a pipe); else an error naming {@code option}, the path and why. */
    static void requireFile(String option, Path p) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new IOException(option + " " + show(p) + ": cannot read: no such file");
        } catch (FileSystemException e) {
            throw new IOException(option + " " + show(p) + ": cannot read: " + reason(e));
        }
        if (a.isDirectory()) throw new IOException(option + " " + show(p) + ": cannot read: it is a directory, not a file");
        if (!a.isRegularFile()) throw new IOException(option + " " + show(p) + ": cannot read: it is not a regular file");
        if (!Files.isReadable(p)) throw new IOException(option + " " + show(p) + ": cannot read: permission denied");
    }

    /**
     * The non-blank lines of {@code file} ({@code "-"}: standard input), stripped: at most
     * {@link #MAX_TEXT_BYTES} bytes of UTF-8. Every error names {@code option}, the path and what failed.
     */
    static List<String> readLines(String option, String file, InputStream stdin) throws IOException {
        boolean std = file.equals("-");
        String name = option + " " + (std ? "- (standard input)" : Text.escape(file, Integer.MAX_VALUE));
        byte[] bytes;
        if (std) {
            bytes = readBounded(name, stdin);
        } else {
            Path p = Path.of(file);
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class);
            } catch (NoSuchFileException e) {
                throw new IOException(name + ": cannot read: no such file");
            } catch (FileSystemException e) {
                throw new IOException(name + ": cannot read: " + reason(e));
            }
            if (a.isDirectory()) throw new IOException(name + ": cannot read: it is a directory, not a file");
            try (InputStream in = Files.newInputStream(p)) {
                bytes = readBounded(name, in);
            } catch (FileSystemException e) {
                throw new IOException(name + ": cannot read: " + reason(e));
            }
        }
        String text = decode(name, bytes);
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\r\n|\r|\n", -1)) if (!line.isBlank()) lines.add(line.strip());
        return lines;
    }

    private static byte[] readBounded(String name, InputStream in) throws IOException {
        byte[] b;
        try {
            b = in.readNBytes(MAX_TEXT_BYTES + 1);
        } catch (FileSystemException e) {
            throw new IOException(name + ": cannot read: " + reason(e));
        } catch (IOException e) {
            throw new IOException(name + ": cannot read: " + message(e), e);
        }
        if (b.length > MAX_TEXT_BYTES) {
            throw new IOException(name + ": more than " + MAX_TEXT_BYTES + " bytes (16 MiB); at most that much text is read (split the file)");
        }
        return b;
    }

    /** Strict UTF-8: an invalid byte is an error naming its offset and line, not a replacement character. */
    private static String decode(String name, byte[] bytes) throws IOException {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE, (long) bytes.length + 1));
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) r = d.flush(out);
        if (r.isError()) {
            int at = in.position(), line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new IOException(name + ": cannot read: not valid UTF-8 at byte " + at + " (line " + line + ")");
        }
        return out.flip().toString();
    }

    /**
     * The ids of {@code text}'s characters, checked here so that the error quotes the text escaped and cut
     * (a 100k-character prompt is not repeated) and names the character by its code point.
     */
    static int[] encode(Vocabulary v, String what, String text) {
        Set<Integer> known = new HashSet<>();
        StringBuilder chars = new StringBuilder();
        for (String t : v.tokens()) {
            if (t.codePointCount(0, t.length()) == 1) {
                known.add(t.codePointAt(0));
                chars.append(t);
            }
        }
        int i = 0;
        for (int pos = 0; pos < text.length(); i++) {
            int cp = text.codePointAt(pos);
            if (!known.contains(cp)) {
                throw new IllegalArgumentException(what + " " + Text.quote(text) + ": character " + Text.quote(new String(Character.toChars(cp)))
                        + String.format(" (U+%04X)", cp) + " at position " + i + " is not in the vocabulary " + Text.quote(chars.toString()));
            }
            pos += Character.charCount(cp);
        }
        return v.encode(text);
    }

    private static String reason(FileSystemException e) {
        return Errors.reason(e);
    }

    private static String message(IOException e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
    }
}
