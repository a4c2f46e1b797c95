package dev.panamarnn.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.panamarnn.Text;
import dev.panamarnn.io.SafeTensors.Info;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors JSON header against the size of the data buffer that follows it.
 *
 * <p>The header is read with Jackson's streaming parser against the format's grammar, so nothing is
 * built that the grammar does not allow: memory stays proportional to the header, nesting stays at three
 * levels, and a shape longer than {@link SafeTensors#MAX_RANK} is rejected at its ninth dimension.
 * Every failure is a {@link SafeTensorsException} whose message starts with the file's name.
 */
final class HeaderParser {
    /** The parsed header: metadata in file order, tensors sorted by their data offsets. */
    record Header(Map<String, String> metadata, List<Info> tensors) {}

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxDocumentLength(SafeTensors.MAX_HEADER_BYTES)
                    .maxNestingDepth(8)
                    .maxNumberLength(32)
                    .maxNameLength((int) SafeTensors.MAX_HEADER_BYTES)
                    .maxStringLength((int) SafeTensors.MAX_HEADER_BYTES)
                    .build())
            .build();

    private static final String METADATA = "__metadata__";

    private final String file;
    private final JsonParser p;

    private HeaderParser(String file, JsonParser p) {
        this.file = file;
        this.p = p;
    }

    /** Validates {@code header} (the N bytes after the length prefix) for a data buffer of {@code bufferSize} bytes. */
    static Header parse(String file, byte[] header, long bufferSize) throws SafeTensorsException {
        checkUtf8(file, header);
        if (header.length == 0 || header[0] != '{') {
            throw new SafeTensorsException(file + ": header must be a JSON object starting with '{', found "
                    + (header.length == 0 ? "an empty header" : "byte 0x" + hex(header[0]) + printable(header[0])));
        }
        Header h;
        try (JsonParser p = JSON.createParser(header)) {
            h = new HeaderParser(file, p).read();
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at byte " + (at.getByteOffset() >= 0 ? at.getByteOffset() : at.getCharOffset());
            // Jackson's message may quote the header's bytes.
            throw new SafeTensorsException(file + ": header is not valid JSON" + where + ": " + Text.escape(e.getOriginalMessage(), 4 * Text.MAX_SHOWN), e);
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafeTensorsException(file + ": header could not be read: " + Text.escape(e.getMessage(), 4 * Text.MAX_SHOWN), e);
        }
        // Jackson accepts any JSON whitespace after the root object; the format pads with spaces only.
        int last = header.length - 1;
        while (header[last] == ' ') last--;
        if (header[last] != '}') {
            throw new SafeTensorsException(file + ": header has byte 0x" + hex(header[last]) + " at " + last
                    + " after the JSON object; only spaces (0x20) may pad the header");
        }
        checkLayout(file, h.tensors(), bufferSize);
        return h;
    }

    private Header read() throws IOException {
        JsonToken t = next();
        if (t != JsonToken.START_OBJECT) throw bad("header must be a JSON object, found " + describe(t));
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Info> tensors = new ArrayList<>();
        while ((t = next()) == JsonToken.FIELD_NAME) {
            String key = name();
            if (key.equals(METADATA)) {
                readMetadata(metadata);
            } else {
                tensors.add(readTensor(key));
            }
        }
        if (next() != null) throw bad("header has content after the JSON object");
        // Stable: tensors at one offset (zero-size ones) keep header order.
        tensors.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
        return new Header(Collections.unmodifiableMap(metadata), List.copyOf(tensors));
    }

    private void readMetadata(Map<String, String> into) throws IOException {
        JsonToken t = next();
        if (t != JsonToken.START_OBJECT) throw bad("\"" + METADATA + "\" must be an object of strings, found " + describe(t));
        while ((t = next()) == JsonToken.FIELD_NAME) {
            String key = name();
            JsonToken v = next();
            if (v != JsonToken.VALUE_STRING) {
                throw bad("\"" + METADATA + "\" value for key " + quote(key) + " must be a string, found " + describe(v));
            }
            into.put(key, text());
        }
    }

    private Info readTensor(String name) throws IOException {
        String tensor = "tensor " + quote(name);
        JsonToken t = next();
        if (t != JsonToken.START_OBJECT) {
            throw bad(tensor + ": expected an object with dtype, shape and data_offsets, found " + describe(t));
        }
        DType dtype = null;
        int[] shape = null;
        long[] offsets = null;
        while ((t = next()) == JsonToken.FIELD_NAME) {
            String key = name();
            switch (key) {
                case "dtype" -> dtype = readDtype(tensor);
                case "shape" -> shape = readShape(tensor);
                case "data_offsets" -> offsets = readOffsets(tensor);
                default -> throw bad(tensor + ": unexpected key " + quote(key) + "; expected exactly dtype, shape, data_offsets");
            }
        }
        if (dtype == null) throw bad(tensor + ": missing \"dtype\"");
        if (shape == null) throw bad(tensor + ": missing \"shape\"");
        if (offsets == null) throw bad(tensor + ": missing \"data_offsets\"");
        long elements = 1;
        for (int d : shape) {
            elements *= d; // both factors <= 2^31 - 1 here, so the product fits in a long
            if (elements > Integer.MAX_VALUE) {
                throw bad(tensor + ": shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
            }
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw bad(tensor + ": data_offsets begin " + begin + " is greater than end " + end);
        long bytes = elements * dtype.byteSize();
        if (end - begin != bytes) {
            throw bad(tensor + ": " + dtype + " shape " + Arrays.toString(shape) + " needs " + elements + " × "
                    + dtype.byteSize() + " = " + bytes + " bytes, data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new Info(name, dtype, shape, begin, end);
    }

    private DType readDtype(String tensor) throws IOException {
        JsonToken t = next();
        if (t != JsonToken.VALUE_STRING) throw bad(tensor + ": \"dtype\" must be a string, found " + describe(t));
        String s = text();
        DType d = DType.byName(s);
        if (d == null) {
            throw bad(tensor + ": unsupported dtype " + quote(s) + "; expected one of " + Arrays.toString(DType.values()));
        }
        return d;
    }

    private int[] readShape(String tensor) throws IOException {
        JsonToken t = next();
        if (t != JsonToken.START_ARRAY) throw bad(tensor + ": \"shape\" must be an array of integers, found " + describe(t));
        int[] dims = new int[SafeTensors.MAX_RANK];
        int rank = 0;
        while ((t = next()) != JsonToken.END_ARRAY) {
            if (rank == SafeTensors.MAX_RANK) {
                throw bad(tensor + ": shape has rank greater than " + SafeTensors.MAX_RANK + ", the maximum");
            }
            long d = integer(tensor, "shape", t);
            if (d > Integer.MAX_VALUE) throw bad(tensor + ": shape dimension " + d + " exceeds 2^31-1");
            dims[rank++] = (int) d;
        }
        return Arrays.copyOf(dims, rank);
    }

    private long[] readOffsets(String tensor) throws IOException {
        JsonToken t = next();
        if (t != JsonToken.START_ARRAY) {
            throw bad(tensor + ": \"data_offsets\" must be an array [begin, end], found " + describe(t));
        }
        long[] o = new long[2];
        int n = 0;
        while ((t = next()) != JsonToken.END_ARRAY) {
            if (n == 2) throw bad(tensor + ": \"data_offsets\" must hold exactly 2 integers, found more");
            o[n++] = integer(tensor, "data_offsets", t);
        }
        if (n != 2) throw bad(tensor + ": \"data_offsets\" must hold exactly 2 integers, found " + n);
        return o;
    }

    /** A non-negative integer that fits in a long, or a message naming the field and what was found. */
    private long integer(String tensor, String field, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw bad(tensor + ": \"" + field + "\" must hold non-negative integers, found " + describe(t));
        }
        if (numberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw bad(tensor + ": \"" + field + "\" value " + text() + " is too large");
        }
        long v = longValue();
        if (v < 0) throw bad(tensor + ": \"" + field + "\" value " + v + " is negative");
        return v;
    }

    /** Tensors sorted by offset must tile the data buffer exactly: no gap, no overlap, nothing left over. */
    private static void checkLayout(String file, List<Info> sorted, long bufferSize) throws SafeTensorsException {
        long expected = 0;
        Info prev = null;
        for (Info e : sorted) {
            if (e.end() > bufferSize) {
                throw new SafeTensorsException(file + ": tensor " + quote(e.name()) + ": data_offsets end " + e.end()
                        + " is past the end of the data buffer (" + bufferSize + " bytes)");
            }
            if (e.begin() != expected) {
                String what = e.begin() > expected ? "a gap of " + (e.begin() - expected) + " bytes" : "an overlap";
                String before = prev == null ? "the start of the data buffer (offset 0)"
                        : "tensor " + quote(prev.name()) + " [" + prev.begin() + ", " + prev.end() + ")";
                throw new SafeTensorsException(file + ": tensor " + quote(e.name()) + " [" + e.begin() + ", " + e.end()
                        + ") must begin at offset " + expected + ", right after " + before + "; found " + what);
            }
            expected = e.end();
            prev = e;
        }
        if (expected != bufferSize) {
            throw new SafeTensorsException(file + ": data buffer has " + bufferSize + " bytes but tensors end at offset "
                    + expected + ": " + (bufferSize - expected) + " leftover bytes");
        }
    }

    private static void checkUtf8(String file, byte[] header) throws SafeTensorsException {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer out = CharBuffer.allocate(4096); // validate in chunks: never a second copy of the header
        while (true) {
            CoderResult r = dec.decode(in, out, true);
            if (r.isError()) {
                throw new SafeTensorsException(file + ": header is not valid UTF-8 at byte " + in.position() + " of " + header.length);
            }
            out.clear();
            if (r.isUnderflow()) return;
        }
    }

    // Jackson calls go through these so that an unchecked failure inside the parser, should one exist for
    // some input, still surfaces as the documented checked exception.

    private JsonToken next() throws IOException {
        try {
            return p.nextToken();
        } catch (RuntimeException e) {
            throw parserFailure(e);
        }
    }

    private String name() throws IOException {
        try {
            return p.currentName();
        } catch (RuntimeException e) {
            throw parserFailure(e);
        }
    }

    private String text() throws IOException {
        try {
            return p.getText();
        } catch (RuntimeException e) {
            throw parserFailure(e);
        }
    }

    private JsonParser.NumberType numberType() throws IOException {
        try {
            return p.getNumberType();
        } catch (RuntimeException e) {
            throw parserFailure(e);
        }
    }

    private long longValue() throws IOException {
        try {
            return p.getLongValue();
        } catch (RuntimeException e) {
            throw parserFailure(e);
        }
    }

    private SafeTensorsException parserFailure(RuntimeException e) {
        return new SafeTensorsException(file + ": header JSON could not be parsed: " + Text.escape(e.toString(), 4 * Text.MAX_SHOWN), e);
    }

    private SafeTensorsException bad(String message) {
        return new SafeTensorsException(file + ": " + message);
    }

    private static String describe(JsonToken t) {
        if (t == null) return "end of header";
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case END_OBJECT, END_ARRAY -> "the end of the enclosing value";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a non-integer number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /**
     * A name as it appears in messages ({@link Text#quote}): quoted, control characters escaped so that a
     * hostile header cannot forge lines, and cut so that it cannot flood a log.
     */
    static String quote(String s) {
        return Text.quote(s);
    }

    private static String printable(byte b) {
        return b >= 0x21 && b < 0x7f ? " ('" + (char) b + "')" : "";
    }

    private static String hex(byte b) {
        return String.format("%02x", b & 0xff);
    }
}
