package dev.panamarnn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link Text}: what comes from files reaches a message escaped and cut. */
class TextTest {
    @Test
    void controlAndFormattingCharactersAreEscaped() {
        assertEquals("'a\\u001b[2Jb\\r\\nc\\td\\\\'", Text.quote("a\u001b[2Jb\r\nc\td\\"));
        assertEquals("\\u0085\\u2028\\u2029", Text.escape("\u0085\u2028\u2029", 100));
        // Bidirectional overrides and isolates could make a line read in another order; zero-width ones hide text.
        assertEquals("x\\u202ey\\u2066z\\u200b\\ufeff", Text.escape("x\u202ey\u2066z\u200b\ufeff", 100));
        assertEquals("é漢字", Text.escape("é漢字", 100));
    }

    @Test
    void longValuesAreCut() {
        String s = "p".repeat(120_000);
        String q = Text.quote(s);
        assertEquals("'" + "p".repeat(Text.MAX_SHOWN) + "…(" + (120_000 - Text.MAX_SHOWN) + " more)'", q);
        assertEquals("null", Text.quote(null));
    }
}
