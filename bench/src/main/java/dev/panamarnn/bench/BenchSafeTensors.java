package dev.panamarnn.bench;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * STAND-IN, bench module only: a minimal reader of float32 safetensors files, used until the project's
 * {@code dev.panamarnn.io.SafeTensors} lands in core; then replace every use by
 * {@code SafeTensors.open(path)} / {@code asStateDict()} and delete this class. It maps the file, reads
 * the JSON header, and copies a tensor's elements out on request; F32 only.
 */
final class BenchSafeTensors implements StateDict, AutoCloseable {
    private static final ValueLayout.OfFloat F32_LE = JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private record Entry(int[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    private BenchSafeTensors(Path path) throws IOException {
        this.path = path;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        long n = file.get(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || 8 + n > file.byteSize()) throw new IOException(path + ": not a safetensors file (header length " + n + ")");
        byte[] json = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
        long data = 8 + n;
        for (var it = header.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getKey().equals("__metadata__")) {
                f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode e = f.getValue();
            if (!e.path("dtype").asText().equals("F32")) {
                throw new IOException(path + ": tensor '" + f.getKey() + "' is " + e.path("dtype").asText() + "; this reader takes F32 only");
            }
            int[] shape = new int[e.path("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = e.path("shape").get(i).asInt();
            long b = data + e.path("data_offsets").get(0).asLong(), end = data + e.path("data_offsets").get(1).asLong();
            long count = Arrays.stream(shape).asLongStream().reduce(1, (x, y) -> x * y);
            if (end - b != count * Float.BYTES || end > file.byteSize()) {
                throw new IOException(path + ": tensor '" + f.getKey() + "' has shape " + Arrays.toString(shape) + " but " + (end - b) + " bytes");
            }
            entries.put(f.getKey(), new Entry(shape, b, end));
        }
    }

    static BenchSafeTensors open(Path path) {
        try {
            return new BenchSafeTensors(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + " (run scripts/bench layers, which generates bench/models/)", e);
        }
    }

    Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public int[] shape(String name) {
        return entry(name).shape.clone();
    }

    @Override
    public float[] floats(String name) {
        Entry e = entry(name);
        return file.asSlice(e.begin, e.end - e.begin).toArray(F32_LE);
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(path + " has no tensor '" + name + "' (has " + entries.keySet() + ")");
        return e;
    }

    @Override
    public void close() {
        arena.close();
    }
}
