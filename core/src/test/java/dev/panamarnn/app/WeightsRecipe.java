package dev.panamarnn.app;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.panamarnn.nn.Mode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The input language of {@link WeightsFuzzTest}: a text that describes a safetensors file by its tensors'
 * names, dtypes and shapes, read leniently (a line it cannot use is skipped), so that every input
 * describes some well-formed file. Lines:
 * <pre>
 * # comment
 * mode gru               the mode hint for RecurrentLayer.load (lstm, gru, rnn_tanh, rnn_relu)
 * prefix rnn.            the layer's name prefix (default none)
 * batch_first
 * model classifier       also load that application model (classifier, lm, seq2seq; see WeightsFuzzTest.CONFIGS)
 * rnn.weight_ih_l0 F32 12,2     a tensor: name, dtype, dimensions (comma-separated; "-" for a scalar)
 * </pre>
 * Tensors are capped at 2^16 elements each and 2^18 in all, and at 64 per file: the loaders' memory must
 * stay proportional to the file, which this keeps small.
 */
record WeightsRecipe(Mode mode, String prefix, boolean batchFirst, String model, List<Tensor> tensors) {
    record Tensor(String name, String dtype, int[] shape, long elements) {}

    private static final int MAX_ELEMENTS = 1 << 16, MAX_TOTAL = 1 << 18, MAX_TENSORS = 64;
    private static final Set<String> DTYPES = Set.of("F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL");

    static WeightsRecipe parse(String text) {
        Mode mode = null;
        String prefix = "", model = null;
        boolean batchFirst = false;
        List<Tensor> tensors = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        long total = 0;
        for (String line : text.split("\n")) {
            String[] w = line.trim().split("[ \t]+");
            if (w[0].isEmpty() || w[0].startsWith("#")) continue;
            switch (w[0]) {
                case "mode" -> mode = w.length > 1 ? modeOrNull(w[1]) : null;
                case "prefix" -> prefix = w.length > 1 ? w[1] : "";
                case "batch_first" -> batchFirst = true;
                case "model" -> model = w.length > 1 && WeightsFuzzTest.CONFIGS.containsKey(w[1]) ? w[1] : model;
                default -> {
                    if (w.length != 3 || !DTYPES.contains(w[1]) || tensors.size() == MAX_TENSORS || names.contains(w[0])
                            || w[0].equals("__metadata__")) { // the format's reserved key, not a tensor name
                        continue;
                    }
                    int[] shape = shape(w[2]);
                    if (shape == null) continue;
                    long n = elements(shape);
                    if (n < 0 || n > MAX_ELEMENTS || total + n > MAX_TOTAL) continue;
                    total += n;
                    names.add(w[0]);
                    tensors.add(new Tensor(w[0], w[1], shape, n));
                }
            }
        }
        return new WeightsRecipe(mode, prefix, batchFirst, model, List.copyOf(tensors));
    }

    boolean hasPrefix(String p) {
        for (Tensor t : tensors) {
            if (t.name.startsWith(p)) return true;
        }
        return false;
    }

    /** The file: length prefix, header JSON (names escaped), data in recipe order with small deterministic values. */
    byte[] safetensors() {
        StringBuilder json = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Tensor t : tensors) {
            long begin = data.size();
            fill(data, t);
            if (json.length() > 1) json.append(',');
            json.append('"').append(JsonStringEncoder.getInstance().quoteAsString(t.name)).append("\":{\"dtype\":\"").append(t.dtype)
                    .append("\",\"shape\":[");
            for (int k = 0; k < t.shape.length; k++) json.append(k == 0 ? "" : ",").append(t.shape[k]);
            json.append("],\"data_offsets\":[").append(begin).append(',').append(data.size()).append("]}");
        }
        byte[] header = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(data.toByteArray());
        return out.array();
    }

    private static void fill(ByteArrayOutputStream data, Tensor t) {
        int size = switch (t.dtype) {
            case "F32", "I32" -> 4;
            case "F16", "BF16", "I16" -> 2;
            case "F64", "I64" -> 8;
            default -> 1;
        };
        ByteBuffer b = ByteBuffer.allocate((int) t.elements * size).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < t.elements; k++) {
            float v = 0.1f * (k % 13 - 6);
            switch (t.dtype) {
                case "F32" -> b.putFloat(v);
                case "F16" -> b.putShort(Float.floatToFloat16(v));
                case "BF16" -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                case "F64" -> b.putDouble(v);
                case "I64" -> b.putLong(k % 5);
                case "I32" -> b.putInt(k % 5);
                case "I16" -> b.putShort((short) (k % 5));
                default -> b.put((byte) (k % 2));
            }
        }
        data.writeBytes(b.array());
    }

    private static int[] shape(String s) {
        if (s.equals("-")) return new int[0];
        String[] parts = s.split(",", -1);
        if (parts.length > 8) return null;
        int[] d = new int[parts.length];
        for (int k = 0; k < parts.length; k++) {
            try {
                d[k] = Integer.parseInt(parts[k]);
            } catch (NumberFormatException e) {
                return null;
            }
            if (d[k] < 0) return null;
        }
        return d;
    }

    /** The element count, or -1 when a partial product passes 2^31-1 (the format's limit, which the reader enforces). */
    private static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
            if (n > Integer.MAX_VALUE) return -1;
        }
        return n;
    }

    private static Mode modeOrNull(String s) {
        try {
            return Mode.parse(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
