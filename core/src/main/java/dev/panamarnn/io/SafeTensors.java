package dev.panamarnn.io;

import dev.panamarnn.Tensor;
import dev.panamarnn.Text;
import dev.panamarnn.nn.StateDict;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A safetensors file, memory-mapped read-only and validated whole when opened.
 *
 * <p>Layout: an 8-byte little-endian header length {@code N}, {@code N} bytes of UTF-8 JSON, then the data
 * buffer. The JSON maps each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}
 * (offsets relative to the data buffer) and may hold {@code "__metadata__"}, an object of strings.
 *
 * <p>{@link #open} checks every rule of the format before it returns: header
 * length, UTF-8, JSON grammar, no duplicate keys, known dtypes, shapes of rank ≤ {@value #MAX_RANK} with at
 * most 2^31-1 elements, byte counts that match shape × dtype, and tensors that tile the data buffer exactly.
 * Any byte sequence that breaks a rule gives a {@link SafeTensorsException}; nothing is allocated in
 * proportion to a length field before that field is checked against the file's size.
 *
 * <p>Accessors throw {@link IllegalArgumentException} for a name the file lacks (listing names it has) or a
 * dtype the call cannot convert, and {@link IllegalStateException} after {@link #close}. An open instance is
 * immutable and safe for concurrent reads from any number of threads. The file must not be truncated by
 * another process while mapped: the operating system then faults the reading thread.
 */
public final class SafeTensors implements AutoCloseable {
    /** The largest header accepted: 100 MiB. */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    /** The largest tensor rank accepted. */
    public static final int MAX_RANK = 8;

    /**
     * One tensor's header entry. {@code begin} and {@code end} are byte offsets relative to the start of
     * the data buffer; {@code end - begin == elementCount() × dtype.byteSize()}.
     *
     * @param name  the tensor's name
     * @param dtype its element type
     * @param shape its dimensions
     * @param begin its first byte in the data buffer
     * @param end   the byte after its last
     */
    public record Info(String name, DType dtype, int[] shape, long begin, long end) {
        /** An entry; {@code shape} is copied. */
        public Info {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
        }

        /**
         * The dimensions.
         *
         * @return a copy of them
         */
        @Override
        public int[] shape() {
            return shape.clone();
        }

        /**
         * The number of dimensions.
         *
         * @return the rank
         */
        public int rank() {
            return shape.length;
        }

        /**
         * Product of the dimensions; 1 for a scalar (rank 0).
         *
         * @return the element count
         */
        public long elementCount() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        /**
         * The bytes the tensor takes: {@code end - begin}.
         *
         * @return the size in bytes
         */
        public long byteSize() {
            return end - begin;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Info i && name.equals(i.name) && dtype == i.dtype && Arrays.equals(shape, i.shape)
                    && begin == i.begin && end == i.end;
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
        }
    }

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String file;
    private final Arena arena; // null when the bytes are not ours to free (parse over a heap segment)
    private final MemorySegment data;
    private final Map<String, String> metadata;
    private final Map<String, Info> tensors;
    private final List<String> names;
    private volatile boolean closed;

    private SafeTensors(String file, Arena arena, MemorySegment data, HeaderParser.Header header) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        this.metadata = header.metadata();
        Map<String, Info> byName = new LinkedHashMap<>();
        for (Info i : header.tensors()) byName.put(i.name(), i);
        this.tensors = Collections.unmodifiableMap(byName);
        this.names = List.copyOf(byName.keySet());
    }

    /**
     * Maps {@code path} read-only and validates the whole file.
     *
     * @param path the file
     * @return the open file, to close
     * @throws SafeTensorsException if the bytes are not a valid safetensors file; the message names the
     *     file, the tensor or field, and the expected and actual values
     * @throws IOException if the file cannot be opened or mapped; the message reads {@code <path>: cannot open
     *     safetensors file: <reason>} (e.g. {@code no such file}, {@code permission denied}, {@code is a
     *     directory}), and a missing file is still a {@link java.nio.file.NoSuchFileException}
     */
    public static SafeTensors open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        String file = path.toString();
        // Linux opens a directory for reading; only the mapping fails then, with "No such device".
        if (Files.isDirectory(path)) throw FileErrors.refused(path, "open safetensors file", "is a directory");
        Arena arena = Arena.ofShared();
        try {
            MemorySegment whole;
            try (FileChannel ch = channel(path)) {
                try {
                    whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                } catch (IOException e) { // the JDK's message lacks the path
                    throw FileErrors.wrap(path, "map safetensors file", e);
                }
            }
            return parse(file, whole, arena);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static FileChannel channel(Path path) throws IOException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) { // NoSuchFileException's message is the path alone
            throw FileErrors.wrap(path, "open safetensors file", e);
        }
    }

    /**
     * Validates a whole file's bytes already in memory; the result closes {@code owner} (may be null) in
     * {@link #close()}. On failure {@code owner} is left open. Package-private: the seam for fuzzing
     * without the file system.
     */
    static SafeTensors parse(String file, MemorySegment whole, Arena owner) throws SafeTensorsException {
        long size = whole.byteSize();
        if (size < 8) {
            throw new SafeTensorsException(file + ": file has " + size + " bytes; a safetensors file needs at least 8 (the header length)");
        }
        long n = whole.get(U64_LE, 0);
        if (n < 0 || n > MAX_HEADER_BYTES || n > size - 8) {
            throw new SafeTensorsException(file + ": header length " + Long.toUnsignedString(n) + " (u64 at byte 0) must be at most "
                    + Math.min(MAX_HEADER_BYTES, size - 8) + " (the 100 MiB limit and the " + size + "-byte file)");
        }
        byte[] json = whole.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        MemorySegment data = whole.asSlice(8 + n).asReadOnly();
        HeaderParser.Header header = HeaderParser.parse(file, json, data.byteSize());
        return new SafeTensors(file, owner, data, header);
    }

    /**
     * The {@code "__metadata__"} entries, in file order; empty when the file has none.
     *
     * @return an unmodifiable map
     */
    public Map<String, String> metadata() {
        checkOpen();
        return metadata;
    }

    /**
     * Tensor names, ordered by their data offsets.
     *
     * @return an unmodifiable list
     */
    public List<String> names() {
        checkOpen();
        return names;
    }

    /**
     * Whether the file holds a tensor of that name.
     *
     * @param name the name
     * @return whether it is there
     */
    public boolean contains(String name) {
        checkOpen();
        return tensors.containsKey(name);
    }

    /**
     * The header entry of tensor {@code name}.
     *
     * @param name the tensor's name
     * @return its entry
     * @throws IllegalArgumentException if there is no such tensor
     */
    public Info info(String name) {
        checkOpen();
        Info i = tensors.get(name);
        if (i == null) throw missing(name);
        return i;
    }

    /**
     * The tensor's bytes as a read-only slice of the mapping, little-endian and possibly unaligned (read F32
     * data with {@code JAVA_FLOAT_UNALIGNED.withOrder(LITTLE_ENDIAN)}). Zero-copy: the slice is valid
     * until {@link #close()}, after which any access to it throws {@link IllegalStateException}.
     *
     * @param name the tensor's name
     * @return its bytes
     * @throws IllegalArgumentException if there is no such tensor
     */
    public MemorySegment view(String name) {
        Info i = info(name);
        return data.asSlice(i.begin(), i.byteSize());
    }

    /**
     * Copies a floating-point tensor (F32, F16, BF16, F64) into a new contiguous float32 {@link Tensor} of the
     * same shape, allocated in {@code arena}. F64 is rounded to the nearest float.
     *
     * @param name  the tensor's name
     * @param arena the arena that owns the copy
     * @return the copy
     * @throws IllegalArgumentException if the tensor is missing or not floating-point
     */
    public Tensor toTensor(String name, Arena arena) {
        Objects.requireNonNull(arena, "arena");
        Info i = floatInfo(name);
        Tensor t = Tensor.allocate(arena, i.shape);
        Convert.toFloats(data, i, t.segment(), t.offset() * Float.BYTES);
        return t;
    }

    /**
     * Like {@link #toTensor} after checking that the tensor's shape is exactly {@code shape}.
     *
     * @param name  the tensor's name
     * @param arena the arena that owns the copy
     * @param shape the shape it must have
     * @return the copy
     * @throws IllegalArgumentException naming the tensor, the expected and the actual shape when they differ
     */
    public Tensor expect(String name, Arena arena, int... shape) {
        Objects.requireNonNull(shape, "shape");
        Info i = info(name);
        if (!Arrays.equals(i.shape, shape)) {
            throw new IllegalArgumentException(file + ": tensor " + Text.quote(name) + " has shape "
                    + Arrays.toString(i.shape) + ", expected " + Arrays.toString(shape));
        }
        return toTensor(name, arena);
    }

    /**
     * A floating-point tensor's elements as float32, row-major (see {@link #toTensor} for the conversions).
     *
     * @param name the tensor's name
     * @return the elements
     * @throws OutOfMemoryError before allocating, naming the tensor and the array's size, when a Java array
     *     cannot hold that many elements or the heap's maximum ({@code -Xmx}) is smaller than the array;
     *     {@link #toTensor} copies into native memory instead
     * @throws IllegalArgumentException if the tensor is missing or not floating-point
     */
    public float[] toFloatArray(String name) {
        Info i = floatInfo(name);
        float[] out = new float[heapArrayLength(i, "float", Float.BYTES)];
        Convert.toFloats(data, i, MemorySegment.ofArray(out), 0);
        return out;
    }

    /**
     * An integer tensor's elements widened to long, row-major: I64, I32, I16, I8 (signed), U8 (unsigned) and
     * BOOL (0 or 1).
     *
     * @param name the tensor's name
     * @return the elements
     * @throws IllegalArgumentException if the tensor is missing or floating-point
     * @throws OutOfMemoryError before allocating, naming the tensor, as {@link #toFloatArray}
     */
    public long[] toLongArray(String name) {
        Info i = info(name);
        if (i.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(file + ": tensor " + Text.quote(name) + " is " + i.dtype()
                    + "; toLongArray takes I64, I32, I16, I8, U8 or BOOL (use toFloatArray or toTensor)");
        }
        heapArrayLength(i, "long", Long.BYTES);
        return Convert.toLongs(data, i);
    }

    /**
     * A {@link StateDict} over every tensor of this file, valid until {@link #close()}. Integer tensors are
     * listed too, with their {@link StateDict#dtype}, so that a loader refuses one by name rather than
     * loading as if it were absent; {@link StateDict#floats} and {@link StateDict#copyTo} take
     * floating-point tensors only. {@link StateDict#copyTo} converts from the mapping straight into native
     * memory: a model loads without a heap copy of its weights.
     *
     * @return the view
     */
    public StateDict asStateDict() {
        checkOpen();
        Set<String> view = Collections.unmodifiableSet(tensors.keySet());
        return new StateDict() {
            @Override public Set<String> names() { checkOpen(); return view; }
            @Override public int[] shape(String name) { return info(name).shape(); }
            @Override public DType dtype(String name) { return info(name).dtype(); }
            @Override public float[] floats(String name) { return toFloatArray(name); }
            @Override public void copyTo(String name, MemorySegment dst, long dstOffset) { copyFloats(name, dst, dstOffset); }
        };
    }

    /** {@link StateDict#copyTo}: the tensor as float32 into {@code dst} from byte {@code dstOffset}. */
    private void copyFloats(String name, MemorySegment dst, long dstOffset) {
        Objects.requireNonNull(dst, "dst");
        Info i = floatInfo(name);
        long bytes = i.elementCount() * Float.BYTES;
        if (dstOffset < 0 || dst.byteSize() - dstOffset < bytes) {
            throw new IllegalArgumentException(file + ": tensor " + Text.quote(name) + " needs " + bytes + " bytes as float32, the destination has "
                    + Math.max(0, dst.byteSize() - Math.max(0, dstOffset)) + " from byte " + dstOffset);
        }
        Convert.toFloats(data, i, dst, dstOffset);
    }

    /** The most elements a Java array may have on common JVMs (HotSpot refuses a few below Integer.MAX_VALUE). */
    static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    /**
     * The length of a heap array for tensor {@code i}, after checking that one can exist: the JVM's own
     * failure would be an OutOfMemoryError naming nothing, after a full collection or two.
     */
    private int heapArrayLength(Info i, String type, int bytesPerElement) {
        long n = i.elementCount(), bytes = n * bytesPerElement, max = Runtime.getRuntime().maxMemory();
        String why = n > MAX_ARRAY_LENGTH ? "more elements than a Java array holds (" + MAX_ARRAY_LENGTH + ")"
                : max != Long.MAX_VALUE && bytes > max ? "more than the heap's maximum of " + max + " bytes (-Xmx)" : null;
        if (why != null) {
            throw new OutOfMemoryError(file + ": tensor " + Text.quote(i.name()) + " (" + i.dtype() + " " + Arrays.toString(i.shape) + ") would need a "
                    + type + "[" + n + "] of " + bytes + " bytes on the heap, " + why + "; toTensor copies it into native memory instead");
        }
        return (int) n;
    }

    /** Unmaps the file. Idempotent; tensors already copied out stay valid, {@link #view} slices do not. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (arena != null) arena.close();
    }

    @Override
    public String toString() {
        return "SafeTensors[" + file + ", " + tensors.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }

    private Info floatInfo(String name) {
        Info i = info(name);
        if (!i.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(file + ": tensor " + Text.quote(name) + " is " + i.dtype()
                    + "; float32 conversion takes F32, F16, BF16 or F64 (use toLongArray)");
        }
        return i;
    }

    private IllegalArgumentException missing(String name) {
        StringBuilder has = new StringBuilder();
        int shown = Math.min(10, names.size());
        for (int k = 0; k < shown; k++) has.append(k == 0 ? "" : ", ").append(Text.quote(names.get(k)));
        if (names.size() > shown) has.append(", … (").append(names.size() - shown).append(" more)");
        return new IllegalArgumentException(file + ": no tensor " + (name == null ? "null" : Text.quote(name))
                + "; the file has " + names.size() + (names.isEmpty() ? " tensors" : " tensors: " + has));
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(file + ": safetensors file is closed");
    }
}
