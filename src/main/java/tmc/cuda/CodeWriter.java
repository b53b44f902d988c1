package tmc.cuda;

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

    /** Whether the text written since {@code mark} names {@code identifier} (as a whole word). */
    boolean usedSince(int mark, String identifier) {
        return java.util.regex.Pattern.compile("\\b" + java.util.regex.Pattern.quote(identifier) + "\\b")
                .matcher(out.substring(mark)).find();
    }

    /**
     * Inserts a line at {@code mark} (which must be the start of a line), indented at the current depth, which must be
     * the depth at the mark: a declaration written only once what follows it turns out to need it.
     */
    CodeWriter insertAt(int mark, String text) {
        out.insert(mark, "    ".repeat(depth) + text + "\n");
        return this;
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
