package dev.panamarnn.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Builds a safetensors file: tensors laid out in the order they are added, then {@link #write} replaces
 * the target atomically (a temporary file in the same directory, flushed, then moved over it), so a
 * failed write leaves the previous file, or none, never half a file. Only a regular file is written, with
 * the permissions of the file it replaces kept; see {@link OutputFile} for the rules.
 *
 * <p>Each {@code add} copies its data, so the source may change or its arena close afterwards. The header
 * is padded with spaces to a multiple of 8 bytes, so the data buffer starts 8-byte aligned in the file.
 * Not thread-safe.
 */
public final class SafeTensorsWriter {
    private record Entry(String name, DType dtype, int[] shape, Object data) {
        long bytes() {
            return switch (data) {
                case float[] f -> (long) f.length * Float.BYTES;
                case long[] l -> (long) l.length * Long.BYTES;
                case int[] i -> (long) i.length * Integer.BYTES;
                default -> throw new AssertionError(data);
            };
        }
    }

    private static final JsonFactory JSON = new JsonFactory();

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    /** An empty file: no metadata, no tensors. */
    public SafeTensorsWriter() {}

    /**
     * Adds {@code key → value} to {@code "__metadata__"} (replacing an earlier value for the key).
     *
     * @param key   the key
     * @param value the value
     * @return this
     */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "metadata key"), Objects.requireNonNull(value, () -> "metadata value for " + Text.quote(key)));
        return this;
    }

    /**
     * Adds every entry of {@code map} to {@code "__metadata__"}.
     *
     * @param map the entries
     * @return this
     */
    public SafeTensorsWriter metadata(Map<String, String> map) {
        map.forEach(this::metadata);
        return this;
    }

    /**
     * Adds an F32 tensor with the tensor's shape; rows are written contiguously whatever its leading dimension.
     *
     * @param name   the tensor's name, unique in the file
     * @param tensor the tensor, copied now
     * @return this
     * @throws IllegalArgumentException if the name is taken or {@code "__metadata__"}, or the rank is above {@link SafeTensors#MAX_RANK}
     */
    public SafeTensorsWriter add(String name, Tensor tensor) {
        Objects.requireNonNull(tensor, "tensor");
        tensor.checkAlive();
        return add(name, DType.F32, tensor.shape(), tensor.toArray(), tensor.size());
    }

    /**
     * Adds an F32 tensor; {@code data} is row-major with as many elements as {@code shape} says.
     *
     * @param name  the tensor's name, unique in the file
     * @param data  the elements, copied now
     * @param shape the dimensions
     * @return this
     * @throws IllegalArgumentException if the name is taken or reserved, or the shape does not hold {@code data.length} elements
     */
    public SafeTensorsWriter add(String name, float[] data, int... shape) {
        return add(name, DType.F32, shape, data.clone(), data.length);
    }

    /**
     * Adds an I64 tensor; {@code data} is row-major with as many elements as {@code shape} says.
     *
     * @param name  the tensor's name, unique in the file
     * @param data  the elements, copied now
     * @param shape the dimensions
     * @return this
     * @throws IllegalArgumentException if the name is taken or reserved, or the shape does not hold {@code data.length} elements
     */
    public SafeTensorsWriter add(String name, long[] data, int... shape) {
        return add(name, DType.I64, shape, data.clone(), data.length);
    }

    /**
     * Adds an I32 tensor; {@code data} is row-major with as many elements as {@code shape} says.
     *
     * @param name  the tensor's name, unique in the file
     * @param data  the elements, copied now
     * @param shape the dimensions
     * @return this
     * @throws IllegalArgumentException if the name is taken or reserved, or the shape does not hold {@code data.length} elements
     */
    public SafeTensorsWriter add(String name, int[] data, int... shape) {
        return add(name, DType.I32, shape, data.clone(), data.length);
    }

    private SafeTensorsWriter add(String name, DType dtype, int[] shape, Object data, long length) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
        String shown = "tensor " + Text.quote(name);
        if (names.contains(name)) throw new IllegalArgumentException(shown + " was already added");
        if (shape.length > SafeTensors.MAX_RANK) {
            throw new IllegalArgumentException(shown + " has rank " + shape.length + ", maximum is " + SafeTensors.MAX_RANK);
        }
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException(shown + " shape " + Arrays.toString(shape) + " has a negative dimension");
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(shown + " shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        if (n != length) {
            throw new IllegalArgumentException(shown + " shape " + Arrays.toString(shape) + " has " + n
                    + " elements, data has " + length);
        }
        names.add(name);
        entries.add(new Entry(name, dtype, shape.clone(), data));
        return this;
    }

    /**
     * Writes the file by the rules of {@link OutputFile}: a missing file is created, an existing regular
     * file is replaced atomically with its permissions kept, a symbolic link is written through to the
     * regular file it names; a device, FIFO, socket, directory or dangling link is refused before
     * anything is written. A failed write leaves the previous file, or none, never half a file.
     *
     * @param file the file to write
     * @throws IOException if the path is refused or writing fails; the message names the path
     */
    public void write(Path file) throws IOException {
        try (OutputFile out = OutputFile.prepare(file)) {
            write(out);
        }
    }

    /**
     * Writes the file into {@code out}, prepared (and so checked) by the caller, for example before a long
     * computation: {@code OutputFile.prepare("--output", path, inputs...)}.
     *
     * @param out the prepared output
     * @throws IOException if writing fails; the message names the path
     */
    public void write(OutputFile out) throws IOException {
        byte[] header = header();
        if (header.length > SafeTensors.MAX_HEADER_BYTES) { // a file SafeTensors.open would refuse
            throw new IllegalArgumentException("safetensors header of " + header.length + " bytes (" + entries.size() + " tensors and the metadata) is over the "
                    + SafeTensors.MAX_HEADER_BYTES + " bytes a reader accepts: write fewer tensors or less metadata per file");
        }
        out.replace(ch -> {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(header.length);
            drain(ch, buf);
            ByteBuffer h = ByteBuffer.wrap(header);
            while (h.hasRemaining()) ch.write(h);
            for (Entry e : entries) writeData(ch, buf, e.data());
        });
    }

    /** The JSON header, space-padded to a multiple of 8 bytes. */
    private byte[] header() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (var m : metadata.entrySet()) g.writeStringField(m.getKey(), m.getValue());
                g.writeEndObject();
            }
            long offset = 0;
            for (Entry e : entries) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype().name());
                g.writeFieldName("shape");
                g.writeArray(e.shape(), 0, e.shape().length);
                g.writeFieldName("data_offsets");
                g.writeArray(new long[] {offset, offset + e.bytes()}, 0, 2);
                g.writeEndObject();
                offset += e.bytes();
            }
            g.writeEndObject();
        }
        while (out.size() % 8 != 0) out.write(' ');
        return out.toByteArray();
    }

    private static void writeData(FileChannel ch, ByteBuffer buf, Object data) throws IOException {
        switch (data) {
            case float[] f -> {
                for (float v : f) {
                    if (buf.remaining() < Float.BYTES) drain(ch, buf);
                    buf.putFloat(v);
                }
            }
            case long[] l -> {
                for (long v : l) {
                    if (buf.remaining() < Long.BYTES) drain(ch, buf);
                    buf.putLong(v);
                }
            }
            case int[] a -> {
                for (int v : a) {
                    if (buf.remaining() < Integer.BYTES) drain(ch, buf);
                    buf.putInt(v);
                }
            }
            default -> throw new AssertionError(data);
        }
        drain(ch, buf);
    }

    private static void drain(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }
}
