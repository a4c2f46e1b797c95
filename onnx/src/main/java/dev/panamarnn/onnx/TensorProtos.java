package dev.panamarnn.onnx;

import dev.panamarnn.Text;
import dev.panamarnn.onnx.proto.Onnx.StringStringEntryProto;
import dev.panamarnn.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code TensorProto}s into {@link OnnxTensor}s: the element type, the dimensions (each checked, their
 * product at most 2^31-1 before anything is allocated), and the data from {@code raw_data}, the typed
 * fields or an external file next to the model, whose size must agree with the dimensions.
 */
final class TensorProtos {
    private TensorProtos() {}

    /** A file's content that cannot be run; the loader adds the file's name. */
    static final class Bad extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Bad(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The tensor {@code t} holds. {@code what} names it in messages ("initializer 'W'"); {@code dir} is the
     * model's directory for external data, or null when there is none (a tensor read on its own).
     */
    static OnnxTensor read(TensorProto t, String what, Path dir) {
        OnnxTensor.Type type = OnnxTensor.Type.of(t.getDataType());
        if (type == null) {
            throw new Bad(what + " has element type " + OnnxTensor.Type.nameOf(t.getDataType()) + "; supported: FLOAT, INT32, INT64, BOOL");
        }
        int[] shape = shape(t, what);
        int n = 1;
        for (int d : shape) n *= d; // checked by shape()
        int width = type == OnnxTensor.Type.FLOAT || type == OnnxTensor.Type.INT32 ? 4 : type == OnnxTensor.Type.INT64 ? 8 : 1;
        if ((long) n * width > Integer.MAX_VALUE - 8) {
            throw new Bad(what + " of shape " + java.util.Arrays.toString(shape) + " and type " + type + " is over 2 GiB; one tensor must be smaller");
        }
        ByteBuffer raw = null;
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            raw = external(t, what, dir, (long) n * width);
        } else if (!t.getRawData().isEmpty()) {
            if (t.getRawData().size() != (long) n * width) {
                throw new Bad(what + " of shape " + java.util.Arrays.toString(shape) + " and type " + type + " needs " + (long) n * width
                        + " bytes of raw_data, has " + t.getRawData().size());
            }
            raw = t.getRawData().asReadOnlyByteBuffer();
        }
        if (raw != null) {
            raw.order(ByteOrder.LITTLE_ENDIAN);
            if (type == OnnxTensor.Type.FLOAT) {
                float[] f = new float[n];
                raw.asFloatBuffer().get(f);
                return OnnxTensor.ofFloats(f, shape);
            }
            long[] l = new long[n];
            switch (type) {
                case INT64 -> raw.asLongBuffer().get(l);
                case INT32 -> {
                    java.nio.IntBuffer ib = raw.asIntBuffer();
                    for (int i = 0; i < n; i++) l[i] = ib.get(i);
                }
                default -> {
                    for (int i = 0; i < n; i++) l[i] = raw.get(raw.position() + i) != 0 ? 1 : 0;
                }
            }
            return OnnxTensor.ofIntegers(type, l, shape);
        }
        return switch (type) {
            case FLOAT -> {
                if (t.getFloatDataCount() != n) throw counted(what, shape, "float_data", n, t.getFloatDataCount());
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = t.getFloatData(i);
                yield OnnxTensor.ofFloats(f, shape);
            }
            case INT64 -> {
                if (t.getInt64DataCount() != n) throw counted(what, shape, "int64_data", n, t.getInt64DataCount());
                long[] l = new long[n];
                for (int i = 0; i < n; i++) l[i] = t.getInt64Data(i);
                yield OnnxTensor.ofIntegers(type, l, shape);
            }
            default -> {
                if (t.getInt32DataCount() != n) throw counted(what, shape, "int32_data", n, t.getInt32DataCount());
                long[] l = new long[n];
                for (int i = 0; i < n; i++) l[i] = type == OnnxTensor.Type.BOOL ? (t.getInt32Data(i) != 0 ? 1 : 0) : t.getInt32Data(i);
                yield OnnxTensor.ofIntegers(type, l, shape);
            }
        };
    }

    private static Bad counted(String what, int[] shape, String field, int n, int found) {
        return new Bad(what + " of shape " + java.util.Arrays.toString(shape) + " needs " + n + " elements in " + field + ", has " + found);
    }

    /** The dimensions, each in 0..2^31-1 and their product at most 2^31-1. */
    static int[] shape(TensorProto t, String what) {
        int[] shape = new int[t.getDimsCount()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = t.getDims(i);
            if (d < 0 || d > Integer.MAX_VALUE) throw new Bad(what + " has dimension " + i + " of size " + d);
            shape[i] = (int) d;
            n *= d;
            if (n > Integer.MAX_VALUE) throw new Bad(what + " has dimensions " + t.getDimsList() + ": more than 2^31-1 elements");
        }
        return shape;
    }

    /**
     * The bytes of external data: {@code location} relative to the model's directory and inside it (after
     * links), a regular file, {@code offset} and {@code length} within it, {@code length} what the shape needs.
     */
    private static ByteBuffer external(TensorProto t, String what, Path dir, long bytes) {
        if (dir == null) throw new Bad(what + " has external data, and there is no model directory to read it from");
        String location = null;
        long offset = 0, length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = number(e.getValue(), what, "offset");
                case "length" -> length = number(e.getValue(), what, "length");
                default -> { } // checksum and others: not needed to read
            }
        }
        if (location == null || location.isEmpty()) throw new Bad(what + " has external data without a location");
        Path rel;
        try {
            rel = Path.of(location);
        } catch (java.nio.file.InvalidPathException e) {
            throw new Bad(what + ": external data location " + Text.quote(location) + " is not a path");
        }
        if (rel.isAbsolute() || rel.normalize().startsWith("..") || location.indexOf('\0') >= 0) {
            throw new Bad(what + ": external data location " + Text.quote(location) + " is outside the model's directory");
        }
        Path file = dir.resolve(rel).normalize();
        try {
            Path realDir = dir.toRealPath(), real = file.toRealPath();
            if (!real.startsWith(realDir)) {
                throw new Bad(what + ": external data location " + Text.quote(location) + " leads outside the model's directory");
            }
            if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) throw new Bad(what + ": external data " + Text.quote(location) + " is not a regular file");
            long size = Files.size(real);
            if (offset > size) throw new Bad(what + ": external data offset " + offset + " lies past the end of " + Text.quote(location) + " (" + size + " bytes)");
            if (length < 0) length = size - offset;
            if (length != bytes) throw new Bad(what + " needs " + bytes + " bytes of external data, " + Text.quote(location) + " gives " + length);
            if (offset > size || length > size - offset) {
                throw new Bad(what + ": external data at offset " + offset + ", length " + length + " lies past the end of " + Text.quote(location)
                        + " (" + size + " bytes)");
            }
            ByteBuffer b = ByteBuffer.allocate((int) length);
            try (FileChannel ch = FileChannel.open(real, StandardOpenOption.READ)) {
                while (b.hasRemaining()) {
                    if (ch.read(b, offset + b.position()) < 0) throw new Bad(what + ": external data " + Text.quote(location) + " ended early");
                }
            }
            return b.flip();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new Bad(what + ": external data file " + Text.quote(location) + " does not exist");
        } catch (IOException e) {
            throw new Bad(what + ": cannot read external data " + Text.quote(location) + ": " + Text.oneLine(String.valueOf(e.getMessage()), 200)); // the path may hold a line break
        }
    }

    private static long number(String s, String what, String key) {
        try {
            long v = Long.parseLong(s);
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new Bad(what + ": external data " + key + " " + Text.quote(s) + " is not a whole number ≥ 0");
        }
    }
}
