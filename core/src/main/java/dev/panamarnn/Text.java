package dev.panamarnn;

/**
 * Makes text that came from a file or a caller (tensor names, tokens, prompts, paths) safe to put in a
 * message: control characters are escaped, so a name holding ESC, CR or LF cannot forge output lines or
 * move the terminal's cursor, and long values are cut, so one error does not repeat a 100k-character
 * prompt.
 */
public final class Text {
    private Text() {}

    /** The longest value {@link #quote} shows whole. */
    public static final int MAX_SHOWN = 120;

    /**
     * {@code s} in single quotes, escaped and cut to {@link #MAX_SHOWN} characters ({@code null} for null).
     *
     * @param s the text, or null
     * @return the quoted text
     */
    public static String quote(String s) {
        return s == null ? "null" : "'" + escape(s, MAX_SHOWN) + "'";
    }

    /**
     * {@code s} with every control character (C0, DEL, C1, the Unicode line and paragraph separators, and
     * the bidirectional and zero-width formatting characters)
     * written as {@code \n}, {@code \r}, {@code \t} or {@code \}{@code uXXXX}, and backslashes doubled; past
     * {@code max} characters of the original the rest is replaced by {@code "…(N more)"}.
     *
     * @param s   the text, or null (gives {@code "null"})
     * @param max how many of its characters to show
     * @return the escaped text
     */
    public static String escape(String s, int max) {
        return escape(s, max, true, " more");
    }

    /**
     * {@code s} as one line for a terminal: control and formatting characters escaped as {@link #escape}
     * does, but backslashes left as they are (so text already escaped is not escaped twice); past
     * {@code max} characters the rest is replaced by {@code "…(N more characters)"}.
     *
     * @param s   the text, or null (gives {@code "null"})
     * @param max how many of its characters to show
     * @return the text on one line
     */
    public static String oneLine(String s, int max) {
        return escape(s, max, false, " more characters");
    }

    private static String escape(String s, int max, boolean backslashes, String more) {
        if (s == null) return "null";
        int n = Math.min(s.length(), Math.max(0, max));
        StringBuilder b = new StringBuilder(n + 16);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append(backslashes ? "\\\\" : "\\");
                default -> {
                    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029' || invisible(c)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        if (s.length() > n) b.append("…(").append(s.length() - n).append(more).append(')');
        return b.toString();
    }

    /**
     * Characters that reorder or hide text on a terminal: the bidirectional embeddings, overrides and
     * isolates (U+202A–202E, U+2066–2069), the zero-width ones and marks (U+200B–200F), the byte order mark.
     */
    private static boolean invisible(char c) {
        return (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') || (c >= '\u200b' && c <= '\u200f') || c == '\ufeff';
    }
}
