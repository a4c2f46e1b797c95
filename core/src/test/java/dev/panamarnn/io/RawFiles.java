package dev.panamarnn.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hand-built safetensors bytes for tests: any header length, any JSON, any data. */
final class RawFiles {
    private RawFiles() {}

    /** Length prefix (the JSON's byte count) + JSON + data. */
    static byte[] file(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        return concat(le64(h.length), h, data);
    }

    /** Length prefix {@code n} (whatever the rest holds) + rest. */
    static byte[] withLength(long n, byte[] rest) {
        return concat(le64(n), rest);
    }

    static byte[] le64(long n) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    static byte[] le16(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) b.putShort((short) v);
        return b.array();
    }

    static byte[] le64f(double... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) b.putDouble(v);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** One tensor entry as JSON: {@code "name":{"dtype":..,"shape":..,"data_offsets":[b,e]}}. */
    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    static Path write(Path dir, String fileName, byte[] bytes) throws IOException {
        Path p = dir.resolve(fileName);
        Files.write(p, bytes);
        return p;
    }
}
