package dev.panamarnn.nn;

import dev.panamarnn.Text;
import dev.panamarnn.io.DType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/** Tensor names from files as messages show them: each through {@link Text#quote}, a list cut after a few. */
final class Names {
    private Names() {}

    /** The most names a message lists; the rest are counted. */
    static final int MAX_LISTED = 10;

    /** {@code 'a', 'b', … (N more)}: at most {@link #MAX_LISTED} names, in the collection's order. */
    static String list(Collection<String> names) {
        StringBuilder b = new StringBuilder();
        int k = 0;
        for (String n : names) {
            if (k == MAX_LISTED) {
                b.append(", … (").append(names.size() - k).append(" more)");
                break;
            }
            b.append(k++ == 0 ? "" : ", ").append(Text.quote(n));
        }
        return b.toString();
    }

    /** The names in {@code sd} under {@code prefix} but for {@code used}, sorted. */
    static List<String> under(StateDict sd, String prefix, Set<String> used) {
        List<String> out = new ArrayList<>();
        for (String n : sd.names()) if (n.startsWith(prefix) && !used.contains(n)) out.add(n);
        Collections.sort(out);
        return out;
    }

    /** The error for a tensor a loader would read as float32 but whose type is not floating-point. */
    static String notFloat(String name, DType t) {
        return "tensor " + Text.quote(name) + " is " + t + ", expected a floating-point type (F32, F16, BF16 or F64)";
    }
}
