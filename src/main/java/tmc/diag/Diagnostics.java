package tmc.diag;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/** An ordered collection of diagnostics, filled by one phase and handed on to the next. */
public final class Diagnostics {
    private final List<Diagnostic> items = new ArrayList<>();

    public void add(Diagnostic d) {
        items.add(d);
    }

    public void error(Span span, String message) {
        add(Diagnostic.error(span, message));
    }

    public void error(Span span, String message, String hint) {
        add(Diagnostic.error(span, message, hint));
    }

    public void warning(Span span, String message, String hint) {
        add(Diagnostic.warning(span, message, hint));
    }

    public void addAll(Diagnostics other) {
        items.addAll(other.items);
    }

    public boolean hasErrors() {
        return items.stream().anyMatch(Diagnostic::isError);
    }

    public int errorCount() {
        return (int) items.stream().filter(Diagnostic::isError).count();
    }

    /** In source order (file, line, column), the order a reader fixes them in. */
    public List<Diagnostic> sorted() {
        List<Diagnostic> copy = new ArrayList<>(items);
        copy.sort(Comparator.comparing((Diagnostic d) -> d.span().file())
                .thenComparingInt(d -> d.span().line())
                .thenComparingInt(d -> d.span().col()));
        return Collections.unmodifiableList(copy);
    }

    public List<Diagnostic> all() {
        return Collections.unmodifiableList(items);
    }
}
