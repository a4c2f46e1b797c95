package dev.panamarnn.app;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSON value read with Jackson's streaming parser ({@code jackson-core}) into plain Java, for
 * {@link ModelConfig}: an object is a {@code Map<String, Object>} in file order, an array a
 * {@code List<Object>}, a string a {@link String}, {@code true}/{@code false} a {@link Boolean}, a number a
 * {@link Num} and {@code null} the {@link #NULL} marker (so that {@code Map.get} returning null means absent,
 * as databind's {@code JsonNode.get} did). The parser's limits (nesting depth, string length, duplicate
 * keys) are the factory's; nesting is bounded by them, so the recursion here is too.
 */
final class JsonTree {
    private JsonTree() {}

    /** JSON's {@code null}. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /**
     * A number as written in the file, and its value when it is an integer within {@code int} (databind's
     * {@code isIntegralNumber() && canConvertToInt()}), else null.
     */
    record Num(String text, Integer intValue) {}

    /** The value at the parser's current token (which must be set), leaving the parser on its last token. */
    static Object read(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) throw new JsonParseException(p, "unexpected end of input"); // the parser reports it first; in case it does not
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    p.nextToken();
                    m.put(key, read(p));
                }
                if (p.currentToken() != JsonToken.END_OBJECT) throw new JsonParseException(p, "unexpected " + p.currentToken() + " in an object");
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(read(p));
                return l;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT -> {
                return new Num(p.getText(), p.getNumberType() == JsonParser.NumberType.INT ? p.getIntValue() : null);
            }
            case VALUE_NUMBER_FLOAT -> {
                return new Num(p.getText(), null);
            }
            case VALUE_TRUE -> {
                return Boolean.TRUE;
            }
            case VALUE_FALSE -> {
                return Boolean.FALSE;
            }
            case VALUE_NULL -> {
                return NULL;
            }
            default -> throw new JsonParseException(p, "unexpected " + t); // not reached: the parser reports malformed input itself
        }
    }

    /**
     * The entries of an object as text: strings as they are, numbers as written, {@code true}, {@code false},
     * {@code null}, and objects and arrays as compact JSON. Unmodifiable, in file order.
     */
    static Map<String, String> texts(Map<?, ?> object, JsonFactory factory) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : object.entrySet()) {
            Object v = e.getValue();
            out.put((String) e.getKey(), v instanceof String s ? s : v instanceof Num n ? n.text() : v instanceof Map || v instanceof List ? json(v, factory)
                    : String.valueOf(v));
        }
        return Collections.unmodifiableMap(out);
    }

    private static String json(Object v, JsonFactory factory) throws IOException {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = factory.createGenerator(w)) {
            write(g, v);
        }
        return w.toString();
    }

    private static void write(JsonGenerator g, Object v) throws IOException {
        if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof List<?> l) {
            g.writeStartArray();
            for (Object o : l) write(g, o);
            g.writeEndArray();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Num n) {
            g.writeNumber(n.text());
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else {
            g.writeNull();
        }
    }
}
