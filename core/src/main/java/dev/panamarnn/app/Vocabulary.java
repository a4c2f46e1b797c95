package dev.panamarnn.app;

import dev.panamarnn.Text;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A character vocabulary: token id ↔ string. Tokens of one character are text; longer ones
 * ({@code <pad>}, {@code <bos>}, {@code <eos>}) are specials, never produced by {@link #encode} and
 * skipped by {@link #decode}. Immutable.
 */
public final class Vocabulary {
    private final List<String> tokens;
    private final Map<Integer, Integer> byChar = new HashMap<>();

    /**
     * A vocabulary of {@code tokens}, token id = index.
     *
     * @param tokens the tokens, non-empty, no one-character token twice
     * @throws IllegalArgumentException if empty, or a character appears twice
     */
    public Vocabulary(List<String> tokens) {
        if (tokens == null || tokens.isEmpty()) throw new IllegalArgumentException("vocabulary: no tokens");
        this.tokens = List.copyOf(tokens);
        for (int i = 0; i < this.tokens.size(); i++) {
            String t = this.tokens.get(i);
            if (t.codePointCount(0, t.length()) == 1 && byChar.putIfAbsent(t.codePointAt(0), i) != null) {
                throw new IllegalArgumentException("vocabulary: token " + Text.quote(t) + " appears twice (ids " + byChar.get(t.codePointAt(0)) + " and " + i + ")");
            }
        }
    }

    /**
     * The number of tokens.
     *
     * @return the size
     */
    public int size() {
        return tokens.size();
    }

    /**
     * The token of an id.
     *
     * @param id the id, in {@code 0..size()-1}
     * @return its token
     * @throws IllegalArgumentException if the id is out of range
     */
    public String token(int id) {
        if (id < 0 || id >= tokens.size()) throw new IllegalArgumentException("vocabulary: token id " + id + " is outside 0.." + (tokens.size() - 1));
        return tokens.get(id);
    }

    /**
     * Every token, by id.
     *
     * @return an unmodifiable list
     */
    public List<String> tokens() {
        return tokens;
    }

    /**
     * The ids of the characters of {@code text}; a character outside the vocabulary is an error naming it
     * and its position (the text and the vocabulary shown escaped and cut, see {@link Text#quote}).
     *
     * @param text the text
     * @return the ids, one per character (code point)
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public int[] encode(String text) {
        int[] out = new int[text.codePointCount(0, text.length())];
        int i = 0;
        for (int pos = 0; pos < text.length(); ) {
            int cp = text.codePointAt(pos);
            Integer id = byChar.get(cp);
            if (id == null) {
                throw new IllegalArgumentException("character " + Text.quote(new String(Character.toChars(cp))) + " at position " + i + " of "
                        + Text.quote(text) + " is not in the vocabulary (" + charList() + ")");
            }
            out[i++] = id;
            pos += Character.charCount(cp);
        }
        return out;
    }

    /**
     * The text of {@code ids}, specials left out; ids outside the vocabulary are an error.
     *
     * @param ids the token ids
     * @return the text
     * @throws IllegalArgumentException if an id is out of range
     */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String t = token(id);
            if (t.codePointCount(0, t.length()) == 1) sb.append(t);
        }
        return sb.toString();
    }

    private String charList() {
        StringBuilder sb = new StringBuilder();
        for (String t : tokens) if (t.codePointCount(0, t.length()) == 1) sb.append(t);
        return Text.quote(sb.toString());
    }
}
