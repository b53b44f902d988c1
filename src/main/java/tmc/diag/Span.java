package tmc.diag;

/**
 * A range of source text: 1-based line and column of its first character, and its length in characters
 * (at least 1 so that a caret always has something to point at).
 */
public record Span(String file, int line, int col, int length) {
    public Span {
        length = Math.max(1, length);
    }

    /** A position for things that have no text of their own (command-line overrides, generated code). */
    public static Span none(String what) {
        return new Span(what, 0, 0, 1);
    }

    public boolean isReal() {
        return line > 0;
    }

    /** The smallest span covering this one and {@code other}, when both are on one line of one file. */
    public Span to(Span other) {
        if (!file.equals(other.file) || line != other.line) return this;
        int end = Math.max(col + length, other.col + other.length);
        int start = Math.min(col, other.col);
        return new Span(file, line, start, end - start);
    }

    @Override
    public String toString() {
        return isReal() ? file + ":" + line + ":" + col : file;
    }
}
