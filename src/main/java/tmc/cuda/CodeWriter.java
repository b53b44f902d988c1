package tmc.cuda;

import java.util.List;

/** Builds indented source text. Braces opened with {@link #open} are closed by {@link #close}. */
final class CodeWriter {
    private final StringBuilder out = new StringBuilder();
    private int depth;

    CodeWriter line(String text) {
        if (text.isEmpty()) {
            out.append('\n');
        } else {
            out.append("    ".repeat(depth)).append(text).append('\n');
        }
        return this;
    }

    CodeWriter line() {
        return line("");
    }

    CodeWriter open(String head) {
        line(head.isEmpty() ? "{" : head + " {");
        depth++;
        return this;
    }

    /** Closes the open brace and opens the next branch of the same statement: "} else {". */
    CodeWriter reopen(String head) {
        depth--;
        line("} " + head + " {");
        depth++;
        return this;
    }

    CodeWriter close() {
        return close("");
    }

    CodeWriter close(String tail) {
        depth--;
        line("}" + tail);
        return this;
    }

    CodeWriter comment(String text) {
        for (String l : text.split("\n")) line(l.isEmpty() ? "//" : "// " + l);
        return this;
    }

    /** A position in the text written so far, for {@link #usedSince} and {@link #insertAt}. */
    int mark() {
        return out.length();
    }

    /** Whether the code written since {@code mark} names {@code identifier} as a whole word (comments do not count). */
    boolean usedSince(int mark, String identifier) {
        return names(withoutComments(out.substring(mark)), identifier);
    }

    /** {@code code} less its line comments. */
    private static String withoutComments(String code) {
        return code.replaceAll("//[^\n]*", "");
    }

    /** Whether {@code code} (comments already removed) names {@code identifier} as a whole word. */
    private static boolean names(String code, String identifier) {
        return java.util.regex.Pattern.compile("\\b" + java.util.regex.Pattern.quote(identifier) + "\\b")
                .matcher(code).find();
    }

    /**
     * Inserts a line at {@code mark} (which must be the start of a line), indented at the current depth, which must be
     * the depth at the mark: a declaration written only once what follows it turns out to need it.
     */
    CodeWriter insertAt(int mark, String text) {
        out.insert(mark, "    ".repeat(depth) + text + "\n");
        return this;
    }

    /**
     * Drops, from the lines between {@code from} and {@code to} of the form {@code constexpr int A = 1, B = 2;} (a
     * comment may follow), every constant that the text after {@code to} never names, and a line left with none: a
     * kernel declares its buffers' geometry before it knows which of it the code uses, and nvcc warns of each unused
     * one. Call it once the text after {@code to} is complete; marks taken after {@code from} no longer hold.
     */
    void dropUnusedConstants(int from, int to) {
        String rest = withoutComments(out.substring(to));  // once: every constant is looked up in it
        java.util.regex.Pattern decl = java.util.regex.Pattern.compile("^(\\s*)constexpr int ([^;]*);(.*)$");
        StringBuilder kept = new StringBuilder();
        for (String line : out.substring(from, to).split("\n", -1)) {
            java.util.regex.Matcher m = decl.matcher(line);
            if (!m.matches()) {
                kept.append(line).append('\n');
                continue;
            }
            List<String> used = new java.util.ArrayList<>();
            for (String d : m.group(2).split(",")) {
                String name = d.substring(0, d.indexOf('=')).trim();
                if (names(rest, name)) used.add(d.trim());
            }
            if (!used.isEmpty()) {
                kept.append(m.group(1)).append("constexpr int ").append(String.join(", ", used)).append(';')
                        .append(m.group(3)).append('\n');
            }
        }
        kept.setLength(kept.length() - 1);  // the split's last piece: the text at 'to' starts a line
        out.replace(from, to, kept.toString());
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
