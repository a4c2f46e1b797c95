package dev.panamarnn.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Set;

/** Reading request bodies: every value checked, every error a {@link BadRequest} naming its field. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** The body as a JSON object whose fields are all in {@code allowed}. */
    static ObjectNode object(byte[] body, Set<String> allowed) {
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadRequest("body: not JSON (" + firstLine(e.getOriginalMessage()) + ")");
        } catch (java.io.IOException e) {
            throw new BadRequest("body: unreadable (" + firstLine(e.getMessage()) + ")");
        }
        if (n == null || !n.isObject()) throw new BadRequest("body: expected a JSON object");
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) throw new BadRequest("body: unknown field " + quote(f) + " (expected " + String.join(", ", allowed.stream().sorted().toList()) + ")");
        }
        return (ObjectNode) n;
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return (i < 0 ? s : s.substring(0, i)).strip();
    }

    static String quote(String s) {
        return dev.panamarnn.Text.quote(s);
    }

    static String text(ObjectNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isTextual()) throw new BadRequest(field + ": expected a string");
        return n.textValue();
    }

    static int integer(ObjectNode o, String field, int dflt, int min, int max) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
            throw new BadRequest(field + ": expected an integer in " + min + ".." + max + ", got " + shorten(n.toString()));
        }
        return n.intValue();
    }

    static double number(ObjectNode o, String field, double dflt, double min, double max) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber() || !(n.doubleValue() >= min && n.doubleValue() <= max)) {
            throw new BadRequest(field + ": expected a number in " + min + ".." + max + ", got " + shorten(n.toString()));
        }
        return n.doubleValue();
    }

    static boolean bool(ObjectNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return false;
        if (!n.isBoolean()) throw new BadRequest(field + ": expected true or false");
        return n.booleanValue();
    }

    /** A non-empty array of strings, or null when the field is absent. */
    static String[] texts(ObjectNode o, String field, int maxCount) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isArray() || n.isEmpty()) throw new BadRequest(field + ": expected a non-empty array of strings");
        if (n.size() > maxCount) throw new BadRequest(field + ": at most " + maxCount + " per request, got " + n.size());
        String[] r = new String[n.size()];
        for (int i = 0; i < r.length; i++) {
            if (!n.get(i).isTextual()) throw new BadRequest(field + "[" + i + "]: expected a string");
            r[i] = n.get(i).textValue();
        }
        return r;
    }

    /** {@code [rows][cols]} numbers, every row {@code cols} long (cols < 0: any, equal across rows). */
    static float[][] matrix(JsonNode n, String field, int cols) {
        if (n == null || !n.isArray() || n.isEmpty()) throw new BadRequest(field + ": expected a non-empty array of arrays of numbers");
        float[][] r = new float[n.size()][];
        for (int i = 0; i < r.length; i++) {
            JsonNode row = n.get(i);
            String where = field + "[" + i + "]";
            if (!row.isArray()) throw new BadRequest(where + ": expected an array of numbers");
            int want = cols >= 0 ? cols : r[0] == null ? row.size() : r[0].length;
            if (row.size() != want) throw new BadRequest(where + ": expected " + want + " numbers, got " + row.size());
            r[i] = new float[want];
            for (int k = 0; k < want; k++) {
                JsonNode v = row.get(k);
                if (!v.isNumber()) throw new BadRequest(where + "[" + k + "]: expected a number, got " + shorten(v.toString()));
                float f = v.floatValue();
                if (!Float.isFinite(f)) throw new BadRequest(where + "[" + k + "]: not finite in float32: " + shorten(v.toString()));
                r[i][k] = f;
            }
        }
        return r;
    }

    /** {@code [n][rows][cols]}: n matrices of {@code cols} columns; rows may differ when {@code ragged}. */
    static float[][][] tensor3(JsonNode n, String field, int cols, boolean ragged) {
        if (n == null || n.isNull()) return null;
        if (!n.isArray() || n.isEmpty()) throw new BadRequest(field + ": expected a non-empty array of sequences");
        float[][][] r = new float[n.size()][][];
        for (int i = 0; i < r.length; i++) {
            r[i] = matrix(n.get(i), field + "[" + i + "]", cols);
            if (!ragged && r[i].length != r[0].length) {
                throw new BadRequest(field + "[" + i + "]: expected " + r[0].length + " rows as " + field + "[0], got " + r[i].length);
            }
        }
        return r;
    }

    static ArrayNode array(float[] v) {
        ArrayNode a = MAPPER.createArrayNode();
        for (float f : v) a.add(f);
        return a;
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
